// The console UART's placement and line rate (docs/board-file.md,
// devices.console). No SystemC.
#pragma once
#include <cstdint>
#include <iterator>

#include "devkit/device_info.h"

namespace trustsim {

// Its timing figure (docs/timing-sources.md).
inline constexpr TimingFigure kConsoleBaud{
    "baud", FigureUnit::kBaud, 9600, "line rate; 10 bit times per byte (8N1)",
    "Cisco console default: `console baud: 9600` in the ROMmon confreg captures (reference/ios-outputs.md)"};
inline constexpr TimingFigure kConsoleTiming[] = {kConsoleBaud};

struct ConsoleConfig {
  uint64_t bus_base = 0;
  uint64_t baud = kConsoleBaud.value;
};

// Its entry in the board's device list (devkit/device_info.h).
inline constexpr DeviceInfo kConsoleDevice{"console",
                                           "console",
                                           true,
                                           false,
                                           "",
                                           "devices/console.h",
                                           "docs/mailbox-abi.md",
                                           "a UART at the board file's baud rate (8N1)",
                                           "4 KiB register window",
                                           kConsoleTiming,
                                           std::size(kConsoleTiming)};

}  // namespace trustsim
