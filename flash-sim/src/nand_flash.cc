#include "flash-sim/nand_flash.h"
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
#include "trustsim/crc32.h"
#include "trustsim/ecc.h"
#include "trustsim/mailbox_abi.h"
#include "trustsim/nand_regs.h"

namespace trustsim {
namespace {

// ---- Register map (docs/nand-flash.md). `clocks`: SPI clocks the access
// costs on the bus, from the W25N01GV command it stands for (0 = a
// controller-side register, free).
using A = RegAccess;
const RegisterSpec kRegisters[] = {
    {"ID", TS_NAND_ID, 4, A::kReadOnly, 0, 0, 0, 0, 0},
    {"COMMAND", TS_NAND_COMMAND, 4, A::kWriteOnly, 0, 0xFFu, 0, 0, 0},  // clocks per command, below
    {"ROW", TS_NAND_ROW, 4, A::kReadWrite, 0, 0xFFFFFFFFu, 0, 0, 0},    // clocked out with the command
    {"STATUS", TS_NAND_STATUS, 4, A::kReadOnly, 0, 0, 0, 0, 24},        // 0Fh C0h + 8 bits
    {"CONFIG", TS_NAND_CONFIG, 4, A::kReadWrite, TS_NAND_CONFIG_ECC_EN, TS_NAND_CONFIG_ECC_EN, 0, 0,
     24},  // 1Fh/0Fh B0h
    {"ECC_BITS", TS_NAND_ECC_BITS, 4, A::kReadOnly, 0, 0, 0, 0, 24},
    {"READY_STATUS", TS_NAND_READY_STATUS, 4, A::kReadOnly, 0, 0, 0, 0, 24},            // STATUS, after the wait
    {"WINDOW_PAGES", TS_NAND_WINDOW_PAGES, 4, A::kReadWrite, 0, 0xFFFFFFFFu, 0, 0, 0},  // controller side
    {"PAGE_SIZE", TS_NAND_PAGE_SIZE, 4, A::kReadOnly, 0, 0, 0, 0, 0},
    {"SPARE_SIZE", TS_NAND_SPARE_SIZE, 4, A::kReadOnly, 0, 0, 0, 0, 0},
    {"PAGES_PER_BLOCK", TS_NAND_PAGES_PER_BLOCK, 4, A::kReadOnly, 0, 0, 0, 0, 0},
    {"BLOCK_COUNT", TS_NAND_BLOCK_COUNT, 4, A::kReadOnly, 0, 0, 0, 0, 0},
    {"ECC_SECTOR_SIZE", TS_NAND_ECC_SECTOR_SIZE, 4, A::kReadOnly, 0, 0, 0, 0, 0},
};

// SPI clocks of each command sequence (opcode, dummy byte, 16-bit address).
constexpr uint64_t kReadPageClocks = 8 + 8 + 16;     // 13h
constexpr uint64_t kProgramClocks = 8 + 8 + 8 + 16;  // 06h, then 10h
constexpr uint64_t kEraseClocks = 8 + 8 + 8 + 16;    // 06h, then D8h
constexpr uint64_t kReadIdClocks = 8 + 8 + 24;       // 9Fh, dummy, 3 ID bytes
constexpr uint64_t kResetClocks = 8;                 // FFh
constexpr uint64_t kBufferReadClocks = 8 + 16 + 8;   // 03h, column, dummy, then data
constexpr uint64_t kBufferLoadClocks = 8 + 16;       // 84h, column, then data

constexpr uint32_t kMetaMagic = 0x4D4E5354u;  // "TSNM"
constexpr uint32_t kMetaVersion = 1;

// Seeded pseudo-random numbers (splitmix64): the same seed gives the same
// sequence on every host.
using Rng = SeededRng;

// Seed streams of the cut injector: unplanned cuts (derive_seed(run seed,
// "nand")) and the instant of an armed torn cut ("torn").
constexpr uint64_t kUnplannedSalt = 0x6E616E64ull;
constexpr uint64_t kInstantSalt = 0x746F726Eull;

std::string part_name(const NandConfig& cfg) { return "NAND" + (cfg.part.empty() ? "" : " " + cfg.part); }

void validate_geometry(const NandConfig& cfg) {
  std::string problem = nand_geometry_problem(cfg);
  if (!problem.empty()) throw InputError(part_name(cfg) + ": " + problem);
}

// One ECC sector: its 512 main bytes plus the protected user bytes of its
// spare section, gathered into one buffer for the code.
struct SectorLayout {
  uint32_t sectors, section, protected_spare;
  explicit SectorLayout(const NandConfig& cfg)
      : sectors(cfg.page_size / TS_NAND_ECC_SECTOR),
        section(cfg.spare_size / sectors),
        protected_spare(section - TS_NAND_SPARE_FREE_BYTES - TS_NAND_SPARE_ECC_BYTES) {}
  uint32_t data_bytes() const { return TS_NAND_ECC_SECTOR + protected_spare; }
  uint8_t* user(uint8_t* raw, uint32_t page_size, uint32_t s) const {
    return raw + page_size + s * section + TS_NAND_SPARE_FREE_BYTES;
  }
  uint8_t* code(uint8_t* raw, uint32_t page_size, uint32_t s) const {
    return raw + page_size + s * section + section - TS_NAND_SPARE_ECC_BYTES;
  }
  void gather(uint8_t* raw, uint32_t page_size, uint32_t s, uint8_t* out) const {
    memcpy(out, raw + s * TS_NAND_ECC_SECTOR, TS_NAND_ECC_SECTOR);
    memcpy(out + TS_NAND_ECC_SECTOR, user(raw, page_size, s), protected_spare);
  }
  void scatter(const uint8_t* in, uint32_t page_size, uint32_t s, uint8_t* raw) const {
    memcpy(raw + s * TS_NAND_ECC_SECTOR, in, TS_NAND_ECC_SECTOR);
    memcpy(user(raw, page_size, s), in + TS_NAND_ECC_SECTOR, protected_spare);
  }
};

void pread_all(int fd, uint8_t* buf, size_t len, uint64_t off, const std::string& path) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, buf + done, len - done, off_t(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(path + ": read failed: " + strerror(errno));
    if (n == 0) {  // past the end: a hole
      memset(buf + done, 0, len - done);
      return;
    }
    done += size_t(n);
  }
}

void pwrite_all(int fd, const uint8_t* buf, size_t len, uint64_t off, const std::string& path) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(fd, buf + done, len - done, off_t(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(path + ": write failed: " + strerror(errno));
    done += size_t(n);
  }
}

void write_meta(const std::string& path, const std::vector<uint32_t>& erase_counts, const std::set<uint32_t>& bad) {
  std::vector<uint8_t> m(16 + 4 * (erase_counts.size() + bad.size()) + 4);
  store_le32(&m[0], kMetaMagic);
  store_le32(&m[4], kMetaVersion);
  store_le32(&m[8], uint32_t(erase_counts.size()));
  store_le32(&m[12], uint32_t(bad.size()));
  size_t p = 16;
  for (uint32_t c : erase_counts) store_le32(&m[p], c), p += 4;
  for (uint32_t b : bad) store_le32(&m[p], b), p += 4;
  store_le32(&m[p], crc32(m.data(), p));
  write_file_atomic(path, m.data(), m.size());
}

}  // namespace

