// bootflash: file system (common/src/bfs.cc, docs/bootflash-fs.md).
//
// RamFlash is a NAND model that enforces the rules of flash_ops.h (a test
// fails if the file system programs a page twice or out of order, or
// touches a bad block) and injects faults: a power cut at the Nth program
// or erase (before / after / torn), ECC errors, failing erases and
// programs. The power-cut sweep replays a script of file operations once
// per cut point and mode and checks every crash state.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "devkit/tear.h"
#include "trustsim/bfs.h"
#include "trustsim/crc32.h"

namespace bfs = trustsim::bfs;
namespace flash = trustsim::flash;
using bfs::Status;
using flash::Result;

namespace {

// ---- the flash model ------------------------------------------------------

enum class Cut { kBefore, kAfter, kTorn, kTornEcc };

const char* cut_name(Cut c) {
  switch (c) {
    case Cut::kBefore:
      return "before";
    case Cut::kAfter:
      return "after";
    case Cut::kTorn:
      return "torn";
    case Cut::kTornEcc:
      return "torn+ecc";
  }
  return "?";
}

class RamFlash final : public flash::Ops {
 public:
  explicit RamFlash(flash::Geometry g) : geo_(g), blocks_(g.block_count) {
    for (Block& b : blocks_) b.programmed.assign(g.pages_per_block, false);
  }

  flash::Geometry geometry() const override { return geo_; }

  Result read_page(uint32_t page, uint8_t* buf) override {
    if (dead_) return Result::kIoError;
    if (page >= pages()) return violation("read beyond the device", page), Result::kOutOfRange;
    Block& b = blocks_[page / geo_.pages_per_block];
    if (b.bad) return violation("read of a bad block", page), Result::kBadBlock;
    ++reads_;
    uint32_t in = page % geo_.pages_per_block;
    if (b.data.empty())
      memset(buf, 0xFF, geo_.page_size);
    else
      memcpy(buf, &b.data[size_t(in) * geo_.page_size], geo_.page_size);
    if (b.ecc.count(in)) {
      for (uint32_t i = 0; i < geo_.page_size; i += 61) buf[i] ^= 0x5A;  // what an uncorrectable page returns
      return Result::kEccError;
    }
    return Result::kOk;
  }

  Result program_page(uint32_t page, const uint8_t* buf) override {
    if (dead_) return Result::kIoError;
    if (page >= pages()) return violation("program beyond the device", page), Result::kOutOfRange;
    uint32_t in = page % geo_.pages_per_block;
    Block& b = blocks_[page / geo_.pages_per_block];
    if (b.bad) return violation("program of a bad block", page), Result::kBadBlock;
    if (b.programmed[in]) return violation("page programmed twice without an erase", page), Result::kProgramFailed;
    if (int(in) < b.next_page)
      return violation("pages of a block programmed out of order", page), Result::kProgramFailed;
    int next_before = b.next_page;
    b.programmed[in] = true;
    b.next_page = int(in) + 1;
    uint8_t* dst = page_data(b, in);
    uint64_t op = ++mutations_;
    ++programs_;
    if (op == cut_op_) {
      cut_fired_ = true;
      dead_ = true;
      switch (cut_mode_) {
        case Cut::kBefore:  // nothing happened
          b.programmed[in] = false;
          b.next_page = next_before;
          return Result::kIoError;
        case Cut::kAfter:
          program_bits(dst, buf, nullptr);
          return Result::kOk;
        case Cut::kTorn:
          program_bits(dst, buf, &rng_);
          return Result::kIoError;
        case Cut::kTornEcc:
          program_bits(dst, buf, &rng_);
          b.ecc.insert(in);
          return Result::kIoError;
      }
    }
    if (fail_next_data_program_ && memcmp(buf, "BFS1", 4) != 0) {
      fail_next_data_program_ = false;
      program_bits(dst, buf, &rng_);
      return Result::kProgramFailed;
    }
    if (fail_next_record_kind_ != 0 && memcmp(buf, "BFS1", 4) == 0 && buf[8] == fail_next_record_kind_) {
      fail_next_record_kind_ = 0;
      program_bits(dst, buf, &rng_);
      return Result::kProgramFailed;
    }
    program_bits(dst, buf, nullptr);
    return Result::kOk;
  }

  Result erase_block(uint32_t block) override {
    if (dead_) return Result::kIoError;
    if (block >= geo_.block_count)
      return violation("erase beyond the device", block * geo_.pages_per_block), Result::kOutOfRange;
    Block& b = blocks_[block];
    if (b.bad) return violation("erase of a bad block", block * geo_.pages_per_block), Result::kBadBlock;
    uint64_t op = ++mutations_;
    ++erases_;
    if (op == cut_op_) {
      cut_fired_ = true;
      dead_ = true;
      switch (cut_mode_) {
        case Cut::kBefore:
          return Result::kIoError;
        case Cut::kAfter:
          erase(b);
          return Result::kOk;
        case Cut::kTorn:
          tear_erase(b, false);
          return Result::kIoError;
        case Cut::kTornEcc:
          tear_erase(b, true);
          return Result::kIoError;
      }
    }
    if (b.fail_erase) {
      tear_erase(b, false);
      return Result::kEraseFailed;
    }
    erase(b);
    return Result::kOk;
  }

  bool is_bad_block(uint32_t block) override { return block < geo_.block_count && blocks_[block].bad; }

  Result mark_bad_block(uint32_t block) override {
    if (dead_) return Result::kIoError;
    if (block >= geo_.block_count)
      return violation("mark_bad beyond the device", block * geo_.pages_per_block), Result::kOutOfRange;
    blocks_[block].bad = true;
    ++marked_bad_;
    return Result::kOk;
  }

  // ---- fault plan ----
  // Power fails at the op-th program or erase (counted from construction).
  void cut_at(uint64_t op, Cut mode, uint64_t seed) {
    cut_op_ = op;
    cut_mode_ = mode;
    tear_style_ = uint32_t(seed % 3);
    rng_ = trustsim::SeededRng(seed * 0x9E3779B97F4A7C15ull ^ op);  // a different tear at every cut point, reproducibly
  }
  void power_on() {
    dead_ = false;
    cut_op_ = 0;
  }
  bool cut_fired() const { return cut_fired_; }
  void set_factory_bad(uint32_t block) { blocks_[block].bad = true; }
  void fail_erases_of(uint32_t block) { blocks_[block].fail_erase = true; }
  void fail_next_data_program() { fail_next_data_program_ = true; }
  void fail_next_record_program(uint8_t kind) { fail_next_record_kind_ = kind; }
  // Reads of the page report an uncorrectable error until its block is erased.
  void set_ecc_error(uint32_t page) { blocks_[page / geo_.pages_per_block].ecc.insert(page % geo_.pages_per_block); }
  // Silent corruption: the page reads back wrong without an ECC error.
  void flip_bit(uint32_t page, uint32_t byte, uint8_t mask) {
    Block& b = blocks_[page / geo_.pages_per_block];
    page_data(b, page % geo_.pages_per_block)[byte] ^= mask;
  }
  std::vector<uint8_t> raw(uint32_t page) {
    Block& b = blocks_[page / geo_.pages_per_block];
    std::vector<uint8_t> out(geo_.page_size, 0xFF);
    if (!b.data.empty()) memcpy(out.data(), &b.data[size_t(page % geo_.pages_per_block) * geo_.page_size], out.size());
    return out;
  }

  uint64_t mutations() const { return mutations_; }
  uint64_t reads() const { return reads_; }
  uint64_t erases() const { return erases_; }
  uint32_t marked_bad() const { return marked_bad_; }
  uint32_t violations() const { return violations_; }
  const std::string& first_violation() const { return first_violation_; }
  uint32_t pages() const { return geo_.pages_per_block * geo_.block_count; }

 private:
  struct Block {
    std::vector<uint8_t> data;  // empty: erased
    std::vector<bool> programmed;
    std::set<uint32_t> ecc;
    int next_page = 0;  // lowest page that may be programmed next
    bool bad = false;
    bool fail_erase = false;
  };

  void violation(const char* what, uint32_t page) {
    std::string text = std::string(what) + " (page " + std::to_string(page) + ")";
    if (violations_++ == 0) first_violation_ = text;
    if (!quiet_violations) ADD_FAILURE() << "NAND rule broken: " << text;
  }

  uint8_t* page_data(Block& b, uint32_t in) {
    if (b.data.empty()) b.data.assign(size_t(geo_.page_size) * geo_.pages_per_block, 0xFF);
    return &b.data[size_t(in) * geo_.page_size];
  }

  // Programming only clears bits; a torn program clears a subset of the
  // bits that should clear, chosen by devkit's choose_torn() as the board's
  // flash models do, in one of three styles (the seed of the cut modulo 3):
  // every bit by a coin flip; a prefix in address order (the rest
  // untouched); all but a few bits (the hardest to detect: everything but a
  // few bytes looks right).
  void program_bits(uint8_t* dst, const uint8_t* src, trustsim::SeededRng* torn) {
    if (!torn) {
      for (uint32_t i = 0; i < geo_.page_size; ++i) dst[i] = uint8_t(dst[i] & src[i]);
      return;
    }
    std::vector<uint32_t> falling;  // byte << 3 | bit
    for (uint32_t i = 0; i < geo_.page_size; ++i)
      for (unsigned b = 0; b < 8; ++b)
        if (uint8_t(dst[i] & ~src[i]) & (1u << b)) falling.push_back(i << 3 | b);
    double fraction = tear_style_ == 0   ? 0.5
                      : tear_style_ == 1 ? double(torn->below(geo_.page_size)) / geo_.page_size
                                         : 127.0 / 128;
    std::vector<bool> take =
        trustsim::choose_torn(*torn, falling.size(), fraction,
                              tear_style_ == 1 ? trustsim::TearPattern::kPrefix : trustsim::TearPattern::kScattered);
    for (size_t k = 0; k < falling.size(); ++k)
      if (take[k]) dst[falling[k] >> 3] = uint8_t(dst[falling[k] >> 3] & ~(1u << (falling[k] & 7)));
  }

  void erase(Block& b) {
    b.data.clear();
    b.programmed.assign(geo_.pages_per_block, false);
    b.ecc.clear();
    b.next_page = 0;
  }

  // Part of the block erased, the rest unchanged or half-erased (bits set
  // at random). Either way the block must be erased before any program.
  void tear_erase(Block& b, bool ecc) {
    bool prefix = rng_.next() & 1;
    uint32_t cut_page = uint32_t(rng_.below(geo_.pages_per_block + 1));
    for (uint32_t p = 0; p < geo_.pages_per_block; ++p) {
      uint8_t* d = page_data(b, p);
      uint32_t what = prefix ? (p < cut_page ? 0 : (p == cut_page ? 2 : 1)) : uint32_t(rng_.below(3));
      if (what == 0) {
        memset(d, 0xFF, geo_.page_size);
        b.ecc.erase(p);
      } else if (what == 2) {
        // Half erased: a part of the 0 bits went to 1 (choose_torn, as the models).
        std::vector<uint32_t> zeros;
        for (uint32_t i = 0; i < geo_.page_size; ++i)
          for (unsigned bit = 0; bit < 8; ++bit)
            if (!(d[i] & (1u << bit))) zeros.push_back(i << 3 | bit);
        std::vector<bool> take = trustsim::choose_torn(rng_, zeros.size(), 0.5);
        for (size_t k = 0; k < zeros.size(); ++k)
          if (take[k]) d[zeros[k] >> 3] = uint8_t(d[zeros[k] >> 3] | (1u << (zeros[k] & 7)));
        if (ecc) b.ecc.insert(p);
      }
    }
    b.programmed.assign(geo_.pages_per_block, true);
    b.next_page = int(geo_.pages_per_block);
  }

