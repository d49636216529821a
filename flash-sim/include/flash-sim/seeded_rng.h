// The seeded generator every fault model uses (splitmix64): one
// implementation, so the same seed tears the same bits in every model and
// on every machine.
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

}  // namespace trustsim
