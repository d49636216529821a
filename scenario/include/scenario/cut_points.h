// The cut-point observer of a sweep (docs/campaigns.md): it hears of every
// state-changing operation a board device starts and numbers those that are
// cut points -- the swept devices' operations inside the sweep's window
// (from its `from:` match until its `to:` match) and, in the recovery that
// follows a cut, the second-cut devices' operations. It decides nothing:
// what happens at a point (arm the run's cut, fork the walk's runs) is its
// owner's, told through on_point / on_recovery_point. A board's
// CampaignRun (campaign_run.h) owns one and tells it which phase the steps
// are in.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "devices/console.h"
#include "devkit/device.h"
#include "scenario/campaign.h"
#include "scenario/scenario.h"

namespace trustsim {

class CutPointObserver : public OperationObserver {
 public:
  using Handler = std::function<void(Device& device, uint64_t index, const CutPoint& point)>;
  CutPointObserver(const Sweep& sweep, const ConsoleLog& log) : sweep_(sweep), log_(log) {}

  Handler on_point;           // a point of the window
  Handler on_recovery_point;  // a point of the recovery (a second-cut point)

  void operation_starting(Device& device, uint64_t index) override;

  // The sweep's steps run: the window's patterns look at console output
  // from here on.
  void begin_window();
  void end_window() { in_window_steps_ = false; }
  void begin_recovery() { in_recovery_ = true; }
  void end_recovery() { in_recovery_ = false; }
  // This run's cut (or second cut) is armed: the points after it are not
  // counted.
  void first_cut_armed() { first_armed_ = true; }
  void second_cut_armed() { second_armed_ = true; }

  const std::vector<CutPoint>& points() const { return points_; }
  const std::vector<CutPoint>& recovery_points() const { return points2_; }

 private:
  const Sweep& sweep_;
  const ConsoleLog& log_;
  bool in_window_steps_ = false, in_recovery_ = false;
  bool window_open_ = false, window_closed_ = false;
  uint64_t window_start_ = 0;
  bool first_armed_ = false, second_armed_ = false;
  std::vector<CutPoint> points_;
  std::vector<CutPoint> points2_;
};

}  // namespace trustsim