  flash::Geometry geo_;
  std::vector<Block> blocks_;
  bool dead_ = false;
  bool cut_fired_ = false;
  uint64_t cut_op_ = 0;
  Cut cut_mode_ = Cut::kBefore;
  uint32_t tear_style_ = 0;
  trustsim::SeededRng rng_{1};
  bool fail_next_data_program_ = false;
  uint8_t fail_next_record_kind_ = 0;
  uint64_t mutations_ = 0, reads_ = 0, programs_ = 0, erases_ = 0;
  uint32_t marked_bad_ = 0, violations_ = 0;
  std::string first_violation_;

 public:
  bool quiet_violations = false;  // the sweep counts them per run instead
};

// ---- helpers ----------------------------------------------------------------

constexpr flash::Geometry kSmall{512, 16, 64};
constexpr flash::Geometry kW25N01GV{2048, 64, 1024};

std::string pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 12345;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = char(x >> 24);
  }
  return s;
}

Status write_file(bfs::Volume& v, const std::string& name, const std::string& data, uint32_t ts = 1000,
                  size_t chunk = 333) {
  Status st = bfs::begin_write(v, name.c_str(), ts);
  if (st != Status::kOk) return st;
  for (size_t pos = 0; pos < data.size(); pos += chunk) {
    st = bfs::append(v, data.data() + pos, std::min(chunk, data.size() - pos));
    if (st != Status::kOk) return st;
  }
  return bfs::commit(v);
}

std::string read_file(bfs::Volume& v, const std::string& name, Status* status = nullptr) {
  bfs::FileInfo fi;
  Status st = bfs::stat(v, name.c_str(), &fi);
  std::string out;
  if (st == Status::kOk) {
    out.resize(fi.size);
    size_t got = 0;
    st = bfs::read(v, name.c_str(), 0, out.data(), out.size(), &got);
    out.resize(got);
  }
  if (status) *status = st;
  return out;
}

std::map<std::string, bfs::FileInfo> listing(const bfs::Volume& v) {
  std::map<std::string, bfs::FileInfo> out;
  uint32_t cursor = 0;
  bfs::FileInfo fi;
  while (bfs::next_file(v, &cursor, &fi)) out[fi.name] = fi;
  return out;
}

struct Space {
  uint64_t used = 0, available = 0, total = 0;
};
Space space_of(const bfs::Volume& v) {
  Space s;
  EXPECT_EQ(bfs::space(v, &s.used, &s.available, &s.total), Status::kOk);
  return s;
}

// A flash and a volume on it.
struct Rig {
  explicit Rig(flash::Geometry g = kSmall) : flash(g), vol(std::make_unique<bfs::Volume>(flash)) {}
  void format(const char* label = "bootflash") { ASSERT_EQ(bfs::format(*vol, label), Status::kOk); }
  // Power cycle: a fresh Volume (RAM is lost) mounting the same flash.
  Status remount(bfs::MountReport* rep = nullptr) {
    vol = std::make_unique<bfs::Volume>(flash);
    bfs::MountReport r;
    Status st = bfs::mount(*vol, &r);
    if (rep) *rep = r;
    return st;
  }
  void expect_clean_fsck() {
    bfs::FsckReport r;
    EXPECT_EQ(bfs::fsck(*vol, &r), Status::kOk) << (r.first_error ? r.first_error : "");
    EXPECT_EQ(r.warnings, 0u) << (r.first_warning ? r.first_warning : "");
  }
  RamFlash flash;
  std::unique_ptr<bfs::Volume> vol;
};

// ---- the model itself ---------------------------------------------------------

TEST(RamFlashModel, RefusesSecondProgramAndOutOfOrderProgram) {
  RamFlash f(kSmall);
  f.quiet_violations = true;
  std::vector<uint8_t> page(512, 0x00);
  EXPECT_EQ(f.program_page(3, page.data()), Result::kOk);
  EXPECT_EQ(f.program_page(3, page.data()), Result::kProgramFailed);
  EXPECT_EQ(f.program_page(1, page.data()), Result::kProgramFailed);
  EXPECT_EQ(f.violations(), 2u);
  EXPECT_EQ(f.erase_block(0), Result::kOk);
  EXPECT_EQ(f.program_page(1, page.data()), Result::kOk);
  EXPECT_EQ(f.violations(), 2u);
}

TEST(RamFlashModel, TornProgramClearsSomeButNotAllBitsAndCountsAsProgrammed) {
  RamFlash f(kSmall);
  f.quiet_violations = true;
  std::vector<uint8_t> zeros(512, 0x00), buf(512);
  f.cut_at(1, Cut::kTorn, 7);
  EXPECT_EQ(f.program_page(0, zeros.data()), Result::kIoError);
  EXPECT_EQ(f.read_page(0, buf.data()), Result::kIoError);  // no power
  f.power_on();
  ASSERT_EQ(f.read_page(0, buf.data()), Result::kOk);
  size_t zero_bytes = 0, ff_bytes = 0;
  for (uint8_t b : buf) zero_bytes += b == 0, ff_bytes += b == 0xFF;
  EXPECT_GT(zero_bytes + ff_bytes, 0u);
  EXPECT_LT(zero_bytes, buf.size());
  EXPECT_LT(ff_bytes, buf.size());
  EXPECT_EQ(f.program_page(0, zeros.data()), Result::kProgramFailed);
  EXPECT_EQ(f.violations(), 1u);
}

TEST(RamFlashModel, TornEraseLeavesTheBlockNeedingAnErase) {
  RamFlash f(kSmall);
  f.quiet_violations = true;
  std::vector<uint8_t> zeros(512, 0x00);
  for (uint32_t p = 0; p < 16; ++p) ASSERT_EQ(f.program_page(p, zeros.data()), Result::kOk);
  f.cut_at(17, Cut::kTorn, 3);
  EXPECT_EQ(f.erase_block(0), Result::kIoError);
  f.power_on();
  EXPECT_EQ(f.program_page(15, zeros.data()), Result::kProgramFailed);
  EXPECT_EQ(f.violations(), 1u);
}

// ---- format and mount -----------------------------------------------------------

TEST(BfsFormat, ErasedFlashIsNotFormatted) {
  Rig r;
  bfs::MountReport rep;
  EXPECT_EQ(bfs::mount(*r.vol, &rep), Status::kNotFormatted);
  EXPECT_FALSE(r.vol->mounted());
  EXPECT_EQ(bfs::begin_write(*r.vol, "x", 0), Status::kNotMounted);
}

TEST(BfsFormat, RandomGarbageIsNotFormatted) {
  Rig r;
  std::vector<uint8_t> page(512);
  for (uint32_t p = 0; p < r.flash.pages(); ++p) {
    std::string s = pattern(512, p);
    memcpy(page.data(), s.data(), 512);
    ASSERT_EQ(r.flash.program_page(p, page.data()), Result::kOk);
  }
  EXPECT_EQ(r.remount(), Status::kNotFormatted);
}

TEST(BfsFormat, FreshVolumeIsEmptyWithItsLabelAndHonestSpace) {
  Rig r;
  r.format("router-1");
  EXPECT_STREQ(bfs::label(*r.vol), "router-1");
  EXPECT_TRUE(listing(*r.vol).empty());
  bfs::Limits lim = bfs::limits(*r.vol);
  EXPECT_EQ(lim.block_data_bytes, 14u * 512);
  EXPECT_EQ(lim.inline_size, 512u - 176);
  EXPECT_EQ(lim.max_files, 16u);
  Space s = space_of(*r.vol);
  EXPECT_EQ(s.used, 0u);
  EXPECT_EQ(s.total, uint64_t(64 - lim.reserved_blocks) * lim.block_data_bytes);
  EXPECT_EQ(s.available, s.total);
  ASSERT_EQ(r.remount(), Status::kOk);
  EXPECT_STREQ(bfs::label(*r.vol), "router-1");
  EXPECT_EQ(space_of(*r.vol).total, s.total);
  r.expect_clean_fsck();
}

TEST(BfsFormat, RejectsBadLabelsAndUnsupportedGeometry) {
  Rig r;
  EXPECT_EQ(bfs::format(*r.vol, "a-label-that-is-longer-than-31-chars"), Status::kBadLabel);
  EXPECT_EQ(bfs::format(*r.vol, "tab\there"), Status::kBadLabel);
  RamFlash tiny({256, 16, 64});
  bfs::Volume v(tiny);
  EXPECT_EQ(bfs::format(v, "x"), Status::kUnsupportedGeometry);
  RamFlash few_blocks({512, 16, 6});
  bfs::Volume w(few_blocks);
  EXPECT_EQ(bfs::format(w, "x"), Status::kUnsupportedGeometry);
}

TEST(BfsFormat, FormattingAgainDropsAllFiles) {
  Rig r;
  r.format("old");
  ASSERT_EQ(write_file(*r.vol, "a.bin", pattern(20000, 1)), Status::kOk);
  r.format("new");
  EXPECT_TRUE(listing(*r.vol).empty());
  EXPECT_EQ(space_of(*r.vol).used, 0u);
  ASSERT_EQ(r.remount(), Status::kOk);
  EXPECT_STREQ(bfs::label(*r.vol), "new");
  EXPECT_TRUE(listing(*r.vol).empty());
  r.expect_clean_fsck();
}

TEST(BfsFormat, VolumeFormattedForAnotherGeometryIsRefused) {
  Rig r;
  r.format();
  struct Liar final : flash::Ops {
    explicit Liar(RamFlash& f) : f(f) {}
    flash::Geometry geometry() const override { return {512, 16, 62}; }
    Result read_page(uint32_t p, uint8_t* b) override { return f.read_page(p, b); }
    Result program_page(uint32_t p, const uint8_t* b) override { return f.program_page(p, b); }
    Result erase_block(uint32_t b) override { return f.erase_block(b); }
    bool is_bad_block(uint32_t b) override { return f.is_bad_block(b); }
    Result mark_bad_block(uint32_t b) override { return f.mark_bad_block(b); }
    RamFlash& f;
  } liar(r.flash);
  auto v = std::make_unique<bfs::Volume>(liar);
  EXPECT_EQ(bfs::mount(*v, nullptr), Status::kGeometryMismatch);
}

