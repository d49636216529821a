// Scenario files: the steps a run performs and checks (docs/scenarios.md).
#pragma once
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

namespace trustsim {

struct Step {
  enum class Kind { kPowerOn, kPowerOff, kPowerCycle, kExpect, kSend, kWait };
  Kind kind;
  std::string where;     // "file:line", for reports
  std::string text;      // expect: the pattern; send: the line typed
  std::regex pattern;    // expect
  uint64_t timeout_ps = 0;   // expect
  uint64_t duration_ps = 0;  // wait; power-cycle off time
  bool has_duration = false; // power-cycle: false = the board's off time
  bool enter = true;         // send: press Enter (CR) after the text
  std::string describe() const;
};

struct Scenario {
  std::string file;
  std::string name;
  std::string description;
  std::string board;  // board name or path; empty = "default"
  uint64_t default_timeout_ps = 30ull * 1000000000000ull;
  std::vector<Step> steps;
};

// Reads and checks a scenario; throws InputError naming file:line: field.
Scenario load_scenario(const std::string& path);

}  // namespace trustsim
