// `trustsim image keygen | sign | inspect` (docs/keys-and-signing.md).
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace trustsim {

// Adds the `image` subcommand; `action` is set to the command to run.
void add_image_commands(CLI::App& app, std::function<int()>& action);

}  // namespace trustsim
