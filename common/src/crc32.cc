#include "trustsim/crc32.h"

namespace trustsim {
namespace {

struct Crc32Table {
  uint32_t entry[256];
  constexpr Crc32Table() : entry() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
      entry[i] = c;
    }
  }
};
constexpr Crc32Table kTable;

// Eight bytes per step ("slicing by 8"), several times faster than the byte
// loop. The host checks a CRC on every NAND page the board reads, and the
// firmware's file system on every record page it mounts (docs/performance.md).
struct Crc32Slices {
  uint32_t t[8][256];
  constexpr Crc32Slices() : t() {
    for (uint32_t i = 0; i < 256; ++i) t[0][i] = kTable.entry[i];
    for (int k = 1; k < 8; ++k)
      for (uint32_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
  }
};
constexpr Crc32Slices kSlices;

typedef uint64_t __attribute__((may_alias)) Word;

// The next eight bytes as a little-endian number. One load where that is
// aligned (the firmware runs with the MMU off: an unaligned load faults).
inline uint64_t load8(const uint8_t* p) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if ((uintptr_t(p) & 7u) == 0) return *reinterpret_cast<const Word*>(p);
#endif
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

uint32_t crc32(const void* data, size_t len, uint32_t crc) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (; len >= 8; p += 8, len -= 8) {
    uint64_t w = load8(p);
    uint32_t lo = crc ^ uint32_t(w);
    uint32_t hi = uint32_t(w >> 32);
    crc = kSlices.t[7][lo & 0xFF] ^ kSlices.t[6][(lo >> 8) & 0xFF] ^ kSlices.t[5][(lo >> 16) & 0xFF] ^
          kSlices.t[4][lo >> 24] ^ kSlices.t[3][hi & 0xFF] ^ kSlices.t[2][(hi >> 8) & 0xFF] ^
          kSlices.t[1][(hi >> 16) & 0xFF] ^ kSlices.t[0][hi >> 24];
  }
  for (size_t i = 0; i < len; ++i) crc = kTable.entry[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace trustsim
