#include "devices/power_ctrl.h"

#include "devkit/sim_time.h"
#include "trustsim/mailbox_abi.h"

namespace trustsim {

PowerController::PowerController(sc_core::sc_module_name name, PowerDomain& power, uint64_t rtc_base)
    : Device(name, TS_DEV_POWER, TS_POWER_SIZE, power),
      rtc_base_(rtc_base),
      regs_("register", [this](const std::string& w) { guest_error(w); }) {
  // Reads are sampled at the transaction's own time.
  auto sync = [](RegisterAccess& a) {
    sc_core::wait(a.delay);
    a.delay = sc_core::SC_ZERO_TIME;
  };
  // A read-only u64 whose value the board computes at the instant of the read.
  auto reading = [&](const char* name, uint64_t offset, std::function<uint64_t()> value) {
    regs_.add(
        {name, offset, 8, RegAccess::kReadOnly},
        [sync, value](RegisterAccess& a) {
          sync(a);
          a.value = value();
        },
        {}, value);
  };
  reading("RESET_CAUSE", TS_POWER_RESET_CAUSE, [this] { return uint64_t(power_.reset_cause()); });
  reading("UPTIME_NS", TS_POWER_UPTIME_NS, [this] { return to_ns(sc_core::sc_time_stamp() - power_.on_since()); });
  reading("BOARD_TIME_NS", TS_POWER_BOARD_TIME_NS, [] { return now_ns(); });
  reading("BOOT_COUNT", TS_POWER_BOOT_COUNT, [this] { return uint64_t(power_.boot_count()); });
  reading("RTC_SECONDS", TS_POWER_RTC_SECONDS, [this] { return rtc_base_ + now_ns() / 1000000000ull; });
  regs_.add({"CONTROL", TS_POWER_CONTROL, 8, RegAccess::kWriteOnly}, {}, [this](RegisterAccess& a) {
    if (a.value == TS_POWER_CMD_OFF)
      power_.request(PowerDomain::Request::kOff);
    else if (a.value == TS_POWER_CMD_RESET)
      power_.request(PowerDomain::Request::kReset);
    else
      a.refuse();
  });
  regs_.add({"SLEEP_NS", TS_POWER_SLEEP_NS, 8, RegAccess::kWriteOnly}, {}, [this](RegisterAccess& a) {
    // Idle: the transaction completes after the requested board time, or at
    // once if power goes.
    sc_core::wait(a.delay + from_ns(a.value), power_.off_event());
    a.delay = sc_core::SC_ZERO_TIME;
  });
  regs_.add({"WAIT_EVENT", TS_POWER_WAIT_EVENT, 8, RegAccess::kWriteOnly}, {}, [this](RegisterAccess& a) {
    // Sleep until the device's event line is due (at once if an event is
    // already pending), the timeout has passed, or power fails.
    uint32_t type = uint32_t(a.value >> TS_POWER_WAIT_TYPE_SHIFT);
    EventLines& lines = power_.events();
    if (!lines.is_source(type)) {
      a.refuse();  // no such device on this board, or it raises no events
      return;
    }
    sc_core::wait(a.delay);
    a.delay = sc_core::SC_ZERO_TIME;
    const sc_core::sc_time deadline = sc_core::sc_time_stamp() + from_ns(a.value & TS_POWER_WAIT_NS_MASK);
    for (;;) {
      const sc_core::sc_time now = sc_core::sc_time_stamp();
      if (lines.take_due(type, now) || now >= deadline || !power_.is_on()) return;
      sc_core::sc_time until = deadline, at;
      if (lines.next(type, &at) && at < until) until = at;
      sc_core::wait(until - now, lines.raised() | power_.off_event());
    }
  });
  use_registers(regs_);
}

}  // namespace trustsim
