// libFuzzer target: the bootflash: file system (common/src/bfs.cc) mounting
// flash contents written by someone else. The input is the raw flash image
// of a small NAND (512-byte pages, 16 pages per block, 16 blocks = 128 KiB),
// page 0 first; what the input does not cover is erased (0xFF), so a seed
// only needs the blocks a file system actually uses. A block whose first
// page starts with four zero bytes is initially bad.
//
// After a successful mount, the mounted volume is handed over (as ROMmon
// hands it to the OS), damaged with the input's first bytes at places the
// input's next bytes choose, its CRC made right again, and taken over: a
// take-over that succeeds must list, read and fsck without crashing.
//
// After a successful mount: list, stat and read every file, fsck, then a
// small write / commit / rename / remove and a second fsck. The flash model
// enforces the NAND rules of flash_ops.h without aborting (a program of a
// page that is not erased, or out of order, returns kProgramFailed), since
// arbitrary contents can make a page the file system believes free hold
// data. The one invariant checked: a commit that reports kOk leaves a file
// of that name and size.
//
// Seeds: TRUSTSIM_BFS_SEEDS=DIR ./fuzz-bfs-mount formats the RAM flash,
// writes a few file systems with the same model and stores them (trailing
// erased pages trimmed) in DIR, then exits.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trustsim/bfs.h"
#include "trustsim/crc32.h"

namespace {

namespace bfs = trustsim::bfs;
namespace flash = trustsim::flash;
using flash::Result;

constexpr uint32_t kPageSize = 512;
constexpr uint32_t kPagesPerBlock = 16;
constexpr uint32_t kBlocks = 16;
constexpr uint32_t kPages = kPagesPerBlock * kBlocks;
constexpr size_t kFlashBytes = size_t(kPages) * kPageSize;

class RamFlash final : public flash::Ops {
 public:
  // Loads an image: input bytes, then erased.
  void load(const uint8_t* data, size_t size) {
    size_t n = size < kFlashBytes ? size : kFlashBytes;
    memcpy(mem_, data, n);
    memset(mem_ + n, 0xFF, kFlashBytes - n);
    for (uint32_t b = 0; b < kBlocks; ++b) {
      const uint8_t* p = mem_ + size_t(b) * kPagesPerBlock * kPageSize;
      bad_[b] = p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 0;
      next_[b] = 0;
      for (uint32_t i = 0; i < kPagesPerBlock; ++i) {
        uint32_t page = b * kPagesPerBlock + i;
        programmed_[page] = size_t(page) * kPageSize < n && !erased(page);  // past the input: erased
        if (programmed_[page]) next_[b] = i + 1;
      }
    }
    violations_ = 0;
  }

  flash::Geometry geometry() const override { return {kPageSize, kPagesPerBlock, kBlocks}; }

  Result read_page(uint32_t page, uint8_t* buf) override {
    if (page >= kPages) return Result::kOutOfRange;
    if (bad_[page / kPagesPerBlock]) return Result::kBadBlock;
    memcpy(buf, mem_ + size_t(page) * kPageSize, kPageSize);
    return Result::kOk;
  }

  Result program_page(uint32_t page, const uint8_t* buf) override {
    if (page >= kPages) return Result::kOutOfRange;
    uint32_t b = page / kPagesPerBlock, in = page % kPagesPerBlock;
    if (bad_[b]) return Result::kBadBlock;
    if (programmed_[page] || in < next_[b]) {
      ++violations_;
      return Result::kProgramFailed;
    }
    programmed_[page] = true;
    next_[b] = in + 1;
    uint8_t* dst = mem_ + size_t(page) * kPageSize;
    for (uint32_t i = 0; i < kPageSize; ++i) dst[i] &= buf[i];  // NAND programs 1 -> 0 only
    return Result::kOk;
  }

