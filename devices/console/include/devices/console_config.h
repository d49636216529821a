// The console UART's placement and line rate (docs/board-file.md,
// devices.console). No SystemC.
#pragma once
#include <cstdint>

#include "devkit/device_info.h"

namespace trustsim {

struct ConsoleConfig {
  uint64_t bus_base = 0;
  uint64_t baud = 9600;
};

// Its entry in the board's device list (devkit/device_info.h).
inline constexpr DeviceInfo kConsoleDevice{"console",
                                           "console",
                                           true,
                                           false,
                                           "",
                                           "devices/console.h",
                                           "docs/mailbox-abi.md",
                                           "a UART at the board file's baud rate (8N1)"};

}  // namespace trustsim