// ---------------------------------------------------------------- faults

namespace nand {

std::string describe(const Fault& f) {
  struct {
    std::string operator()(const PowerLoss& p) const { return trustsim::describe(p); }
    std::string operator()(const BitFlip& b) const {
      return "bit-flip page " + std::to_string(b.page) + " byte " + std::to_string(b.byte) + " bit " +
             std::to_string(b.bit);
    }
    std::string operator()(const RandomBitFlips& r) const {
      return "random-bit-flips page " + std::to_string(r.page) + " count " + std::to_string(r.count) +
             " seed=" + std::to_string(r.seed);
    }
    std::string operator()(const StuckBit& s) const {
      return "stuck-bit page " + std::to_string(s.page) + " byte " + std::to_string(s.byte) + " bit " +
             std::to_string(s.bit) + " at " + (s.value ? "1" : "0");
    }
    std::string operator()(const BadOnNthErase& b) const {
      return "bad-on-nth-erase block " + std::to_string(b.block) + " n " + std::to_string(b.n);
    }
  } visitor;
  return std::visit(visitor, f);
}

}  // namespace nand

// The one statement of the geometry rules (flash-sim/flash_config.h).
std::string nand_geometry_problem(const NandConfig& cfg) {
  if (cfg.page_size == 0 || cfg.page_size % TS_NAND_ECC_SECTOR != 0)
    return "page size " + std::to_string(cfg.page_size) + " is not a multiple of the " +
           std::to_string(TS_NAND_ECC_SECTOR) + "-byte ECC sector";
  uint32_t sectors = cfg.page_size / TS_NAND_ECC_SECTOR;
  uint32_t min_section = TS_NAND_SPARE_FREE_BYTES + TS_NAND_SPARE_ECC_BYTES;
  if (cfg.spare_size % sectors != 0 || cfg.spare_size / sectors < min_section)
    return "spare size " + std::to_string(cfg.spare_size) + " must split into " + std::to_string(sectors) +
           " equal sections of at least " + std::to_string(min_section) + " bytes";
  if (TS_NAND_ECC_SECTOR + cfg.spare_size / sectors - min_section > ecc::kMaxDataBytes)
    return "spare size " + std::to_string(cfg.spare_size) + " is too large for the on-die ECC";
  if (cfg.pages_per_block == 0 || cfg.block_count == 0 ||
      uint64_t(cfg.pages_per_block) * cfg.block_count > 0xFFFFFFFFull)
    return "pages per block and block count must be non-zero and address at most 2^32 pages";
  for (uint32_t b : cfg.factory_bad_blocks)
    if (b >= cfg.block_count)
      return "factory bad block " + std::to_string(b) + " is outside the part's " + std::to_string(cfg.block_count) +
             " blocks";
  return "";
}

// ---------------------------------------------------------------- storage

std::string NandImage::meta_path(const std::string& image_path) { return image_path + ".meta"; }

void NandImage::create(const NandConfig& cfg, const std::string& path) {
  validate_geometry(cfg);
  uint64_t raw = uint64_t(cfg.page_size) + cfg.spare_size;
  uint64_t size = raw * cfg.pages_per_block * cfg.block_count;
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError(tmp + ": cannot create NAND image: " + strerror(errno));
  try {
    if (ftruncate(fd, off_t(size)) != 0) throw InputError(tmp + ": cannot size NAND image: " + strerror(errno));
    // Factory bad-block marker: 0x00 in spare byte 0 of the block's first page (stored inverted).
    for (uint32_t b : cfg.factory_bad_blocks) {
      uint8_t stored = uint8_t(~0x00u);
      pwrite_all(fd, &stored, 1,
                 uint64_t(b) * cfg.pages_per_block * raw + cfg.page_size + TS_NAND_BAD_BLOCK_MARKER_OFFSET, tmp);
    }
  } catch (...) {
    close(fd);
    unlink(tmp.c_str());
    throw;
  }
  close(fd);
  write_meta(meta_path(path), std::vector<uint32_t>(cfg.block_count, 0), {});
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    throw InputError(path + ": cannot create NAND image: " + strerror(e));
  }
}

