#include "hw-models/env_switch.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

namespace trustsim {

namespace {

// Names a value the setting does not know, once per setting.
void tell_once(const char* name, const char* value, const std::string& expected, const std::string& fallback) {
  static std::mutex m;
  static std::set<std::string> told;
  std::lock_guard<std::mutex> lock(m);
  if (told.insert(name).second)
    fprintf(stderr, "trustsim: %s=%s: expected %s; using the default (%s)\n", name, value, expected.c_str(),
            fallback.c_str());
}

}  // namespace

bool env_switch(const char* name, bool fallback) {
  const char* v = getenv(name);
  if (!v || !*v) return fallback;
  if (!strcmp(v, "0")) return false;
  if (!strcmp(v, "1")) return true;
  tell_once(name, v, "0 or 1", fallback ? "1" : "0");
  return fallback;
}

std::string env_choice(const char* name, std::initializer_list<const char*> choices, const char* fallback) {
  const char* v = getenv(name);
  if (!v || !*v) return fallback;
  std::string expected;
  size_t i = 0;
  for (const char* c : choices) {
    if (!strcmp(v, c)) return c;
    expected += std::string(i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + c;
    ++i;
  }
  tell_once(name, v, expected, fallback);
  return fallback;
}

}  // namespace trustsim
