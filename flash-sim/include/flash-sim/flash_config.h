// Configuration of the flash models, filled from the board file's
// devices.boot_flash and devices.bootflash sections (hw-models'
// load_board_config, docs/board-file.md): geometry and the datasheet
// figures, with the part they come from. No SystemC.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "devkit/device_info.h"

namespace trustsim {

// The boot SPI NOR (BootFlash, flash-sim/boot_flash.h).
struct BootFlashConfig {
  uint64_t bus_base = 0;
  std::string part;
  std::string source;
  uint64_t size = 0;  // the array; the bus range adds TS_NOR_CONTROL_SIZE (flash-sim/boot_flash.h)
  uint64_t read_clock_hz = 0;
  // Program / erase times (optional board keys; defaults: W25Q128JV typical,
  // docs/nor-flash.md).
  uint64_t page_program_ps = 400000000ull;    // tPP, 256-byte page, 0.4 ms
  uint64_t sector_erase_ps = 45000000000ull;  // tSE, 4 KiB, 45 ms
  uint64_t block_erase_ps = 150000000000ull;  // tBE2, 64 KiB, 150 ms
};

// bootflash: storage, a NAND part (flash-sim/nand_flash). Optional until
// the board file's devices.bootflash section is wired (present = false).
struct NandConfig {
  bool present = false;
  uint64_t bus_base = 0;
  std::string part;
  std::string source;
  uint32_t page_size = 2048;  // main area
  uint32_t spare_size = 64;   // spare area (holds the on-die ECC)
  uint32_t pages_per_block = 64;
  uint32_t block_count = 1024;
  uint64_t t_read_ps = 0;               // tR: array -> page buffer
  uint64_t t_prog_ps = 0;               // tPROG
  uint64_t t_erase_ps = 0;              // tBERS
  uint64_t bus_clock_hz = 0;            // page buffer <-> host transfer clock
  bool refuse_unerased_program = true;  // NAND refuses; false = AND the data in, like NOR
  std::vector<uint32_t> factory_bad_blocks;
};

// What is wrong with a NAND geometry (page, spare and ECC sections, block
// counts, factory bad blocks), or "" when the model can take it. The model
// and the board-file parser both ask this, so the rules live here once.
std::string nand_geometry_problem(const NandConfig& cfg);

// Their entries in the board's device list (devkit/device_info.h).
inline constexpr DeviceInfo kBootFlashDevice{"rom_nor",
                                             "rom_nor",
                                             true,
                                             true,
                                             "",
                                             "flash-sim/boot_flash.h",
                                             "docs/nor-flash.md",
                                             "SPI NOR flash (Winbond W25Q128JV)"};
inline constexpr DeviceInfo kNandDevice{"bootflash_nand",
                                        "bootflash_nand",
                                        false,
                                        true,
                                        "bit-flip, bit-flips, stuck-bit, bad-block",
                                        "flash-sim/nand_flash.h",
                                        "docs/nand-flash.md",
                                        "SPI NAND flash (Winbond W25N01GV)"};

}  // namespace trustsim