NandImage::NandImage(const NandConfig& cfg, std::string path) : cfg_(cfg), path_(std::move(path)) {
  validate_geometry(cfg_);
  raw_page_bytes_ = cfg_.page_size + cfg_.spare_size;
  page_count_ = cfg_.pages_per_block * cfg_.block_count;
  scratch_.resize(raw_page_bytes_);
  fd_ = open(path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) throw InputError(path_ + ": cannot open NAND image: " + strerror(errno));
  try {
    struct stat st;
    if (fstat(fd_, &st) != 0) throw InputError(path_ + ": cannot stat NAND image: " + strerror(errno));
    uint64_t expected = uint64_t(raw_page_bytes_) * page_count_;
    if (uint64_t(st.st_size) != expected)
      throw InputError(path_ + ": NAND image is " + std::to_string(st.st_size) + " bytes but the board's " +
                       part_name(cfg_) + " geometry needs " + std::to_string(expected) + " (" +
                       std::to_string(cfg_.block_count) + " blocks x " + std::to_string(cfg_.pages_per_block) +
                       " pages x " + std::to_string(raw_page_bytes_) + " bytes)");
    load_meta();
  } catch (...) {
    close(fd_);
    throw;
  }
  find_written_blocks();
}

// The blocks the file holds data in: its extents (erasing punches a hole,
// so an erased block is a hole on every file system that can punch one).
// Where the file system cannot say, data_extents gives the whole file and
// every block counts as written, read from the file.
void NandImage::find_written_blocks() {
  uint64_t block_bytes = uint64_t(raw_page_bytes_) * cfg_.pages_per_block;
  std::vector<std::pair<uint64_t, uint64_t>> extents;
  data_extents(fd_, block_bytes * cfg_.block_count, extents);
  written_.assign(cfg_.block_count, 0);
  for (const auto& e : extents)
    for (uint64_t b = e.first / block_bytes; b <= (e.second - 1) / block_bytes; ++b) written_[b] = 1;
}

void NandImage::move_to(const std::string& path) {
  if (meta_dirty_) save_meta();
  copy_file_sparse(path_, path);
  copy_file_sparse(meta_path(path_), meta_path(path));
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": cannot open NAND image copy: " + strerror(errno));
  close(fd_);
  fd_ = fd;
  path_ = path;
}

NandImage::~NandImage() {
  // A holder that returned by an exception did not release: keep the
  // counts if the file can still be written (a destructor cannot report).
  try {
    if (meta_dirty_) save_meta();
  } catch (...) {
  }
  if (fd_ >= 0) close(fd_);
}

void NandImage::load_meta() {
  std::string mp = meta_path(path_);
  std::vector<uint8_t> m = read_file(mp);
  auto bad = [&](const std::string& why) { return InputError(mp + ": NAND wear file " + why); };
  if (m.size() < 20 || load_le32(&m[0]) != kMetaMagic) throw bad("has no TSNM header");
  if (load_le32(&m[4]) != kMetaVersion) throw bad("has unsupported version " + std::to_string(load_le32(&m[4])));
  uint32_t blocks = load_le32(&m[8]);
  uint32_t grown = load_le32(&m[12]);
  if (blocks != cfg_.block_count)
    throw bad("is for " + std::to_string(blocks) + " blocks but the board's NAND has " +
              std::to_string(cfg_.block_count));
  if (m.size() != 16 + 4 * (uint64_t(blocks) + grown) + 4) throw bad("has the wrong size");
  size_t end = m.size() - 4;
  if (crc32(m.data(), end) != load_le32(&m[end])) throw bad("fails its CRC");
  erase_counts_.resize(blocks);
  for (uint32_t i = 0; i < blocks; ++i) erase_counts_[i] = load_le32(&m[16 + 4 * i]);
  grown_bad_.clear();
  for (uint32_t i = 0; i < grown; ++i) {
    uint32_t b = load_le32(&m[16 + 4 * (blocks + i)]);
    if (b >= blocks) throw bad("lists bad block " + std::to_string(b) + " outside the part");
    grown_bad_.insert(b);
  }
}

void NandImage::save_meta() {
  write_meta(meta_path(path_), erase_counts_, grown_bad_);
  meta_dirty_ = false;
  ++meta_writes_;
}

void NandImage::meta_changed() {
  if (meta_holds_ == 0)
    save_meta();
  else
    meta_dirty_ = true;
}

void NandImage::release_meta() {
  if (meta_holds_ > 0) --meta_holds_;
  if (meta_holds_ == 0 && meta_dirty_) save_meta();
}

void NandImage::read_page(uint32_t page, uint8_t* raw) const {
  if (page >= page_count_) throw std::out_of_range("NAND page " + std::to_string(page) + " outside the part");
  if (!may_hold_data(page)) {
    memset(raw, 0xFF, raw_page_bytes_);
    return;
  }
  ++file_reads_;
  pread_all(fd_, raw, raw_page_bytes_, uint64_t(page) * raw_page_bytes_, path_);
  for (uint32_t i = 0; i < raw_page_bytes_; ++i) raw[i] = uint8_t(~raw[i]);
}

void NandImage::write_page(uint32_t page, const uint8_t* raw) {
  if (page >= page_count_) throw std::out_of_range("NAND page " + std::to_string(page) + " outside the part");
  for (uint32_t i = 0; i < raw_page_bytes_; ++i) scratch_[i] = uint8_t(~raw[i]);
  written_[page / cfg_.pages_per_block] = 1;  // before the write: a failed one may have written part
  pwrite_all(fd_, scratch_.data(), raw_page_bytes_, uint64_t(page) * raw_page_bytes_, path_);
}

