#include "scenario/cut_points.h"

#include <algorithm>

#include "devkit/sim_time.h"

namespace trustsim {

namespace {

bool listed(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

void CutPointObserver::begin_window() {
  window_start_ = log_.total();
  in_window_steps_ = true;
}

void CutPointObserver::operation_starting(Device& dev, uint64_t index) {
  std::string name = dev.basename();
  if (in_recovery_) {
    if (!sweep_.second || second_armed_ || !listed(sweep_.devices2, name)) return;
    CutPoint cp{points2_.size() + 1, name, index, now_ns()};
    points2_.push_back(cp);
    if (on_recovery_point) on_recovery_point(dev, index, cp);
    return;
  }
  if (!in_window_steps_ || first_armed_ || window_closed_) return;
  if (!listed(sweep_.devices, name)) return;
  if (!window_open_) {
    if (!sweep_.from_text.empty() && !sweep_.from.search(log_.since(window_start_))) return;
    window_open_ = true;
  }
  if (!sweep_.to_text.empty() && sweep_.to.search(log_.since(window_start_))) {
    window_closed_ = true;
    return;
  }
  CutPoint cp{points_.size() + 1, name, index, now_ns()};
  points_.push_back(cp);
  if (on_point) on_point(dev, index, cp);
}

}  // namespace trustsim
