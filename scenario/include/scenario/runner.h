// Runs a scenario against a board, as a SystemC thread: every step happens
// at an exact virtual time. Stops the kernel when done or on the first
// failing step. A scenario that ends in a sweep hands its sweep to the
// campaign's phases (SweepPhases, scenario/campaign_run.h), which run their
// steps here again (docs/campaigns.md).
#pragma once
#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hw-models/board.h"
#include "scenario/campaign.h"
#include "scenario/scenario.h"

namespace trustsim {

// What host-side steps need: where the keys and the built firmware are.
struct HostContext {
  std::string keys_dir;
  Artifacts artifacts;
  StatePaths state;
};

class ScenarioRunner;

// What follows the scenario's own steps when it ends in a sweep: the
// campaign's phases (scenario/campaign_run.h), which run the steps of each
// phase through the runner.
class SweepPhases {
 public:
  virtual ~SweepPhases() = default;
  virtual bool run(ScenarioRunner& steps) = 0;
};

class ScenarioRunner : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(ScenarioRunner);
  // `sweep` runs the sweep of a scenario that has one (it must then be given).
  ScenarioRunner(sc_core::sc_module_name name, const Scenario& sc, Board& board, ConsoleLog& log, HostContext host,
                 SweepPhases* sweep = nullptr);

  bool finished() const { return finished_; }
  bool passed() const { return finished_ && failure_.empty(); }
  const std::string& failure() const { return failure_; }
  size_t steps_done() const { return steps_done_; }

  // For the sweep's phases, on this runner's thread: run `steps` (failures
  // are prefixed with `phase`), until the end or a cut armed for them fires.
  bool run_steps(const std::vector<Step>& steps, const char* phase);
  // A cut is armed for the steps about to run (waits also end at its power
  // loss), or no longer.
  void set_cut_live(bool live) {
    cut_live_ = live;
    cut_happened_ = false;
  }
  // A cut that leaves the power on (a network cut) has happened: the steps
  // now running end as at a power cut's.
  void cut_happened() {
    cut_happened_ = true;
    cut_event_.notify(sc_core::SC_ZERO_TIME);
  }
  // A cut armed for the steps now running has fired: they end, and the
  // next phase (recovery, second recovery) begins.
  bool interrupted() const { return cut_live_ && (!board_.power().is_on() || cut_happened_); }
  void fail(const std::string& why) { failure_ = why; }

 private:
  void run();
  bool execute(const Step& s, size_t index);
  bool host_action(const Step& s, size_t index);
  std::vector<uint8_t> sign_image(const ImageSignStep& s);
  bool arm_fault(const FaultStep& s, size_t index);
  bool check(const CheckStep& s);
  bool check_attest(const AttestCheck& s);
  void console_cut();
  void timed_cut();

  const Scenario& sc_;
  Board& board_;
  ConsoleLog& log_;
  HostContext host_;
  SweepPhases* sweep_;
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

  bool cut_live_ = false;  // a cut is armed for the steps now running
  bool cut_happened_ = false;
  sc_core::sc_event cut_event_;
};

}  // namespace trustsim