bool NandImage::page_is_erased(uint32_t page) const {
  if (page >= page_count_) throw std::out_of_range("NAND page " + std::to_string(page) + " outside the part");
  if (!may_hold_data(page)) return true;
  ++file_reads_;
  pread_all(fd_, scratch_.data(), raw_page_bytes_, uint64_t(page) * raw_page_bytes_, path_);
  for (uint32_t i = 0; i < raw_page_bytes_; ++i)
    if (scratch_[i] != 0) return false;
  return true;
}

void NandImage::erase_block(uint32_t block) {
  if (block >= cfg_.block_count) throw std::out_of_range("NAND block " + std::to_string(block) + " outside the part");
  uint64_t len = uint64_t(raw_page_bytes_) * cfg_.pages_per_block;
  uint64_t off = uint64_t(block) * len;
  // Erased = zero once inverted: give the space back to the file system.
  if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(off), off_t(len)) != 0) {
    std::vector<uint8_t> zeros(len, 0);
    pwrite_all(fd_, zeros.data(), len, off, path_);
  }
  written_[block] = 0;
}

void NandImage::count_erase(uint32_t block) {
  ++erase_counts_.at(block);
  meta_changed();
}

void NandImage::mark_grown_bad(uint32_t block) {
  if (block >= cfg_.block_count) throw std::out_of_range("NAND block " + std::to_string(block) + " outside the part");
  grown_bad_.insert(block);
  meta_changed();
}

uint64_t NandImage::allocated_bytes() const {
  struct stat st;
  if (fstat(fd_, &st) != 0) return 0;
  return uint64_t(st.st_blocks) * 512;
}

// ---------------------------------------------------------------- device

NandFlash::NandFlash(sc_core::sc_module_name name, PowerDomain& power, const NandConfig& cfg, std::string image_path,
                     DeviceTrace& trace)
    : Device(name, TS_DEV_BOOTFLASH_NAND,
             TS_NAND_BUS_SIZE(cfg.page_size, uint64_t(cfg.pages_per_block) * cfg.block_count), power),
      cfg_(cfg),
      trace_(trace),
      cuts_(*this, trace, kUnplannedSalt, kInstantSalt),
      image_(cfg, std::move(image_path)),
      factory_bad_(cfg.factory_bad_blocks.begin(), cfg.factory_bad_blocks.end()),
      raw_page_bytes_(cfg.page_size + cfg.spare_size),
      regs_("register", [this](const std::string& w) { guest_error(w); }) {
  if (cfg_.bus_clock_hz == 0) throw InputError(part_name(cfg_) + ": bus clock must be non-zero");
  use_power_cuts(cuts_);
  set_trace(&trace);
  for (const RegisterSpec& r : kRegisters)
    regs_.add(
        r, {}, [this](RegisterAccess& a) { write_register(a); },
        [this, offset = r.offset] { return uint64_t(read_register(uint32_t(offset))); });
  reset_registers();
  SC_THREAD(worker);
}

void NandFlash::fill_ecc(const NandConfig& cfg, uint8_t* raw_page) {
  SectorLayout l(cfg);
  uint8_t sector[ecc::kMaxDataBytes];
  for (uint32_t s = 0; s < l.sectors; ++s) {
    l.gather(raw_page, cfg.page_size, s, sector);
    ecc::encode(sector, l.data_bytes(), l.code(raw_page, cfg.page_size, s));
  }
}

uint32_t NandFlash::correct_ecc(const NandConfig& cfg, uint8_t* raw_page, uint32_t* corrected_sectors) {
  uint32_t state = TS_NAND_ECC_NONE;
  uint32_t corrected = 0;
  SectorLayout l(cfg);
  uint8_t sector[ecc::kMaxDataBytes];
  for (uint32_t s = 0; s < l.sectors; ++s) {
    l.gather(raw_page, cfg.page_size, s, sector);
    ecc::Status st = ecc::check(sector, l.data_bytes(), l.code(raw_page, cfg.page_size, s));
    if (st == ecc::Status::kCorrected) {
      l.scatter(sector, cfg.page_size, s, raw_page);
      ++corrected;
      if (state == TS_NAND_ECC_NONE) state = TS_NAND_ECC_CORRECTED;
    } else if (st == ecc::Status::kUncorrectable) {
      state = TS_NAND_ECC_UNCORRECTABLE;
    }
  }
  if (corrected_sectors) *corrected_sectors = corrected;
  return state;
}

sc_core::sc_time NandFlash::clocks(uint64_t n) const { return serial_time(n, cfg_.bus_clock_hz); }

// The trace's words for OpKind's values, in their order (docs/traces.md).
const char* NandFlash::op_name(OpKind k) const {
  static const char* const kNames[] = {"read-page", "program-page", "erase-block"};
  return kNames[size_t(k)];
}

void NandFlash::trace_event(uint64_t t_ns, const char* op, uint64_t addr, uint64_t len, uint64_t latency_ns,
                            const char* status, std::string detail) {
  record_operation(trace_, basename(), t_ns, op, addr, len, latency_ns, status, std::move(detail));
}

void NandFlash::reset_registers() {
  buffer_.assign(raw_page_bytes_, 0xFF);
  row_ = 0;
  status_ = 0;
  config_ = uint32_t(regs_.find(TS_NAND_CONFIG)->reset);
  window_pages_ = 0;
  id_ = 0;
  ecc_bits_ = 0;
  busy_access_logged_ = false;
}

void NandFlash::power_lost() {
  interrupt_at_power_loss(op_, power_, cuts_, *this);
  reset_registers();
}

void NandFlash::powered_on() { reset_registers(); }

// ---- faults

