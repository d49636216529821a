// `trustsim console [--board DIR]`: an interactive terminal on the board's
// console UART (docs/debugging.md).
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace trustsim {

void add_console_command(CLI::App& app, std::function<int()>& action);

}  // namespace trustsim
