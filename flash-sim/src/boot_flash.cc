#include "flash-sim/boot_flash.h"
#include "devkit/register_table.h"
#include "devkit/seeded_rng.h"
#include "devkit/tear.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "devkit/input_error.h"
#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "trustsim/bytes.h"
#include "trustsim/mailbox_abi.h"
#include "trustsim/nor_regs.h"

namespace trustsim {
namespace {

// ---- Register map of the control block (docs/nor-flash.md). `clocks`: SPI
// clocks the access costs, from the W25Q128JV command it stands for (0 = a
// controller-side register, free).
using A = RegAccess;
const RegisterSpec kRegisters[] = {
    {"COMMAND", TS_NOR_COMMAND, 4, A::kWriteOnly, 0, 0xFFu, 0, 0, 0},  // clocks per command, below
    {"ADDRESS", TS_NOR_ADDRESS, 4, A::kReadWrite, 0, 0xFFFFFFFFu, 0, 0, 0},
    {"LENGTH", TS_NOR_LENGTH, 4, A::kReadWrite, TS_NOR_PAGE_BYTES, 0x1FFu, 0, 0, 0},
    {"STATUS", TS_NOR_STATUS, 4, A::kReadOnly, 0, 0, 0, 0, 16},        // 05h + 8 bits
    {"ID", TS_NOR_ID, 4, A::kReadOnly, TS_NOR_JEDEC_ID, 0, 0, 0, 32},  // 9Fh + 3 bytes
    {"PAGE_SIZE", TS_NOR_PAGE_SIZE, 4, A::kReadOnly, TS_NOR_PAGE_BYTES, 0, 0, 0, 0},
    {"SECTOR_SIZE", TS_NOR_SECTOR_SIZE, 4, A::kReadOnly, TS_NOR_SECTOR_BYTES, 0, 0, 0, 0},
    {"BLOCK_SIZE", TS_NOR_BLOCK_SIZE, 4, A::kReadOnly, TS_NOR_BLOCK_BYTES, 0, 0, 0, 0},
    {"ARRAY_SIZE", TS_NOR_ARRAY_SIZE, 4, A::kReadOnly, 0, 0, 0, 0, 0},  // from the board file
};

// SPI clocks of each command sequence (opcode, 24-bit address, data).
constexpr uint64_t kWriteEnableClocks = 8;       // 06h / 04h
constexpr uint64_t kProgramClocks = 8 + 24;      // 02h + address, then 8 per data byte
constexpr uint64_t kEraseClocks = 8 + 24;        // 20h / D8h + address
constexpr uint64_t kReadCommandClocks = 8 + 24;  // 03h + address, then 8 per byte

// Seed streams of the cut injector: unplanned cuts (derive_seed(run seed,
// "nor")) and the instant of an armed torn cut ("torn", as the NAND).
constexpr uint64_t kUnplannedSalt = 0x6E6F72ull;
constexpr uint64_t kInstantSalt = 0x746F726Eull;

}  // namespace

namespace nor {

std::string describe(const Fault& f) { return describe(std::get<PowerLoss>(f)); }

}  // namespace nor

BootFlash::BootFlash(sc_core::sc_module_name name, PowerDomain& power, const BootFlashConfig& cfg,
                     std::string state_path, DeviceTrace& trace)
    : BootFlash(name, power, cfg, std::move(state_path), &trace) {}

BootFlash::BootFlash(sc_core::sc_module_name name, PowerDomain& power, const BootFlashConfig& cfg,
                     std::string state_path)
    : BootFlash(name, power, cfg, std::move(state_path), nullptr) {}

BootFlash::BootFlash(sc_core::sc_module_name name, PowerDomain& power, const BootFlashConfig& cfg,
                     std::string state_path, DeviceTrace* trace)
    : Device(name, TS_DEV_BOOT_FLASH, cfg.size + TS_NOR_CONTROL_SIZE, power),
      cfg_(cfg),
      state_path_(std::move(state_path)),
      own_trace_(trace ? nullptr : std::make_unique<DeviceTrace>()),
      trace_(trace ? trace : own_trace_.get()),
      cuts_(*this, *trace_, kUnplannedSalt, kInstantSalt),
      regs_("control register", [this](const std::string& w) { guest_error(w); }) {
  use_power_cuts(cuts_);
  set_trace(trace_);
  power.events().add_source(TS_DEV_BOOT_FLASH);  // BUSY clears (docs/nor-flash.md)
  for (const RegisterSpec& r : kRegisters)
    regs_.add(
        r, {}, [this](RegisterAccess& a) { write_register(a); },
        [this, offset = r.offset] { return uint64_t(read_register(uint32_t(offset))); });
  if (cfg_.read_clock_hz == 0) SC_REPORT_FATAL("boot_flash", "read clock must be non-zero");
  if (cfg_.size == 0 || cfg_.size % TS_NOR_BLOCK_BYTES || cfg_.size > 0xFFFFFFFFull)
    SC_REPORT_FATAL("boot_flash", "array size must be a non-zero multiple of 64 KiB below 4 GiB");
  load();
  reset_registers();
  SC_THREAD(worker);
}

namespace {
// What identifies one version of the state file: a rewrite (ours, or a
// host tool's while the board is off) changes the inode or the mtime.
std::string file_version(const struct stat& st) {
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}
std::string file_version(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? file_version(st) : "";
}
}  // namespace

// Straight into the array: no second copy of the image in the heap.
void BootFlash::load() {
  int fd = open(state_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(state_path_ + ": cannot open: " + strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    throw InputError(state_path_ + ": not a regular file");
  }
  if (uint64_t(st.st_size) != cfg_.size) {
    close(fd);
    throw InputError(state_path_ + ": boot flash image is " + std::to_string(st.st_size) +
                     " bytes but the board file says " + std::to_string(cfg_.size));
  }
  mem_.resize(cfg_.size);
  size_t got = 0;
  while (got < mem_.size()) {
    ssize_t n = pread(fd, mem_.data() + got, mem_.size() - got, off_t(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : 0;
      close(fd);
      throw InputError(state_path_ + ": read error: " + (e ? strerror(e) : "file shrank"));
    }
    got += size_t(n);
  }
  close(fd);
  loaded_version_ = file_version(state_path_);
  block_versions_.assign(mem_.size() / TS_NOR_BLOCK_BYTES, ++last_version_);
}

void BootFlash::reload_if_changed() {
  std::string v = file_version(state_path_);
  // No file yet (a forked campaign run that has not written one): the array
  // in memory is the board's.
  if (v.empty() || v == loaded_version_) return;
  load();
}

// Bytes [begin, end) changed (docs/nor-flash.md, "Persistence"). Into the
// file mem_ was loaded from or last written to, only that range is written,
// in place: a trustsim killed inside the write leaves the operation partly
// applied, a state a power cut in that operation can leave too. Any other
// file (none yet: a forked run's first change; replaced by a host tool;
// hard-linked elsewhere) gets the whole array, atomically.
void BootFlash::persist(uint32_t begin, uint32_t end) {
  struct stat st;
  bool ours = !loaded_version_.empty() && stat(state_path_.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
              st.st_nlink == 1 && uint64_t(st.st_size) == mem_.size() && file_version(st) == loaded_version_;
  if (ours)
    write_file_range(state_path_, begin, mem_.data() + begin, end - begin);
  else
    write_file_atomic(state_path_, mem_.data(), mem_.size());
  loaded_version_ = file_version(state_path_);
}

sc_core::sc_time BootFlash::clocks(uint64_t n) const { return serial_time(n, cfg_.read_clock_hz); }

// The trace's words for OpKind's values, in their order (docs/traces.md).
const char* BootFlash::op_name(OpKind k) const {
  static const char* const kNames[] = {"page-program", "sector-erase", "block-erase"};
  return kNames[size_t(k)];
}

void BootFlash::trace_event(uint64_t t_ns, const char* op, uint64_t addr, uint64_t len, uint64_t latency_ns,
                            const char* status, std::string detail) {
  record_operation(*trace_, basename(), t_ns, op, addr, len, latency_ns, status, std::move(detail));
}

void BootFlash::reset_registers() {
  buffer_.assign(TS_NOR_PAGE_BYTES, 0xFF);
  address_ = 0;
  length_ = TS_NOR_PAGE_BYTES;
  status_ = 0;
  busy_read_logged_ = false;
}

void BootFlash::power_lost() {
  interrupt_at_power_loss(op_, power_, cuts_, *this);
  reset_registers();
}

void BootFlash::powered_on() {
  reload_if_changed();  // host-side edits of the state file while off are seen
  reset_registers();
}

void BootFlash::arm(const nor::Fault& fault) { cuts_.arm(std::get<PowerLoss>(fault)); }

// ---- operations

void BootFlash::start_operation(OpKind kind) {
  sc_core::sc_time now = sc_core::sc_time_stamp();
  op_ = Operation{};
  op_.kind = kind;
  op_.start = now;
  op_.cut = cuts_.begin();
  op_.index = op_.cut.index;
  busy_read_logged_ = false;
  uint64_t duration_ps = cfg_.page_program_ps;
  switch (kind) {
    case OpKind::kProgram:
      op_.address = address_;
      op_.length = length_;
      op_.data.assign(buffer_.begin(), buffer_.begin() + length_);
      break;
    case OpKind::kSectorErase:
      op_.address = address_ & ~(TS_NOR_SECTOR_BYTES - 1);
      op_.length = TS_NOR_SECTOR_BYTES;
      duration_ps = cfg_.sector_erase_ps;
      break;
    case OpKind::kBlockErase:
      op_.address = address_ & ~(TS_NOR_BLOCK_BYTES - 1);
      op_.length = TS_NOR_BLOCK_BYTES;
      duration_ps = cfg_.block_erase_ps;
      break;
  }

  if (op_.lost_before_start(cuts_, op_.address, power_, [&](const char* status, const std::string& detail) {
        trace_event(now_ns(), op_name(kind), op_.address, 0, 0, status, detail);
      })) {
    op_ = Operation{};
    return;
  }
  // A torn cut's seed picks the instant; the share of bits that changed follows it.
  if (op_.cut.torn()) op_.cut_at = cuts_.torn_at(op_.cut, now, from_ps(duration_ps));
  op_.end = now + from_ps(duration_ps);
  op_.active = true;
  op_changed_.notify(sc_core::SC_ZERO_TIME);
  power_.events().raise(TS_DEV_BOOT_FLASH, op_.end);  // the instant BUSY clears
}

// Brings the operation up to the current time (worker and every transaction),
// so a STATUS read at the completion instant sees the result whichever
// process SystemC runs first.
void BootFlash::advance() { advance_timed_operation(op_, cuts_, power_, *this); }

void BootFlash::worker() { run_timed_operations(op_, op_changed_, power_, cuts_, *this); }

uint64_t BootFlash::cut_place() const { return op_.address; }

// Applies the operation. fraction < 1 (torn): each bit that should change
// (program: 1 -> 0; erase: 0 -> 1) does so with that probability, drawn from
// `seed`; when at least two should change, at least one does and one does not.
void BootFlash::apply(double fraction, uint64_t seed, std::string* detail) {
  bool program = op_.kind == OpKind::kProgram;
  // Array byte of each operation byte: a page program wraps inside its page.
  uint32_t page_base = op_.address & ~(TS_NOR_PAGE_BYTES - 1);
  auto where = [&](uint32_t i) -> uint32_t {
    return program ? page_base + ((op_.address + i) & (TS_NOR_PAGE_BYTES - 1)) : op_.address + i;
  };
  // Bits changing, as (byte index << 3 | bit), before any is applied.
  std::vector<uint64_t> targets;
  for (uint32_t i = 0; i < op_.length; ++i) {
    uint8_t old = mem_[where(i)];
    uint8_t change = program ? uint8_t(old & ~op_.data[i]) : uint8_t(~old);
    for (unsigned b = 0; b < 8; ++b)
      if (change & (1u << b)) targets.push_back(uint64_t(where(i)) << 3 | b);
  }
  std::vector<bool> take(targets.size(), true);
  if (fraction < 1.0) {
    SeededRng rng(seed);
    take = choose_torn(rng, targets.size(), fraction);
  }
  size_t taken = size_t(std::count(take.begin(), take.end(), true));
  uint64_t version = ++last_version_;
  uint32_t begin = UINT32_MAX, end = 0;  // bytes changed
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!take[i]) continue;
    uint32_t byte = uint32_t(targets[i] >> 3);
    uint8_t mask = uint8_t(1u << (targets[i] & 7));
    uint8_t& cell = mem_[byte];
    cell = program ? uint8_t(cell & ~mask) : uint8_t(cell | mask);
    block_versions_[byte / TS_NOR_BLOCK_BYTES] = version;
    begin = std::min(begin, byte);
    end = std::max(end, byte + 1);
  }
  if (taken) persist(begin, end);  // nothing changed: the file is as it was
  if (detail)
    *detail += "; " + std::to_string(taken) + " of " + std::to_string(targets.size()) + " bits " +
               (program ? "programmed" : "erased");
}

void BootFlash::finish_operation() {
  apply(1.0, 0, nullptr);
  status_ &= ~TS_NOR_STATUS_WEL;  // the latch clears when the operation completes
  trace_event(to_ns(op_.start), op_name(op_.kind), op_.address, op_.length, to_ns(op_.end - op_.start), "ok");
  op_.stop_then_cut(cuts_, op_.address, op_changed_, power_);
}

// The operation stops before its end: power failed or the board was reset.
// Once it has begun changing cells it is torn with `seed` (the Infineon note:
// the location is indeterminate).
void BootFlash::interrupt_operation(const char* cause, uint64_t seed, bool armed) {
  TimedOperation::Interruption i = op_.interrupted(cause);
  if (i.elapsed > sc_core::SC_ZERO_TIME) apply(op_.tear(i, seed, armed), seed, &i.detail);
  trace_event(to_ns(op_.start), op_name(op_.kind), op_.address, op_.length, to_ns(i.elapsed), i.status, i.detail);
  op_.stop(op_changed_);
}

// ---- bus side

uint32_t BootFlash::read_register(uint32_t offset) const {
  switch (offset) {
    case TS_NOR_ADDRESS:
      return address_;
    case TS_NOR_LENGTH:
      return length_;
    case TS_NOR_STATUS:
      return status_ | (op_.active ? TS_NOR_STATUS_BUSY : 0u);
    case TS_NOR_ARRAY_SIZE:
      return uint32_t(cfg_.size);
  }
  const RegisterSpec* r = regs_.find(offset);
  return r ? uint32_t(r->reset) : 0;
}

void BootFlash::command(uint32_t cmd, tlm::tlm_generic_payload& gp) {
  if (op_.active) {
    guest_error("command " + hex_text(cmd) + " while BUSY");
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  uint64_t n = 0;
  OpKind kind = OpKind::kProgram;
  uint32_t fail_bit = TS_NOR_STATUS_PROGRAM_FAIL;
  switch (cmd) {
    case TS_NOR_CMD_WRITE_ENABLE:
    case TS_NOR_CMD_WRITE_DISABLE:
      n = kWriteEnableClocks;
      break;
    case TS_NOR_CMD_PAGE_PROGRAM:
      n = kProgramClocks + 8ull * length_;
      break;
    case TS_NOR_CMD_SECTOR_ERASE:
      n = kEraseClocks;
      kind = OpKind::kSectorErase;
      fail_bit = TS_NOR_STATUS_ERASE_FAIL;
      break;
    case TS_NOR_CMD_BLOCK_ERASE:
      n = kEraseClocks;
      kind = OpKind::kBlockErase;
      fail_bit = TS_NOR_STATUS_ERASE_FAIL;
      break;
    default:
      guest_error("unknown command " + hex_text(cmd));
      gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
      return;
  }
  uint64_t t0 = now_ns();
  if (!wait_powered(clocks(n), gp)) return;
  if (cmd == TS_NOR_CMD_WRITE_ENABLE || cmd == TS_NOR_CMD_WRITE_DISABLE) {
    status_ = cmd == TS_NOR_CMD_WRITE_ENABLE ? (status_ | TS_NOR_STATUS_WEL) : (status_ & ~TS_NOR_STATUS_WEL);
    trace_event(t0, cmd == TS_NOR_CMD_WRITE_ENABLE ? "write-enable" : "write-disable", 0, 0, now_ns() - t0, "ok");
    return;
  }
  // The real part ignores program/erase without WEL; so do we, loudly.
  if (!(status_ & TS_NOR_STATUS_WEL)) {
    guest_error("command " + hex_text(cmd) + " without WRITE_ENABLE: ignored");
    return;
  }
  status_ &= ~(TS_NOR_STATUS_PROGRAM_FAIL | TS_NOR_STATUS_ERASE_FAIL);
  if (address_ >= cfg_.size) {
    guest_error("command " + hex_text(cmd) + " for address " + hex_text(address_) + ", outside the " +
                std::to_string(cfg_.size) + "-byte array");
    status_ = (status_ & ~TS_NOR_STATUS_WEL) | fail_bit;
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  start_operation(kind);
}

void BootFlash::control_access(tlm::tlm_generic_payload& gp, uint64_t off, sc_core::sc_time& delay) {
  // Registers are sampled at the transaction's start time.
  if (delay != sc_core::SC_ZERO_TIME) wait(delay);
  delay = sc_core::SC_ZERO_TIME;
  if (!power_.is_on()) {
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  advance();
  uint64_t len = gp.get_data_length();
  uint8_t* data = gp.get_data_ptr();
  if (off >= TS_NOR_PAGE_BUFFER && off - TS_NOR_PAGE_BUFFER < TS_NOR_PAGE_BYTES) {
    uint64_t b = off - TS_NOR_PAGE_BUFFER;
    if (len > TS_NOR_PAGE_BYTES - b) {
      guest_error("page buffer access of " + std::to_string(len) + " bytes at " + hex_text(off) + " runs past its end");
      gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
      return;
    }
    // Controller RAM: free, and usable while BUSY (the command latched its copy).
    if (gp.is_read())
      memcpy(data, buffer_.data() + b, len);
    else
      memcpy(buffer_.data() + b, data, len);
    return;
  }
  const RegisterSpec* reg = regs_.access(gp, delay, off);  // writes: write_register()
  if (reg && gp.is_read()) delay += clocks(reg->cost);
  // The firmware has seen the status: earlier events are no longer news.
  if (reg && gp.is_read() && reg->offset == TS_NOR_STATUS)
    power_.events().acknowledge(TS_DEV_BOOT_FLASH, sc_core::sc_time_stamp());
}

void BootFlash::write_register(RegisterAccess& a) {
  uint32_t v = uint32_t(a.value);
  switch (a.reg.offset) {
    case TS_NOR_ADDRESS:
      address_ = v;
      break;
    case TS_NOR_LENGTH:
      if (v == 0 || v > TS_NOR_PAGE_BYTES) {
        guest_error("LENGTH " + std::to_string(v) + " outside 1.." + std::to_string(TS_NOR_PAGE_BYTES));
        a.refuse();
        return;
      }
      length_ = v;
      break;
    case TS_NOR_COMMAND:
      command(v, a.gp);
      break;
  }
}

void BootFlash::transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  uint64_t off = gp.get_address();
  uint64_t len = gp.get_data_length();
  if (off >= cfg_.size) {
    control_access(gp, off - cfg_.size, delay);
    return;
  }
  if (len > cfg_.size - off) {
    guest_error("array access at " + hex_text(off) + " of " + std::to_string(len) +
                " bytes runs into the control block");
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  if (!gp.is_read()) {
    guest_error("write to the array at " + hex_text(off) + " (use PAGE_PROGRAM)");
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  if (op_.active) {
    // Sync to the access's own time, then see whether the part is still busy.
    if (delay != sc_core::SC_ZERO_TIME) wait(delay);
    delay = sc_core::SC_ZERO_TIME;
    advance();
  }
  if (op_.active) {
    // The real part does not decode READ while WIP; we answer an error so the
    // firmware's mistake is visible instead of returning stale data.
    if (!busy_read_logged_) guest_error("array read while BUSY");
    busy_read_logged_ = true;
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  delay += clocks(kReadCommandClocks + 8 * len);
  memcpy(gp.get_data_ptr(), mem_.data() + off, len);
}

unsigned BootFlash::debug_transport(tlm::tlm_generic_payload& gp) {
  uint64_t off = gp.get_address();
  uint64_t len = gp.get_data_length();
  if (off < cfg_.size) {
    if (!gp.is_read() || len > cfg_.size - off) return 0;
    memcpy(gp.get_data_ptr(), mem_.data() + off, len);
    return unsigned(len);
  }
  off -= cfg_.size;
  if (off >= TS_NOR_PAGE_BUFFER && off - TS_NOR_PAGE_BUFFER < TS_NOR_PAGE_BYTES) {
    uint64_t b = off - TS_NOR_PAGE_BUFFER;
    if (len > TS_NOR_PAGE_BYTES - b) return 0;
    if (gp.is_read())
      memcpy(gp.get_data_ptr(), buffer_.data() + b, len);
    else
      memcpy(buffer_.data() + b, gp.get_data_ptr(), len);
    return unsigned(len);
  }
  return regs_.debug_read(gp, off);
}

}  // namespace trustsim
