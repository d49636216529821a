// The power-loss fault every flash model accepts: one definition, so a
// campaign arms NOR and NAND the same way.
#pragma once
#include <cstdint>

namespace trustsim {

// Board power fails at the program or erase whose 1-based index (the
// model's operation_count() once it has started) is `at_operation`:
//   kBefore: at the start, nothing changes in the array;
//   kAfter:  as it completes, the operation fully applied;
//   kTorn:   at a seeded instant inside the operation, a seeded part applied.
struct FlashPowerLoss {
  enum class Mode { kBefore, kAfter, kTorn };
  Mode mode = Mode::kBefore;
  uint64_t seed = 0;
  uint64_t at_operation = 1;
};

}  // namespace trustsim
