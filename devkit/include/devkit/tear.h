// Tearing: which of the changes of an interrupted operation happened. One
// function for every model (NVRAM page write, NOR program/erase, NAND
// program/erase) and every host-side test double (tests/common), so "torn"
// means the same thing everywhere. No SystemC: firmware-side tests use it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "devkit/seeded_rng.h"

namespace trustsim {

enum class TearPattern {
  // Each change happens with probability `fraction`, one draw of the
  // generator per change, in order (what the models do: cells of a page do
  // not change in address order).
  kScattered,
  // The first round(fraction * n) changes happen, the rest do not (a part
  // that programs in address order); no draws.
  kPrefix,
};

// Of `n` changes (bits or bytes, in the caller's order), which ones an
// interrupted operation made. Whenever n >= 2 at least one change happens
// and at least one does not: a torn operation is never indistinguishable
// from "before" or "after". For kScattered the fix-up costs one more draw.
std::vector<bool> choose_torn(SeededRng& rng, size_t n, double fraction, TearPattern pattern = TearPattern::kScattered);

// The instant inside an operation at which an armed torn cut fires, as a
// fraction of its duration in [0.001, 0.999], drawn from `rng`.
inline double torn_instant(SeededRng& rng) { return double(rng.below(999) + 1) / 1000.0; }

}  // namespace trustsim
