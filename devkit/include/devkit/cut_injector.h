// The one power-cut injector every device with state-changing operations
// owns (NVRAM page writes, boot-flash and NAND programs and erases). It
// counts the device's operations and tells the operation observer about
// each (campaigns pick cut points that way), holds the armed PowerLoss
// faults, decides at the start of each operation whether power fails
// before, after or inside it, derives the seeds of cuts nobody armed from
// the run seed, and writes the one "fault fired" trace line. What a cut
// does to the part's cells is the model's business; which of the changes
// happened is choose_torn() (devkit/tear.h), shared with the host-side test
// doubles.
#pragma once
#include <systemc>

#include <cstdint>
#include <vector>

#include "devkit/power_loss.h"
#include "devkit/seeded_rng.h"
#include "devkit/trace.h"

namespace trustsim {

class Device;

class CutInjector {
 public:
  // `unplanned_salt` names the device's stream of unplanned-cut seeds
  // (derive_seed(run seed, salt)); `instant_salt` is mixed into an armed
  // torn cut's seed to draw its instant (torn_generator()).
  CutInjector(Device& device, DeviceTrace& trace, uint64_t unplanned_salt, uint64_t instant_salt);
  CutInjector(const CutInjector&) = delete;
  CutInjector& operator=(const CutInjector&) = delete;

  // State-changing operations started since construction: the index a
  // PowerLoss refers to.
  uint64_t operation_count() const { return operations_; }
  // Throws std::invalid_argument for an operation already started.
  void arm(const PowerLoss& cut);
  void disarm_all() { armed_.clear(); }
  // Unplanned cuts (power removed, a reset) tear with seeds from the run
  // seed; set_unplanned_base() sets the base itself (device tests).
  void set_run_seed(uint64_t run_seed) { unplanned_base_ = derive_seed(run_seed, unplanned_salt_); }
  void set_unplanned_base(uint64_t base) { unplanned_base_ = base; }

  // What happens to the operation that has just begun.
  struct Decision {
    uint64_t index = 0;  // its operation_count()
    bool armed = false;  // a PowerLoss was armed for it
    PowerLoss::Mode mode = PowerLoss::Mode::kBefore;
    uint64_t seed = 0;
    bool before() const { return armed && mode == PowerLoss::Mode::kBefore; }
    bool after() const { return armed && mode == PowerLoss::Mode::kAfter; }
    bool torn() const { return armed && mode == PowerLoss::Mode::kTorn; }
    PowerLoss fault() const { return PowerLoss{mode, seed, index}; }
  };
  // A state-changing operation starts: the observer hears of it with the
  // index it gets, it is counted, and the cut armed for it is taken.
  Decision begin();

  // An armed torn cut's generator: its first draw (torn_instant()) is the
  // instant inside the operation; a model may keep drawing from it.
  SeededRng torn_generator(const Decision& d) const { return SeededRng(d.seed ^ instant_salt_); }
  // The instant an armed torn cut fires inside an operation running from
  // `start` for `duration`.
  sc_core::sc_time torn_at(const Decision& d, const sc_core::sc_time& start, const sc_core::sc_time& duration) const;
  // The seed of a cut nobody armed, fixed by the run (base, operation
  // index, time into the operation), so the same run tears the same cells.
  uint64_t unplanned_seed(uint64_t index, const sc_core::sc_time& elapsed) const {
    return mix_seed(unplanned_base_ ^ mix_seed(index) ^ elapsed.value());
  }
  // The share of an interrupted operation that happened: the time elapsed,
  // at least 0.001 for an armed cut, at most 0.999.
  static double elapsed_fraction(const sc_core::sc_time& elapsed, const sc_core::sc_time& duration, bool armed);

  // The trace line of a cut that fires now (at `addr` of the device).
  void record_fired(const Decision& d, uint64_t addr) const;

 private:
  Device& device_;
  DeviceTrace& trace_;
  uint64_t unplanned_salt_;
  uint64_t instant_salt_;
  uint64_t unplanned_base_ = 0;
  uint64_t operations_ = 0;
  std::vector<PowerLoss> armed_;
};

}  // namespace trustsim
