#include "devkit/timed_operation.h"

#include "devkit/sim_time.h"

namespace trustsim {

std::string TimedOperation::interruption(const char* cause, const sc_core::sc_time& elapsed) const {
  return std::string(cause) + " " + std::to_string(to_ns(elapsed)) + " ns into " + std::to_string(to_ns(end - start)) +
         " ns";
}

bool TimedOperation::lost_before_start(
    CutInjector& cuts, uint64_t where, PowerDomain& power,
    const std::function<void(const char* status, const std::string& detail)>& trace) const {
  if (!cut.before()) return false;
  cuts.record_fired(cut, where);
  trace("power-lost", "power failed before the operation began");
  power.switch_off();
  return true;
}

void TimedOperation::stop_then_cut(CutInjector& cuts, uint64_t where, sc_core::sc_event& changed, PowerDomain& power) {
  CutInjector::Decision d = cut;
  stop(changed);
  if (!d.after()) return;
  cuts.record_fired(d, where);
  power.switch_off();
}

TimedOperation::Interruption TimedOperation::interrupted(const char* cause) const {
  Interruption i;
  i.elapsed = sc_core::sc_time_stamp() - start;
  i.detail = interruption(cause, i.elapsed);
  return i;
}

double TimedOperation::tear(Interruption& i, uint64_t seed, bool armed) const {
  i.detail += "; seed=" + std::to_string(seed);
  i.status = "torn";
  return CutInjector::elapsed_fraction(i.elapsed, end - start, armed);
}

void advance_timed_operation(TimedOperation& op, CutInjector& cuts, PowerDomain& power, TimedOperationModel& model) {
  if (!op.active) return;
  sc_core::sc_time now = sc_core::sc_time_stamp();
  if (op.cut_due(now)) {
    cuts.record_fired(op.cut, model.cut_place());
    model.interrupt_operation("power lost (armed fault)", op.cut.seed, true);
    power.switch_off();
    return;
  }
  if (now >= op.end) model.finish_operation();
}

void interrupt_at_power_loss(const TimedOperation& op, const PowerDomain& power, const CutInjector& cuts,
                             TimedOperationModel& model) {
  if (op.active)
    model.interrupt_operation(power.is_on() ? "board reset" : "power lost", op.unplanned_seed(cuts), false);
}

void run_timed_operations(TimedOperation& op, const sc_core::sc_event& changed, PowerDomain& power, CutInjector& cuts,
                          TimedOperationModel& model) {
  for (;;) {
    if (!op.active) {
      sc_core::wait(changed);
      continue;
    }
    advance_timed_operation(op, cuts, power, model);
    if (!op.active) continue;
    sc_core::wait(op.next_instant() - sc_core::sc_time_stamp(), power.off_event() | changed);
    if (op.active && !power.is_on()) model.interrupt_operation("power lost", op.unplanned_seed(cuts), false);
  }
}

}  // namespace trustsim
