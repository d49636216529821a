#include "flash-sim/boot_flash.h"

#include <cstring>

#include "hw-models/input_error.h"
#include "hw-models/sim_time.h"
#include "hw-models/state_file.h"
#include "trustsim/mailbox_abi.h"

namespace trustsim {

BootFlash::BootFlash(sc_core::sc_module_name name, PowerDomain& power, const BoardConfig::BootFlash& cfg,
                     std::string state_path)
    : Device(name, TS_DEV_BOOT_FLASH, cfg.size, power), cfg_(cfg), state_path_(std::move(state_path)) {
  load();
}

void BootFlash::load() {
  mem_ = read_file(state_path_);
  if (mem_.size() != cfg_.size)
    throw InputError(state_path_ + ": boot flash image is " + std::to_string(mem_.size()) +
                     " bytes but the board file says " + std::to_string(cfg_.size));
}

void BootFlash::powered_on() { load(); }

void BootFlash::transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  if (!gp.is_read()) {
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  uint64_t len = gp.get_data_length();
  delay += serial_time(8 + 24 + 8 * len, cfg_.read_clock_hz);
  memcpy(gp.get_data_ptr(), mem_.data() + gp.get_address(), len);
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned BootFlash::debug_transport(tlm::tlm_generic_payload& gp) {
  if (!gp.is_read()) return 0;
  memcpy(gp.get_data_ptr(), mem_.data() + gp.get_address(), gp.get_data_length());
  return unsigned(gp.get_data_length());
}

}  // namespace trustsim
