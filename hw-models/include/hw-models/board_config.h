// The board description, parsed from boards/<name>.yaml (docs/board-file.md).
// Every timing figure is kept with the part it comes from.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

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
  unsigned icount_shift = 0;       // one guest instruction = 2^shift ns
  uint64_t quantum_insns = 1000000;

  // memory
  uint64_t ram_base = 0x40000000;
  uint64_t ram_size = 128ull << 20;

  // power
  uint64_t power_off_time_ps = 1000000000000ull;  // power-cycle off time
  uint64_t rtc_base = 1795910400;                 // RTC at board time 0: 2026-11-29 00:00:00 UTC

  struct Console {
    uint64_t bus_base = 0;
    uint64_t baud = 9600;
  } console;

  struct Power {
    uint64_t bus_base = 0;
  } power;

  using BootFlash = BootFlashConfig;  // flash-sim/flash_config.h
  BootFlash boot_flash;

  struct Nvram {
    uint64_t bus_base = 0;
    std::string part;
    std::string source;
    uint64_t size = 0;
    uint64_t page_size = 0;
    uint64_t page_write_ps = 0;
    uint64_t bus_clock_hz = 0;
  } nvram;

  struct Crypto {
    uint64_t bus_base = 0;
    std::string part;
    std::string source;
    uint64_t sha256_bytes_per_s = 0;
    uint64_t sha512_bytes_per_s = 0;
    uint64_t rsa_verify_ps = 0;
  } crypto;

  using Nand = NandConfig;  // flash-sim/flash_config.h
  Nand nand;

  using Tpm = TpmConfig;  // tpm-sim/tpm_config.h
  Tpm tpm;

  // The management-port transfer engine (hw-models/netxfer), optional:
  // devices.netxfer. Link figures decide all of its board time (docs/netxfer.md).
  struct Netxfer {
    bool present = false;
    uint64_t bus_base = 0;
    std::string part;
    std::string source;
    uint64_t link_bytes_per_s = 0;  // payload rate of the management link
    uint64_t round_trip_ps = 0;     // one request/answer exchange with the server
    uint32_t tftp_block = 512;      // TFTP: one round trip per block (lock-step)
    uint64_t max_size = 64ull << 20;  // largest file the engine buffers
  } netxfer;

  // Test-only switches (board file `test_options:`); never on a real board.
  bool skip_os_verification = false;  // ROMmon boots an OS image even if its signature fails

  uint64_t ns_per_insn() const { return 1ull << icount_shift; }
};

// Reads and checks a board file; throws InputError naming file:line: field.
BoardConfig load_board_config(const std::string& path);

}  // namespace trustsim
