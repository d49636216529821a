// The power-loss fault, one type for every device with state-changing
// operations (NVRAM page writes, boot-flash and NAND programs and erases).
// No SystemC here: scenario parsing, tools and host-side tests use it too.
#pragma once
#include <cstdint>
#include <string>

namespace trustsim {

// Power fails at the state-changing operation whose 1-based index -- the
// device's operation_count() once that operation has started -- is
// `at_operation`:
//   kBefore: at its start; nothing changes in the part;
//   kAfter:  as it completes; the operation fully applied;
//   kTorn:   at a seeded instant inside it; a seeded part applied.
struct PowerLoss {
  enum class Mode { kBefore, kAfter, kTorn };
  Mode mode = Mode::kBefore;
  uint64_t seed = 0;
  uint64_t at_operation = 1;
};

inline const char* power_loss_mode_name(PowerLoss::Mode m) {
  switch (m) {
    case PowerLoss::Mode::kBefore:
      return "before";
    case PowerLoss::Mode::kAfter:
      return "after";
    case PowerLoss::Mode::kTorn:
      return "torn";
  }
  return "?";
}

inline bool parse_power_loss_mode(const std::string& s, PowerLoss::Mode* m) {
  if (s == "before")
    *m = PowerLoss::Mode::kBefore;
  else if (s == "after")
    *m = PowerLoss::Mode::kAfter;
  else if (s == "torn")
    *m = PowerLoss::Mode::kTorn;
  else
    return false;
  return true;
}

// "power-loss torn at operation 3 seed=7": the detail of the one trace line
// a fired cut writes, on every device.
inline std::string describe(const PowerLoss& p) {
  return std::string("power-loss ") + power_loss_mode_name(p.mode) + " at operation " + std::to_string(p.at_operation) +
         " seed=" + std::to_string(p.seed);
}

}  // namespace trustsim
