// On-die ECC of the bootflash: NAND: an extended Hamming code (SEC-DED)
// over up to kMaxDataBytes bytes, stored in kCodeBytes bytes. It corrects
// any single bit error (in the data or in the code bytes) and detects any
// double error; three or more errors may be miscorrected, as with any
// SEC-DED code. Format in docs/nand-flash.md. Freestanding.
//
// The stored code is offset so that all-0xFF data has the code 0xFF 0xFF:
// an erased page reads back clean.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace trustsim::ecc {

constexpr size_t kCodeBytes = 2;
// Data bits take codeword positions 8200 .. 16383 (see ecc.cc).
constexpr size_t kMaxDataBytes = (16384 - 8200) / 8;

enum class Status : uint8_t {
  kClean,          // no error
  kCorrected,      // one bit was wrong and has been corrected (data or code)
  kUncorrectable,  // two or more bits wrong; the data is left as read
};

// Computes the code of data[0, len). len must be 1..kMaxDataBytes.
void encode(const uint8_t* data, size_t len, uint8_t code[kCodeBytes]);

// Checks data against a stored code and corrects a single-bit error in
// place. If corrected_bit is not null and a data bit was corrected, it
// receives that bit's index (byte * 8 + bit); otherwise it is left alone.
Status check(uint8_t* data, size_t len, const uint8_t code[kCodeBytes], uint32_t* corrected_bit = nullptr);

}  // namespace trustsim::ecc
