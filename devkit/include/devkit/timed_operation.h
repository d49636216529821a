// What the flash models' programs and erases share (flash-sim's BootFlash
// and NandFlash): an operation that takes virtual time, may carry a power
// cut armed for it, and then ends, is cut at its torn instant, or is
// interrupted by a power loss or reset nobody armed. A model keeps its own
// fields (address, data, outcome) in a struct derived from TimedOperation
// and its own effect on the cells; the timing, the worker loop, the seed of
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
};

// The body of a model's operation thread: waits for an operation, calls
// `advance` at each of its instants (the model applies a due cut or the
// end), and `power_failed` when power goes while it still runs.
void run_timed_operations(const TimedOperation& op, const sc_core::sc_event& changed, const PowerDomain& power,
                          const std::function<void()>& advance, const std::function<void()>& power_failed);

// One line of the device trace for an operation of device `dev`
// (docs/traces.md).
void record_operation(DeviceTrace& trace, const char* dev, uint64_t t_ns, const char* op, uint64_t addr, uint64_t len,
                      uint64_t latency_ns, const char* status, std::string detail = {});

}  // namespace trustsim
