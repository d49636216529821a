// Block copy, fill and compare eight bytes per step, for the firmware's
// memcpy and memset (fwlib/src/fwlib.cc) and the file system's erased-page
// check (common/src/bfs.cc). The firmware runs with the MMU off, where an
// unaligned access faults, so whole words are used only where every access
// is 8-byte aligned: a copy whose source and destination share their
// alignment, after a byte-wise head; the rest goes byte by byte. A firmware
// boot spends most of its own instructions in these loops (docs/performance.md). Built for
// the host too, where tests/common/test_mem_words.cc checks every length,
// offset and overlap-free pairing against a byte loop.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace trustsim::mem {

typedef uint64_t __attribute__((may_alias)) Word;

inline void copy_forward(uint8_t* d, const uint8_t* s, size_t n) {
  if (((uintptr_t(d) ^ uintptr_t(s)) & 7u) == 0) {
    while (n && (uintptr_t(d) & 7u)) {
      *d++ = *s++;
      --n;
    }
    Word* dw = reinterpret_cast<Word*>(d);
    const Word* sw = reinterpret_cast<const Word*>(s);
    for (; n >= 32; n -= 32, dw += 4, sw += 4) {
      Word a = sw[0], b = sw[1], c = sw[2], e = sw[3];
      dw[0] = a;
      dw[1] = b;
      dw[2] = c;
      dw[3] = e;
    }
    for (; n >= 8; n -= 8) *dw++ = *sw++;
    d = reinterpret_cast<uint8_t*>(dw);
    s = reinterpret_cast<const uint8_t*>(sw);
  }
  while (n--) *d++ = *s++;
}

inline void fill(uint8_t* d, uint8_t c, size_t n) {
  while (n && (uintptr_t(d) & 7u)) {
    *d++ = c;
    --n;
  }
  Word w = uint64_t(c) * 0x0101010101010101ull;
  Word* dw = reinterpret_cast<Word*>(d);
  for (; n >= 32; n -= 32, dw += 4) {
    dw[0] = w;
    dw[1] = w;
    dw[2] = w;
    dw[3] = w;
  }
  for (; n >= 8; n -= 8) *dw++ = w;
  d = reinterpret_cast<uint8_t*>(dw);
  while (n--) *d++ = c;
}

// True when all n bytes at p equal c.
inline bool all_equal(const uint8_t* p, uint8_t c, size_t n) {
  while (n && (uintptr_t(p) & 7u)) {
    if (*p++ != c) return false;
    --n;
  }
  const Word w = uint64_t(c) * 0x0101010101010101ull;
  const Word* pw = reinterpret_cast<const Word*>(p);
  for (; n >= 32; n -= 32, pw += 4)
    if (((pw[0] ^ w) | (pw[1] ^ w) | (pw[2] ^ w) | (pw[3] ^ w)) != 0) return false;
  for (; n >= 8; n -= 8)
    if (*pw++ != w) return false;
  p = reinterpret_cast<const uint8_t*>(pw);
  while (n--)
    if (*p++ != c) return false;
  return true;
}

}  // namespace trustsim::mem