// The mount announces its scan (flash::Ops::scan_headers) and keeps the
// hint's promise: is_bad_block() of every block in order, between them only
// reads of that block's pages 0 and 1, no program or erase (a driver reads
// ahead on that promise).
TEST(BfsMount, ScanOfTheBlockHeadersKeepsTheHintsPromise) {
  Rig r;
  r.flash.set_factory_bad(5);
  r.format();
  for (int i = 0; i < 4; ++i) ASSERT_EQ(write_file(*r.vol, "f" + std::to_string(i), pattern(9000, i)), Status::kOk);
  struct Watch final : flash::Ops {
    explicit Watch(RamFlash& f) : f(f) {}
    flash::Geometry geometry() const override { return f.geometry(); }
    Result read_page(uint32_t p, uint8_t* b) override {
      if (scanning && (!checked || p / ppb() != block || p % ppb() > 1)) ++broken;
      return f.read_page(p, b);
    }
    Result program_page(uint32_t p, const uint8_t* b) override {
      if (scanning) ++broken;
      return f.program_page(p, b);
    }
    Result erase_block(uint32_t b) override {
      if (scanning) ++broken;
      return f.erase_block(b);
    }
    bool is_bad_block(uint32_t b) override {
      if (scanning) {
        if (b != (checked ? block + 1 : first)) ++broken;
        checked = true;
        block = b;
        if (b + 1 == end) scanning = false;
      }
      return f.is_bad_block(b);
    }
    Result mark_bad_block(uint32_t b) override {
      if (scanning) ++broken;
      return f.mark_bad_block(b);
    }
    void scan_headers(uint32_t from, uint32_t count) override {
      ++hints;
      scanning = true;
      checked = false;
      first = from;
      end = from + count;
    }
    uint32_t ppb() const { return f.geometry().pages_per_block; }
    RamFlash& f;
    bool scanning = false, checked = false;
    uint32_t first = 0, end = 0, block = 0, hints = 0, broken = 0;
  } watch(r.flash);
  auto v = std::make_unique<bfs::Volume>(watch);
  bfs::MountReport rep;
  ASSERT_EQ(bfs::mount(*v, &rep), Status::kOk);
  EXPECT_EQ(watch.hints, 1u);
  EXPECT_EQ(watch.first, 0u);
  EXPECT_EQ(watch.end, r.flash.geometry().block_count) << "the scan covers every block";
  EXPECT_FALSE(watch.scanning) << "every block was checked";
  EXPECT_EQ(watch.broken, 0u);
  EXPECT_EQ(rep.files, 4u);
  EXPECT_EQ(rep.bad_blocks, 1u);
}

TEST(BfsFormat, FactoryBadBlocksAreSkippedAndNotCountedAsSpace) {
  Rig r;
  r.flash.set_factory_bad(0);
  r.flash.set_factory_bad(5);
  r.flash.set_factory_bad(33);
  r.format();
  bfs::Limits lim = bfs::limits(*r.vol);
  EXPECT_EQ(space_of(*r.vol).total, uint64_t(61 - lim.reserved_blocks) * lim.block_data_bytes);
  for (int i = 0; i < 8; ++i) ASSERT_EQ(write_file(*r.vol, "f" + std::to_string(i), pattern(9000, i)), Status::kOk);
  bfs::MountReport rep;
  ASSERT_EQ(r.remount(&rep), Status::kOk);
  EXPECT_EQ(rep.bad_blocks, 3u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(read_file(*r.vol, "f" + std::to_string(i)), pattern(9000, i));
  EXPECT_EQ(r.flash.violations(), 0u);
  r.expect_clean_fsck();
}

// ---- files ------------------------------------------------------------------------

TEST(BfsFiles, SmallFileLivesInItsRecordAndTakesNoDataSpace) {
  Rig r;
  r.format();
  std::string cfg = pattern(300, 9);
  ASSERT_EQ(write_file(*r.vol, "startup-config", cfg, 42), Status::kOk);
  EXPECT_EQ(read_file(*r.vol, "startup-config"), cfg);
  EXPECT_EQ(space_of(*r.vol).used, 0u);
  ASSERT_EQ(r.remount(), Status::kOk);
  EXPECT_EQ(read_file(*r.vol, "startup-config"), cfg);
  r.expect_clean_fsck();
}

TEST(BfsFiles, MultiBlockFileStreamsInOddChunksAndReadsBackAtAnyOffset) {
  Rig r;
  r.format();
  std::string img = pattern(50000, 3);  // 7 blocks of 7 KiB
  ASSERT_EQ(write_file(*r.vol, "img.bin", img, 7, 777), Status::kOk);
  EXPECT_EQ(space_of(*r.vol).used, 7u * 7168);
  for (auto [off, len] : std::vector<std::pair<size_t, size_t>>{
           {0, 1}, {1, 511}, {511, 2}, {7167, 3}, {7168, 7168}, {10000, 30000}, {49999, 1}, {0, 50000}}) {
    std::string buf(len, '\0');
    size_t got = 0;
    ASSERT_EQ(bfs::read(*r.vol, "img.bin", off, buf.data(), len, &got), Status::kOk);
    ASSERT_EQ(got, len);
    EXPECT_EQ(buf, img.substr(off, len)) << "offset " << off;
  }
  ASSERT_EQ(r.remount(), Status::kOk);
  EXPECT_EQ(read_file(*r.vol, "img.bin"), img);
  bfs::FileInfo fi;
  ASSERT_EQ(bfs::stat(*r.vol, "img.bin", &fi), Status::kOk);
  EXPECT_EQ(fi.crc32, trustsim::crc32(img.data(), img.size()));
  r.expect_clean_fsck();
}

TEST(BfsFiles, ReadAtOrPastTheEndGivesNothing) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "a", "hello"), Status::kOk);
  char buf[16];
  size_t got = 99;
  EXPECT_EQ(bfs::read(*r.vol, "a", 5, buf, sizeof buf, &got), Status::kOk);
  EXPECT_EQ(got, 0u);
  EXPECT_EQ(bfs::read(*r.vol, "a", 3, buf, sizeof buf, &got), Status::kOk);
  EXPECT_EQ(std::string(buf, got), "lo");
}

TEST(BfsFiles, EmptyFileExists) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "empty", ""), Status::kOk);
  ASSERT_EQ(r.remount(), Status::kOk);
  bfs::FileInfo fi;
  ASSERT_EQ(bfs::stat(*r.vol, "empty", &fi), Status::kOk);
  EXPECT_EQ(fi.size, 0u);
}

TEST(BfsFiles, OverwriteReplacesContentKeepsIndexAndFreesOldBlocks) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "a.txt", "first"), Status::kOk);
  ASSERT_EQ(write_file(*r.vol, "img", pattern(30000, 1), 100), Status::kOk);
  bfs::FileInfo before;
  ASSERT_EQ(bfs::stat(*r.vol, "img", &before), Status::kOk);
  ASSERT_EQ(write_file(*r.vol, "img", pattern(8000, 2), 200), Status::kOk);
  bfs::FileInfo after;
  ASSERT_EQ(bfs::stat(*r.vol, "img", &after), Status::kOk);
  EXPECT_EQ(after.index, before.index);
  EXPECT_EQ(after.size, 8000u);
  EXPECT_EQ(after.timestamp, 200u);
  EXPECT_EQ(read_file(*r.vol, "img"), pattern(8000, 2));
  EXPECT_EQ(space_of(*r.vol).used, 2u * 7168);
  ASSERT_EQ(r.remount(), Status::kOk);
  EXPECT_EQ(read_file(*r.vol, "img"), pattern(8000, 2));
  EXPECT_EQ(read_file(*r.vol, "a.txt"), "first");
  r.expect_clean_fsck();
}

TEST(BfsFiles, ListingShowsNameSizeTimestampAndIndex) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "one", "1", 111), Status::kOk);
  ASSERT_EQ(write_file(*r.vol, "two", pattern(9000, 2), 222), Status::kOk);
  ASSERT_EQ(r.remount(), Status::kOk);
  auto l = listing(*r.vol);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l["one"].size, 1u);
  EXPECT_EQ(l["one"].timestamp, 111u);
  EXPECT_EQ(l["two"].size, 9000u);
  EXPECT_EQ(l["two"].timestamp, 222u);
  EXPECT_NE(l["one"].index, l["two"].index);
  EXPECT_GE(l["one"].index, 1u);
}

TEST(BfsFiles, MissingFileIsNotFound) {
  Rig r;
  r.format();
  bfs::FileInfo fi;
  char buf[4];
  size_t got;
  EXPECT_EQ(bfs::stat(*r.vol, "nope", &fi), Status::kNotFound);
  EXPECT_EQ(bfs::read(*r.vol, "nope", 0, buf, 4, &got), Status::kNotFound);
  EXPECT_EQ(bfs::remove(*r.vol, "nope"), Status::kNotFound);
  EXPECT_EQ(bfs::rename(*r.vol, "nope", "other"), Status::kNotFound);
}

TEST(BfsNames, OnlyPrintableNamesWithoutSlashColonOrSpaceUpTo127Chars) {
  Rig r;
  r.format();
  std::string longest(127, 'n');
  EXPECT_EQ(write_file(*r.vol, longest, "x"), Status::kOk);
  EXPECT_EQ(write_file(*r.vol, "cat9k_iosxe.17.03.01.SPA.bin", "x"), Status::kOk);
  EXPECT_EQ(bfs::begin_write(*r.vol, std::string(128, 'n').c_str(), 0), Status::kNameTooLong);
  for (const char* bad : {"", "a/b", "a:b", "a b", "tab\t", "del\x7f", "\x01", "caf\xc3\xa9"})
    EXPECT_EQ(bfs::begin_write(*r.vol, bad, 0), Status::kBadName) << bad;
  EXPECT_EQ(bfs::begin_write(*r.vol, nullptr, 0), Status::kBadName);
  EXPECT_EQ(bfs::rename(*r.vol, longest.c_str(), "x/y"), Status::kBadName);
  EXPECT_EQ(bfs::rename(*r.vol, longest.c_str(), std::string(200, 'm').c_str()), Status::kNameTooLong);
  ASSERT_EQ(r.remount(), Status::kOk);
  EXPECT_EQ(read_file(*r.vol, longest), "x");
}

TEST(BfsRename, RenameKeepsContentIndexAndTimestamp) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "old.bin", pattern(10000, 4), 77), Status::kOk);
  ASSERT_EQ(write_file(*r.vol, "tiny", "abc", 78), Status::kOk);
  bfs::FileInfo before;
  ASSERT_EQ(bfs::stat(*r.vol, "old.bin", &before), Status::kOk);
  ASSERT_EQ(bfs::rename(*r.vol, "old.bin", "new.bin"), Status::kOk);
  ASSERT_EQ(bfs::rename(*r.vol, "tiny", "tiny2"), Status::kOk);
  ASSERT_EQ(r.remount(), Status::kOk);
  bfs::FileInfo after;
  EXPECT_EQ(bfs::stat(*r.vol, "old.bin", &after), Status::kNotFound);
  ASSERT_EQ(bfs::stat(*r.vol, "new.bin", &after), Status::kOk);
  EXPECT_EQ(after.index, before.index);
  EXPECT_EQ(after.timestamp, 77u);
  EXPECT_EQ(read_file(*r.vol, "new.bin"), pattern(10000, 4));
  EXPECT_EQ(read_file(*r.vol, "tiny2"), "abc");
  r.expect_clean_fsck();
}

