// What the board, its parsers and the docs need to know about a device
// model, declared once next to the model's config (devices/*_config.h,
// flash-sim/flash_config.h, tpm-sim/tpm_config.h). The board assembly keeps
// the list of the devices it builds (hw-models/board_devices.h); the
// board-file parser, the scenario parser's power-cut device list, the
// device table of docs/devices.md and the device and timing tables of
// docs/board-file.md are made from it. No SystemC: a duration is held in
// picoseconds, the SystemC kernel's resolution, and devkit/sim_time.h's
// figure_time() turns it into the sc_time the models charge.
#pragma once
#include <cstddef>
#include <cstdint>

namespace trustsim {

// How a timing figure is written in a board file, and what its value counts.
enum class FigureUnit {
  kDuration,   // picoseconds; written "5 ms"
  kFrequency,  // Hz; written "50 MHz"
  kRate,       // bytes per second; written "105 MB/s"
  kBaud,       // bits per second on a UART line; written as a plain number
};

// One datasheet figure of a device: its default, and where that comes from.
// A board file may override it under devices.<board_key>.<key>; then the
// board file's value counts, and its `source:` names where it comes from.
struct TimingFigure {
  const char* key;  // its board-file key under devices.<board_key>
  FigureUnit unit;
  uint64_t value;       // in the unit's base (ps, Hz, B/s, baud); never 0
  const char* meaning;  // what the model charges it for
  const char* source;   // part and datasheet section/table, or "estimate: why"
};

struct DeviceInfo {
  const char* name;       // the instance: bus map, traces, scenarios ("nvram")
  const char* board_key;  // its section under `devices:` in the board file
  bool required;          // a board file must describe it
  // State-changing operations a power-loss fault can cut (a scenario's
  // `power-loss: {device: NAME}`, campaign `devices:`).
  bool power_cuts;
  const char* faults;                    // the typed faults a scenario arms on it, in scenario words ("" if none)
  const char* model;                     // the model's header
  const char* doc;                       // where its behaviour is specified
  const char* part;                      // the part it follows (the board file names the exact one and its datasheet)
  const char* window;                    // the bus range it takes, in words
  const TimingFigure* timing = nullptr;  // its timing figures, in board-file order
  size_t timing_count = 0;

  // Its figure with board-file key `key`, or nullptr.
  const TimingFigure* figure(const char* key) const;
};

}  // namespace trustsim
