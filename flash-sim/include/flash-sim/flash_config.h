// Configuration of the flash models, filled from the board file's
// devices.boot_flash and devices.bootflash sections (hw-models'
// load_board_config, docs/board-file.md): geometry and the datasheet
// figures, with the part they come from. No SystemC.
#pragma once
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "devkit/device_info.h"

namespace trustsim {

// The NOR's timing figures (docs/timing-sources.md, docs/nor-flash.md).
inline constexpr TimingFigure kNorReadClock{
    "read_clock", FigureUnit::kFrequency, 50000000, "SPI clock of READ (03h), one bit per clock",
    "Winbond W25Q128JV datasheet: READ (03h) clock limit (not confirmed from a copy; ISSI IS25LX lists 54 MHz)"};
inline constexpr TimingFigure kNorPageProgram{
    "page_program_time", FigureUnit::kDuration, 400000000ull, "tPP: one 256-byte page program",
    "Winbond W25Q128JV datasheet, AC electrical characteristics: tPP typical (3 ms max)"};
inline constexpr TimingFigure kNorSectorErase{
    "sector_erase_time", FigureUnit::kDuration, 45000000000ull, "tSE: one 4 KiB sector erase",
    "Winbond W25Q128JV datasheet, AC electrical characteristics: tSE typical (400 ms max)"};
inline constexpr TimingFigure kNorBlockErase{
    "block_erase_time", FigureUnit::kDuration, 150000000000ull, "tBE2: one 64 KiB block erase",
    "Winbond W25Q128JV datasheet, AC electrical characteristics: tBE2 typical (2 s max)"};
inline constexpr TimingFigure kBootFlashTiming[] = {kNorReadClock, kNorPageProgram, kNorSectorErase, kNorBlockErase};

// The NAND's timing figures (docs/timing-sources.md, docs/nand-flash.md).
inline constexpr TimingFigure kNandRead{
    "read_time", FigureUnit::kDuration, 25000000ull, "tR: array to page buffer",
    "tR typical; not confirmed for the W25N01GV: the tR maximum of parallel SLC parts (Micron MT29F4G08ABADA)"};
inline constexpr TimingFigure kNandProgram{
    "program_time", FigureUnit::kDuration, 250000000ull, "tPROG: one page program",
    "W25N01GV tPROG typical (0.7 ms max), from a third-party note; same as W29N01HV/W29N02GV"};
inline constexpr TimingFigure kNandErase{"erase_time", FigureUnit::kDuration, 2000000000ull, "tBERS: one block erase",
                                         "W25N01GV tBERS typical (10 ms max), from the same third-party note"};
inline constexpr TimingFigure kNandBusClock{"bus_clock", FigureUnit::kFrequency, 104000000,
                                            "SPI clock, single I/O, one bit per clock",
                                            "unsourced: the W25N01GV's single-I/O SPI clock"};
inline constexpr TimingFigure kNandTiming[] = {kNandRead, kNandProgram, kNandErase, kNandBusClock};

// The boot SPI NOR (BootFlash, flash-sim/boot_flash.h).
struct BootFlashConfig {
  uint64_t bus_base = 0;
  std::string part;
  std::string source;
  uint64_t size = 0;  // the array; the bus range adds TS_NOR_CONTROL_SIZE (flash-sim/boot_flash.h)
  uint64_t read_clock_hz = kNorReadClock.value;
  uint64_t page_program_ps = kNorPageProgram.value;  // tPP, 256-byte page
  uint64_t sector_erase_ps = kNorSectorErase.value;  // tSE, 4 KiB
  uint64_t block_erase_ps = kNorBlockErase.value;    // tBE2, 64 KiB
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
  uint64_t t_read_ps = kNandRead.value;         // tR: array -> page buffer
  uint64_t t_prog_ps = kNandProgram.value;      // tPROG
  uint64_t t_erase_ps = kNandErase.value;       // tBERS
  uint64_t bus_clock_hz = kNandBusClock.value;  // page buffer <-> host transfer clock
  bool refuse_unerased_program = true;          // NAND refuses; false = AND the data in, like NOR
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
                                             "SPI NOR flash (Winbond W25Q128JV)",
                                             "`size` bytes (the array) and a control window",
                                             kBootFlashTiming,
                                             std::size(kBootFlashTiming)};
inline constexpr DeviceInfo kNandDevice{"bootflash_nand",
                                        "bootflash_nand",
                                        false,
                                        true,
                                        "bit-flip, bit-flips, stuck-bit, bad-block",
                                        "flash-sim/nand_flash.h",
                                        "docs/nand-flash.md",
                                        "SPI NAND flash (Winbond W25N01GV)",
                                        "`0x1000 + page_size + spare_size` bytes (registers, then the page buffer)",
                                        kNandTiming,
                                        std::size(kNandTiming)};

}  // namespace trustsim
