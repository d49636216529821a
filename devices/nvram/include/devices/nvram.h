// NVRAM: a serial (I2C) EEPROM after the Microchip AT24C256C datasheet
// (page write, self-timed write cycle tWR, 9 bit times per byte with ACK).
// Geometry and timing come from the board file. Contents persist in the
// board state directory after every completed page write.
// Modelled: page-granular write cycles (a write that spans pages takes one
// tWR per page, as a driver splitting at page boundaries would), bus
// transfer time, power loss during tWR (that page keeps its old contents),
// armed power cuts at the Nth page write (before / after / torn: a torn
// write cycle leaves a seeded subset of the bytes it changes new, the rest old
// (at least one of each when it changes two or more) --
// the datasheet gives no guarantee for an interrupted tWR).
// Not modelled: page-wrap within a single write cycle, ACK polling, the
// 4-byte-word ECC rewrite of the C-family, endurance.
#pragma once
#include <string>
#include <vector>

#include "devices/nvram_config.h"
#include "devkit/cut_injector.h"
#include "devkit/device.h"
#include "devkit/trace.h"

namespace trustsim {

class Nvram : public Device {
 public:
  Nvram(sc_core::sc_module_name name, PowerDomain& power, const NvramConfig& cfg, std::string state_path,
        DeviceTrace& trace);
  const std::vector<uint8_t>& contents() const { return mem_; }
  // Backdoor write for tools and checks: no timing, no faults; persisted.
  void backdoor_write(uint32_t offset, const uint8_t* data, uint32_t len);

  // operation_count(): page write cycles started since construction, the
  // index a PowerLoss uses.
  void disarm_all() { cuts_.disarm_all(); }
  // The state file (campaign runs move a forked board to its own copy).
  void set_state_path(std::string path) { state_path_ = std::move(path); }

 protected:
  void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
  unsigned debug_transport(tlm::tlm_generic_payload& gp) override;

 private:
  sc_core::sc_time bus_time(uint64_t data_bytes) const;
  void persist();
  NvramConfig cfg_;
  std::string state_path_;
  DeviceTrace& trace_;
  std::vector<uint8_t> mem_;
  CutInjector cuts_;
};

}  // namespace trustsim
