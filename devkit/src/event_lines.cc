#include "devkit/event_lines.h"

#include <algorithm>

namespace trustsim {

void EventLines::raise(uint32_t type, const sc_core::sc_time& at) {
  lines_[type].push_back(at);
  raised_.notify(sc_core::SC_ZERO_TIME);
}

void EventLines::acknowledge(uint32_t type, const sc_core::sc_time& now) { take_due(type, now); }

bool EventLines::take_due(uint32_t type, const sc_core::sc_time& now) {
  auto it = lines_.find(type);
  if (it == lines_.end()) return false;
  auto& v = it->second;
  auto due = std::remove_if(v.begin(), v.end(), [&](const sc_core::sc_time& t) { return t <= now; });
  bool any = due != v.end();
  v.erase(due, v.end());
  return any;
}

bool EventLines::next(uint32_t type, sc_core::sc_time* at) const {
  auto it = lines_.find(type);
  if (it == lines_.end() || it->second.empty()) return false;
  *at = *std::min_element(it->second.begin(), it->second.end());
  return true;
}

void EventLines::clear() {
  for (auto& [type, v] : lines_) v.clear();
}

}  // namespace trustsim
