#include "fwlib/nand.h"

#include "fwlib/fw.h"
#include "trustsim/nand_regs.h"

namespace fw {
namespace flash = trustsim::flash;

namespace {

constexpr uint64_t kPollIntervalNs = 10000;  // 10 us between STATUS polls
constexpr uint32_t kMaxPolls = 100000;       // 1 s: far beyond any tBERS
uint8_t g_spare[1024];
uint8_t g_erased_page[8192];

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
  return true;
}

uint32_t NandDriver::command(uint32_t cmd, uint32_t row) {
  if (!reg_write32(base_ + TS_NAND_ROW, row) || !reg_write32(base_ + TS_NAND_COMMAND, cmd)) return ~0u;
  // Sleep first for as long as this command took last time, then poll:
  // most operations then finish on the first STATUS read.
  uint32_t slot = cmd == TS_NAND_CMD_READ_PAGE ? 0 : cmd == TS_NAND_CMD_PROGRAM_PAGE ? 1 : 2;
  uint64_t t0 = uptime_ns();
  if (expected_ns_[slot]) sleep_ns(expected_ns_[slot]);
  uint32_t st = 0;
  for (uint32_t i = 0; i < kMaxPolls; ++i) {
    if (!reg_read32(base_ + TS_NAND_STATUS, &st)) return ~0u;
    if (!(st & TS_NAND_STATUS_BUSY)) {
      uint64_t took = uptime_ns() - t0;
      // Learn a little below the observed time so we rarely oversleep.
      expected_ns_[slot] = took > kPollIntervalNs ? took - kPollIntervalNs / 2 : 0;
      return st;
    }
    sleep_ns(kPollIntervalNs);
  }
  return ~0u;
}

flash::Result NandDriver::read_page(uint32_t page, uint8_t* buf) {
  if (page >= geo_.block_count * geo_.pages_per_block) return flash::Result::kOutOfRange;
  uint32_t st = command(TS_NAND_CMD_READ_PAGE, page);
  if (st == ~0u) return flash::Result::kIoError;
  if (mbox_read(base_ + TS_NAND_BUFFER, buf, geo_.page_size).status != TS_MBOX_OK) return flash::Result::kIoError;
  uint32_t ecc = (st & TS_NAND_STATUS_ECC_MASK) >> TS_NAND_STATUS_ECC_SHIFT;
  if (ecc == TS_NAND_ECC_UNCORRECTABLE) return flash::Result::kEccError;
  if (ecc == TS_NAND_ECC_CORRECTED) {
    ++corrected_;
    return flash::Result::kCorrected;
  }
  return flash::Result::kOk;
}

flash::Result NandDriver::program_page(uint32_t page, const uint8_t* buf) {
  if (page >= geo_.block_count * geo_.pages_per_block) return flash::Result::kOutOfRange;
  memset(g_spare, 0xFF, spare_);
  if (mbox_write(base_ + TS_NAND_BUFFER, buf, geo_.page_size).status != TS_MBOX_OK ||
      mbox_write(base_ + TS_NAND_BUFFER + geo_.page_size, g_spare, spare_).status != TS_MBOX_OK)
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

bool NandDriver::is_bad_block(uint32_t block) {
  if (block >= geo_.block_count) return true;
  if (command(TS_NAND_CMD_READ_PAGE, block * geo_.pages_per_block) == ~0u) return true;
  uint8_t marker = 0;
  if (mbox_read(base_ + TS_NAND_BUFFER + geo_.page_size + TS_NAND_BAD_BLOCK_MARKER_OFFSET, &marker, 1).status !=
      TS_MBOX_OK)
    return true;
  return marker != 0xFF;
}

flash::Result NandDriver::mark_bad_block(uint32_t block) {
  if (block >= geo_.block_count) return flash::Result::kOutOfRange;
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
