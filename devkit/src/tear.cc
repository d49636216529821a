#include "devkit/tear.h"

#include <cmath>

namespace trustsim {

std::vector<bool> choose_torn(SeededRng& rng, size_t n, double fraction, TearPattern pattern) {
  std::vector<bool> take(n, false);
  size_t taken = 0;
  if (pattern == TearPattern::kPrefix) {
    taken = size_t(std::llround(fraction * double(n)));
    if (taken > n) taken = n;
    if (n >= 2 && taken == 0) taken = 1;
    if (n >= 2 && taken == n) taken = n - 1;
    for (size_t i = 0; i < taken; ++i) take[i] = true;
    return take;
  }
  for (size_t i = 0; i < n; ++i) {
    take[i] = rng.unit() < fraction;
    taken += take[i];
  }
  if (n >= 2 && taken == 0)
    take[rng.below(n)] = true;
  else if (n >= 2 && taken == n)
    take[rng.below(n)] = false;
  return take;
}

}  // namespace trustsim
