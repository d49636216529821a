// Boot SPI NOR flash holding ROMmon, after the Winbond W25Q128JV datasheet:
// READ (03h) is an 8-bit command, a 24-bit address and then data, one bit
// per clock at the board file's read clock. Contents come from the board
// state directory at power-on.
//
// The firmware reads the array directly (bus offsets 0 .. size-1) and
// programs / erases it through a small control block after the array
// (common/include/trustsim/nor_regs.h, docs/nor-flash.md): WRITE_ENABLE,
// then PAGE_PROGRAM (from a 256-byte page buffer), SECTOR_ERASE (4 KiB) or
// BLOCK_ERASE (64 KiB); STATUS shows BUSY (WIP) for tPP / tSE / tBE from the
// board file. Command bus cost: the SPI clocks of the real sequence.
//
// Modelled: program only clearing bits (new = old & data), page program
// wrapping within its 256-byte page, erase to 0xFF, the write-enable latch
// (commands without it are ignored and traced as guest errors), array reads
// refused while BUSY, power loss before / after / inside a program or erase
// (torn: a seeded part of the bits change), an unplanned power cut tearing
// the running operation, persistence of the bytes each completed or torn
// operation changed (in place; docs/nor-flash.md, "Persistence").
//
// NOT modelled: the SPI wire protocol itself (only its clock count), dual /
// quad I/O and fast read, status registers 2/3, block protection (BP/TB/SEC/
// CMP) and security registers, 32 KiB block erase (52h), chip erase,
// suspend/resume, software reset (66h/99h), SFDP, tPP scaling with fewer
// bytes (one fixed tPP per command), typ/max spread, wear and endurance,
// program disturb of the rest of the sector (Microchip note) and the
// zero-fill-then-erase order of some parts (UBI note): a torn erase sets a
// seeded subset of the range's 0 bits to 1.
#pragma once
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "devkit/cut_injector.h"
#include "devkit/device.h"
#include "devkit/huge_page_allocator.h"
#include "devkit/power_loss.h"
#include "devkit/register_table.h"
#include "devkit/timed_operation.h"
#include "devkit/trace.h"
#include "flash-sim/flash_config.h"

namespace trustsim {

namespace nor {

// Power loss at the Nth program/erase (devkit/power_loss.h).
using Fault = std::variant<PowerLoss>;

std::string describe(const Fault& f);

}  // namespace nor

class BootFlash : public Device, private TimedOperationModel {
 public:
  SC_HAS_PROCESS(BootFlash);
  BootFlash(sc_core::sc_module_name name, PowerDomain& power, const BootFlashConfig& cfg, std::string state_path,
            DeviceTrace& trace);
  // Without a trace: events are counted in a private trace and not written.
  BootFlash(sc_core::sc_module_name name, PowerDomain& power, const BootFlashConfig& cfg, std::string state_path);

  // Faults: typed, seeded, recorded in the trace when they fire. Throws
  // std::invalid_argument for an operation index already passed.
  void arm(const nor::Fault& fault);
  void disarm_all() { cuts_.disarm_all(); }
  // operation_count(): program and erase commands accepted since construction.
  // Base of the seed used when power fails inside an operation without an
  // armed fault (otherwise it comes from the run seed, CutInjector); the
  // seed actually used is printed in the trace.
  void set_unplanned_cut_seed(uint64_t seed) { cuts_.set_unplanned_base(seed); }

  // Backdoor for tools and checks: no timing, no faults, no BUSY check.
  using Array = std::vector<uint8_t, HugePageAllocator<uint8_t>>;
  const Array& contents() const { return mem_; }
  // The array's 64 KiB blocks, each with a version: a number this process
  // has not given any block before, set whenever a byte of the block
  // changes or the array is loaded. A caller can keep what it derived from a
  // block (the crash-state key's digests) until the version moves.
  size_t block_count() const { return block_versions_.size(); }
  uint64_t block_version(size_t block) const { return block_versions_.at(block); }
  bool busy() const { return op_.active; }
  // The state file (a forked campaign run gets its own path; the file is
  // written there with the first change, the array stays in memory).
  void set_state_path(std::string path) {
    state_path_ = std::move(path);
    loaded_version_.clear();
  }

  void power_lost() override;
  void powered_on() override;

 protected:
  void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
  unsigned debug_transport(tlm::tlm_generic_payload& gp) override;

 private:
  BootFlash(sc_core::sc_module_name name, PowerDomain& power, const BootFlashConfig& cfg, std::string state_path,
            DeviceTrace* trace);

  enum class OpKind { kProgram, kSectorErase, kBlockErase };
  // Its timing, cut and latched bytes are devkit's (devkit/timed_operation.h).
  struct Operation : TimedOperation {
    OpKind kind = OpKind::kProgram;
    uint32_t address = 0;  // program: first byte; erase: start of the sector/block
    uint32_t length = 0;   // program: bytes from the buffer; erase: range size
  };

  void load();
  void reload_if_changed();
  void persist(uint32_t begin, uint32_t end);
  void worker();
  void advance();
  void start_operation(OpKind kind);
  // Its side of the operation (TimedOperationModel).
  uint64_t cut_place() const override;
  void finish_operation() override;
  void interrupt_operation(const char* cause, uint64_t seed, bool armed) override;
  void apply(double fraction, uint64_t seed, std::string* detail);
  void reset_registers();
  void command(uint32_t cmd, tlm::tlm_generic_payload& gp);
  void control_access(tlm::tlm_generic_payload& gp, uint64_t offset, sc_core::sc_time& delay);
  uint32_t read_register(uint32_t offset) const;
  sc_core::sc_time clocks(uint64_t n) const;
  void trace_event(uint64_t t_ns, const char* op, uint64_t addr, uint64_t len, uint64_t latency_ns, const char* status,
                   std::string detail = "");
  void write_register(RegisterAccess& a);
  const char* op_name(OpKind k) const;

  BootFlashConfig cfg_;
  std::string state_path_;
  std::string loaded_version_;  // of the state file mem_ came from (reload_if_changed)
  std::unique_ptr<DeviceTrace> own_trace_;
  DeviceTrace* trace_;  // own_trace_ or the board's
  Array mem_;           // non-volatile: mirrors the state file; huge pages (cheaper forks)
  std::vector<uint64_t> block_versions_;
  uint64_t last_version_ = 0;
  CutInjector cuts_;

  // Volatile (cleared by power loss).
  std::vector<uint8_t> buffer_;
  uint32_t address_ = 0;
  uint32_t length_ = 0;
  uint32_t status_ = 0;  // WEL and FAIL bits; BUSY comes from op_
  bool busy_read_logged_ = false;

  Operation op_;
  sc_core::sc_event op_changed_;
  RegisterTable regs_;  // the register block (docs/nor-flash.md)
};

}  // namespace trustsim
