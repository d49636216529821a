// The options `trustsim run`, `trustsim campaign` and `trustsim console`
// share: --seed, --var and the board file of a scenario. The board set-up
// itself is scenario/session.h.
#pragma once
#include <CLI/CLI.hpp>

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scenario/scenario.h"
#include "scenario/session.h"

namespace trustsim {

// --seed and --var of a command that loads a scenario.
struct ScenarioOptions {
  uint64_t seed = 0;
  bool has_seed = false;
  std::vector<std::string> vars;  // NAME=VALUE
  // The options as load_scenario takes them (InputError for a --var
  // without NAME=).
  LoadOptions load_options() const;
};

// Adds --seed (help text `seed_help`) and then --var to `app`; `o` must
// outlive the parse.
void add_scenario_options(CLI::App* app, ScenarioOptions& o, const std::string& seed_help);

// The board file of a scenario run: the --board-file option if given, else
// the scenario's `board:`, else "default" (resolved like resolve_board_file).
std::string scenario_board_file(const std::string& option, const Scenario& sc);

}  // namespace trustsim
