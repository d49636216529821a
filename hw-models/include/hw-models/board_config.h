// The board description, parsed from boards/<name>.yaml (docs/board-file.md).
// Every timing figure is kept with the part it comes from.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "devices/console_config.h"
#include "devices/crypto_config.h"
#include "devices/netxfer_config.h"
#include "devices/nvram_config.h"
#include "devices/power_config.h"
#include "flash-sim/flash_config.h"
#include "tpm-sim/tpm_config.h"

namespace trustsim {

struct BoardConfig {
  std::string file;  // where it was read from
  std::string name;
  std::string platform;
  uint32_t platform_id = 0;

  // CPU and lock-step
  std::string qemu_machine = "virt";
  std::string qemu_cpu = "cortex-a57";
  unsigned icount_shift = 0;  // one guest instruction = 2^shift ns
  uint64_t quantum_insns = 1000000;

  // memory
  uint64_t ram_base = 0x40000000;
  uint64_t ram_size = 128ull << 20;

  // power
  uint64_t power_off_time_ps = 1000000000000ull;  // power-cycle off time
  uint64_t rtc_base = 1795910400;                 // RTC at board time 0: 2026-11-29 00:00:00 UTC

  using Console = ConsoleConfig;  // devices/console_config.h
  Console console;

  using Power = PowerConfig;  // devices/power_config.h
  Power power;

  using BootFlash = BootFlashConfig;  // flash-sim/flash_config.h
  BootFlash boot_flash;

  using Nvram = NvramConfig;  // devices/nvram_config.h
  Nvram nvram;

  using Crypto = CryptoConfig;  // devices/crypto_config.h
  Crypto crypto;

  using Nand = NandConfig;  // flash-sim/flash_config.h
  Nand nand;

  using Tpm = TpmConfig;  // tpm-sim/tpm_config.h
  Tpm tpm;

  using Netxfer = NetxferConfig;  // devices/netxfer_config.h (optional: devices.netxfer)
  Netxfer netxfer;

  // Test-only switches (board file `test_options:`); never on a real board.
  bool skip_os_verification = false;  // ROMmon boots an OS image even if its signature fails

  uint64_t ns_per_insn() const { return 1ull << icount_shift; }
};

// Reads and checks a board file; throws InputError naming file:line: field.
BoardConfig load_board_config(const std::string& path);

}  // namespace trustsim