void NandFlash::arm(const nand::Fault& fault) {
  auto check_page = [&](uint32_t page, uint32_t byte, uint8_t bit) {
    if (page >= image_.page_count() || byte >= raw_page_bytes_ || bit > 7)
      throw std::invalid_argument(nand::describe(fault) + ": outside the part");
  };
  if (auto* p = std::get_if<PowerLoss>(&fault)) {
    cuts_.arm(*p);
    return;
  }
  if (auto* b = std::get_if<nand::BitFlip>(&fault)) {
    check_page(b->page, b->byte, b->bit);
    std::vector<uint8_t> raw(raw_page_bytes_);
    image_.read_page(b->page, raw.data());
    raw[b->byte] ^= uint8_t(1u << b->bit);
    image_.write_page(b->page, raw.data());
    trace_event(now_ns(), "fault", b->page, 0, 0, "fired", nand::describe(fault));
    return;
  }
  if (auto* r = std::get_if<nand::RandomBitFlips>(&fault)) {
    check_page(r->page, 0, 0);
    uint64_t bits = uint64_t(raw_page_bytes_) * 8;
    if (r->count == 0 || r->count > bits) throw std::invalid_argument(nand::describe(fault) + ": bad count");
    std::vector<uint8_t> raw(raw_page_bytes_);
    image_.read_page(r->page, raw.data());
    std::set<uint64_t> chosen;
    Rng rng(r->seed);
    while (chosen.size() < r->count) chosen.insert(rng.below(bits));
    std::string where;
    for (uint64_t c : chosen) {
      raw[c / 8] ^= uint8_t(1u << (c % 8));
      if (where.size() < 200) where += " " + std::to_string(c / 8) + "." + std::to_string(c % 8);
    }
    image_.write_page(r->page, raw.data());
    trace_event(now_ns(), "fault", r->page, 0, 0, "fired", nand::describe(fault) + " bits (byte.bit)" + where);
    return;
  }
  if (auto* s = std::get_if<nand::StuckBit>(&fault)) {
    check_page(s->page, s->byte, s->bit);
    stuck_bits_.push_back(*s);
    trace_event(now_ns(), "fault", s->page, 0, 0, "fired", nand::describe(fault));
    return;
  }
  if (auto* w = std::get_if<nand::BadOnNthErase>(&fault)) {
    if (w->block >= cfg_.block_count || w->n == 0)
      throw std::invalid_argument(nand::describe(fault) + ": outside the part");
    wear_outs_.push_back({*w, 0});
  }
}

void NandFlash::disarm_all() {
  cuts_.disarm_all();
  stuck_bits_.clear();
  wear_outs_.clear();
}

// ---- operations

void NandFlash::start_operation(OpKind kind, uint32_t row) {
  sc_core::sc_time now = sc_core::sc_time_stamp();
  op_ = Operation{};
  op_.kind = kind;
  op_.row = row;
  op_.start = now;
  busy_access_logged_ = false;
  uint32_t block = row / cfg_.pages_per_block;
  uint64_t addr = kind == OpKind::kErase ? block : row;
  uint64_t duration_ps = cfg_.t_read_ps;
  if (kind == OpKind::kRead) {
    status_ &= ~TS_NAND_STATUS_ECC_MASK;
    ecc_bits_ = 0;
  } else {
    status_ &= ~(TS_NAND_STATUS_PROGRAM_FAIL | TS_NAND_STATUS_ERASE_FAIL);
    op_.cut = cuts_.begin();
    op_.index = op_.cut.index;
    duration_ps = kind == OpKind::kProgram ? cfg_.t_prog_ps : cfg_.t_erase_ps;
  }

  if (op_.lost_before_start(cuts_, addr, power_, [&](const char* status, const std::string& detail) {
        trace_event(now_ns(), op_name(kind), addr, 0, 0, status, detail);
      })) {
    op_ = Operation{};
    return;
  }

  // What the array will do, decided now: the command has been accepted.
  if (kind == OpKind::kProgram) {
    op_.data = buffer_;
    if (config_ & TS_NAND_CONFIG_ECC_EN) fill_ecc(cfg_, op_.data.data());
    if (factory_bad_.count(block)) {
      op_.outcome = Outcome::kBadBlock;
    } else if (!image_.page_is_erased(row)) {
      guest_error("PROGRAM_PAGE of page " + std::to_string(row) + ", which was not erased since its last program" +
                  (cfg_.refuse_unerased_program ? " (refused)" : " (data ANDed in)"));
      op_.outcome = cfg_.refuse_unerased_program ? Outcome::kRefuseUnerased : Outcome::kAndIn;
    }
  } else if (kind == OpKind::kErase) {
    if (factory_bad_.count(block) || image_.is_grown_bad(block)) {
      op_.outcome = Outcome::kBadBlock;
    } else {
      for (auto it = wear_outs_.begin(); it != wear_outs_.end(); ++it) {
        if (it->fault.block != block || ++it->seen < it->fault.n) continue;
        op_.outcome = Outcome::kWearOut;
        trace_event(now_ns(), "fault", block, 0, 0, "fired", nand::describe(it->fault));
        wear_outs_.erase(it);
        break;
      }
    }
  }
  op_.end = now + from_ps(duration_ps);

  // A torn cut's seed picks the instant; the share of cells that changed
  // follows the time elapsed.
  if (op_.cut.torn()) op_.cut_at = cuts_.torn_at(op_.cut, now, from_ps(duration_ps));
  op_.active = true;
  op_changed_.notify(sc_core::SC_ZERO_TIME);
}

// Brings the operation up to the current time. Called by the worker and at
// the start of every transaction, so a STATUS read at the completion
// instant sees the result whichever process SystemC runs first.
void NandFlash::advance() { advance_timed_operation(op_, cuts_, power_, *this); }

