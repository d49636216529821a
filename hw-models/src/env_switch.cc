#include "hw-models/env_switch.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

namespace trustsim {

bool env_switch(const char* name, bool fallback) {
  const char* v = getenv(name);
  if (!v || !*v) return fallback;
  if (!strcmp(v, "0")) return false;
  if (!strcmp(v, "1")) return true;
  static std::mutex m;
  static std::set<std::string> told;
  std::lock_guard<std::mutex> lock(m);
  if (told.insert(name).second)
    fprintf(stderr, "trustsim: %s=%s: expected 0 or 1; using the default (%d)\n", name, v, fallback ? 1 : 0);
  return fallback;
}

}  // namespace trustsim
