// NVRAM: a serial (I2C) EEPROM after the Microchip AT24C256C datasheet
// (page write, self-timed write cycle tWR, 9 bit times per byte with ACK).
// Geometry and timing come from the board file. Contents persist in the
// board state directory after every completed page write.
// Modelled: page-granular write cycles (a write that spans pages takes one
// tWR per page, as a driver splitting at page boundaries would), bus
// transfer time, power loss during tWR (that page keeps its old contents).
// Not modelled: page-wrap within a single write cycle, ACK polling, the
// 4-byte-word ECC rewrite of the C-family, endurance.
#pragma once
#include <string>
#include <vector>

#include "hw-models/board_config.h"
#include "hw-models/device.h"
#include "hw-models/trace.h"

namespace trustsim {

class Nvram : public Device {
 public:
  Nvram(sc_core::sc_module_name name, PowerDomain& power, const BoardConfig::Nvram& cfg, std::string state_path,
        DeviceTrace& trace);
  const std::vector<uint8_t>& contents() const { return mem_; }
  // Backdoor write for tools and checks: no timing, no faults; persisted.
  void backdoor_write(uint32_t offset, const uint8_t* data, uint32_t len);

 protected:
  void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
  unsigned debug_transport(tlm::tlm_generic_payload& gp) override;

 private:
  sc_core::sc_time bus_time(uint64_t data_bytes) const;
  void persist();
  BoardConfig::Nvram cfg_;
  std::string state_path_;
  DeviceTrace& trace_;
  std::vector<uint8_t> mem_;
};

}  // namespace trustsim