void NandFlash::worker() { run_timed_operations(op_, op_changed_, power_, cuts_, *this); }

// A program's page, an erase's block.
uint64_t NandFlash::cut_place() const { return op_.kind == OpKind::kErase ? op_.row / cfg_.pages_per_block : op_.row; }

void NandFlash::finish_read() {
  image_.read_page(op_.row, buffer_.data());
  for (const nand::StuckBit& s : stuck_bits_) {
    if (s.page != op_.row) continue;
    uint8_t mask = uint8_t(1u << s.bit);
    buffer_[s.byte] = s.value ? uint8_t(buffer_[s.byte] | mask) : uint8_t(buffer_[s.byte] & ~mask);
  }
  uint32_t ecc_state = TS_NAND_ECC_NONE;
  ecc_bits_ = 0;
  if (config_ & TS_NAND_CONFIG_ECC_EN) ecc_state = correct_ecc(cfg_, buffer_.data(), &ecc_bits_);
  status_ = (status_ & ~TS_NAND_STATUS_ECC_MASK) | (ecc_state << TS_NAND_STATUS_ECC_SHIFT);
}

// Programs op_.data into the page. With fraction < 1 (torn), each cell that
// should go 1 -> 0 does so with that probability, drawn from `seed`; when at
// least two cells should change, at least one does and at least one does not.
void NandFlash::apply_program(double fraction, uint64_t seed, std::string* detail) {
  std::vector<uint8_t> page(raw_page_bytes_);
  image_.read_page(op_.row, page.data());
  if (fraction >= 1.0) {
    for (uint32_t i = 0; i < raw_page_bytes_; ++i) page[i] &= op_.data[i];
    image_.write_page(op_.row, page.data());
    return;
  }
  std::vector<uint32_t> targets;
  for (uint32_t i = 0; i < raw_page_bytes_; ++i) {
    uint8_t falling = uint8_t(page[i] & ~op_.data[i]);
    for (unsigned b = 0; b < 8; ++b)
      if (falling & (1u << b)) targets.push_back(i * 8 + b);
  }
  Rng rng(seed);
  std::vector<bool> take = choose_torn(rng, targets.size(), fraction);
  size_t taken = size_t(std::count(take.begin(), take.end(), true));
  for (size_t i = 0; i < targets.size(); ++i)
    if (take[i]) page[targets[i] / 8] &= uint8_t(~(1u << (targets[i] % 8)));
  image_.write_page(op_.row, page.data());
  if (detail) *detail += "; " + std::to_string(taken) + " of " + std::to_string(targets.size()) + " bits programmed";
}

// Erases the block. With fraction < 1 (torn), each 0 cell of the block goes
// to 1 with that probability, drawn from `seed` (same at-least-one rule).
void NandFlash::apply_erase(double fraction, uint64_t seed, std::string* detail) {
  uint32_t block = op_.row / cfg_.pages_per_block;
  if (fraction >= 1.0) {
    image_.erase_block(block);
    image_.count_erase(block);
    return;
  }
  uint32_t first = block * cfg_.pages_per_block;
  std::vector<uint8_t> cells(size_t(raw_page_bytes_) * cfg_.pages_per_block);
  for (uint32_t p = 0; p < cfg_.pages_per_block; ++p) image_.read_page(first + p, &cells[size_t(p) * raw_page_bytes_]);
  std::vector<uint64_t> targets;
  for (size_t i = 0; i < cells.size(); ++i)
    for (unsigned b = 0; b < 8; ++b)
      if (!(cells[i] & (1u << b))) targets.push_back(i * 8 + b);
  Rng rng(seed);
  std::vector<bool> take = choose_torn(rng, targets.size(), fraction);
  size_t taken = size_t(std::count(take.begin(), take.end(), true));
  for (size_t i = 0; i < targets.size(); ++i)
    if (take[i]) cells[targets[i] / 8] |= uint8_t(1u << (targets[i] % 8));
  for (uint32_t p = 0; p < cfg_.pages_per_block; ++p) image_.write_page(first + p, &cells[size_t(p) * raw_page_bytes_]);
  image_.count_erase(block);
  if (detail) *detail += "; " + std::to_string(taken) + " of " + std::to_string(targets.size()) + " bits erased";
}

void NandFlash::finish_operation() {
  const char* status = "ok";
  std::string detail;
  uint32_t block = op_.row / cfg_.pages_per_block;
  uint64_t addr = op_.kind == OpKind::kErase ? block : op_.row;
  uint64_t len = op_.kind == OpKind::kErase ? uint64_t(raw_page_bytes_) * cfg_.pages_per_block : raw_page_bytes_;
  switch (op_.kind) {
    case OpKind::kRead: {
      finish_read();
      uint32_t e = (status_ & TS_NAND_STATUS_ECC_MASK) >> TS_NAND_STATUS_ECC_SHIFT;
      status = e == TS_NAND_ECC_CORRECTED ? "corrected" : e == TS_NAND_ECC_UNCORRECTABLE ? "uncorrectable" : "ok";
      if (e == TS_NAND_ECC_CORRECTED) detail = std::to_string(ecc_bits_) + " bits corrected";
      break;
    }
    case OpKind::kProgram:
      switch (op_.outcome) {
        case Outcome::kApply:
          apply_program(1.0, 0, nullptr);
          break;
        case Outcome::kAndIn:
          apply_program(1.0, 0, nullptr);
          detail = "page was not erased: data ANDed in";
          break;
        case Outcome::kRefuseUnerased:
          status_ |= TS_NAND_STATUS_PROGRAM_FAIL;
          status = "program-fail";
          detail = "refused: page not erased since its last program";
          break;
        default:
          status_ |= TS_NAND_STATUS_PROGRAM_FAIL;
          status = "program-fail";
          detail = "bad block";
      }
      break;
    case OpKind::kErase:
      switch (op_.outcome) {
        case Outcome::kApply:
          apply_erase(1.0, 0, nullptr);
          break;
        case Outcome::kWearOut:
          image_.count_erase(block);
          image_.mark_grown_bad(block);
          status_ |= TS_NAND_STATUS_ERASE_FAIL;
          status = "erase-fail";
          detail = "worn out: the block is now a grown bad block";
          break;
        default:
          status_ |= TS_NAND_STATUS_ERASE_FAIL;
          status = "erase-fail";
          detail = "bad block";
      }
      break;
  }
  trace_event(to_ns(op_.start), op_name(op_.kind), addr, len, to_ns(op_.end - op_.start), status, detail);
  op_.stop_then_cut(cuts_, addr, op_changed_, power_);
}

