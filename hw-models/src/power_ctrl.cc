#include "hw-models/power_ctrl.h"

#include <cstring>

#include "devkit/sim_time.h"
#include "trustsim/mailbox_abi.h"

namespace trustsim {

PowerController::PowerController(sc_core::sc_module_name name, PowerDomain& power, uint64_t rtc_base)
    : Device(name, TS_DEV_POWER, TS_POWER_SIZE, power), rtc_base_(rtc_base) {}

void PowerController::transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  uint64_t off = gp.get_address();
  uint8_t* data = gp.get_data_ptr();
  uint64_t v = 0;
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  if (gp.get_data_length() != 8) {
    gp.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    return;
  }
  if (gp.is_read()) {
    wait(delay);
    delay = sc_core::SC_ZERO_TIME;
    switch (off) {
      case TS_POWER_RESET_CAUSE: v = power_.reset_cause(); break;
      case TS_POWER_UPTIME_NS: v = to_ns(sc_core::sc_time_stamp() - power_.on_since()); break;
      case TS_POWER_BOARD_TIME_NS: v = now_ns(); break;
      case TS_POWER_BOOT_COUNT: v = power_.boot_count(); break;
      case TS_POWER_RTC_SECONDS: v = rtc_base_ + now_ns() / 1000000000ull; break;
      default: gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE); return;
    }
    memcpy(data, &v, 8);
    return;
  }
  memcpy(&v, data, 8);
  switch (off) {
    case TS_POWER_CONTROL:
      if (v == TS_POWER_CMD_OFF) power_.request(PowerDomain::Request::kOff);
      else if (v == TS_POWER_CMD_RESET) power_.request(PowerDomain::Request::kReset);
      else gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
      return;
    case TS_POWER_SLEEP_NS:
      // Idle: the transaction completes after the requested board time,
      // or at once if power goes.
      wait(delay + from_ns(v), power_.off_event());
      delay = sc_core::SC_ZERO_TIME;
      return;
    default:
      gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
  }
}

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
