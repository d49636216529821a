// Firmware driver for the bootflash: NAND controller (common/nand_regs.h):
// the flash::Ops the file system runs on. Polls STATUS while BUSY, idling
// between polls with the power controller's sleep register.
#pragma once
#include "trustsim/flash_ops.h"

namespace fw {

class NandDriver : public trustsim::flash::Ops {
 public:
  // Finds the device and reads its geometry; false if the board has none.
  bool init();
  trustsim::flash::Geometry geometry() const override { return geo_; }
  trustsim::flash::Result read_page(uint32_t page, uint8_t* buf) override;
  trustsim::flash::Result program_page(uint32_t page, const uint8_t* buf) override;
  trustsim::flash::Result erase_block(uint32_t block) override;
  bool is_bad_block(uint32_t block) override;
  trustsim::flash::Result mark_bad_block(uint32_t block) override;
  uint32_t corrected_reads() const { return corrected_; }

 private:
  uint32_t command(uint32_t cmd, uint32_t row);  // returns STATUS once not BUSY (or ~0u on I/O error)
  uint64_t base_ = 0;
  uint32_t spare_ = 0;
  trustsim::flash::Geometry geo_{};
  uint32_t corrected_ = 0;
  uint64_t expected_ns_[3] = {0, 0, 0};  // read, program, erase: learned durations
};

}  // namespace fw