// The operation stops before its end: power failed or the part was reset.
// Reads lose nothing; a program or erase that had begun changing cells is
// torn with `seed` (armed faults: the fraction follows the armed instant).
void NandFlash::interrupt_operation(const char* cause, uint64_t seed, bool armed) {
  TimedOperation::Interruption i = op_.interrupted(cause);
  uint64_t len = op_.kind == OpKind::kErase ? uint64_t(raw_page_bytes_) * cfg_.pages_per_block : raw_page_bytes_;
  bool changes_cells = op_.kind != OpKind::kRead &&
                       (op_.outcome == Outcome::kApply || op_.outcome == Outcome::kAndIn) &&
                       i.elapsed > sc_core::SC_ZERO_TIME;
  if (changes_cells) {
    double fraction = op_.tear(i, seed, armed);
    if (op_.kind == OpKind::kProgram)
      apply_program(fraction, seed, &i.detail);
    else
      apply_erase(fraction, seed, &i.detail);
  }
  trace_event(to_ns(op_.start), op_name(op_.kind), cut_place(), len, to_ns(i.elapsed), i.status, i.detail);
  op_.stop(op_changed_);
}

// ---- bus side

uint32_t NandFlash::read_register(uint32_t offset) const {
  switch (offset) {
    case TS_NAND_ID:
      return id_;
    case TS_NAND_ROW:
      return row_;
    case TS_NAND_STATUS:
    case TS_NAND_READY_STATUS:
      return status_ | (op_.active ? TS_NAND_STATUS_BUSY : 0u);
    case TS_NAND_CONFIG:
      return config_;
    case TS_NAND_WINDOW_PAGES:
      return window_pages_;
    case TS_NAND_ECC_BITS:
      return ecc_bits_;
    case TS_NAND_PAGE_SIZE:
      return cfg_.page_size;
    case TS_NAND_SPARE_SIZE:
      return cfg_.spare_size;
    case TS_NAND_PAGES_PER_BLOCK:
      return cfg_.pages_per_block;
    case TS_NAND_BLOCK_COUNT:
      return cfg_.block_count;
    case TS_NAND_ECC_SECTOR_SIZE:
      return TS_NAND_ECC_SECTOR;
  }
  return 0;
}

