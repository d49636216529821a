// NVRAM layout (docs/nvram-layout.md): who owns which bytes.
#pragma once
#include <stdint.h>

namespace trustsim::nvram_map {

constexpr uint32_t kRomvars = 0x0000;        // 4 KiB: ROMmon variables, two slots (romvars.h)
constexpr uint32_t kKeysPrimary = 0x1000;    // 4 KiB: key storage, primary copy (keys.h)
constexpr uint32_t kKeysBackup = 0x2000;     // 4 KiB: key storage, backup copy
constexpr uint32_t kStartupConfig = 0x3000;  // 8 KiB: startup-config text blob (text_blob.h)
constexpr uint32_t kStartupConfigLen = 0x2000;
constexpr uint32_t kInvalidConfig = 0x5000;  // 2 KiB: nvram:invalid-config text blob (text_blob.h)
constexpr uint32_t kInvalidConfigLen = 0x800;
constexpr uint32_t kMinimumSize = 0x5800;

}  // namespace trustsim::nvram_map
