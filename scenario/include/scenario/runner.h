// Runs a scenario against a board, as a SystemC thread: every step happens
// at an exact virtual time. Stops the kernel when done or on the first
// failing step. A scenario that ends in a sweep is also run here in the
// three roles a campaign needs (docs/campaigns.md).
#pragma once
#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hw-models/board.h"
#include "scenario/campaign.h"
#include "scenario/cut_points.h"
#include "scenario/forked_runs.h"
#include "scenario/scenario.h"

namespace trustsim {

// What host-side steps need: where the keys and the built firmware are.
struct HostContext {
  std::string keys_dir;
  Artifacts artifacts;
  StatePaths state;
};

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

class ScenarioRunner : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(ScenarioRunner);
  ScenarioRunner(sc_core::sc_module_name name, const Scenario& sc, Board& board, ConsoleLog& log, HostContext host,
                 CampaignRole role = {});

  bool finished() const { return finished_; }
  bool passed() const { return finished_ && failure_.empty(); }
  const std::string& failure() const { return failure_; }
  size_t steps_done() const { return steps_done_; }

  // Campaign results.
  const std::vector<CutPoint>& cut_points() const { return cut_points_.points(); }
  bool cut_fired() const { return cut_armed_ && cut_fired_; }
  const std::vector<CutPoint>& recovery_points() const { return cut_points_.recovery_points(); }  // second-cut points
  const RunRecord& point_record() const { return record_; }                                       // kPoint
  const std::vector<RunRecord>& results() const { return forks_.results(); }                      // kWalk

  // The crash-state key of the board as it is now, for the recovery `phase`
  // ("recovery" or "second-recovery") that follows (docs/campaigns.md).
  std::string crash_state_key(const char* phase);
  bool claim_crash_state(const char* phase);

 private:
  void run();
  bool run_steps(const std::vector<Step>& steps, const char* phase);
  bool execute(const Step& s, size_t index);
  bool host_action(const Step& s, size_t index);
  std::vector<uint8_t> sign_image(const ImageSignStep& s);
  bool arm_fault(const FaultStep& s, size_t index);
  bool check(const CheckStep& s);
  bool check_attest(const AttestCheck& s);
  void console_cut();
  void timed_cut();
  // At a cut point the observer numbered: arm this run's cut, or fork runs.
  void window_point(Device& dev, uint64_t index, const CutPoint& cp);
  void recovery_point(Device& dev, uint64_t index, const CutPoint& cp);
  // Into `r`: the first (or second) cut at `cp` in `mode`, with its seed.
  void record_cut(RunRecord& r, const CutPoint& cp, PowerLoss::Mode mode, bool second) const;
  // Arms the first (or second) cut record_ names at the device's operation
  // `index`, which is starting.
  void arm_cut(Device& dev, uint64_t index, bool second);
  void fork_run(Device& dev, uint64_t index, const CutPoint& cp, PowerLoss::Mode mode);
  void finish_child();
  bool run_sweep();
  // After the window's cut: the recovery, and a second cut's recovery.
  // (Issue 15's seam: what a run does between its cut and its recovery.)
  bool run_recovery();
  // A cut armed for the steps now running has fired: they end, and the
  // next phase (recovery, second recovery) begins.
  bool interrupted() const { return cut_live_ && !board_.power().is_on(); }

  const Scenario& sc_;
  Board& board_;
  ConsoleLog& log_;
  HostContext host_;
  CampaignRole role_;
  bool finished_ = false;
  size_t steps_done_ = 0;
  std::string failure_;

  // faults armed by steps
  sc_core::sc_event timed_cut_event_;
  bool console_cut_armed_ = false;
  // power-loss at an operation counted from a console match: armed on the match
  struct PendingCut {
    Device* device;
    PowerLoss cut;  // at_operation: counted from the match
    Pattern pattern;
    uint64_t from;
  };
  std::optional<PendingCut> pending_cut_;
  Pattern console_cut_pattern_;
  uint64_t console_cut_from_ = 0;

  // sweep
  CutPointObserver cut_points_;  // counts the window's and the recovery's cut points
  bool cut_armed_ = false;       // the window's cut (this run's first)
  bool cut_fired_ = false;
  bool cut_live_ = false;  // a cut is armed for the steps now running
  bool cut2_armed_ = false;
  RunRecord record_;
  double wall0_ = 0;

  // walk
  ForkedRuns forks_;
  int depth_ = 0;  // 0: the walk (or a lone run); 1: a forked one-cut run; 2: its forked second cut
  std::string child_dir_;
};

}  // namespace trustsim
