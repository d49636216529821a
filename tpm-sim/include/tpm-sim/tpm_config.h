// Configuration of the TPM model, filled from the board file's devices.tpm
// section (hw-models' load_board_config, docs/board-file.md, docs/tpm.md).
// No SystemC.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "devkit/device_info.h"
#include "tpm-sim/tpm_fault.h"

namespace trustsim {

// The discrete TPM (tpm-sim/), optional: devices.tpm.
struct TpmConfig {
  bool present = false;
  uint64_t bus_base = 0;
  std::string part;
  std::string source;
  uint64_t spi_clock_hz = 43000000;
  uint32_t burst_count = 64;
  uint64_t init_ps = 88000000000ull;                      // power-on to tpmRegValidSts
  uint64_t default_command_ps = 20000000000ull;           // commands not in command_ps
  std::vector<std::pair<uint32_t, uint64_t>> command_ps;  // by command code
  // Fault options (docs/tpm.md).
  std::optional<tpm::Fault> fault;              // armed at construction (tpm-sim/tpm_fault.h)
  std::optional<uint64_t> torn_nv_write_bytes;  // the first NV write of the run keeps only this many bytes
};

// Its entry in the board's device list (devkit/device_info.h).
inline constexpr DeviceInfo kTpmDevice{"tpm",         "tpm",
                                       false,         false,
                                       "tpm",         "tpm-sim/tpm_device.h",
                                       "docs/tpm.md", "TPM 2.0 behind a TIS/PTP FIFO (libtpms inside)"};

}  // namespace trustsim
