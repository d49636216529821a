#include "devkit/timed_operation.h"

#include "devkit/sim_time.h"

namespace trustsim {

std::string TimedOperation::interruption(const char* cause, const sc_core::sc_time& elapsed) const {
  return std::string(cause) + " " + std::to_string(to_ns(elapsed)) + " ns into " + std::to_string(to_ns(end - start)) +
         " ns";
}

void run_timed_operations(const TimedOperation& op, const sc_core::sc_event& changed, const PowerDomain& power,
                          const std::function<void()>& advance, const std::function<void()>& power_failed) {
  for (;;) {
    if (!op.active) {
      sc_core::wait(changed);
      continue;
    }
    advance();
    if (!op.active) continue;
    sc_core::wait(op.next_instant() - sc_core::sc_time_stamp(), power.off_event() | changed);
    if (op.active && !power.is_on()) power_failed();
  }
}

void record_operation(DeviceTrace& trace, const char* dev, uint64_t t_ns, const char* op, uint64_t addr, uint64_t len,
                      uint64_t latency_ns, const char* status, std::string detail) {
  trace.record(TraceEvent{t_ns, dev, op, addr, len, latency_ns, status, std::move(detail)});
}

}  // namespace trustsim