TEST(BfsRename, RenameOntoAnExistingNameFails) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "a", "A"), Status::kOk);
  ASSERT_EQ(write_file(*r.vol, "b", "B"), Status::kOk);
  EXPECT_EQ(bfs::rename(*r.vol, "a", "b"), Status::kExists);
  EXPECT_EQ(bfs::rename(*r.vol, "a", "a"), Status::kExists);
  EXPECT_EQ(read_file(*r.vol, "a"), "A");
  EXPECT_EQ(read_file(*r.vol, "b"), "B");
}

TEST(BfsRemove, RemoveDeletesTheNameAndFreesItsBlocks) {
  Rig r;
  r.format();
  Space empty = space_of(*r.vol);
  ASSERT_EQ(write_file(*r.vol, "big", pattern(40000, 5)), Status::kOk);
  EXPECT_EQ(space_of(*r.vol).used, 6u * 7168);
  ASSERT_EQ(bfs::remove(*r.vol, "big"), Status::kOk);
  EXPECT_EQ(space_of(*r.vol).available, empty.available);
  ASSERT_EQ(r.remount(), Status::kOk);
  EXPECT_TRUE(listing(*r.vol).empty());
  EXPECT_EQ(space_of(*r.vol).available, empty.available);
  r.expect_clean_fsck();
}

// ---- the open write -------------------------------------------------------------------

TEST(BfsWrite, AbortDiscardsTheWriteAndItsBlocks) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "f", "old"), Status::kOk);
  Space before = space_of(*r.vol);
  ASSERT_EQ(bfs::begin_write(*r.vol, "f", 5), Status::kOk);
  std::string big = pattern(20000, 1);
  ASSERT_EQ(bfs::append(*r.vol, big.data(), big.size()), Status::kOk);
  EXPECT_GT(space_of(*r.vol).used, before.used);  // in-flight blocks are in use
  EXPECT_EQ(bfs::abort(*r.vol), Status::kOk);
  EXPECT_EQ(space_of(*r.vol).used, before.used);
  EXPECT_EQ(read_file(*r.vol, "f"), "old");
  EXPECT_EQ(bfs::abort(*r.vol), Status::kOk);
  r.expect_clean_fsck();
}

TEST(BfsWrite, AppendOrCommitWithoutBeginIsRefused) {
  Rig r;
  r.format();
  EXPECT_EQ(bfs::append(*r.vol, "x", 1), Status::kNoWriteInProgress);
  EXPECT_EQ(bfs::commit(*r.vol), Status::kNoWriteInProgress);
}

TEST(BfsWrite, OtherChangesWaitForTheOpenWriteButReadsDoNot) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "a", "A"), Status::kOk);
  ASSERT_EQ(bfs::begin_write(*r.vol, "b", 1), Status::kOk);
  ASSERT_EQ(bfs::append(*r.vol, pattern(9000, 1).data(), 9000), Status::kOk);
  EXPECT_EQ(bfs::begin_write(*r.vol, "c", 1), Status::kWriteInProgress);
  EXPECT_EQ(bfs::rename(*r.vol, "a", "z"), Status::kWriteInProgress);
  EXPECT_EQ(bfs::remove(*r.vol, "a"), Status::kWriteInProgress);
  bfs::FsckReport fr;
  EXPECT_EQ(bfs::fsck(*r.vol, &fr), Status::kWriteInProgress);
  EXPECT_EQ(read_file(*r.vol, "a"), "A");
  bfs::FileInfo fi;
  EXPECT_EQ(bfs::stat(*r.vol, "b", &fi), Status::kNotFound);  // not visible before commit
  ASSERT_EQ(bfs::commit(*r.vol), Status::kOk);
  EXPECT_EQ(read_file(*r.vol, "b"), pattern(9000, 1));
}

TEST(BfsWrite, UncommittedWriteIsGoneAfterPowerCycle) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "img", pattern(9000, 1)), Status::kOk);
  ASSERT_EQ(bfs::begin_write(*r.vol, "img", 1), Status::kOk);
  ASSERT_EQ(bfs::append(*r.vol, pattern(30000, 2).data(), 30000), Status::kOk);
  bfs::MountReport rep;
  ASSERT_EQ(r.remount(&rep), Status::kOk);  // power cycle without commit
  EXPECT_EQ(read_file(*r.vol, "img"), pattern(9000, 1));
  EXPECT_GE(rep.uncommitted_blocks, 4u);
  EXPECT_EQ(space_of(*r.vol).used, 2u * 7168);
  r.expect_clean_fsck();
  ASSERT_EQ(write_file(*r.vol, "img", pattern(30000, 3)), Status::kOk);  // blocks are reused
  EXPECT_EQ(read_file(*r.vol, "img"), pattern(30000, 3));
  EXPECT_EQ(r.flash.violations(), 0u);
}

// ---- space and limits ---------------------------------------------------------------------

TEST(BfsSpace, AvailableSpaceCanReallyBeWrittenAndNotOneByteMore) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "cfg", "x"), Status::kOk);
  ASSERT_EQ(write_file(*r.vol, "some", pattern(10000, 1)), Status::kOk);
  Space s = space_of(*r.vol);
  EXPECT_EQ(s.used + s.available, s.total);
  ASSERT_EQ(write_file(*r.vol, "fill", pattern(s.available, 2), 1, 4096), Status::kOk);
  Space full = space_of(*r.vol);
  EXPECT_EQ(full.available, 0u);
  EXPECT_EQ(write_file(*r.vol, "more", pattern(1000, 3)), Status::kNoSpace);
  EXPECT_EQ(space_of(*r.vol).used, full.used);  // the failed write gave its blocks back
  EXPECT_EQ(write_file(*r.vol, "small", "fits inline"), Status::kOk);
  ASSERT_EQ(r.remount(), Status::kOk);
  EXPECT_EQ(read_file(*r.vol, "fill"), pattern(s.available, 2));
  EXPECT_EQ(read_file(*r.vol, "small"), "fits inline");
  r.expect_clean_fsck();
}

TEST(BfsSpace, ReplacingAFileNeedsRoomForBothCopiesUntilCommit) {
  Rig r;
  r.format();
  Space s = space_of(*r.vol);
  uint64_t half_plus = (s.total / 7168 / 2 + 1) * 7168;
  ASSERT_EQ(write_file(*r.vol, "img", pattern(half_plus, 1), 1, 4096), Status::kOk);
  EXPECT_EQ(write_file(*r.vol, "img", pattern(half_plus, 2), 1, 4096), Status::kNoSpace);
  EXPECT_EQ(read_file(*r.vol, "img"), pattern(half_plus, 1));
  ASSERT_EQ(bfs::remove(*r.vol, "img"), Status::kOk);
  EXPECT_EQ(write_file(*r.vol, "img", pattern(half_plus, 2), 1, 4096), Status::kOk);
}

TEST(BfsLimits, TooManyFiles) {
  Rig r;
  r.format();
  uint32_t max = bfs::limits(*r.vol).max_files;
  for (uint32_t i = 0; i < max; ++i) ASSERT_EQ(write_file(*r.vol, "f" + std::to_string(i), "x"), Status::kOk);
  EXPECT_EQ(write_file(*r.vol, "one-more", "x"), Status::kTooManyFiles);
  EXPECT_EQ(write_file(*r.vol, "f3", "overwrite is fine"), Status::kOk);
  ASSERT_EQ(r.remount(), Status::kOk);
  EXPECT_EQ(listing(*r.vol).size(), max);
  r.expect_clean_fsck();
}

TEST(BfsLimits, DefaultGeometryHolds256FilesAndFilesOfAtLeast64MiB) {
  Rig r(kW25N01GV);
  r.format();
  bfs::Limits lim = bfs::limits(*r.vol);
  EXPECT_GE(lim.max_files, 256u);
  EXPECT_GE(lim.max_file_size, 64ull << 20);
  Space s = space_of(*r.vol);
  EXPECT_GE(s.total, 120ull << 20);  // of 128 MiB raw
  for (uint32_t i = 0; i < lim.max_files; ++i)
    ASSERT_EQ(write_file(*r.vol, "crashinfo_" + std::to_string(i), pattern(100 + i, i), i), Status::kOk);
  ASSERT_EQ(r.remount(), Status::kOk);
  auto l = listing(*r.vol);
  ASSERT_EQ(l.size(), lim.max_files);
  EXPECT_EQ(read_file(*r.vol, "crashinfo_200"), pattern(300, 200));
  r.expect_clean_fsck();
}

TEST(BfsLimits, FileTooLargeIsRefusedAndAborted) {
  Rig r({512, 16, 400});  // more blocks than one file may list
  r.format();
  uint64_t max = bfs::limits(*r.vol).max_file_size;
  ASSERT_LT(max, space_of(*r.vol).available);
  ASSERT_EQ(bfs::begin_write(*r.vol, "huge", 0), Status::kOk);
  std::string chunk = pattern(7168, 1);
  Status st = Status::kOk;
  uint64_t written = 0;
  while (st == Status::kOk && written <= max) {
    st = bfs::append(*r.vol, chunk.data(), chunk.size());
    written += chunk.size();
  }
  EXPECT_EQ(st, Status::kFileTooLarge);
  EXPECT_EQ(bfs::commit(*r.vol), Status::kNoWriteInProgress);
  EXPECT_EQ(space_of(*r.vol).used, 0u);
  ASSERT_EQ(write_file(*r.vol, "exactly-max", pattern(max, 2), 0, 7168), Status::kOk);
  EXPECT_EQ(read_file(*r.vol, "exactly-max"), pattern(max, 2));
}

TEST(BfsGeometry, FourKiBPagesWork) {
  Rig r({4096, 64, 128});
  r.format();
  ASSERT_EQ(write_file(*r.vol, "small", pattern(3000, 1)), Status::kOk);
  ASSERT_EQ(write_file(*r.vol, "big", pattern(700000, 2), 1, 5000), Status::kOk);
  ASSERT_EQ(bfs::rename(*r.vol, "big", "big2"), Status::kOk);
  ASSERT_EQ(r.remount(), Status::kOk);
  EXPECT_EQ(read_file(*r.vol, "small"), pattern(3000, 1));
  EXPECT_EQ(read_file(*r.vol, "big2"), pattern(700000, 2));
  EXPECT_EQ(bfs::limits(*r.vol).inline_size, 4096u - 176);
  r.expect_clean_fsck();
}

// ---- metadata garbage collection ---------------------------------------------------

