// What the flash models' programs and erases share (flash-sim's BootFlash
// and NandFlash): an operation that takes virtual time, may carry a power
// cut armed for it, and then ends, is cut at its torn instant, or is
// interrupted by a power loss or reset nobody armed. A model keeps its own
// fields (address, data, outcome) in a struct derived from TimedOperation
// and its own effect on the cells (TimedOperationModel); the timing, the
// worker loop, when an armed cut fires (before, torn, after), the seed of
// an unplanned cut and the words of the trace line are here, once.
#pragma once
#include <systemc>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "devkit/cut_injector.h"
#include "devkit/device.h"
#include "devkit/trace.h"

namespace trustsim {

// A model's side of its TimedOperation: what the operation does to the
// cells and the trace line it writes.
class TimedOperationModel {
 public:
  virtual ~TimedOperationModel() = default;
  // Where the operation's cut fires, for the "fault fired" line (an
  // address, a page, a block).
  virtual uint64_t cut_place() const = 0;
  // The operation has reached its end: apply it and write its line.
  virtual void finish_operation() = 0;
  // It stops before its end: power failed, the part was reset, or its armed
  // torn cut came (`armed`). `seed` tears the cells it had begun to change.
  virtual void interrupt_operation(const char* cause, uint64_t seed, bool armed) = 0;
};

struct TimedOperation {
  bool active = false;
  uint64_t index = 0;  // its operation_count()
  sc_core::sc_time start, end;
  CutInjector::Decision cut;  // the power cut armed for it, if any
  sc_core::sc_time cut_at;    // a torn cut's instant
  std::vector<uint8_t> data;  // a program's bytes, latched with the command

  // It has ended (or stopped): the worker is told; the latched bytes go.
  void stop(sc_core::sc_event& changed) {
    active = false;
    data.clear();
    changed.notify(sc_core::SC_ZERO_TIME);
  }

  // The next instant the model must look at it: a torn cut's, else its end.
  sc_core::sc_time next_instant() const { return cut.torn() ? cut_at : end; }
  // An armed torn cut whose instant has come.
  bool cut_due(const sc_core::sc_time& now) const { return cut.torn() && now >= cut_at; }
  // The seed of a cut nobody armed that stops it now.
  uint64_t unplanned_seed(const CutInjector& cuts) const {
    return cuts.unplanned_seed(index, sc_core::sc_time_stamp() - start);
  }
  // "<cause> <elapsed> ns into <duration> ns": the start of an
  // interrupted operation's trace detail.
  std::string interruption(const char* cause, const sc_core::sc_time& elapsed) const;

  // An armed `before` cut: power fails as the operation would begin. The
  // fault line (at `where`), the operation's own power-lost line through
  // `trace` (status, detail), and the power goes. True if so: the model
  // then forgets the operation.
  bool lost_before_start(CutInjector& cuts, uint64_t where, PowerDomain& power,
                         const std::function<void(const char* status, const std::string& detail)>& trace) const;
  // It has ended and its line is written: it stops, and an armed `after`
  // cut fires (its line at `where`, then the power goes).
  void stop_then_cut(CutInjector& cuts, uint64_t where, sc_core::sc_event& changed, PowerDomain& power);

  // An operation stopping now: how long it ran, and its trace line's
  // detail ("<cause> ... ns into ... ns") and status (power-lost) so far.
  struct Interruption {
    sc_core::sc_time elapsed;
    std::string detail;
    const char* status = "power-lost";
  };
  Interruption interrupted(const char* cause) const;
  // It had begun changing cells: the seed goes into the detail and the
  // status becomes torn. Returns the share of the change that happened.
  double tear(Interruption& i, uint64_t seed, bool armed) const;
};

// Brings `op` up to the current time: an armed torn cut whose instant has
// come fires (its line, the model's interruption, the power goes), or the
// operation ends (the model finishes it).
void advance_timed_operation(TimedOperation& op, CutInjector& cuts, PowerDomain& power, TimedOperationModel& model);

// Power went, or the board was reset with power still on, while `op`
// runs: the model interrupts it with the seed of a cut nobody armed.
void interrupt_at_power_loss(const TimedOperation& op, const PowerDomain& power, const CutInjector& cuts,
                             TimedOperationModel& model);

// The body of a model's operation thread: waits for an operation,
// advances it at each of its instants, and interrupts it (with the seed of
// a cut nobody armed) when power goes while it still runs.
void run_timed_operations(TimedOperation& op, const sc_core::sc_event& changed, PowerDomain& power, CutInjector& cuts,
                          TimedOperationModel& model);

}  // namespace trustsim
