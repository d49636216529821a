// bootflash: storage, a SPI-NAND after the Winbond W25N01GV datasheet
// (1 Gbit SLC, 2048+64-byte pages, 64 pages per block, 1024 blocks, on-die
// ECC, 2 KiB data buffer). The firmware sees a controller register block
// (common/include/trustsim/nand_regs.h, docs/nand-flash.md): it loads the
// page buffer by DMA, writes a command and polls STATUS while the part is
// BUSY for tR / tPROG / tBERS from the board file. Bus transfers cost the
// SPI clocks the real command sequence would take, one bit per clock.
//
// Modelled: page read / program / block erase with BUSY and datasheet
// times, program only clearing bits and the "program once per erase" rule
// (refused, or ANDed in like NOR), erase to 0xFF of main and spare, factory
// and grown bad blocks, per-block erase counters, on-die ECC (our SEC-DED
// code per 512-byte sector, docs/nand-flash.md), power loss before / after /
// inside a program or erase (torn: a seeded part of the bits change), bit
// flips, stuck bits, erase wear-out, persistence in a sparse image file.
//
// NOT modelled: the SPI wire protocol itself (only its clock count), dual
// and quad I/O, continuous read mode (BUF=0), the write-enable latch and
// block protection (every block is writable), OTP and parameter pages, the
// bad-block LUT commands, page 0 auto-load and tRST/tPU at power-up (RESET
// and power-up take no time beyond the bus), the partial-page program
// limit (NOP), the in-order programming rule inside a block (the file
// system's rule, not checked here), cache read/program, read disturb, data
// retention, unstable or delayed bit errors after an interrupted operation,
// endurance limits (wear is counted, failures come only from
// BadOnNthErase), and typ/max spread (one fixed figure per operation).
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "devkit/cut_injector.h"
#include "devkit/device.h"
#include "devkit/power_loss.h"
#include "devkit/register_table.h"
#include "devkit/timed_operation.h"
#include "devkit/trace.h"
#include "flash-sim/flash_config.h"
#include "flash-sim/nand_fault.h"

namespace trustsim {

// The array's storage: no SystemC, no timing, no faults; usable by host
// tools on a board state directory. Pages live at fixed offsets
// (page * (page_size + spare_size)) with every byte stored inverted, so
// erased 0xFF is a zero hole and a fresh image is a sparse file. Erase
// counters and grown bad blocks live in a side file (meta_path()) that is
// replaced atomically whenever it changes. Format in docs/nand-flash.md.
class NandImage {
 public:
  // Opens an existing image; throws InputError naming the file if it or its
  // side file is missing, of the wrong size, or corrupt.
  NandImage(const NandConfig& cfg, std::string path);
  ~NandImage();
  NandImage(const NandImage&) = delete;
  NandImage& operator=(const NandImage&) = delete;

  // A fresh, fully erased image for cfg (factory bad blocks carry their
  // marker), plus its side file. Replaces existing files.
  static void create(const NandConfig& cfg, const std::string& path);
  static std::string meta_path(const std::string& image_path);

  uint32_t raw_page_bytes() const { return raw_page_bytes_; }
  uint32_t page_count() const { return page_count_; }
  uint32_t block_count() const { return cfg_.block_count; }
  const std::string& path() const { return path_; }

  void read_page(uint32_t page, uint8_t* raw) const;   // raw_page_bytes()
  void write_page(uint32_t page, const uint8_t* raw);  // replaces the page as is
  void erase_block(uint32_t block);                    // every byte of the block to 0xFF
  bool page_is_erased(uint32_t page) const;

  uint32_t erase_count(uint32_t block) const { return erase_counts_.at(block); }
  void count_erase(uint32_t block);
  bool is_grown_bad(uint32_t block) const { return grown_bad_.count(block) != 0; }
  void mark_grown_bad(uint32_t block);
  // Batches side-file writes: between hold_meta() and the matching
  // release_meta(), erase counts and grown bad blocks change in memory
  // only, and release_meta() writes the side file once if anything changed
  // (a host tool formatting bootflash: or writing a file erases many
  // blocks). Holds nest. The device model never holds: while the guest
  // runs, its side file follows every erase.
  void hold_meta() { ++meta_holds_; }
  void release_meta();
  uint64_t meta_writes() const { return meta_writes_; }  // side-file writes since open
  // Page reads that went to the file since open. A block this image has
  // not written since it was last erased (or that the file holds as a hole
  // on open) reads as erased from memory: a mount scans the first pages of
  // every block, nearly all of them erased (docs/performance.md).
  uint64_t file_reads() const { return file_reads_; }

  uint64_t allocated_bytes() const;  // disk space the image really uses
  // Copies the image and its side file to `path` and works on the copy from
  // now on (a forked campaign run gets its own board this way).
  void move_to(const std::string& path);

 private:
  void load_meta();
  void save_meta();
  void find_written_blocks();
  bool may_hold_data(uint32_t page) const { return written_[page / cfg_.pages_per_block] != 0; }
  void meta_changed();
  NandConfig cfg_;
  std::string path_;
  int fd_ = -1;
  uint32_t raw_page_bytes_ = 0;
  uint32_t page_count_ = 0;
  std::vector<uint32_t> erase_counts_;
  std::set<uint32_t> grown_bad_;
  mutable std::vector<uint8_t> scratch_;
  uint32_t meta_holds_ = 0;
  bool meta_dirty_ = false;
  uint64_t meta_writes_ = 0;
  // Per block: 0 if every byte of it is known erased (a hole, or erased by
  // this image), 1 if it may hold data. Only ever 0 when that is certain.
  std::vector<uint8_t> written_;
  mutable uint64_t file_reads_ = 0;
};

class NandFlash : public Device, private TimedOperationModel {
 public:
  SC_HAS_PROCESS(NandFlash);
  NandFlash(sc_core::sc_module_name name, PowerDomain& power, const NandConfig& cfg, std::string image_path,
            DeviceTrace& trace);

