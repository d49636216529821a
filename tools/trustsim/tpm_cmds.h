// `trustsim tpm serve` (docs/tpm.md).
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace trustsim {

// Adds the `tpm` subcommand; `action` is set to the command to run.
void add_tpm_commands(CLI::App& app, std::function<int()>& action);

}  // namespace trustsim