TEST(BfsGc, ThousandsOfSmallCommitsReuseMetadataBlocksAndStayConsistent) {
  Rig r;
  r.format();
  std::map<std::string, std::string> expect;
  uint64_t total = space_of(*r.vol).total;
  // Two hot files rewritten, renamed and removed all the time; twelve cold
  // ones rewritten now and then, whose records pin old metadata blocks
  // until garbage collection moves them.
  for (int i = 0; i < 1500; ++i) {
    bool hot = i % 10 < 8;
    std::string name = hot ? "hot" + std::to_string(i % 2) : "cold" + std::to_string((i * 7) % 12);
    if (hot && i % 7 == 3 && expect.count(name) && !expect.count(name + ".r")) {
      ASSERT_EQ(bfs::rename(*r.vol, name.c_str(), (name + ".r").c_str()), Status::kOk);
      expect[name + ".r"] = expect[name];
      expect.erase(name);
      continue;
    }
    if (hot && i % 11 == 5 && expect.count(name + ".r")) {
      ASSERT_EQ(bfs::remove(*r.vol, (name + ".r").c_str()), Status::kOk);
      expect.erase(name + ".r");
      continue;
    }
    std::string data = pattern(50 + (i * 37) % (i % 5 == 0 ? 9000 : 300), i);
    ASSERT_EQ(write_file(*r.vol, name, data, i), Status::kOk) << i;
    expect[name] = data;
  }
  EXPECT_GT(r.vol->gc_runs(), 10u);
  EXPECT_EQ(space_of(*r.vol).total, total);
  ASSERT_EQ(r.remount(), Status::kOk);
  auto l = listing(*r.vol);
  ASSERT_EQ(l.size(), expect.size());
  for (auto& [name, data] : expect) EXPECT_EQ(read_file(*r.vol, name), data) << name;
  EXPECT_EQ(r.flash.violations(), 0u);
  r.expect_clean_fsck();
}

// ---- the default part: a 16 MiB image, mount cost -----------------------------------

TEST(BfsDefaultGeometry, SixteenMiBImageStreamsThroughAndMountReadsAtMostTwoPagesPerBlock) {
  Rig r(kW25N01GV);
  r.format();
  const size_t kImage = 16u << 20;
  ASSERT_EQ(bfs::begin_write(*r.vol, "cat9k_iosxe.16.12.01.SPA.bin", 1700000000), Status::kOk);
  uint32_t crc = 0;
  for (size_t pos = 0; pos < kImage; pos += 4096) {
    std::string chunk = pattern(4096, uint32_t(pos / 4096));
    crc = trustsim::crc32(chunk.data(), chunk.size(), crc);
    ASSERT_EQ(bfs::append(*r.vol, chunk.data(), chunk.size()), Status::kOk);
  }
  ASSERT_EQ(bfs::commit(*r.vol), Status::kOk);
  for (int i = 0; i < 30; ++i) ASSERT_EQ(write_file(*r.vol, "cfg" + std::to_string(i), pattern(500, i)), Status::kOk);
  uint64_t reads_before = r.flash.reads();
  bfs::MountReport rep;
  ASSERT_EQ(r.remount(&rep), Status::kOk);
  uint64_t mount_reads = r.flash.reads() - reads_before;
  EXPECT_EQ(mount_reads, rep.pages_read);
  // One header pair per block at most, the head block, one record per file.
  EXPECT_LE(mount_reads, 2u * 1024 + 64 + 2 * 31);
  std::printf("bfs mount on W25N01GV geometry (1024 blocks, 31 files, 16 MiB image): %llu page reads\n",
              (unsigned long long)mount_reads);
  bfs::FileInfo fi;
  ASSERT_EQ(bfs::stat(*r.vol, "cat9k_iosxe.16.12.01.SPA.bin", &fi), Status::kOk);
  EXPECT_EQ(fi.size, kImage);
  EXPECT_EQ(fi.crc32, crc);
  bfs::FsckReport fr;
  EXPECT_EQ(bfs::fsck(*r.vol, &fr), Status::kOk) << (fr.first_error ? fr.first_error : "");
  EXPECT_EQ(fr.bytes_verified, kImage + 30 * 500);
}

// ---- ECC errors -----------------------------------------------------------------------

// Copy A of the newest record of a file, found by looking at the raw flash.
uint32_t newest_record_page(RamFlash& f, const std::string& name) {
  uint32_t found = UINT32_MAX;
  uint32_t newest_seq = 0;
  for (uint32_t p = 0; p < f.pages(); p += 2) {
    if (p % kSmall.pages_per_block < 2) continue;
    std::vector<uint8_t> pg = f.raw(p);
    uint32_t seq = pg[12] | pg[13] << 8 | pg[14] << 16 | uint32_t(pg[15]) << 24;
    if (memcmp(pg.data(), "BFS1", 4) == 0 && pg[8] == 3 && pg[23] == name.size() &&
        memcmp(pg.data() + 48, name.data(), name.size()) == 0 && seq >= newest_seq) {
      newest_seq = seq;
      found = p;
    }
  }
  return found;
}

uint32_t newest_commit_page(RamFlash& f) {
  uint32_t found = UINT32_MAX, best = 0;
  for (uint32_t p = 0; p < f.pages(); p += 2) {
    if (p % kSmall.pages_per_block < 2) continue;
    std::vector<uint8_t> pg = f.raw(p);
    uint32_t gen = pg[16] | pg[17] << 8 | pg[18] << 16 | uint32_t(pg[19]) << 24;
    if (memcmp(pg.data(), "BFS1", 4) == 0 && pg[8] == 4 && gen > best) {
      best = gen;
      found = p;
    }
  }
  return found;
}

TEST(BfsEcc, UnreadableFirstCopyOfAFileRecordIsRepairedAtMount) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "a.bin", pattern(9000, 1)), Status::kOk);
  ASSERT_EQ(write_file(*r.vol, "b.txt", "inline data"), Status::kOk);
  uint32_t page = newest_record_page(r.flash, "b.txt");
  ASSERT_NE(page, UINT32_MAX);
  r.flash.set_ecc_error(page);
  bfs::MountReport rep;
  ASSERT_EQ(r.remount(&rep), Status::kOk);
  EXPECT_EQ(rep.repaired_records, 1u);
  EXPECT_EQ(read_file(*r.vol, "b.txt"), "inline data");
  r.expect_clean_fsck();
  ASSERT_EQ(r.remount(&rep), Status::kOk);
  EXPECT_EQ(rep.repaired_records, 0u);
  EXPECT_EQ(read_file(*r.vol, "b.txt"), "inline data");
}

TEST(BfsEcc, BothCopiesUnreadableLosesOnlyThatFile) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "keep", pattern(9000, 1)), Status::kOk);
  ASSERT_EQ(write_file(*r.vol, "lost", pattern(100, 2)), Status::kOk);
  uint32_t page = newest_record_page(r.flash, "lost");
  r.flash.set_ecc_error(page);
  r.flash.set_ecc_error(page + 1);
  bfs::MountReport rep;
  ASSERT_EQ(r.remount(&rep), Status::kOk);
  EXPECT_EQ(rep.lost_files, 1u);
  EXPECT_EQ(read_file(*r.vol, "keep"), pattern(9000, 1));
  bfs::FileInfo fi;
  EXPECT_EQ(bfs::stat(*r.vol, "lost", &fi), Status::kNotFound);
}

TEST(BfsEcc, UnreadableCommitCopyIsRepairedAtMount) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "a", pattern(9000, 1)), Status::kOk);
  uint32_t commit = newest_commit_page(r.flash);
  ASSERT_NE(commit, UINT32_MAX);
  r.flash.set_ecc_error(commit);
  bfs::MountReport rep;
  ASSERT_EQ(r.remount(&rep), Status::kOk);
  EXPECT_EQ(rep.repaired_records, 1u);
  EXPECT_FALSE(rep.fell_back);
  EXPECT_EQ(read_file(*r.vol, "a"), pattern(9000, 1));
  r.expect_clean_fsck();
}

TEST(BfsEcc, UnreadableHeaderOfTheNewestMetadataBlockUsesItsSecondCopy) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "a", pattern(9000, 1)), Status::kOk);
  uint32_t commit = newest_commit_page(r.flash);
  uint32_t block_first = commit / kSmall.pages_per_block * kSmall.pages_per_block;
  r.flash.set_ecc_error(block_first);
  bfs::MountReport rep;
  ASSERT_EQ(r.remount(&rep), Status::kOk);
  EXPECT_FALSE(rep.fell_back);
  EXPECT_EQ(read_file(*r.vol, "a"), pattern(9000, 1));
  bfs::FsckReport fr;
  EXPECT_EQ(bfs::fsck(*r.vol, &fr), Status::kOk) << (fr.first_error ? fr.first_error : "");
}

TEST(BfsEcc, DataPageEccErrorIsAnIoErrorAndFsckReportsIt) {
  Rig r;
  r.format();
  std::string img = pattern(20000, 1);
  ASSERT_EQ(write_file(*r.vol, "img", img), Status::kOk);
  // Find the data page holding bytes 10240..10751 (block 1 of the file, page 3).
  uint32_t bad_page = UINT32_MAX;
  for (uint32_t p = 0; p < r.flash.pages(); ++p) {
    std::vector<uint8_t> pg = r.flash.raw(p);
    if (memcmp(pg.data(), img.data() + 10240, 512) == 0) bad_page = p;
  }
  ASSERT_NE(bad_page, UINT32_MAX);
  r.flash.set_ecc_error(bad_page);
  std::string buf(20000, '\0');
  size_t got = 0;
  EXPECT_EQ(bfs::read(*r.vol, "img", 0, buf.data(), buf.size(), &got), Status::kIoError);
  EXPECT_EQ(r.vol->last_flash_result(), Result::kEccError);
  EXPECT_EQ(got, 10240u);
  EXPECT_EQ(buf.substr(0, got), img.substr(0, got));
  EXPECT_EQ(bfs::read(*r.vol, "img", 10752, buf.data(), 100, &got), Status::kOk);  // the rest is readable
  bfs::FsckReport fr;
  EXPECT_EQ(bfs::fsck(*r.vol, &fr), Status::kFsckFailed);
  EXPECT_STREQ(fr.first_error, "file data unreadable");
}

// ---- torn-erase leftovers --------------------------------------------------------

// A torn erase can leave page 0 of a block erased and page 1 (the header's
// second copy) intact. Mount ignores that block, but must still count its
// sequence number: a second torn erase could later expose the copy again,
// and it must never tie with a block written in between.
TEST(BfsTornErase, LeftoverHeaderCopyNeverSharesItsSequenceNumberWithANewBlock) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "a", pattern(9000, 1)), Status::kOk);
  uint32_t commit = newest_commit_page(r.flash);
  uint32_t head_first = commit / 16 * 16;
  std::vector<uint8_t> hdr = r.flash.raw(head_first);
  uint32_t head_seq = hdr[12] | hdr[13] << 8 | hdr[14] << 16 | uint32_t(hdr[15]) << 24;
  const uint32_t leftover_block = 63;
  ASSERT_EQ(r.flash.raw(leftover_block * 16), std::vector<uint8_t>(512, 0xFF));
  uint32_t leftover_seq = head_seq + 3;
  for (int i = 0; i < 4; ++i) hdr[12 + i] = uint8_t(leftover_seq >> (8 * i));
  uint32_t crc = trustsim::crc32(hdr.data() + 8, 512 - 8);
  for (int i = 0; i < 4; ++i) hdr[4 + i] = uint8_t(crc >> (8 * i));
  ASSERT_EQ(r.flash.program_page(leftover_block * 16 + 1, hdr.data()), Result::kOk);

  ASSERT_EQ(r.remount(), Status::kOk);
  for (int i = 0; i < 6; ++i) ASSERT_EQ(write_file(*r.vol, "f" + std::to_string(i), pattern(9000, i)), Status::kOk);
  for (uint32_t b = 0; b < 64; ++b) {
    if (b == leftover_block) continue;
    std::vector<uint8_t> pg = r.flash.raw(b * 16);
    uint32_t seq = pg[12] | pg[13] << 8 | pg[14] << 16 | uint32_t(pg[15]) << 24;
    if (memcmp(pg.data(), "BFS1", 4) == 0 && (pg[8] == 1 || pg[8] == 2)) {
      EXPECT_NE(seq, leftover_seq) << "block " << b;
    }
  }
  // The second torn erase: page 0 is now garbage, so page 1 is believed.
  r.flash.flip_bit(leftover_block * 16, 7, 0x01);
  ASSERT_EQ(r.remount(), Status::kOk);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(read_file(*r.vol, "f" + std::to_string(i)), pattern(9000, i));
  r.expect_clean_fsck();
}

