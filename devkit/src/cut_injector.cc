#include "devkit/cut_injector.h"

#include <algorithm>
#include <stdexcept>

#include "devkit/device.h"
#include "devkit/sim_time.h"
#include "devkit/tear.h"

namespace trustsim {

CutInjector::CutInjector(Device& device, DeviceTrace& trace, uint64_t unplanned_salt, uint64_t instant_salt)
    : device_(device), trace_(trace), unplanned_salt_(unplanned_salt), instant_salt_(instant_salt) {}

void CutInjector::arm(const PowerLoss& cut) {
  if (cut.at_operation <= operations_)
    throw std::invalid_argument(describe(cut) + ": operation " + std::to_string(operations_) + " of " +
                                device_.basename() + " has already started");
  armed_.push_back(cut);
}

CutInjector::Decision CutInjector::begin() {
  device_.announce_operation(operations_ + 1);
  Decision d;
  d.index = ++operations_;
  auto it = std::find_if(armed_.begin(), armed_.end(), [&](const PowerLoss& p) { return p.at_operation == d.index; });
  if (it != armed_.end()) {
    d.armed = true;
    d.mode = it->mode;
    d.seed = it->seed;
    armed_.erase(it);
  }
  return d;
}

sc_core::sc_time CutInjector::torn_at(const Decision& d, const sc_core::sc_time& start,
                                      const sc_core::sc_time& duration) const {
  SeededRng rng = torn_generator(d);
  return start + from_ps(uint64_t(double(duration.value()) * torn_instant(rng)));
}

double CutInjector::elapsed_fraction(const sc_core::sc_time& elapsed, const sc_core::sc_time& duration, bool armed) {
  double fraction = duration > sc_core::SC_ZERO_TIME ? elapsed / duration : 0.5;
  if (armed) fraction = std::max(fraction, 1e-3);
  return std::min(fraction, 0.999);
}

void CutInjector::record_fired(const Decision& d, uint64_t addr) const {
  TraceEvent e;
  e.t_ns = now_ns();
  e.dev = device_.basename();
  e.op = "fault";
  e.addr = addr;
  e.status = "fired";
  e.detail = describe(d.fault());
  trace_.record(e);
}

}  // namespace trustsim
