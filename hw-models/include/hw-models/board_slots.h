// The board's devices as the board assembly and the board-file parser walk
// them: one slot per device, each naming the device's registry entry
// (devkit/device_info.h, declared in the device's own *_config.h) and the
// few functions that parse its board-file section, place it on the bus and
// in the discovery table, and build it. Adding a device to the board is one
// slot in hw-models/src/board_slots.cc. The slot order is the registry's
// (hw-models/board_devices.h): parse order, bus map, discovery table and
// power callbacks all follow it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "devkit/device.h"
#include "devkit/device_info.h"
#include "devkit/trace.h"
#include "hw-models/board_config.h"
#include "hw-models/yaml_reader.h"

namespace trustsim {

class ConsoleLog;
struct StatePaths;

// What a slot builds its device from.
struct BoardParts {
  const BoardConfig& cfg;
  PowerDomain& power;
  const StatePaths& state;
  DeviceTrace& trace;
  ConsoleLog& console_log;
};

// A device section's reader: the file, the section's node and its dotted
// path ("devices.nvram").
struct DeviceSection {
  const YamlReader& r;
  const YAML::Node& node;
  const std::string& path;
  std::string field(const char* key) const { return path + "." + key; }
  // The key's node; "missing required key" if it is absent.
  YAML::Node require(const char* key) const;
  // A timing figure: the section's value if it gives one, else the
  // registry's default (docs/board-file.md, "Timing figures").
  uint64_t figure(const TimingFigure& f) const;
};

struct BoardSlot {
  const DeviceInfo* info;
  std::vector<const char*> keys;  // its section's keys besides the timing figures
  // Fills the device's part of `c` from its section (only called when the
  // board file has the section). Throws InputError naming file:line: field.
  void (*parse)(const DeviceSection& s, BoardConfig& c);
  bool (*present)(const BoardConfig& c);  // the board has this device
  uint64_t (*base)(const BoardConfig& c);
  uint64_t (*window)(const BoardConfig& c);  // bytes of bus it takes
  // Its discovery-table entry (common/mailbox_abi.h): type, name, size.
  uint32_t info_type;
  const char* info_name;
  uint64_t (*info_size)(const BoardConfig& c);
  std::unique_ptr<Device> (*build)(const BoardParts& p);
  // In a forked child: work on the copies in `to` (nullptr: no state file).
  void (*detach)(Device& d, const StatePaths& from, const StatePaths& to);
};

const std::vector<BoardSlot>& board_slots();

}  // namespace trustsim