  Result erase_block(uint32_t block) override {
    if (block >= kBlocks) return Result::kOutOfRange;
    if (bad_[block]) return Result::kBadBlock;
    memset(mem_ + size_t(block) * kPagesPerBlock * kPageSize, 0xFF, size_t(kPagesPerBlock) * kPageSize);
    for (uint32_t i = 0; i < kPagesPerBlock; ++i) programmed_[block * kPagesPerBlock + i] = false;
    next_[block] = 0;
    return Result::kOk;
  }

  bool is_bad_block(uint32_t block) override { return block < kBlocks && bad_[block]; }

  Result mark_bad_block(uint32_t block) override {
    if (block >= kBlocks) return Result::kOutOfRange;
    bad_[block] = true;
    return Result::kOk;
  }

  // Not instrumented: the harness's own scan would otherwise dominate the
  // run time and feed the fuzzer meaningless comparisons.
  __attribute__((no_sanitize("coverage"))) bool erased(uint32_t page) const {
    const uint8_t* p = mem_ + size_t(page) * kPageSize;
    uint64_t acc = ~uint64_t(0);
    for (uint32_t i = 0; i < kPageSize; i += 8) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      acc &= w;
    }
    return acc == ~uint64_t(0);
  }
  const uint8_t* mem() const { return mem_; }
  uint32_t violations() const { return violations_; }

 private:
  uint8_t mem_[kFlashBytes];
  bool programmed_[kPages];
  uint32_t next_[kBlocks];
  bool bad_[kBlocks];
  uint32_t violations_;
};

RamFlash g_flash;
bfs::Volume g_vol;  // ~137 KiB: static, all-zero is a valid unmounted Volume

// ---- seed generator ------------------------------------------------------

void gen_fail(const char* what, bfs::Status st) {
  fprintf(stderr, "seed generator: %s: %s\n", what, bfs::status_text(st));
  exit(1);
}

void gen_write(const char* name, size_t len, uint8_t fill) {
  static uint8_t buf[20000];
  for (size_t i = 0; i < len; ++i) buf[i] = uint8_t(fill + i * 7);
  bfs::Status st = bfs::begin_write(g_vol, name, 1700000000u);
  if (st != bfs::Status::kOk) gen_fail("begin_write", st);
  if ((st = bfs::append(g_vol, buf, len)) != bfs::Status::kOk) gen_fail("append", st);
  if ((st = bfs::commit(g_vol)) != bfs::Status::kOk) gen_fail("commit", st);
}

void gen_save(const char* dir, const char* name) {
  bfs::FsckReport fr;
  if (bfs::fsck(g_vol, &fr) != bfs::Status::kOk) gen_fail("fsck", bfs::Status::kFsckFailed);
  if (g_flash.violations()) gen_fail("NAND rule violated", bfs::Status::kOk);
  uint32_t last = 0;
  for (uint32_t p = 0; p < kPages; ++p)
    if (!g_flash.erased(p)) last = p + 1;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE* f = fopen(path, "wb");
  if (!f || fwrite(g_flash.mem(), kPageSize, last, f) != last || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
  printf("%s: %u pages\n", path, last);
}

void gen_format(const char* label) {
  static const uint8_t blank[1] = {0xFF};
  g_flash.load(blank, 1);
  bfs::unmount(g_vol);
  g_vol.attach(g_flash);
  bfs::Status st = bfs::format(g_vol, label);
  if (st != bfs::Status::kOk) gen_fail("format", st);
  bfs::MountReport mr;
  if ((st = bfs::mount(g_vol, &mr)) != bfs::Status::kOk) gen_fail("mount", st);
}

void generate_seeds(const char* dir) {
  gen_format("bootflash");
  gen_save(dir, "empty.bin");

  gen_format("bootflash");
  gen_write("config.txt", 40, 'a');
  gen_write("vlan.dat", 120, 3);
  gen_write("notes", 1, 'x');
  gen_save(dir, "inline-files.bin");

  gen_format("flash");
  gen_write("os.bin", 9000, 1);  // more than one data block
  gen_write("small", 30, 2);
  gen_save(dir, "block-file.bin");

  gen_format("");
  gen_write("a", 700, 5);
  gen_write("b", 20, 6);
  gen_write("a", 300, 7);  // overwrite
  if (bfs::rename(g_vol, "b", "c") != bfs::Status::kOk) gen_fail("rename", bfs::Status::kOk);
  gen_write("d", 64, 8);
  if (bfs::remove(g_vol, "d") != bfs::Status::kOk) gen_fail("remove", bfs::Status::kOk);
  gen_save(dir, "history.bin");
  exit(0);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = getenv("TRUSTSIM_BFS_SEEDS")) generate_seeds(dir);
  return 0;
}

