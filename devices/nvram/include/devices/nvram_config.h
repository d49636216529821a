// The NVRAM's part figures as the board file gives them (docs/board-file.md,
// devices.nvram). No SystemC: the board-file parser fills it.
#pragma once
#include <cstdint>
#include <iterator>
#include <string>

#include "devkit/device_info.h"

namespace trustsim {

// Its timing figures (docs/timing-sources.md).
inline constexpr TimingFigure kNvramPageWrite{"page_write_time", FigureUnit::kDuration, 5000000000ull,
                                              "tWR: the self-timed write cycle of each page touched",
                                              "Microchip AT24C128C/256C datasheet sec. 7.1-7.4, tWR maximum (the 5 ms "
                                              "figure is corroborated by Microchip 24CS512 "
                                              "and ST M24512)"};
inline constexpr TimingFigure kNvramBusClock{"bus_clock", FigureUnit::kFrequency, 400000,
                                             "I2C clock; 9 bit times per byte (8 data bits and the ACK)",
                                             "project choice: the standard I2C Fast-mode rate"};
inline constexpr TimingFigure kNvramTiming[] = {kNvramPageWrite, kNvramBusClock};

struct NvramConfig {
  uint64_t bus_base = 0;
  std::string part;
  std::string source;  // the datasheet the figures come from
  uint64_t size = 0;
  uint64_t page_size = 0;
  uint64_t page_write_ps = kNvramPageWrite.value;  // tWR, the self-timed write cycle
  uint64_t bus_clock_hz = kNvramBusClock.value;
};

// Its entry in the board's device list (devkit/device_info.h).
inline constexpr DeviceInfo kNvramDevice{"nvram",
                                         "nvram",
                                         true,
                                         true,
                                         "",
                                         "devices/nvram.h",
                                         "docs/nvram-layout.md",
                                         "I2C EEPROM (Microchip AT24C256C)",
                                         "`size` bytes (the array)",
                                         kNvramTiming,
                                         std::size(kNvramTiming)};

}  // namespace trustsim
