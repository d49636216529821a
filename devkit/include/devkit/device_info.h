// What the board, its parsers and the docs need to know about a device
// model, declared once next to the model's config (devices/*_config.h,
// flash-sim/flash_config.h, tpm-sim/tpm_config.h). The board assembly keeps
// the list of the devices it builds (hw-models/board_devices.h); the
// board-file parser, the scenario parser's power-cut device list and the
// device table of docs/devices.md are made from it. No SystemC.
#pragma once

namespace trustsim {

struct DeviceInfo {
  const char* name;       // the instance: bus map, traces, scenarios ("nvram")
  const char* board_key;  // its section under `devices:` in the board file
  bool required;          // a board file must describe it
  // State-changing operations a power-loss fault can cut (a scenario's
  // `power-loss: {device: NAME}`, campaign `devices:`).
  bool power_cuts;
  const char* faults;  // the typed faults a scenario arms on it, in scenario words ("" if none)
  const char* model;   // the model's header
  const char* doc;     // where its behaviour is specified
  const char* part;    // the part it follows (the board file names the exact one and its datasheet)
};

}  // namespace trustsim
