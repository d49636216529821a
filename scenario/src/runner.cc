#include "scenario/runner.h"

#include "hw-models/sim_time.h"

namespace trustsim {

ScenarioRunner::ScenarioRunner(sc_core::sc_module_name name, const Scenario& sc, Board& board, ConsoleLog& log)
    : sc_module(name), sc_(sc), board_(board), log_(log) {
  SC_THREAD(run);
  set_stack_size(1 << 20);
}

bool ScenarioRunner::execute(const Step& s) {
  using sc_core::sc_time_stamp;
  switch (s.kind) {
    case Step::Kind::kPowerOn:
      log_.consume(log_.unmatched().size());
      board_.power_on();
      return true;
    case Step::Kind::kPowerOff:
      board_.power_off();
      return true;
    case Step::Kind::kPowerCycle:
      board_.power_off();
      wait(from_ps(s.has_duration ? s.duration_ps : board_.config().power_off_time_ps));
      log_.consume(log_.unmatched().size());  // expectations after a power-on see only new output
      board_.power_on();
      return true;
    case Step::Kind::kSend:
      board_.console().type(s.enter ? s.text + "\r" : s.text);
      return true;
    case Step::Kind::kWait:
      wait(from_ps(s.duration_ps));
      return true;
    case Step::Kind::kExpect: {
      sc_core::sc_time deadline = sc_time_stamp() + from_ps(s.timeout_ps);
      for (;;) {
        std::smatch m;
        const std::string& buf = log_.unmatched();
        if (std::regex_search(buf, m, s.pattern)) {
          log_.consume(size_t(m.position(0) + m.length(0)));
          return true;
        }
        if (sc_time_stamp() >= deadline) {
          failure_ = "expected console output matching /" + s.text + "/ was not seen within " +
                     s.describe().substr(s.describe().rfind("within ") + 7) + " of virtual time";
          return false;
        }
        wait(deadline - sc_time_stamp(), log_.output_event());
      }
    }
  }
  return false;
}

void ScenarioRunner::run() {
  for (size_t i = 0; i < sc_.steps.size(); ++i) {
    const Step& s = sc_.steps[i];
    if (!execute(s)) {
      failure_ = "step " + std::to_string(i + 1) + " (" + s.where + ", " + s.describe() + "): " + failure_;
      break;
    }
    ++steps_done_;
  }
  finished_ = true;
  sc_core::sc_stop();
}

}  // namespace trustsim
