// The device registry: the models this board builds, each
// as its own library declares itself (devkit/device_info.h). The board-file
// parser takes its `devices:` keys and timing figures from here, the
// scenario parser its power-cut devices, docs/devices.md its device table
// and docs/board-file.md its device and timing tables (checked by the unit
// test board-devices). No SystemC.
#pragma once
#include <string>
#include <vector>

#include "devkit/device_info.h"

namespace trustsim {

const std::vector<const DeviceInfo*>& board_devices();
const DeviceInfo* find_board_device(const std::string& name);

// The devices a power-loss fault can cut, by name; and as words for a
// message: "nvram, boot_flash or bootflash".
std::vector<std::string> power_cut_devices();
bool is_power_cut_device(const std::string& name);
std::string power_cut_device_words();

// The device table of docs/devices.md, in Markdown.
std::string device_table_markdown();

// A figure's default as a board file writes it ("5 ms", "50 MHz", "9600").
std::string figure_text(const TimingFigure& f);

// docs/board-file.md's device table (the sections of `devices:`) and timing
// table (every device's timing figures, their defaults and sources).
std::string board_device_table_markdown();
std::string timing_table_markdown();

}  // namespace trustsim
