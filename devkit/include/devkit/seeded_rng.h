// The seeded generator every fault model and test double uses (splitmix64):
// one implementation, so the same seed tears the same bits in every model
// and on every machine; and derive_seed, which turns the run seed (a
// scenario's `seed`, printed in the trace) into the seed of one random
// choice.
#pragma once
#include <cstdint>

namespace trustsim {

struct SeededRng {
  uint64_t state;
  explicit SeededRng(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
  double unit() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
};

// One splitmix64 step of `v`: a well-mixed function of it.
inline uint64_t mix_seed(uint64_t v) { return SeededRng(v).next(); }

// The seed of the random choice `salt` (a step index, a cut point, a
// device's name as ASCII) in the run with seed `run_seed`.
inline uint64_t derive_seed(uint64_t run_seed, uint64_t salt) {
  uint64_t z = run_seed * 0x9E3779B97F4A7C15ull + salt + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace trustsim
