#include "fwlib/nand.h"

#include "fwlib/fw.h"
#include "trustsim/nand_regs.h"

namespace fw {
namespace flash = trustsim::flash;

namespace {

// Aligned so the word-wise memcpy/memset apply (trustsim/mem_words.h).
alignas(8) uint8_t g_spare[1024];
alignas(8) uint8_t g_erased_page[8192];
alignas(8) uint8_t g_stage[8192 + 1024];  // main + spare of a program, one buffer write
alignas(8) uint8_t g_cached[2 * 8192];    // pages 0 and 1 of the block is_bad_block() read
// A mount's scan reads pages 0 and 1 of this many bytes' worth of blocks per
// request (32 blocks of 2 KiB pages) through the packed window.
alignas(8) uint8_t g_ahead[128 * 1024];

bool reg_read32(uint64_t addr, uint32_t* v) { return mbox_read(addr, v, 4).status == TS_MBOX_OK; }
bool reg_write32(uint64_t addr, uint32_t v) { return mbox_write(addr, &v, 4).status == TS_MBOX_OK; }

}  // namespace

bool NandDriver::init() {
  base_ = dev_base(TS_DEV_BOOTFLASH_NAND);
  if (!base_) return false;
  uint32_t ps = 0, ss = 0, ppb = 0, bc = 0;
  if (!reg_read32(base_ + TS_NAND_PAGE_SIZE, &ps) || !reg_read32(base_ + TS_NAND_SPARE_SIZE, &ss) ||
      !reg_read32(base_ + TS_NAND_PAGES_PER_BLOCK, &ppb) || !reg_read32(base_ + TS_NAND_BLOCK_COUNT, &bc))
    return false;
  if (ss > sizeof g_spare || ps > sizeof g_erased_page) return false;
  geo_ = flash::Geometry{ps, ppb, bc};
  spare_ = ss;
  // Not known: an earlier stage (ROMmon before the OS) may have left the
  // packed window on. The first window read writes it.
  window_pages_ = ~0u;
  drop_caches();
  return true;
}

// Three requests: ROW, COMMAND, then READY_STATUS, which the device answers
// once the operation has ended (docs/nand-flash.md).
uint32_t NandDriver::command(uint32_t cmd, uint32_t row) {
  drop_caches();
  uint32_t st = 0;
  if (!reg_write32(base_ + TS_NAND_ROW, row) || !reg_write32(base_ + TS_NAND_COMMAND, cmd) ||
      !reg_read32(base_ + TS_NAND_READY_STATUS, &st))
    return ~0u;
  return st;
}

// The page the array window stopped at is in the buffer, its ECC outcome in
// STATUS: an uncorrectable page fails, a corrected one is fetched from the
// buffer.
flash::Result NandDriver::read_stopped_page(uint8_t* buf) {
  uint32_t st = 0;
  if (!reg_read32(base_ + TS_NAND_STATUS, &st)) return flash::Result::kIoError;
  uint32_t ecc = (st & TS_NAND_STATUS_ECC_MASK) >> TS_NAND_STATUS_ECC_SHIFT;
  if (ecc == TS_NAND_ECC_UNCORRECTABLE) return flash::Result::kEccError;
  if (mbox_read(base_ + TS_NAND_BUFFER, buf, geo_.page_size).status != TS_MBOX_OK) return flash::Result::kIoError;
  if (ecc == TS_NAND_ECC_CORRECTED) {
    ++corrected_;
    return flash::Result::kCorrected;
  }
  return flash::Result::kOk;
}

flash::Result NandDriver::read_pages(uint32_t first, uint32_t count, uint8_t* buf, uint32_t* good) {
  *good = 0;
  uint32_t pages = geo_.block_count * geo_.pages_per_block;
  if (first >= pages || count > pages - first) return flash::Result::kOutOfRange;
  flash::Result all = flash::Result::kOk;
  const uint32_t ps = geo_.page_size;
  while (*good < count) {
    uint32_t page = first + *good;
    uint8_t* dst = buf + uint64_t(*good) * ps;
    if (page - cached_first_ < cached_count_) {  // read by is_bad_block()
      uint32_t k = page - cached_first_;
      memcpy(dst, cached_data_ + uint64_t(k) * ps, ps);
      if (cached_result_[k] == flash::Result::kCorrected) all = cached_result_[k];
      ++*good;
      continue;
    }
    uint64_t want = uint64_t(count - *good) * ps;
    if (!set_window_pages(0)) return flash::Result::kIoError;
    Xfer x = mbox_read(base_ + TS_NAND_ARRAY + uint64_t(page) * ps, dst, want);
    if (x.status != TS_MBOX_OK || x.actual % ps != 0 || x.actual > want) return flash::Result::kIoError;
    *good += uint32_t(x.actual / ps);
    if (*good == count) break;
    flash::Result r = read_stopped_page(buf + uint64_t(*good) * ps);
    if (r == flash::Result::kCorrected)
      all = r;
    else if (r != flash::Result::kOk)
      return r;
    ++*good;
  }
  return all;
}

flash::Result NandDriver::read_page(uint32_t page, uint8_t* buf) {
  uint32_t good = 0;
  return read_pages(page, 1, buf, &good);
}

flash::Result NandDriver::program_page(uint32_t page, const uint8_t* buf) {
  if (page >= geo_.block_count * geo_.pages_per_block) return flash::Result::kOutOfRange;
  memcpy(g_stage, buf, geo_.page_size);
  memset(g_stage + geo_.page_size, 0xFF, spare_);
  if (mbox_write(base_ + TS_NAND_BUFFER, g_stage, geo_.page_size + spare_).status != TS_MBOX_OK)
    return flash::Result::kIoError;
  uint32_t st = command(TS_NAND_CMD_PROGRAM_PAGE, page);
  if (st == ~0u) return flash::Result::kIoError;
  return (st & TS_NAND_STATUS_PROGRAM_FAIL) ? flash::Result::kProgramFailed : flash::Result::kOk;
}

flash::Result NandDriver::erase_block(uint32_t block) {
  if (block >= geo_.block_count) return flash::Result::kOutOfRange;
  uint32_t st = command(TS_NAND_CMD_ERASE_BLOCK, block * geo_.pages_per_block);
  if (st == ~0u) return flash::Result::kIoError;
  return (st & TS_NAND_STATUS_ERASE_FAIL) ? flash::Result::kEraseFailed : flash::Result::kOk;
}

// Pages 0 and 1 in one window read, kept for the file system's reads of
// them that follow during a mount. The window stops before page 0 of a
// block marked bad, and before a page whose ECC outcome is not clean: only
// then is the marker read from the buffer, which holds page 0.
bool NandDriver::set_window_pages(uint32_t n) {
  if (window_pages_ == n) return true;
  window_pages_ = ~0u;
  if (!reg_write32(base_ + TS_NAND_WINDOW_PAGES, n)) return false;
  window_pages_ = n;
  return true;
}

void NandDriver::drop_caches() {
  cached_count_ = 0;
  ahead_valid_ = false;
  scan_end_ = 0;
}

void NandDriver::scan_headers(uint32_t first, uint32_t count) {
  drop_caches();
  if (geo_.pages_per_block < 2 || 2 * geo_.page_size > sizeof g_ahead || first >= geo_.block_count ||
      count > geo_.block_count - first)
    return;  // no read-ahead: is_bad_block() reads block by block
  scan_next_ = first;
  scan_end_ = first + count;
}

// During a scan: where pages 0 and 1 of `block` are, from a read-ahead of as
// many of the scan's next blocks as g_ahead holds. Returns the pages got
// (fewer than 2 when the window stopped in this block, leaving the stopped
// page in the device's buffer), or ~0u on a transport failure.
uint32_t NandDriver::read_ahead(uint32_t block, uint8_t** pages) {
  const uint32_t ps = geo_.page_size;
  uint32_t k = block - ahead_first_;
  if (!ahead_valid_ || k > ahead_blocks_ || (k == ahead_blocks_ && !ahead_stopped_)) {
    ahead_valid_ = false;
    uint32_t room = uint32_t(sizeof g_ahead / (2 * ps));
    uint32_t blocks = scan_end_ - block < room ? scan_end_ - block : room;
    uint64_t want = uint64_t(blocks) * 2 * ps;
    if (!set_window_pages(2)) return ~0u;
    Xfer x = mbox_read(base_ + TS_NAND_ARRAY + uint64_t(block) * 2 * ps, g_ahead, want);
    if (x.status != TS_MBOX_OK || x.actual % ps != 0 || x.actual > want) return ~0u;
    uint32_t got = uint32_t(x.actual / ps);
    ahead_first_ = block;
    ahead_blocks_ = got / 2;
    ahead_tail_ = got % 2;
    ahead_stopped_ = x.actual < want;
    ahead_valid_ = true;
    k = 0;
  }
  uint32_t n = k < ahead_blocks_ ? 2 : ahead_tail_;
  *pages = g_ahead + uint64_t(k) * 2 * ps;       // room for both: the block was inside the read
  if (k == ahead_blocks_) ahead_valid_ = false;  // the block it stopped in: the next one reads ahead again
  return n;
}

bool NandDriver::is_bad_block(uint32_t block) {
  if (block >= geo_.block_count) return true;
  cached_count_ = 0;
  const uint32_t ps = geo_.page_size;
  const uint32_t page = block * geo_.pages_per_block;
  const uint32_t n = geo_.pages_per_block < 2 ? geo_.pages_per_block : 2;
  uint32_t got = 0;
  if (scan_end_ != 0 && block == scan_next_) {
    got = read_ahead(block, &cached_data_);
    scan_next_ = block + 1;
    if (scan_next_ == scan_end_) scan_end_ = 0;
    if (got == ~0u) {
      drop_caches();
      return true;
    }
  } else {
    drop_caches();
    if (!set_window_pages(0)) return true;
    cached_data_ = g_cached;
    Xfer x = mbox_read(base_ + TS_NAND_ARRAY + uint64_t(page) * ps, g_cached, uint64_t(n) * ps);
    if (x.status != TS_MBOX_OK || x.actual % ps != 0 || x.actual > uint64_t(n) * ps) return true;
    got = uint32_t(x.actual / ps);
  }
  if (got == 0) {
    uint8_t marker = 0;
    if (mbox_read(base_ + TS_NAND_BUFFER + ps + TS_NAND_BAD_BLOCK_MARKER_OFFSET, &marker, 1).status != TS_MBOX_OK)
      return true;
    if (marker != 0xFF) return true;
  }
  cached_first_ = page;
  for (uint32_t k = 0; k < got; ++k) cached_result_[k] = flash::Result::kOk;
  cached_count_ = got;
  if (got < n) {
    // Stopped on ECC: a corrected page is kept, an uncorrectable one is
    // left for the file system to read again and see fail.
    flash::Result r = read_stopped_page(cached_data_ + uint64_t(got) * ps);
    if (r == flash::Result::kIoError) {
      cached_count_ = 0;
      return true;
    }
    if (r == flash::Result::kCorrected) cached_result_[cached_count_++] = r;
  }
  return false;
}

flash::Result NandDriver::mark_bad_block(uint32_t block) {
  if (block >= geo_.block_count) return flash::Result::kOutOfRange;
  drop_caches();
  // Best effort, as on real parts: the block may refuse further programs.
  command(TS_NAND_CMD_ERASE_BLOCK, block * geo_.pages_per_block);
  memset(g_spare, 0xFF, spare_);
  g_spare[TS_NAND_BAD_BLOCK_MARKER_OFFSET] = 0x00;
  memset(g_erased_page, 0xFF, geo_.page_size);
  if (mbox_write(base_ + TS_NAND_BUFFER, g_erased_page, geo_.page_size).status != TS_MBOX_OK)
    return flash::Result::kIoError;
  if (mbox_write(base_ + TS_NAND_BUFFER + geo_.page_size, g_spare, spare_).status != TS_MBOX_OK)
    return flash::Result::kIoError;
  command(TS_NAND_CMD_PROGRAM_PAGE, block * geo_.pages_per_block);
  return flash::Result::kOk;
}

}  // namespace fw