static void take_over_damaged(const uint8_t* data, size_t size, const bfs::MountReport& mr) {
  static bfs::Handover h;
  static bfs::Volume taken;
  if (bfs::hand_over(g_vol, mr, &h) != bfs::Status::kOk) abort();  // mounted, no write open
  for (size_t i = 0; i + 3 <= size && i < 24; i += 3) {
    size_t at = (size_t(data[i]) << 8 | data[i + 1]) * 131 % sizeof h.volume;
    h.volume[at] ^= data[i + 2];
  }
  h.crc32 = bfs::handover_crc(h);
  if (bfs::take_over(taken, g_flash, h, nullptr) != bfs::Status::kOk) return;
  uint32_t cursor = 0;
  bfs::FileInfo fi;
  static uint8_t buf[600];
  for (int n = 0; n < 300 && bfs::next_file(taken, &cursor, &fi); ++n) {
    size_t got = 0;
    bfs::read(taken, fi.name, 0, buf, sizeof buf, &got);
  }
  bfs::FsckReport fr;
  bfs::fsck(taken, &fr, false);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  g_flash.load(data, size);
  bfs::unmount(g_vol);
  g_vol.attach(g_flash);
  bfs::MountReport mr;
  if (bfs::mount(g_vol, &mr) != bfs::Status::kOk) return 0;
  take_over_damaged(data, size, mr);

  bfs::label(g_vol);
  bfs::limits(g_vol);
  uint64_t used, avail, total;
  bfs::space(g_vol, &used, &avail, &total);

  static uint8_t buf[3000];
  uint32_t cursor = 0;
  bfs::FileInfo fi;
  char first[bfs::kMaxNameLen + 1] = "";
  for (int n = 0; n < 300 && bfs::next_file(g_vol, &cursor, &fi); ++n) {
    if (!first[0]) memcpy(first, fi.name, sizeof first);
    bfs::FileInfo again;
    bfs::stat(g_vol, fi.name, &again);
    uint64_t off = 0;
    size_t got = 0;
    while (bfs::read(g_vol, fi.name, off, buf, sizeof buf, &got) == bfs::Status::kOk && got > 0 && off < (1u << 20))
      off += got;
    bfs::read(g_vol, fi.name, fi.size > 10 ? fi.size - 10 : 0, buf, 100, &got);  // tail, across a page
  }
  bfs::FsckReport fr;
  bfs::fsck(g_vol, &fr, true);

  // A small write of the input's first bytes (inline or in data blocks).
  size_t len = size < 1500 ? size : 1500;
  if (bfs::begin_write(g_vol, "fuzz.txt", 1) == bfs::Status::kOk && bfs::append(g_vol, data, len) == bfs::Status::kOk &&
      bfs::commit(g_vol) == bfs::Status::kOk) {
    bfs::FileInfo w;
    if (bfs::stat(g_vol, "fuzz.txt", &w) != bfs::Status::kOk || w.size != len) {
      fprintf(stderr, "committed file missing or of the wrong size\n");
      abort();
    }
  }
  bfs::abort(g_vol);
  if (first[0]) {
    bfs::rename(g_vol, first, "renamed");
    bfs::remove(g_vol, "renamed");
  }
  bfs::remove(g_vol, "fuzz.txt");
  bfs::fsck(g_vol, &fr, false);
  bfs::unmount(g_vol);
  return 0;
}
