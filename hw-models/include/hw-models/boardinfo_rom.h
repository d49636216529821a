// The board's discovery table: a read-only device at bus address 0 that
// tells the firmware where every device sits (docs/mailbox-abi.md). Part of
// the board assembly, not a device model of its own.
#pragma once
#include "devkit/device.h"
#include "trustsim/mailbox_abi.h"

namespace trustsim {

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