  // Fresh image + side file for a board state directory.
  static void create_image(const NandConfig& cfg, const std::string& image_path) { NandImage::create(cfg, image_path); }
  // Writes the on-die ECC codes into the spare area of a main + spare page,
  // as PROGRAM_PAGE does with ECC enabled (for tools that build images).
  static void fill_ecc(const NandConfig& cfg, uint8_t* raw_page);
  // Checks and corrects a main + spare page as READ_PAGE does with ECC on;
  // returns TS_NAND_ECC_NONE / _CORRECTED / _UNCORRECTABLE.
  static uint32_t correct_ecc(const NandConfig& cfg, uint8_t* raw_page, uint32_t* corrected_sectors = nullptr);

  // Faults: typed, seeded, recorded in the trace when they fire. Throws
  // std::invalid_argument for a page/byte/block outside the part or a
  // PowerLoss for an operation index already passed.
  void arm(const nand::Fault& fault);
  void disarm_all();
  // operation_count(): program and erase commands started since
  // construction (reads, ID and reset are not counted), the index PowerLoss
  // refers to.
  // Base of the seed used when power fails inside an operation without an
  // armed fault (otherwise it comes from the run seed, CutInjector); the
  // seed actually used is printed in the trace.
  void set_unplanned_cut_seed(uint64_t seed) { cuts_.set_unplanned_base(seed); }

  // Backdoor for tools and checks: no timing, no faults, no BUSY check.
  NandImage& image() { return image_; }
  void read_raw(uint32_t page, uint8_t* raw) const { image_.read_page(page, raw); }  // main + spare
  void write_raw(uint32_t page, const uint8_t* raw) { image_.write_page(page, raw); }
  uint32_t erase_count(uint32_t block) const { return image_.erase_count(block); }
  bool is_grown_bad(uint32_t block) const { return image_.is_grown_bad(block); }
  bool is_factory_bad(uint32_t block) const { return factory_bad_.count(block) != 0; }
  bool busy() const { return op_.active; }
  const NandImage& image() const { return image_; }

  void power_lost() override;
  void powered_on() override;

 protected:
  void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
  unsigned debug_transport(tlm::tlm_generic_payload& gp) override;

 private:
  enum class OpKind { kRead, kProgram, kErase };
  // What the array will do when a program or erase runs to its end, decided
  // when the command is accepted.
  enum class Outcome { kApply, kAndIn, kRefuseUnerased, kBadBlock, kWearOut };
  // Its timing, cut and latched bytes (a program's main + spare as it will
  // be programmed) are devkit's (devkit/timed_operation.h); a read has an
  // index of 0 and no cut.
  struct Operation : TimedOperation {
    OpKind kind = OpKind::kRead;
    Outcome outcome = Outcome::kApply;
    uint32_t row = 0;
  };

  void worker();
  void advance();
  void start_operation(OpKind kind, uint32_t row);
  // Its side of the operation (TimedOperationModel).
  uint64_t cut_place() const override;
  void finish_operation() override;
  void interrupt_operation(const char* cause, uint64_t seed, bool armed) override;
  void finish_read();
  void apply_program(double fraction, uint64_t seed, std::string* detail);
  void apply_erase(double fraction, uint64_t seed, std::string* detail);
  void reset_registers();
  void command(uint32_t cmd, tlm::tlm_generic_payload& gp);
  void buffer_access(tlm::tlm_generic_payload& gp, uint64_t offset, sc_core::sc_time& delay);
  void array_read(tlm::tlm_generic_payload& gp, uint64_t offset);
  bool wait_until_idle();
  uint32_t read_register(uint32_t offset) const;
  sc_core::sc_time clocks(uint64_t n) const;
  void trace_event(uint64_t t_ns, const char* op, uint64_t addr, uint64_t len, uint64_t latency_ns, const char* status,
                   std::string detail = "");
  void write_register(RegisterAccess& a);
  const char* op_name(OpKind k) const;

  NandConfig cfg_;
  DeviceTrace& trace_;
  CutInjector cuts_;
  NandImage image_;
  std::set<uint32_t> factory_bad_;
  uint32_t raw_page_bytes_;

  // Volatile (reset by RESET and power loss).
  std::vector<uint8_t> buffer_;
  uint32_t row_ = 0;
  uint32_t status_ = 0;
  uint32_t window_pages_ = 0;  // WINDOW_PAGES
  uint32_t config_ = 0;
  uint32_t id_ = 0;
  uint32_t ecc_bits_ = 0;
  bool busy_access_logged_ = false;

  Operation op_;
  sc_core::sc_event op_changed_;

  // Faults other than power loss (cuts_ holds those).
  std::vector<nand::StuckBit> stuck_bits_;
  struct WearOut {
    nand::BadOnNthErase fault;
    uint32_t seen = 0;
  };
  std::vector<WearOut> wear_outs_;
  RegisterTable regs_;  // the register block (docs/nand-flash.md)
};

}  // namespace trustsim
