#include "trustsim/ecc.h"

#include "trustsim/mem_words.h"

namespace trustsim::ecc {
namespace {

// An extended Hamming code with a byte-friendly column layout. Every bit of
// the codeword has a distinct non-zero 14-bit "position"; a valid codeword's
// syndrome (XOR of the positions of its 1 bits) is 0:
//   check bit j       at position 2^j (j = 0..13), stored as it is;
//   data bit k        at position kDataBase + k (bit k % 8 of byte k / 8).
// kDataBase is a multiple of 8 above the largest power of two used, so data
// positions are never powers of two (a single error is told apart from a
// check-bit error) and a byte's positions are (kDataBase + 8 * i) | bit: the
// byte's share of the syndrome is two table lookups. An overall parity bit
// over data and check bits makes single errors (odd) distinguishable from
// double errors (even): SEC-DED.
constexpr unsigned kCheckBits = 14;
constexpr uint32_t kCheckMask = (1u << kCheckBits) - 1;
constexpr uint32_t kRawMask = (1u << (kCheckBits + 1)) - 1;  // check bits + overall parity
constexpr uint32_t kDataBase = 8200;
static_assert(kDataBase % 8 == 0 && kDataBase > (1u << (kCheckBits - 1)), "data positions must avoid check positions");
static_assert(kDataBase + kMaxDataBytes * 8 <= (1u << kCheckBits), "data positions must fit the syndrome");

struct ByteTables {
  uint8_t bit_xor[256];  // XOR of the indices of the set bits
  uint8_t parity[256];
  constexpr ByteTables() : bit_xor(), parity() {
    for (unsigned v = 0; v < 256; ++v)
      for (unsigned b = 0; b < 8; ++b)
        if ((v >> b) & 1) {
          bit_xor[v] = uint8_t(bit_xor[v] ^ b);
          parity[v] = uint8_t(parity[v] ^ 1);
        }
  }
};
constexpr ByteTables kTables;

uint32_t parity32(uint32_t v) {
  v ^= v >> 16;
  v ^= v >> 8;
  return kTables.parity[v & 0xFF];
}

struct Sums {
  uint32_t syndrome = 0;     // XOR of positions of the data's 1 bits
  uint32_t ones_parity = 0;  // parity of the data bits
};

Sums sum_positions(const uint8_t* data, size_t len) {
  Sums s;
  // Erased data (all ones) sums to zero: every 0xFF byte has even parity and
  // its bit indices XOR to 0. Most sectors a mount reads are erased, so the
  // model checks for that first, a word at a time.
  if (mem::all_equal(data, 0xFF, len)) return s;
  uint32_t row_xor = 0;  // XOR of kDataBase + 8 * i over bytes of odd parity
  uint32_t bit_xor = 0;
  for (size_t i = 0; i < len; ++i) {
    uint8_t v = data[i];
    uint32_t odd = kTables.parity[v];
    row_xor ^= (kDataBase + 8 * uint32_t(i)) & (0u - odd);
    bit_xor ^= kTables.bit_xor[v];
    s.ones_parity ^= odd;
  }
  s.syndrome = row_xor ^ bit_xor;
  return s;
}

// Check bits in 0..13, then the overall parity bit (making the codeword's
// parity even). All-ones data has syndrome 0 and even parity (every 0xFF
// byte is even and its bit indices XOR to 0), so its raw code is 0: storing
// the raw code inverted gives erased data an erased code.
uint32_t raw_code(const Sums& s) { return s.syndrome | ((s.ones_parity ^ parity32(s.syndrome)) << kCheckBits); }

bool is_power_of_two(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

void encode(const uint8_t* data, size_t len, uint8_t code[kCodeBytes]) {
  uint32_t stored = (raw_code(sum_positions(data, len)) ^ kRawMask) | ~kRawMask;
  code[0] = uint8_t(stored);
  code[1] = uint8_t(stored >> 8);
}

Status check(uint8_t* data, size_t len, const uint8_t code[kCodeBytes], uint32_t* corrected_bit) {
  Sums s = sum_positions(data, len);
  uint32_t raw = ((uint32_t(code[0]) | (uint32_t(code[1]) << 8)) ^ kRawMask) & kRawMask;
  uint32_t stored_check = raw & kCheckMask;
  uint32_t stored_parity = raw >> kCheckBits;

  uint32_t syndrome = s.syndrome ^ stored_check;
  uint32_t total_parity = s.ones_parity ^ parity32(stored_check) ^ stored_parity;
  if (total_parity == 0) return syndrome == 0 ? Status::kClean : Status::kUncorrectable;
  // An odd number of bits flipped: assume one, at position `syndrome`.
  if (syndrome == 0 || is_power_of_two(syndrome)) return Status::kCorrected;  // the parity bit or a check bit
  if (syndrome < kDataBase || syndrome - kDataBase >= len * 8) return Status::kUncorrectable;
  uint32_t index = syndrome - kDataBase;
  data[index / 8] ^= uint8_t(1u << (index % 8));
  if (corrected_bit) *corrected_bit = index;
  return Status::kCorrected;
}

}  // namespace trustsim::ecc
