// The power controller's placement (docs/board-file.md, devices.power). No
// SystemC.
#pragma once
#include <cstdint>

#include "devkit/device_info.h"

namespace trustsim {

struct PowerConfig {
  uint64_t bus_base = 0;
};

// Its entry in the board's device list (devkit/device_info.h).
inline constexpr DeviceInfo kPowerDevice{"power",
                                         "power",
                                         true,
                                         false,
                                         "",
                                         "devices/power_ctrl.h",
                                         "docs/mailbox-abi.md",
                                         "power/reset controller with uptime, board time and RTC",
                                         "256-byte register window"};

}  // namespace trustsim
