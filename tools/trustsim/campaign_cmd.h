// `trustsim campaign FILE` and `trustsim campaign merge`: power-cut sweeps
// over a scenario's window, in parallel, sharded, reported (docs/campaigns.md).
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace trustsim {

void add_campaign_commands(CLI::App& app, std::function<int()>& action);

}  // namespace trustsim