// ---- fsck ---------------------------------------------------------------------------

TEST(BfsFsck, SilentDataCorruptionFailsTheDataCheckOnly) {
  Rig r;
  r.format();
  std::string img = pattern(20000, 1);
  ASSERT_EQ(write_file(*r.vol, "img", img), Status::kOk);
  for (uint32_t p = 0; p < r.flash.pages(); ++p) {
    std::vector<uint8_t> pg = r.flash.raw(p);
    if (memcmp(pg.data(), img.data() + 512, 512) == 0) r.flash.flip_bit(p, 100, 0x10);
  }
  bfs::FsckReport fr;
  EXPECT_EQ(bfs::fsck(*r.vol, &fr, false), Status::kOk);
  EXPECT_EQ(bfs::fsck(*r.vol, &fr, true), Status::kFsckFailed);
  EXPECT_STREQ(fr.first_error, "file data does not match its CRC");
}

TEST(BfsFsck, DataBlockHeaderOfAnotherFileIsAnError) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "img", pattern(9000, 1)), Status::kOk);
  // Rewrite the header pair of the file's first block as if another file owned it.
  uint32_t block = UINT32_MAX;
  for (uint32_t b = 0; b < kSmall.block_count && block == UINT32_MAX; ++b) {
    std::vector<uint8_t> pg = r.flash.raw(b * 16);
    if (memcmp(pg.data(), "BFS1", 4) == 0 && pg[8] == 2) block = b;
  }
  ASSERT_NE(block, UINT32_MAX);
  r.flash.flip_bit(block * 16, 28, 0x40);  // serial changes, CRC breaks
  r.flash.flip_bit(block * 16 + 1, 28, 0x40);
  bfs::FsckReport fr;
  EXPECT_EQ(bfs::fsck(*r.vol, &fr, false), Status::kFsckFailed);
  EXPECT_GE(fr.errors, 1u);
}

// ---- failing blocks -----------------------------------------------------------------------

TEST(BfsBadBlocks, BlocksThatFailToEraseAreMarkedBadAndSpaceShrinks) {
  Rig r;
  r.format();
  uint64_t total = space_of(*r.vol).total;
  for (uint32_t b = 0; b < 64; b += 9) r.flash.fail_erases_of(b);  // 8 blocks
  std::map<std::string, std::string> expect;
  for (int i = 0; i < 40; ++i) {
    std::string name = "f" + std::to_string(i % 6);
    expect[name] = pattern(3000 + 977 * (i % 9), i);
    ASSERT_EQ(write_file(*r.vol, name, expect[name]), Status::kOk) << i;
  }
  EXPECT_GT(r.flash.marked_bad(), 0u);
  Space s = space_of(*r.vol);
  EXPECT_EQ(s.total, total - uint64_t(r.flash.marked_bad()) * 7168);
  EXPECT_EQ(s.used + s.available, s.total);
  bfs::MountReport rep;
  ASSERT_EQ(r.remount(&rep), Status::kOk);
  EXPECT_EQ(rep.bad_blocks, r.flash.marked_bad());
  for (auto& [name, data] : expect) EXPECT_EQ(read_file(*r.vol, name), data);
  EXPECT_EQ(r.flash.violations(), 0u);
  r.expect_clean_fsck();
}

TEST(BfsBadBlocks, DataProgramFailureFailsTheWriteKeepsTheOldFileAndRetiresTheBlock) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "img", pattern(9000, 1)), Status::kOk);
  r.flash.fail_next_data_program();
  EXPECT_EQ(write_file(*r.vol, "img", pattern(20000, 2)), Status::kIoError);
  EXPECT_EQ(r.vol->last_flash_result(), Result::kProgramFailed);
  EXPECT_EQ(r.flash.marked_bad(), 1u);
  EXPECT_EQ(read_file(*r.vol, "img"), pattern(9000, 1));
  ASSERT_EQ(write_file(*r.vol, "img", pattern(20000, 2)), Status::kOk);
  ASSERT_EQ(r.remount(), Status::kOk);
  EXPECT_EQ(read_file(*r.vol, "img"), pattern(20000, 2));
  r.expect_clean_fsck();
}

TEST(BfsBadBlocks, MetadataProgramFailureFailsOneOperationAndTheNextOneWorks) {
  for (uint8_t kind : {uint8_t(3), uint8_t(4), uint8_t(1)}) {
    SCOPED_TRACE(int(kind));
    Rig r;
    r.format();
    ASSERT_EQ(write_file(*r.vol, "a", "A"), Status::kOk);
    r.flash.fail_next_record_program(kind);
    Status st = write_file(*r.vol, "b", pattern(600, 2));
    for (int i = 0; st == Status::kOk && i < 40; ++i) st = write_file(*r.vol, "c", pattern(600, i));
    if (kind == 1) {
      EXPECT_EQ(st, Status::kOk);  // a new block's header failed: another block was taken
    } else {
      EXPECT_EQ(st, Status::kIoError);
      EXPECT_EQ(r.vol->last_flash_result(), Result::kProgramFailed);
    }
    ASSERT_EQ(write_file(*r.vol, "b", pattern(600, 3)), Status::kOk);
    ASSERT_EQ(r.remount(), Status::kOk);
    EXPECT_EQ(read_file(*r.vol, "a"), "A");
    EXPECT_EQ(read_file(*r.vol, "b"), pattern(600, 3));
    r.expect_clean_fsck();
  }
}

TEST(BfsStatus, IoErrorsNameTheFlashResult) {
  Rig r;
  r.format();
  ASSERT_EQ(write_file(*r.vol, "img", pattern(9000, 1)), Status::kOk);
  r.flash.fail_next_data_program();
  Status st = write_file(*r.vol, "img2", pattern(9000, 2));
  char text[80];
  bfs::describe(*r.vol, st, text, sizeof text);
  EXPECT_STREQ(text, "flash I/O error: program failed");
  char tiny[6];
  EXPECT_EQ(bfs::describe(*r.vol, Status::kNoSpace, tiny, sizeof tiny), 5u);
  EXPECT_STREQ(tiny, "no sp");
}

TEST(BfsStatus, EveryStatusHasItsOwnMessage) {
  std::set<std::string> seen;
  for (int s = int(Status::kOk); s <= int(Status::kFsckFailed); ++s) {
    std::string text = bfs::status_text(Status(s));
    EXPECT_FALSE(text.empty());
    EXPECT_NE(text, "?");
    EXPECT_TRUE(seen.insert(text).second) << text;
  }
}

// ---- hand-over between boot stages ----------------------------------------------------

// Two files, one across data blocks, the other inline, mounted after a power cycle.
void fill_and_remount(Rig& r, bfs::MountReport* rep) {
  r.format();
  ASSERT_EQ(write_file(*r.vol, "image.bin", pattern(20000, 7)), Status::kOk);
  ASSERT_EQ(write_file(*r.vol, "config.txt", "hostname R1"), Status::kOk);
  ASSERT_EQ(r.remount(rep), Status::kOk);
}

TEST(BfsHandover, TakenOverVolumeHasTheFilesAndReadsNoFlashToGetThem) {
  Rig r;
  bfs::MountReport rep;
  fill_and_remount(r, &rep);
  auto handed = std::make_unique<bfs::Handover>();
  ASSERT_EQ(bfs::hand_over(*r.vol, rep, handed.get()), Status::kOk);
  EXPECT_EQ(handed->magic, bfs::kHandoverMagic);
  uint64_t reads = r.flash.reads();
  bfs::Volume next;
  bfs::MountReport got;
  memset(&got, 0xAA, sizeof got);
  ASSERT_EQ(bfs::take_over(next, r.flash, *handed, &got), Status::kOk);
  EXPECT_EQ(r.flash.reads(), reads);
  EXPECT_TRUE(next.mounted());
  EXPECT_EQ(memcmp(&got, &rep, sizeof rep), 0);
  EXPECT_EQ(got.generation, rep.generation);
  EXPECT_EQ(got.files, 2u);
  EXPECT_EQ(listing(next).size(), 2u);
  EXPECT_EQ(read_file(next, "image.bin"), pattern(20000, 7));
  EXPECT_EQ(read_file(next, "config.txt"), "hostname R1");
  EXPECT_EQ(space_of(next).used, space_of(*r.vol).used);
  // Taken at most once: the magic is gone.
  EXPECT_EQ(handed->magic, 0u);
  bfs::Volume again;
  EXPECT_EQ(bfs::take_over(again, r.flash, *handed, nullptr), Status::kNotMounted);
  EXPECT_FALSE(again.mounted());
  // The taken-over volume is the flash's: fsck agrees, and it writes.
  bfs::FsckReport fr;
  EXPECT_EQ(bfs::fsck(next, &fr), Status::kOk) << (fr.first_error ? fr.first_error : "");
  ASSERT_EQ(write_file(next, "new.bin", pattern(9000, 3)), Status::kOk);
  ASSERT_EQ(bfs::remove(next, "config.txt"), Status::kOk);
  ASSERT_EQ(r.remount(), Status::kOk);
  EXPECT_EQ(read_file(*r.vol, "new.bin"), pattern(9000, 3));
  EXPECT_EQ(read_file(*r.vol, "image.bin"), pattern(20000, 7));
  EXPECT_EQ(listing(*r.vol).count("config.txt"), 0u);
  r.expect_clean_fsck();
}

TEST(BfsHandover, TakenOverVolumeWritesTheSamePagesAsAFreshMount) {
  // The OS taking ROMmon's mount over must behave like the OS mounting
  // again: same blocks allocated, same pages written.
  Rig a, b;
  bfs::MountReport rep_a, rep_b;
  fill_and_remount(a, &rep_a);
  fill_and_remount(b, &rep_b);
  auto handed = std::make_unique<bfs::Handover>();
  ASSERT_EQ(bfs::hand_over(*a.vol, rep_a, handed.get()), Status::kOk);
  auto taken = std::make_unique<bfs::Volume>();
  ASSERT_EQ(bfs::take_over(*taken, a.flash, *handed, nullptr), Status::kOk);
  ASSERT_EQ(b.remount(), Status::kOk);
  for (bfs::Volume* v : {taken.get(), b.vol.get()}) {
    for (int i = 0; i < 12; ++i)
      ASSERT_EQ(write_file(*v, "f" + std::to_string(i % 5), pattern(700 * i, i)), Status::kOk);
    ASSERT_EQ(bfs::rename(*v, "f1", "g1"), Status::kOk);
  }
  for (uint32_t p = 0; p < a.flash.pages(); ++p) ASSERT_EQ(a.flash.raw(p), b.flash.raw(p)) << "page " << p;
}

