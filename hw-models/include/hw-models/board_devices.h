// The device registry: the models this board builds, each
// as its own library declares itself (devkit/device_info.h). The board-file
// parser takes its `devices:` keys from here, the scenario parser its
// power-cut devices, and docs/devices.md its device table (checked by the
// unit test board-devices). No SystemC.
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

}  // namespace trustsim
