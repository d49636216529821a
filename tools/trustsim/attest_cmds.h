// `trustsim attest verify` (docs/attestation.md).
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace trustsim {

// Adds the `attest` subcommand; `action` is set to the command to run.
void add_attest_commands(CLI::App& app, std::function<int()>& action);

}  // namespace trustsim