TEST(BfsHandover, OnlyAMountedVolumeWithoutAnOpenWriteIsHandedOver) {
  Rig r;
  auto handed = std::make_unique<bfs::Handover>();
  handed->magic = bfs::kHandoverMagic;
  bfs::MountReport rep{};
  EXPECT_EQ(bfs::hand_over(*r.vol, rep, handed.get()), Status::kNotMounted);
  EXPECT_EQ(handed->magic, 0u);
  r.format();
  ASSERT_EQ(bfs::begin_write(*r.vol, "open", 1), Status::kOk);
  EXPECT_EQ(bfs::hand_over(*r.vol, rep, handed.get()), Status::kWriteInProgress);
  EXPECT_EQ(handed->magic, 0u);
}

// A filled W25N01GV volume, remounted, and the hand-over of it.
void handed_over_volume(Rig& r, std::unique_ptr<bfs::Handover>* good) {
  bfs::MountReport rep;
  fill_and_remount(r, &rep);
  *good = std::make_unique<bfs::Handover>();
  ASSERT_EQ(bfs::hand_over(*r.vol, rep, good->get()), Status::kOk);
}

TEST(BfsHandover, DamagedOrForeignHandOverIsRefusedAndMountStillWorks) {
  Rig r(kW25N01GV);
  std::unique_ptr<bfs::Handover> good;
  ASSERT_NO_FATAL_FAILURE(handed_over_volume(r, &good));
  auto handed = std::make_unique<bfs::Handover>();
  auto expect_refused = [&](Status want, const char* what) {
    bfs::Volume v;
    EXPECT_EQ(bfs::take_over(v, r.flash, *handed, nullptr), want) << what;
    EXPECT_FALSE(v.mounted()) << what;
    EXPECT_EQ(handed->magic, 0u) << what;
    ASSERT_EQ(bfs::mount(v, nullptr), Status::kOk) << what;
    EXPECT_EQ(read_file(v, "image.bin"), pattern(20000, 7)) << what;
  };
  memset(handed.get(), 0, sizeof *handed);
  expect_refused(Status::kNotMounted, "all zero (no ROMmon hand-over)");
  *handed = *good;
  handed->volume[5000] ^= 0x10;
  expect_refused(Status::kCorrupt, "one bit flipped");
  *handed = *good;
  handed->version = bfs::kHandoverVersion + 1;
  expect_refused(Status::kCorrupt, "another version");
  *handed = *good;
  handed->volume_size -= 8;
  expect_refused(Status::kCorrupt, "another Volume size");
  *handed = *good;
  memset(handed->volume + 42000, 0xFF, 100);  // block states of the 1024-block flash
  handed->crc32 = bfs::handover_crc(*handed);
  expect_refused(Status::kCorrupt, "block states out of range, CRC fixed");
  // The same volume handed to a flash of another geometry.
  RamFlash other(kSmall);
  *handed = *good;
  bfs::Volume v;
  EXPECT_EQ(bfs::take_over(v, other, *handed, nullptr), Status::kGeometryMismatch);
  EXPECT_FALSE(v.mounted());
}

