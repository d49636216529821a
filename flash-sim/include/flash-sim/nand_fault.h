// The NAND's faults (bootflash_nand), armed with NandFlash::arm(): the
// typed fault a scenario step holds. No SystemC here.
#pragma once
#include <cstdint>
#include <string>
#include <variant>

#include "devkit/power_loss.h"

namespace trustsim {

namespace nand {

// Faults, armed with NandFlash::arm(). Page numbers are absolute
// (block * pages_per_block + page); `byte` indexes main + spare
// (0 .. page_size + spare_size - 1), bit 0 is the least significant.

// Power loss at the Nth program/erase: PowerLoss (devkit/power_loss.h).

// Flips one cell of the array now (it stays flipped until erased).
struct BitFlip {
  uint32_t page = 0;
  uint32_t byte = 0;
  uint8_t bit = 0;
};

// Flips `count` distinct seeded cells of one page now.
struct RandomBitFlips {
  uint32_t page = 0;
  uint32_t count = 1;
  uint64_t seed = 0;
};

// A cell that always reads `value`, whatever was programmed or erased. It
// sits in the array, so on-die ECC sees it like any other bit error.
struct StuckBit {
  uint32_t page = 0;
  uint32_t byte = 0;
  uint8_t bit = 0;
  bool value = false;
};

// The n-th erase of `block` counted from now (n = 1: the next one) fails
// with ERASE_FAIL, leaves the block unchanged and makes it a grown bad
// block: later erases fail too.
struct BadOnNthErase {
  uint32_t block = 0;
  uint32_t n = 1;
};

using Fault = std::variant<PowerLoss, BitFlip, RandomBitFlips, StuckBit, BadOnNthErase>;

std::string describe(const Fault& f);

}  // namespace nand

}  // namespace trustsim
