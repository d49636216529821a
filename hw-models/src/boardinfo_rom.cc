#include "hw-models/boardinfo_rom.h"

#include <cstring>

namespace trustsim {

BoardInfoRom::BoardInfoRom(sc_core::sc_module_name name, PowerDomain& power, const ts_boardinfo& table)
    : Device(name, TS_DEV_BOARDINFO, sizeof table_, power) {
  static_assert(sizeof(ts_boardinfo) <= sizeof table_, "board info table outgrew its ROM");
  memcpy(table_, &table, sizeof table);
}

void BoardInfoRom::transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  (void)delay;
  if (!gp.is_read()) {
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  memcpy(gp.get_data_ptr(), table_ + gp.get_address(), gp.get_data_length());
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned BoardInfoRom::debug_transport(tlm::tlm_generic_payload& gp) {
  if (!gp.is_read()) return 0;
  memcpy(gp.get_data_ptr(), table_ + gp.get_address(), gp.get_data_length());
  return unsigned(gp.get_data_length());
}

}  // namespace trustsim
