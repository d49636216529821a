// The board-wide power-cut fault (no SystemC here: scenario parsing and
// tools use it too).
#pragma once
#include <cstdint>
#include <string>

namespace trustsim {

// Power fails at the state-changing operation (NVRAM page write, flash
// program or erase) whose 1-based index -- the device's operation_count()
// once that operation has started -- is `at_operation`:
//   kBefore: at its start; nothing changes in the part;
//   kAfter:  as it completes; the operation fully applied;
//   kTorn:   at a seeded instant inside it; a seeded part applied.
struct PowerCut {
  enum class Mode { kBefore, kAfter, kTorn };
  Mode mode = Mode::kBefore;
  uint64_t seed = 0;
  uint64_t at_operation = 1;
};

inline const char* power_cut_mode_name(PowerCut::Mode m) {
  switch (m) {
    case PowerCut::Mode::kBefore: return "before";
    case PowerCut::Mode::kAfter: return "after";
    case PowerCut::Mode::kTorn: return "torn";
  }
  return "?";
}

inline bool parse_power_cut_mode(const std::string& s, PowerCut::Mode* m) {
  if (s == "before") *m = PowerCut::Mode::kBefore;
  else if (s == "after") *m = PowerCut::Mode::kAfter;
  else if (s == "torn") *m = PowerCut::Mode::kTorn;
  else return false;
  return true;
}

}  // namespace trustsim
