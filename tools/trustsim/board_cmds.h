// `trustsim board new | inspect`: make a board state directory, or show
// what is in one (key storage, ROMmon variables, bootflash:).
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace trustsim {

void add_board_commands(CLI::App& app, std::function<int()>& action);

}  // namespace trustsim
