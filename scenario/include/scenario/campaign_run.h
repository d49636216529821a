// One board's part in a campaign (docs/campaigns.md): the phases of a sweep
// -- the window, the recovery after the cut, the second recovery after a
// second cut -- and what happens at each cut point the observer numbers:
// arm this run's cut, or fork runs that cut there (and reap them), with
// the crash-state dedup of forked runs. The campaign walker
// (campaign_walker.h) makes one per simulation in the role it needs; the
// step runner (runner.h) only runs the steps each phase hands it.
#pragma once
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "hw-models/board.h"
#include "scenario/campaign.h"
#include "scenario/crash_state.h"
#include "scenario/cut_points.h"
#include "scenario/forked_runs.h"
#include "scenario/runner.h"
#include "scenario/scenario.h"

namespace trustsim {

struct CampaignRole {
  enum class Kind {
    kPlain,  // run the sweep's steps once without a cut, counting the points (dry run)
    kPoint,  // cut at one point in one mode, then run the recovery
    kWalk,   // run the steps once, forking a run for every selected point x mode
  };
  Kind kind = Kind::kPlain;
  uint64_t point = 0;  // kPoint
  PowerLoss::Mode mode = PowerLoss::Mode::kBefore;
  uint64_t point2 = 0;  // kPoint: also cut at this operation of the recovery (0: no second cut)
  PowerLoss::Mode mode2 = PowerLoss::Mode::kBefore;
  int jobs = 2;  // kWalk: forked runs at once
  uint32_t shard_index = 0, shard_count = 1;
  std::string work_dir;                             // kWalk: the forked runs' boards (removed as they finish)
  std::function<void(const RunRecord&)> on_result;  // kWalk: as each run ends
  // kWalk: the crash-state cache (docs/campaigns.md): a run whose state after
  // its cut is already claimed here reuses that run's verdict. Empty: no dedup.
  std::string dedup_dir;
};

class CampaignRun : public SweepPhases, private TraceSink {
 public:
  // Becomes the board's operation observer (a network-cut sweep: a sink of
  // its trace, which sees each transfer end).
  CampaignRun(const Scenario& sc, Board& board, const ConsoleLog& log, CampaignRole role);
  ~CampaignRun() override;
  CampaignRun(const CampaignRun&) = delete;
  CampaignRun& operator=(const CampaignRun&) = delete;

  // The sweep's phases, on the runner's thread (SweepPhases). A forked run
  // ends its process here.
  bool run(ScenarioRunner& steps) override;

  const std::vector<CutPoint>& cut_points() const {
    return sc_.sweep.network_every ? net_points_ : cut_points_.points();
  }
  const std::vector<CutPoint>& recovery_points() const { return cut_points_.recovery_points(); }  // second-cut points
  const RunRecord& point_record() const { return record_; }                                       // kPoint
  const std::vector<RunRecord>& results() const { return forks_.results(); }                      // kWalk

  // The crash-state key of the board as it is now, for the recovery `phase`
  // ("recovery" or "second-recovery") that follows (docs/campaigns.md).
  std::string crash_state_key(const char* phase);

 private:
  bool claim_crash_state(const char* phase);
  [[noreturn]] void stale_translation();
  // The digests of rom_nor's blocks as the array is now (nullptr: no NOR).
  const std::vector<uint8_t>* nor_block_digests();
  // At a cut point the observer numbered: arm this run's cut, or fork runs.
  void window_point(Device& dev, uint64_t index, const CutPoint& cp);
  void recovery_point(Device& dev, uint64_t index, const CutPoint& cp);
  // Into `r`: the first (or second) cut at `cp` in `mode`, with its seed.
  void record_cut(RunRecord& r, const CutPoint& cp, PowerLoss::Mode mode, bool second) const;
  // Arms the first (or second) cut record_ names at the device's operation
  // `index`, which is starting.
  void arm_cut(Device& dev, uint64_t index, bool second);
  void fork_run(Device& dev, uint64_t index, const CutPoint& cp, PowerLoss::Mode mode);
  [[noreturn]] void finish_child();
  // After the window's cut: the recovery, and a second cut's recovery.
  // (Issue 15's seam: what a run does between its cut and its recovery.)
  bool run_recovery();
  // A network-cut sweep (docs/campaigns.md, "Network cuts"): the window,
  // with this run's cut armed on the transfer that holds its point, then
  // the recovery. No forks: the board runs on after the cut.
  bool run_network();
  void on_event(const TraceEvent& e) override;  // a transfer has ended
  void arm_network_cut();                       // for the next transfer

  const Scenario& sc_;
  Board& board_;
  const ConsoleLog& log_;
  CampaignRole role_;
  ScenarioRunner* steps_ = nullptr;  // while run() runs

  CutPointObserver cut_points_;  // counts the window's and the recovery's cut points
  bool cut_armed_ = false;       // the window's cut (this run's first)
  bool cut2_armed_ = false;
  RunRecord record_;
  double wall0_ = 0;

  // network cuts: the window's points so far, and this run's cut
  std::vector<CutPoint> net_points_;
  bool net_window_ = false, net_fired_ = false;
  uint64_t net_armed_ = 0;  // the drop-after armed for the next transfer

  // walk
  ForkedRuns forks_;
  int depth_ = 0;  // 0: the walk (or a lone run); 1: a forked one-cut run; 2: its forked second cut
  std::string child_dir_;
  BlockDigests nor_digests_;  // taken by the walk before each fork, so runs inherit them
};

}  // namespace trustsim
