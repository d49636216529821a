#include "session.h"

#include "devkit/input_error.h"
#include "flash_cmds.h"

namespace trustsim {

LoadOptions ScenarioOptions::load_options() const {
  LoadOptions lo;
  for (const std::string& v : vars) {
    size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0) throw InputError("--var " + v + ": expected NAME=VALUE");
    lo.vars[v.substr(0, eq)] = v.substr(eq + 1);
  }
  lo.has_seed = has_seed;
  lo.seed = seed;
  return lo;
}

void add_scenario_options(CLI::App* app, ScenarioOptions& o, const std::string& seed_help) {
  app->add_option("--seed", o.seed, seed_help)->each([&o](const std::string&) { o.has_seed = true; });
  app->add_option("--var", o.vars, "NAME=VALUE: override a scenario variable (repeatable)")->allow_extra_args(false);
}

std::string scenario_board_file(const std::string& option, const Scenario& sc) {
  return resolve_board_file(!option.empty() ? option : sc.board.empty() ? "default" : sc.board);
}

}  // namespace trustsim
