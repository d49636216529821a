// The NVRAM's part figures as the board file gives them (docs/board-file.md,
// devices.nvram). No SystemC: the board-file parser fills it.
#pragma once
#include <cstdint>
#include <string>

#include "devkit/device_info.h"

namespace trustsim {

struct NvramConfig {
  uint64_t bus_base = 0;
  std::string part;
  std::string source;  // the datasheet the figures come from
  uint64_t size = 0;
  uint64_t page_size = 0;
  uint64_t page_write_ps = 0;  // tWR, the self-timed write cycle
  uint64_t bus_clock_hz = 0;
};

// Its entry in the board's device list (devkit/device_info.h).
inline constexpr DeviceInfo kNvramDevice{
    "nvram", "nvram", true, true, "", "devices/nvram.h", "docs/nvram-layout.md", "I2C EEPROM (Microchip AT24C256C)"};

}  // namespace trustsim
