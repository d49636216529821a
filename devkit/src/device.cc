#include "devkit/device.h"

#include "devkit/cut_injector.h"
#include "devkit/register_table.h"
#include "devkit/sim_time.h"
#include "devkit/trace.h"

#include <stdexcept>

namespace trustsim {

uint64_t Device::operation_count() const { return cuts_ ? cuts_->operation_count() : 0; }

void Device::arm_power_cut(const PowerLoss& cut) {
  if (!cuts_)
    throw std::invalid_argument(std::string(basename()) + " has no state-changing operations to cut power at");
  cuts_->arm(cut);
}

void PowerDomain::switch_on(uint32_t cause) {
  on_ = true;
  reset_cause_ = cause;
  ++boot_count_;
  on_since_ = sc_core::sc_time_stamp();
  pending_ = Request::kNone;
  on_event_.notify(sc_core::SC_ZERO_TIME);
}

void PowerDomain::switch_off() {
  if (!on_) return;
  on_ = false;
  events_.clear();
  off_event_.notify(sc_core::SC_ZERO_TIME);
}

Device::Device(sc_core::sc_module_name name, uint32_t type, uint64_t size, PowerDomain& power)
    : sc_module(name), socket("socket"), power_(power), type_(type), size_(size) {
  socket.register_b_transport(this, &Device::b_transport);
  socket.register_transport_dbg(this, &Device::transport_dbg);
}

bool Device::in_range(uint64_t offset, uint64_t len) const {
  if (registers_ && registers_->is_port(offset)) return offset < size_;  // the table checks the length
  return offset < size_ && len <= size_ - offset;
}

void Device::transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  if (registers_) {
    registers_->access(gp, delay, gp.get_address());
    return;
  }
  gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
}

void Device::guest_error(const std::string& what) {
  if (!device_trace_) return;
  TraceEvent e;
  e.t_ns = now_ns();
  e.dev = basename();
  e.op = "guest-error";
  e.status = "guest-error";
  e.detail = what;
  device_trace_->record(e);
}

void Device::b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  if (!in_range(gp.get_address(), gp.get_data_length())) {
    gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  transport(gp, delay);
}

unsigned Device::transport_dbg(tlm::tlm_generic_payload& gp) {
  uint64_t addr = gp.get_address();
  uint64_t len = gp.get_data_length();
  if (addr >= size_ || len > size_ - addr) return 0;
  return debug_transport(gp);
}

bool Device::wait_powered(const sc_core::sc_time& t, tlm::tlm_generic_payload& gp) {
  wait(t, power_.off_event());
  if (power_.is_on()) return true;
  gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
  return false;
}

}  // namespace trustsim
