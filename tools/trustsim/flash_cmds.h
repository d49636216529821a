// `trustsim flash mkfs | ls | put | get | rm | fsck`: bootflash: of a board
// state directory, without booting it (docs/bootflash-fs.md).
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace trustsim {

void add_flash_commands(CLI::App& app, std::function<int()>& action);

// Board file path from a name in boards/ or a path (shared with `run`).
std::string resolve_board_file(const std::string& name);

}  // namespace trustsim
