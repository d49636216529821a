// Runs a scenario against a board, as a SystemC thread: every step happens
// at an exact virtual time. Stops the kernel when done or on the first
// failing step.
#pragma once
#include <string>

#include "hw-models/board.h"
#include "scenario/scenario.h"

namespace trustsim {

// What host-side steps need: where the keys and the built firmware are.
struct HostContext {
  std::string keys_dir;
  Artifacts artifacts;
  StatePaths state;
};

class ScenarioRunner : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(ScenarioRunner);
  ScenarioRunner(sc_core::sc_module_name name, const Scenario& sc, Board& board, ConsoleLog& log, HostContext host);

  bool finished() const { return finished_; }
  bool passed() const { return finished_ && failure_.empty(); }
  const std::string& failure() const { return failure_; }
  size_t steps_done() const { return steps_done_; }

 private:
  void run();
  bool execute(const Step& s);
  bool host_action(const Step& s);
  const Scenario& sc_;
  Board& board_;
  ConsoleLog& log_;
  HostContext host_;
  std::smatch match_;
  bool finished_ = false;
  size_t steps_done_ = 0;
  std::string failure_;
};

}  // namespace trustsim
