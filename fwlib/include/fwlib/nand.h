// Firmware driver for the bootflash: NAND controller (common/nand_regs.h):
// the flash::Ops the file system runs on. Reads go through the array read
// window (a run of pages per mailbox request); program and erase wait for
// the device with READY_STATUS. docs/nand-flash.md, "Firmware sequences".
#pragma once
#include "trustsim/flash_ops.h"

namespace fw {

class NandDriver : public trustsim::flash::Ops {
 public:
  // Finds the device and reads its geometry; false if the board has none.
  bool init();
  trustsim::flash::Geometry geometry() const override { return geo_; }
  trustsim::flash::Result read_page(uint32_t page, uint8_t* buf) override;
  trustsim::flash::Result read_pages(uint32_t first, uint32_t count, uint8_t* buf, uint32_t* good) override;
  trustsim::flash::Result program_page(uint32_t page, const uint8_t* buf) override;
  trustsim::flash::Result erase_block(uint32_t block) override;
  bool is_bad_block(uint32_t block) override;
  trustsim::flash::Result mark_bad_block(uint32_t block) override;
  void scan_headers(uint32_t first, uint32_t count) override;
  uint32_t corrected_reads() const { return corrected_; }

 private:
  uint32_t command(uint32_t cmd, uint32_t row);  // returns STATUS once not BUSY (or ~0u on I/O error)
  trustsim::flash::Result read_stopped_page(uint8_t* buf);
  bool set_window_pages(uint32_t n);
  uint32_t read_ahead(uint32_t block, uint8_t** pages);  // pages of `block` got (0-2), ~0u on I/O error
  void drop_caches();
  uint64_t base_ = 0;
  uint32_t spare_ = 0;
  trustsim::flash::Geometry geo_{};
  uint32_t corrected_ = 0;
  // Pages cached_first_ .. + cached_count_ - 1 (0 to 2: pages 0 and 1 of the
  // block is_bad_block() read), valid until the next program or erase.
  uint8_t* cached_data_ = nullptr;  // where they are: g_cached, or inside the read-ahead
  uint32_t cached_first_ = 0;
  uint32_t cached_count_ = 0;
  trustsim::flash::Result cached_result_[2] = {};
  // A mount's scan (scan_headers()): the next block expected and the end.
  // Pages 0 and 1 of blocks ahead_first_ .. + ahead_blocks_ - 1 were read
  // ahead through the packed window (WINDOW_PAGES = 2); if ahead_stopped_,
  // the read stopped in the block after them, whose stopped page is still
  // in the device's buffer and ahead_tail_ of its pages were read.
  uint32_t scan_next_ = 0;
  uint32_t scan_end_ = 0;
  uint32_t ahead_first_ = 0;
  uint32_t ahead_blocks_ = 0;
  uint32_t ahead_tail_ = 0;
  bool ahead_valid_ = false;
  bool ahead_stopped_ = false;
  uint32_t window_pages_ = ~0u;  // what WINDOW_PAGES holds (~0u: not known yet)
};

}  // namespace fw