void NandFlash::command(uint32_t cmd, tlm::tlm_generic_payload& gp) {
  if (op_.active && cmd != TS_NAND_CMD_RESET) {
    guest_error("command " + hex_text(cmd) + " while BUSY");
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  uint64_t n = 0;
  switch (cmd) {
    case TS_NAND_CMD_READ_PAGE:
      n = kReadPageClocks;
      break;
    case TS_NAND_CMD_PROGRAM_PAGE:
      n = kProgramClocks;
      break;
    case TS_NAND_CMD_ERASE_BLOCK:
      n = kEraseClocks;
      break;
    case TS_NAND_CMD_READ_ID:
      n = kReadIdClocks;
      break;
    case TS_NAND_CMD_RESET:
      n = kResetClocks;
      break;
    default:
      guest_error("unknown command " + hex_text(cmd));
      gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
      return;
  }
  bool uses_row = cmd == TS_NAND_CMD_READ_PAGE || cmd == TS_NAND_CMD_PROGRAM_PAGE || cmd == TS_NAND_CMD_ERASE_BLOCK;
  if (uses_row && row_ >= image_.page_count()) {
    guest_error("command " + hex_text(cmd) + " for row " + std::to_string(row_) + ", outside the part's " +
                std::to_string(image_.page_count()) + " pages");
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  uint64_t t0 = now_ns();
  if (!wait_powered(clocks(n), gp)) return;
  advance();
  switch (cmd) {
    case TS_NAND_CMD_READ_PAGE:
      start_operation(OpKind::kRead, row_);
      break;
    case TS_NAND_CMD_PROGRAM_PAGE:
      start_operation(OpKind::kProgram, row_);
      break;
    case TS_NAND_CMD_ERASE_BLOCK:
      start_operation(OpKind::kErase, row_);
      break;
    case TS_NAND_CMD_READ_ID:
      id_ = TS_NAND_JEDEC_ID;
      trace_event(t0, "read-id", 0, 0, now_ns() - t0, "ok");
      break;
    case TS_NAND_CMD_RESET:
      if (op_.active) interrupt_operation("reset command", op_.unplanned_seed(cuts_), false);
      reset_registers();
      trace_event(t0, "reset", 0, 0, now_ns() - t0, "ok");
      break;
  }
}

// Waits inside the current transaction until the running operation ends,
// exactly as the worker would see it end; false if power failed first.
bool NandFlash::wait_until_idle() {
  while (op_.active) {
    sc_core::sc_time next = op_.cut.torn() ? op_.cut_at : op_.end;
    sc_core::sc_time now = sc_core::sc_time_stamp();
    if (next > now) wait(next - now, power_.off_event());
    if (!power_.is_on()) {
      if (op_.active) interrupt_operation("power lost", op_.unplanned_seed(cuts_), false);
      return false;
    }
    advance();
  }
  return power_.is_on();
}

// The array read window: READ_PAGE of each page in turn, its tR, then the
// buffer transfer of its main area, as the register sequence would cost.
// It stops before a page whose ECC outcome is not clean and before the first
// page of a block whose bad-block marker is set (docs/nand-flash.md). With
// WINDOW_PAGES = n it holds the first n pages of each block, packed.
void NandFlash::array_read(tlm::tlm_generic_payload& gp, uint64_t offset) {
  uint64_t len = gp.get_data_length();
  const uint32_t ps = cfg_.page_size;
  const uint32_t per =
      window_pages_ == 0 || window_pages_ >= cfg_.pages_per_block ? cfg_.pages_per_block : window_pages_;
  const uint64_t slots = uint64_t(per) * cfg_.block_count;
  if (!gp.is_read() || offset % ps != 0 || len % ps != 0 || offset / ps + len / ps > slots) {
    guest_error(std::string("array window ") + (gp.is_read() ? "read" : "write") + " of " + std::to_string(len) +
                " bytes at +" + std::to_string(offset) +
                (gp.is_read() ? ": must cover whole pages inside the part" : ": the window is read-only"));
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  if (op_.active) {
    if (!busy_access_logged_) guest_error("array window read while BUSY");
    busy_access_logged_ = true;
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  uint8_t* dst = gp.get_data_ptr();
  uint64_t pages = len / ps;
  for (uint64_t i = 0; i < pages; ++i) {
    uint64_t q = offset / ps + i;
    row_ = uint32_t(q / per * cfg_.pages_per_block + q % per);
    wait(clocks(kReadPageClocks), power_.off_event());
    if (!power_.is_on()) break;
    start_operation(OpKind::kRead, row_);
    if (!wait_until_idle()) break;
    bool marked_bad = row_ % cfg_.pages_per_block == 0 && buffer_[ps + TS_NAND_BAD_BLOCK_MARKER_OFFSET] != 0xFF;
    if (marked_bad || (status_ & TS_NAND_STATUS_ECC_MASK) != 0) {
      if (ActualLength* actual = gp.get_extension<ActualLength>()) actual->bytes = i * ps;
      return;
    }
    wait(clocks(kBufferReadClocks + 8ull * ps), power_.off_event());
    if (!power_.is_on()) break;
    memcpy(dst + i * ps, buffer_.data(), ps);
  }
  if (!power_.is_on()) gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
}

void NandFlash::buffer_access(tlm::tlm_generic_payload& gp, uint64_t offset, sc_core::sc_time& delay) {
  uint64_t len = gp.get_data_length();
  if (offset + len > raw_page_bytes_) {
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  if (op_.active) {
    if (!busy_access_logged_) guest_error("page buffer accessed while BUSY");
    busy_access_logged_ = true;
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  if (gp.is_read()) {
    memcpy(gp.get_data_ptr(), buffer_.data() + offset, len);
    delay += clocks(kBufferReadClocks + 8 * len);
  } else {
    memcpy(buffer_.data() + offset, gp.get_data_ptr(), len);
    delay += clocks(kBufferLoadClocks + 8 * len);
  }
}

void NandFlash::transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  // Registers are sampled at the transaction's start time.
  if (delay != sc_core::SC_ZERO_TIME) wait(delay);
  delay = sc_core::SC_ZERO_TIME;
  if (!power_.is_on()) {
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  advance();
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  uint64_t off = gp.get_address();
  if (off >= TS_NAND_ARRAY) {
    array_read(gp, off - TS_NAND_ARRAY);
    return;
  }
  if (off >= TS_NAND_BUFFER) {
    buffer_access(gp, off - TS_NAND_BUFFER, delay);
    return;
  }
  if (off == TS_NAND_READY_STATUS && gp.is_read() && gp.get_data_length() == 4 && !wait_until_idle()) {
    gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
    return;
  }
  const RegisterSpec* reg = regs_.access(gp, delay, off);  // writes: write_register()
  if (reg && gp.is_read()) delay += clocks(reg->cost);
}

void NandFlash::write_register(RegisterAccess& a) {
  uint32_t v = uint32_t(a.value);
  switch (a.reg.offset) {
    case TS_NAND_ROW:
      row_ = v;
      break;
    case TS_NAND_WINDOW_PAGES:
      window_pages_ = v;
      break;
    case TS_NAND_CONFIG:
      if (op_.active) {
        guest_error("CONFIG written while BUSY");
        a.refuse();
        return;
      }
      config_ = v & uint32_t(a.reg.writable);
      a.delay += clocks(a.reg.cost);
      break;
    case TS_NAND_COMMAND:
      command(v, a.gp);
      break;
  }
}

unsigned NandFlash::debug_transport(tlm::tlm_generic_payload& gp) {
  uint64_t off = gp.get_address();
  uint64_t len = gp.get_data_length();
  if (off >= TS_NAND_ARRAY) return 0;  // a read there is an operation, not a peek
  if (off >= TS_NAND_BUFFER) {
    if (off - TS_NAND_BUFFER + len > raw_page_bytes_) return 0;
    if (gp.is_read())
      memcpy(gp.get_data_ptr(), buffer_.data() + (off - TS_NAND_BUFFER), len);
    else
      memcpy(buffer_.data() + (off - TS_NAND_BUFFER), gp.get_data_ptr(), len);
    return unsigned(len);
  }
  return regs_.debug_read(gp, off);
}

}  // namespace trustsim
