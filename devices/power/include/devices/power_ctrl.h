// Power/reset controller: reset cause, software reset and power-off, an
// uptime counter and a sleep register the firmware uses to idle. Register
// map in docs/mailbox-abi.md (offsets: common/include/trustsim/mailbox_abi.h).
// Every register is a u64; misuse is an address error (devkit/register_table.h).
// Not modelled: watchdog (later), brown-out.
#pragma once
#include "devkit/device.h"
#include "devkit/register_table.h"

namespace trustsim {

class PowerController : public Device {
 public:
  // rtc_base: the real-time clock's reading (Unix seconds) at board time 0.
  PowerController(sc_core::sc_module_name name, PowerDomain& power, uint64_t rtc_base);
  const RegisterTable& registers() const { return regs_; }

 private:
  uint64_t rtc_base_;
  RegisterTable regs_;
};

}  // namespace trustsim
