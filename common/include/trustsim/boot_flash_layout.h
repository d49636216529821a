// Where things live in the boot SPI flash (docs/firmware.md).
#pragma once
#include <stdint.h>

namespace trustsim::boot_flash {

constexpr uint64_t kPrimaryRommonOffset = 0;
// The golden (factory, never upgraded) ROMmon sits in the upper half.
inline uint64_t golden_rommon_offset(uint64_t flash_size) { return flash_size / 2; }
constexpr uint64_t kMaxRommonImage = 2ull << 20;

}  // namespace trustsim::boot_flash
