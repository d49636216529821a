// Base of every memory-mapped board device and the power domain they share.
#pragma once
#include <tlm_utils/simple_target_socket.h>
#include <systemc>
#include <tlm>

#include <cstdint>
#include <string>

#include "devkit/event_lines.h"
#include "devkit/power_loss.h"

namespace trustsim {
class CutInjector;
class DeviceTrace;
class RegisterTable;
}  // namespace trustsim

namespace trustsim {

// The board's single power rail. Devices wait on off_event() to abandon an
// operation the instant power goes; the bridge waits on on_event(). It also
// carries the devices' event lines (devkit/event_lines.h), since every device
// shares it and a power loss drops every pending event.
class PowerDomain {
 public:
  enum class Request { kNone, kReset, kOff };

  bool is_on() const { return on_; }
  const sc_core::sc_event& on_event() const { return on_event_; }
  const sc_core::sc_event& off_event() const { return off_event_; }

  void switch_on(uint32_t cause);
  void switch_off();
  // Guest-initiated reset/off: acted on by the bridge after the transaction.
  void request(Request r) { pending_ = r; }
  Request pending() const { return pending_; }
  void clear_request() { pending_ = Request::kNone; }

  uint32_t reset_cause() const { return reset_cause_; }
  uint32_t boot_count() const { return boot_count_; }
  sc_core::sc_time on_since() const { return on_since_; }
  EventLines& events() { return events_; }

 private:
  bool on_ = false;
  uint32_t reset_cause_ = 0;
  uint32_t boot_count_ = 0;
  sc_core::sc_time on_since_;
  Request pending_ = Request::kNone;
  sc_core::sc_event on_event_{"power_on_event"};
  sc_core::sc_event off_event_{"power_off_event"};
  EventLines events_;
};

// Attached by the initiator with bytes = the requested length; a device whose
// operation moved fewer bytes (a console read that timed out) lowers it.
struct ActualLength : tlm::tlm_extension<ActualLength> {
  uint64_t bytes = 0;
  tlm_extension_base* clone() const override { return new ActualLength(*this); }
  void copy_from(const tlm_extension_base& o) override { bytes = static_cast<const ActualLength&>(o).bytes; }
};

class Device;

// Told about every state-changing operation just before it starts, with
// the index a PowerLoss refers to; it may arm a cut for that very operation
// (this is how campaigns pick their cut points, docs/campaigns.md).
class OperationObserver {
 public:
  virtual ~OperationObserver() = default;
  virtual void operation_starting(Device& device, uint64_t index) = 0;
};

class Device : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Device> socket;

  Device(sc_core::sc_module_name name, uint32_t type, uint64_t size, PowerDomain& power);

  uint32_t type() const { return type_; }
  uint64_t size() const { return size_; }
  // Power semantics: volatile state goes, non-volatile state stays.
  virtual void power_lost() {}
  virtual void powered_on() {}

  // Devices with state-changing operations (NVRAM, flash) own a
  // CutInjector (devkit/cut_injector.h) and support power cuts at an
  // operation index; the others have none.
  bool has_operations() const { return cuts_ != nullptr; }
  uint64_t operation_count() const;
  // Throws std::invalid_argument for an index already started or a device
  // without operations.
  void arm_power_cut(const PowerLoss& cut);
  CutInjector* power_cuts() { return cuts_; }
  void set_operation_observer(OperationObserver* o) { observer_ = o; }
  // Where guest misuse is reported (a "guest-error" line); none: not reported.
  void set_trace(DeviceTrace* trace) { device_trace_ = trace; }

 protected:
  // Whether an access of `len` bytes at `offset` is in range. Default: the
  // whole access lies inside [0, size). Port registers (a FIFO that takes
  // any number of bytes at one offset) override this.
  virtual bool in_range(uint64_t offset, uint64_t len) const;
  // Called only for accesses in_range() accepted. Default: the register
  // table (use_registers) serves the whole window.
  virtual void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  // Backdoor: no timing, no faults.
  virtual unsigned debug_transport(tlm::tlm_generic_payload& gp) {
    (void)gp;
    return 0;
  }
  PowerDomain& power_;
  // A device with state-changing operations registers its injector here
  // (in its constructor).
  void use_power_cuts(CutInjector& cuts) { cuts_ = &cuts; }
  // A device whose window is its register block (devkit/register_table.h)
  // registers the table here: its ports take any length in range, and the
  // default transport() hands every access to it. Devices with more in
  // their window (a flash array, TPM localities) call the table themselves.
  void use_registers(RegisterTable& regs) { registers_ = &regs; }
  // A "guest-error" line in the device trace: the firmware used the device
  // wrongly (docs/traces.md).
  void guest_error(const std::string& what);
  // Waits `t` of the access's own time (a command's clocks) unless power
  // goes first; then the access fails (TLM_GENERIC_ERROR_RESPONSE) and this
  // says false.
  bool wait_powered(const sc_core::sc_time& t, tlm::tlm_generic_payload& gp);

 private:
  friend class CutInjector;  // tells the observer of each operation
  void announce_operation(uint64_t index) {
    if (observer_) observer_->operation_starting(*this, index);
  }
  OperationObserver* observer_ = nullptr;
  CutInjector* cuts_ = nullptr;
  RegisterTable* registers_ = nullptr;
  DeviceTrace* device_trace_ = nullptr;
  void b_transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& gp);
  uint32_t type_;
  uint64_t size_;
};

}  // namespace trustsim