TEST(BfsHandover, RandomDamageWithAValidCrcNeverCrashes) {
  // A hand-over whose CRC checks but whose bytes were changed is either
  // refused or gives a volume that works on the flash (fsck may complain).
  Rig r(kW25N01GV);
  std::unique_ptr<bfs::Handover> good;
  ASSERT_NO_FATAL_FAILURE(handed_over_volume(r, &good));
  auto handed = std::make_unique<bfs::Handover>();
  std::mt19937 rng(15);
  int refused = 0, taken = 0;
  for (int i = 0; i < 300; ++i) {
    *handed = *good;
    for (int k = 0; k < 4; ++k) handed->volume[rng() % sizeof handed->volume] = uint8_t(rng());
    handed->crc32 = bfs::handover_crc(*handed);
    auto v = std::make_unique<bfs::Volume>();
    Status st = bfs::take_over(*v, r.flash, *handed, nullptr);
    if (st != Status::kOk) {
      ++refused;
      continue;
    }
    ++taken;
    listing(*v);
    read_file(*v, "image.bin");
    bfs::FsckReport fr;
    bfs::fsck(*v, &fr);
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(taken, 0);
}

// ---- the power-cut sweep ---------------------------------------------------------------

struct Step {
  enum Kind { kWrite, kRename, kRemove } kind;
  std::string a, b;
  size_t size = 0;
  uint32_t version = 0;
};

struct FileState {
  std::string data;
  uint32_t timestamp;
  bool operator==(const FileState& o) const { return data == o.data && timestamp == o.timestamp; }
};
using State = std::map<std::string, FileState>;

// Sizes scale with the geometry: `block` is a data block's payload, `small`
// the largest file kept inside its record.
std::vector<Step> sweep_script(flash::Geometry g) {
  const double block = double((g.pages_per_block - 2) * g.page_size), small = double(g.page_size - 176);
  auto B = [&](double f) { return size_t(f * block); };
  auto I = [&](double f) { return size_t(f * small); };
  std::vector<Step> s;
  auto write = [&](const std::string& n, size_t size, uint32_t ver) { s.push_back({Step::kWrite, n, "", size, ver}); };
  auto rename = [&](const std::string& a, const std::string& b) { s.push_back({Step::kRename, a, b}); };
  auto remove = [&](const std::string& a) { s.push_back({Step::kRemove, a, ""}); };
  write("boot.cfg", I(0.6), 1);   // inline
  write("img-a.bin", B(3.2), 2);  // four blocks
  write("notes.txt", I(2.1), 3);  // one block
  write("img-a.bin", B(2.4), 4);  // multi-block overwrite
  rename("notes.txt", "notes.old");
  write("boot.cfg", I(4.5), 5);  // inline -> block
  remove("img-a.bin");
  write("img-b.bin", B(4.2), 6);  // reuses freed blocks
  rename("img-b.bin", "img-c.bin");
  // Many small commits, with cold files whose records pin old metadata
  // blocks: metadata garbage collection runs several times.
  for (uint32_t i = 0; i < 15; ++i) {
    write("log.txt", I(0.35 + 0.09 * i), 10 + i);
    if (i % 3 == 0) write("cold-" + std::to_string(i / 3), I(0.18) + i, 40 + i);
    if (i % 5 == 2) rename("log.txt", "log-" + std::to_string(i) + ".txt");
  }
  remove("log-7.txt");
  write("img-c.bin", B(1.26), 30);  // shrink
  remove("notes.old");
  write("boot.cfg", I(0.9), 31);  // block -> inline
  return s;
}

std::string step_data(const Step& s) { return pattern(s.size, s.version * 7919); }

Status apply_step(bfs::Volume& v, const Step& s) {
  switch (s.kind) {
    case Step::kWrite:
      return write_file(v, s.a, step_data(s), s.version * 100, 333);
    case Step::kRename:
      return bfs::rename(v, s.a.c_str(), s.b.c_str());
    case Step::kRemove:
      return bfs::remove(v, s.a.c_str());
  }
  return Status::kCorrupt;
}

void apply_step(State& st, const Step& s) {
  switch (s.kind) {
    case Step::kWrite:
      st[s.a] = {step_data(s), s.version * 100};
      break;
    case Step::kRename:
      st[s.b] = st[s.a];
      st.erase(s.a);
      break;
    case Step::kRemove:
      st.erase(s.a);
      break;
  }
}

// Empty when the volume shows exactly `want`; otherwise what differs.
std::string diff_state(bfs::Volume& v, const State& want) {
  auto l = listing(v);
  std::ostringstream out;
  if (l.size() != want.size()) out << "has " << l.size() << " files, expected " << want.size() << "; ";
  for (auto& [name, fs] : want) {
    auto it = l.find(name);
    if (it == l.end()) {
      out << name << " missing; ";
      continue;
    }
    if (it->second.timestamp != fs.timestamp) out << name << " timestamp; ";
    Status st;
    std::string got = read_file(v, name, &st);
    if (st != Status::kOk)
      out << name << " read: " << bfs::status_text(st) << "; ";
    else if (got != fs.data)
      out << name << " content (" << got.size() << " bytes, expected " << fs.data.size() << "); ";
  }
  for (auto& [name, fi] : l)
    if (!want.count(name)) out << "unexpected " << name << "; ";
  return out.str();
}

uint64_t expected_used(const State& st, const bfs::Limits& lim) {
  uint64_t used = 0;
  for (auto& [name, fs] : st)
    if (fs.data.size() > lim.inline_size)
      used += (fs.data.size() + lim.block_data_bytes - 1) / lim.block_data_bytes * lim.block_data_bytes;
  return used;
}

struct Mode {
  Cut cut;
  uint64_t seed;
};

struct SweepResult {
  size_t cut_points = 0, modes = 0, runs = 0, failures = 0, old_outcomes = 0, new_outcomes = 0;
  size_t double_runs = 0, double_failures = 0;
  uint32_t gc_runs_in_script = 0;
};

const std::string kProbe = pattern(16000, 99);

// Checks one crash state; returns "" or the reason it is wrong.
std::string check_crash_state(RamFlash& f, const State& before, const State& after, bool must_be_old, bool must_be_new,
                              uint64_t expect_total, bool* was_new) {
  auto v = std::make_unique<bfs::Volume>(f);
  bfs::MountReport rep;
  Status st = bfs::mount(*v, &rep);
  if (st != Status::kOk) return std::string("mount: ") + bfs::status_text(st);
  // A lost file could pass for the old state of a new one: a power cut must never lose a record.
  if (rep.lost_files || rep.damaged_files) return "mount lost or found damaged files";
  std::string d_old = diff_state(*v, before), d_new = diff_state(*v, after);
  if (!d_old.empty() && !d_new.empty()) return "neither old nor new: " + d_new;
  *was_new = !d_old.empty() && !(before == after);
  if (must_be_old && !d_old.empty()) return "must be old (cut before the first write): " + d_old;
  if (must_be_new && !d_new.empty()) return "must be new (cut after the last write): " + d_new;
  const State& now = d_old.empty() ? before : after;
  bfs::Limits lim = bfs::limits(*v);
  Space s;
  bfs::space(*v, &s.used, &s.available, &s.total);
  if (s.total != expect_total) return "total space changed";
  if (s.used + s.available != s.total) return "used + available != total";
  if (s.used != expected_used(now, lim))
    return "used space is " + std::to_string(s.used) + ", files need " + std::to_string(expected_used(now, lim));
  bfs::FsckReport fr;
  if (bfs::fsck(*v, &fr) != Status::kOk) return std::string("fsck after mount: ") + fr.first_error;
  if (fr.warnings) return std::string("fsck warning after mount: ") + fr.first_warning;
  // Still usable: write and read another file, power-cycle, check again.
  if ((st = write_file(*v, "probe.bin", kProbe, 5)) != Status::kOk)
    return std::string("probe write: ") + bfs::status_text(st);
  if (read_file(*v, "probe.bin") != kProbe) return "probe read back differs";
  v = std::make_unique<bfs::Volume>(f);
  if ((st = bfs::mount(*v, &rep)) != Status::kOk) return std::string("second mount: ") + bfs::status_text(st);
  State with_probe = now;
  with_probe["probe.bin"] = {kProbe, 5};
  std::string d = diff_state(*v, with_probe);
  if (!d.empty()) return "after probe and remount: " + d;
  if (bfs::fsck(*v, &fr) != Status::kOk) return std::string("fsck after probe: ") + fr.first_error;
  return "";
}

// What the first boot after a power cut does: mount (with its repairs),
// then write a file.
void recover(RamFlash& f) {
  auto v = std::make_unique<bfs::Volume>(f);
  if (bfs::mount(*v, nullptr) == Status::kOk) write_file(*v, "probe.bin", kProbe, 5);
}

// Sweeps a power cut over every flash operation of `script` (every
// `stride`-th, plus each step's first and last) in every mode. With
// double_cut, each torn cut of the first torn mode is followed by a second
// cut at every flash operation of the recovery (mount repairs + a write).
SweepResult run_sweep(flash::Geometry geo, const std::vector<Step>& script, const std::vector<Mode>& modes,
                      uint64_t stride, bool double_cut) {
  SweepResult res;
  res.modes = modes.size();
  // States before/after each step, and the flash operations each step does.
  std::vector<State> states(1);
  for (const Step& s : script) {
    states.push_back(states.back());
    apply_step(states.back(), s);
  }
  std::vector<uint64_t> first_op, last_op;
  uint64_t base, total_ops, expect_total;
  {
    RamFlash f(geo);
    bfs::Volume v(f);
    EXPECT_EQ(bfs::format(v, "sweep"), Status::kOk);
    expect_total = space_of(v).total;
    base = f.mutations();
    for (const Step& s : script) {
      first_op.push_back(f.mutations() + 1);
      EXPECT_EQ(apply_step(v, s), Status::kOk);
      last_op.push_back(f.mutations());
    }
    total_ops = f.mutations();
    res.gc_runs_in_script = v.gc_runs();
    EXPECT_EQ(diff_state(v, states.back()), "");
    EXPECT_EQ(f.violations(), 0u);
  }
  std::set<uint64_t> points;
  for (uint64_t x = base + 1; x <= total_ops; x += stride) points.insert(x);
  for (size_t k = 0; k < script.size(); ++k) {  // always every step's first and last operation
    if (first_op[k] <= last_op[k]) {
      points.insert(first_op[k]);
      points.insert(last_op[k]);
    }
  }
  res.cut_points = points.size();
  auto report = [](size_t* failures, const std::string& where, const std::string& why) {
    if (++*failures <= 10) ADD_FAILURE() << where << ": " << why;
  };
  for (uint64_t x : points) {
    for (const Mode& m : modes) {
      ++res.runs;
      RamFlash f(geo);
      f.quiet_violations = true;
      std::string why;
      size_t step = script.size();
      {
        bfs::Volume v(f);
        if (bfs::format(v, "sweep") != Status::kOk) why = "format failed";
        f.cut_at(x, m.cut, m.seed);
        for (size_t k = 0; why.empty() && k < script.size(); ++k) {
          Status st = apply_step(v, script[k]);
          if (f.cut_fired()) {
            step = k;
            break;
          }
          if (st != Status::kOk) why = std::string("step failed without a cut: ") + bfs::status_text(st);
        }
      }
      if (why.empty() && step == script.size()) why = "the cut never fired";
      f.power_on();
      std::ostringstream where;
      where << "power cut at flash operation " << x << " (" << cut_name(m.cut) << ", seed " << m.seed
            << "), during step " << step;
      if (!why.empty()) {
        report(&res.failures, where.str(), why);
        continue;
      }
      RamFlash crashed = f;  // the crash state, for the double cuts
      bool was_new = false;
      bool must_old = x == first_op[step] && m.cut == Cut::kBefore;
      bool must_new = x == last_op[step] && m.cut == Cut::kAfter;
      why = check_crash_state(f, states[step], states[step + 1], must_old, must_new, expect_total, &was_new);
      if (why.empty() && f.violations()) why = std::string("NAND rule broken: ") + f.first_violation();
      if (!why.empty()) {
        report(&res.failures, where.str(), why);
        continue;
      }
      (was_new ? res.new_outcomes : res.old_outcomes)++;
      if (!double_cut || m.cut != Cut::kTorn || &m != &modes[2]) continue;
      // The same crash state, with the power failing again during recovery.
      const State& now = was_new ? states[step + 1] : states[step];
      State with_probe = now;
      with_probe["probe.bin"] = {kProbe, 5};
      RamFlash counting = crashed;
      uint64_t recovery_base = counting.mutations();
      recover(counting);
      uint64_t recovery_ops = counting.mutations() - recovery_base;
      for (uint64_t y = 1; y <= recovery_ops; ++y) {
        for (Cut second : {Cut::kBefore, Cut::kTorn}) {
          ++res.double_runs;
          RamFlash g = crashed;
          g.cut_at(recovery_base + y, second, x * 31 + y);
          recover(g);
          g.power_on();
          bool unused;
          std::string why2 = check_crash_state(g, now, with_probe, false, false, expect_total, &unused);
          if (why2.empty() && g.violations()) why2 = std::string("NAND rule broken: ") + g.first_violation();
          if (!why2.empty())
            report(
                &res.double_failures,
                where.str() + ", then again at recovery operation " + std::to_string(y) + " (" + cut_name(second) + ")",
                why2);
        }
      }
    }
  }
  return res;
}

bool full_sweep() {
  const char* e = std::getenv("TRUSTSIM_FULL_SWEEP");
  return e && std::string(e) == "1";
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Short form (default): every cut point of the script on the small
// geometry, six modes. Full form (TRUSTSIM_FULL_SWEEP=1): three more tear
// seeds, a second cut during recovery after every torn cut, and the same
// sweep on a geometry with 2 KiB pages.
TEST(BfsPowerCut, EveryCutLeavesEachFileOldOrNewAndTheVolumeUsable) {
  bool full = full_sweep();
  // Torn seeds 1, 2, 3 give the three tear styles (coin flip per bit,
  // prefix, all but a few bits); torn+ecc also makes the page unreadable.
  std::vector<Mode> modes = {{Cut::kBefore, 0}, {Cut::kAfter, 0}, {Cut::kTorn, 1},
                             {Cut::kTorn, 2},   {Cut::kTorn, 3},  {Cut::kTornEcc, 4}};
  if (full) {
    modes.push_back({Cut::kTorn, 5});
    modes.push_back({Cut::kTorn, 6});
    modes.push_back({Cut::kTornEcc, 8});
  }
  auto t0 = std::chrono::steady_clock::now();
  SweepResult r = run_sweep(kSmall, sweep_script(kSmall), modes, 1, full);
  std::printf("bfs power-cut sweep: %zu cut points x %zu modes = %zu runs, %zu failures\n", r.cut_points, r.modes,
              r.runs, r.failures);
  std::printf("  (%s form, 512-byte pages, %.1f s; outcomes: %zu old, %zu new; %u metadata GC runs in the script)\n",
              full ? "full" : "short", seconds_since(t0), r.old_outcomes, r.new_outcomes, r.gc_runs_in_script);
  EXPECT_EQ(r.failures, 0u);
  EXPECT_GT(r.gc_runs_in_script, 2u) << "the script must exercise metadata garbage collection";
  EXPECT_GT(r.old_outcomes, 0u);
  EXPECT_GT(r.new_outcomes, 0u);
  if (!full) return;
  std::printf(
      "bfs double power-cut sweep: %zu runs (a second cut, before or torn, at every operation of the "
      "recovery), %zu failures\n",
      r.double_runs, r.double_failures);
  EXPECT_EQ(r.double_failures, 0u);
  EXPECT_GT(r.double_runs, 0u);
  const flash::Geometry big{2048, 64, 64};
  t0 = std::chrono::steady_clock::now();
  modes.resize(6);
  SweepResult b = run_sweep(big, sweep_script(big), modes, 1, false);
  std::printf("bfs power-cut sweep: %zu cut points x %zu modes = %zu runs, %zu failures\n", b.cut_points, b.modes,
              b.runs, b.failures);
  std::printf("  (full form, 2048-byte pages, %.1f s; outcomes: %zu old, %zu new; %u metadata GC runs)\n",
              seconds_since(t0), b.old_outcomes, b.new_outcomes, b.gc_runs_in_script);
  EXPECT_EQ(b.failures, 0u);
}

TEST(BfsPowerCut, FormatOverAnExistingVolumeLeavesTheOldOneOrAnEmptyNewOne) {
  bool full = full_sweep();
  flash::Geometry geo = kSmall;
  State old_state;
  auto setup = [&](RamFlash& f) {
    bfs::Volume v(f);
    EXPECT_EQ(bfs::format(v, "old"), Status::kOk);
    for (int i = 0; i < 3; ++i) {
      std::string name = "keep" + std::to_string(i);
      old_state[name] = {pattern(5000 * i + 100, i), uint32_t(i)};
      EXPECT_EQ(write_file(v, name, old_state[name].data, i), Status::kOk);
    }
  };
  uint64_t base, end;
  {
    RamFlash f(geo);
    setup(f);
    base = f.mutations();
    bfs::Volume v(f);
    EXPECT_EQ(bfs::format(v, "new"), Status::kOk);
    end = f.mutations();
  }
  size_t runs = 0, failures = 0, olds = 0, news = 0;
  for (uint64_t x = base + 1; x <= end; x += full ? 1 : 3) {
    for (Mode m : {Mode{Cut::kBefore, 0}, Mode{Cut::kAfter, 0}, Mode{Cut::kTorn, 9}}) {
      ++runs;
      RamFlash f(geo);
      f.quiet_violations = true;
      setup(f);
      f.cut_at(x, m.cut, m.seed);
      {
        bfs::Volume v(f);
        bfs::format(v, "new");
      }
      f.power_on();
      bfs::Volume v(f);
      std::string why;
      if (bfs::mount(v, nullptr) != Status::kOk) {
        why = "mount failed";
      } else if (std::string(bfs::label(v)) == "old") {
        why = diff_state(v, old_state);
        ++olds;
      } else if (std::string(bfs::label(v)) == "new") {
        why = diff_state(v, State{});
        ++news;
      } else {
        why = "unexpected label";
      }
      bfs::FsckReport fr;
      if (why.empty() && bfs::fsck(v, &fr) != Status::kOk) why = fr.first_error;
      if (why.empty() && f.violations()) why = f.first_violation();
      if (!why.empty() && ++failures <= 5)
        ADD_FAILURE() << "format cut at " << x << " " << cut_name(m.cut) << ": " << why;
    }
  }
  std::printf("bfs format power-cut sweep: %zu runs, %zu failures (%zu old, %zu new)\n", runs, failures, olds, news);
  EXPECT_EQ(failures, 0u);
  EXPECT_GT(olds, 0u);
  EXPECT_GT(news, 0u);
}

}  // namespace
