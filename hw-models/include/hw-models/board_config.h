// The board description, parsed from boards/<name>.yaml (docs/board-file.md).
// Every timing figure is kept with the part it comes from.
#pragma once
#include <optional>

#include "tpm-sim/tpm_fault.h"
#include <cstdint>
#include <string>
#include <vector>

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

  struct BootFlash {
    uint64_t bus_base = 0;
    std::string part;
    std::string source;
    uint64_t size = 0;  // the array; the bus range adds TS_NOR_CONTROL_SIZE (flash-sim/boot_flash.h)
    uint64_t read_clock_hz = 0;
    // Program / erase times (optional board keys; defaults: W25Q128JV typical,
    // docs/nor-flash.md).
    uint64_t page_program_ps = 400000000ull;     // tPP, 256-byte page, 0.4 ms
    uint64_t sector_erase_ps = 45000000000ull;   // tSE, 4 KiB, 45 ms
    uint64_t block_erase_ps = 150000000000ull;   // tBE2, 64 KiB, 150 ms
  } boot_flash;

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

  // bootflash: storage, a NAND part (flash-sim/nand_flash). Optional until
  // the board file's devices.bootflash section is wired (present = false).
  struct Nand {
    bool present = false;
    uint64_t bus_base = 0;
    std::string part;
    std::string source;
    uint32_t page_size = 2048;     // main area
    uint32_t spare_size = 64;      // spare area (holds the on-die ECC)
    uint32_t pages_per_block = 64;
    uint32_t block_count = 1024;
    uint64_t t_read_ps = 0;        // tR: array -> page buffer
    uint64_t t_prog_ps = 0;        // tPROG
    uint64_t t_erase_ps = 0;       // tBERS
    uint64_t bus_clock_hz = 0;     // page buffer <-> host transfer clock
    bool refuse_unerased_program = true;  // NAND refuses; false = AND the data in, like NOR
    std::vector<uint32_t> factory_bad_blocks;
  } nand;

  // The discrete TPM (tpm-sim/), optional: devices.tpm.
  struct Tpm {
    bool present = false;
    uint64_t bus_base = 0;
    std::string part;
    std::string source;
    uint64_t spi_clock_hz = 43000000;
    uint32_t burst_count = 64;
    uint64_t init_ps = 88000000000ull;             // power-on to tpmRegValidSts
    uint64_t default_command_ps = 20000000000ull;  // commands not in command_ps
    std::vector<std::pair<uint32_t, uint64_t>> command_ps;  // by command code
    // Fault options (docs/tpm.md).
    std::optional<tpm::Fault> fault;              // armed at construction (tpm-sim/tpm_fault.h)
    std::optional<uint64_t> torn_nv_write_bytes;  // the first NV write of the run keeps only this many bytes
  } tpm;

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
