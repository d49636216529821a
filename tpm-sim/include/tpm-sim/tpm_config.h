// Configuration of the TPM model, filled from the board file's devices.tpm
// section (hw-models' load_board_config, docs/board-file.md, docs/tpm.md).
// No SystemC.
#pragma once
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "devkit/device_info.h"
#include "tpm-sim/tpm_fault.h"

namespace trustsim {

// Its timing figures (docs/timing-sources.md); the per-command times
// (`command_times`) are the board file's alone.
inline constexpr TimingFigure kTpmSpiClock{
    "spi_clock", FigureUnit::kFrequency, 43000000, "SPI clock; a register access costs (4 + bytes) x 8 bit times",
    "Infineon SLB9672/SLM9670 datasheet: SPI up to 43 MHz (also the wolfTPM benchmark setup)"};
inline constexpr TimingFigure kTpmInit{"init_time", FigureUnit::kDuration, 88000000000ull,
                                       "power-on until the TPM answers (ACCESS.tpmRegValidSts)",
                                       "\"TPM init 88 ms\" in a coreboot boot log (one measurement, another TPM)"};
inline constexpr TimingFigure kTpmDefaultCommand{"default_command_time", FigureUnit::kDuration, 20000000000ull,
                                                 "execution time of a command not in `command_times`",
                                                 "estimate: NV-write bound, 5-30 ms"};
inline constexpr TimingFigure kTpmTiming[] = {kTpmSpiClock, kTpmInit, kTpmDefaultCommand};

// The discrete TPM (tpm-sim/), optional: devices.tpm.
struct TpmConfig {
  bool present = false;
  uint64_t bus_base = 0;
  std::string part;
  std::string source;
  uint64_t spi_clock_hz = kTpmSpiClock.value;
  uint32_t burst_count = 64;
  uint64_t init_ps = kTpmInit.value;                       // power-on to tpmRegValidSts
  uint64_t default_command_ps = kTpmDefaultCommand.value;  // commands not in command_ps
  std::vector<std::pair<uint32_t, uint64_t>> command_ps;   // by command code
  // Fault options (docs/tpm.md).
  std::optional<tpm::Fault> fault;              // armed at construction (tpm-sim/tpm_fault.h)
  std::optional<uint64_t> torn_nv_write_bytes;  // the first NV write of the run keeps only this many bytes
};

// Its entry in the board's device list (devkit/device_info.h).
inline constexpr DeviceInfo kTpmDevice{"tpm",
                                       "tpm",
                                       false,
                                       false,
                                       "tpm",
                                       "tpm-sim/tpm_device.h",
                                       "docs/tpm.md",
                                       "TPM 2.0 behind a TIS/PTP FIFO (libtpms inside)",
                                       "0x5000 bytes (5 localities of 4 KiB)",
                                       kTpmTiming,
                                       std::size(kTpmTiming)};

}  // namespace trustsim
