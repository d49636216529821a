// Power/reset controller: reset cause, software reset and power-off, an
// uptime counter and a sleep register the firmware uses to idle. Register
// map in docs/mailbox-abi.md. Not modelled: watchdog (later), brown-out.
#pragma once
#include "devkit/device.h"
#include "trustsim/mailbox_abi.h"

namespace trustsim {

class PowerController : public Device {
 public:
  // rtc_base: the real-time clock's reading (Unix seconds) at board time 0.
  PowerController(sc_core::sc_module_name name, PowerDomain& power, uint64_t rtc_base);

 protected:
  void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;

 private:
  uint64_t rtc_base_;
};

// Read-only discovery table at bus address 0 (struct ts_boardinfo).
class BoardInfoRom : public Device {
 public:
  BoardInfoRom(sc_core::sc_module_name name, PowerDomain& power, const ts_boardinfo& table);

 protected:
  void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
  unsigned debug_transport(tlm::tlm_generic_payload& gp) override;

 private:
  uint8_t table_[0x1000] = {};
};

}  // namespace trustsim
