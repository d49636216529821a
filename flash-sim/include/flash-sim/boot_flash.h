// Boot SPI NOR flash holding ROMmon, after the Winbond W25Q128JV datasheet:
// READ (03h) is an 8-bit command, a 24-bit address and then data, one bit
// per clock at the board file's read clock. Contents come from the board
// state directory at power-on.
// Modelled: read timing, backdoor access. Not modelled yet: program, erase,
// status register, BUSY, power-loss tearing, wear (flash-sim issue).
#pragma once
#include <string>
#include <vector>

#include "hw-models/board_config.h"
#include "hw-models/device.h"

namespace trustsim {

class BootFlash : public Device {
 public:
  BootFlash(sc_core::sc_module_name name, PowerDomain& power, const BoardConfig::BootFlash& cfg,
            std::string state_path);
  void powered_on() override;

 protected:
  void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
  unsigned debug_transport(tlm::tlm_generic_payload& gp) override;

 private:
  void load();
  BoardConfig::BootFlash cfg_;
  std::string state_path_;
  std::vector<uint8_t> mem_;
};

}  // namespace trustsim
