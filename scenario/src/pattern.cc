#include "scenario/pattern.h"

#include <re2/re2.h>

#include <stdexcept>

namespace trustsim {

Pattern::Pattern(const std::string& text) {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(64 << 20);  // room for long counted repetitions like [0-9A-F]{600,}
  auto re = std::make_shared<RE2>(text, o);
  if (!re->ok()) throw std::invalid_argument(re->error());
  re_ = std::move(re);
}

bool Pattern::search(const std::string& text, size_t* pos, size_t* len) const {
  if (!re_) return false;
  re2::StringPiece m;
  if (!re_->Match(text, 0, text.size(), RE2::UNANCHORED, &m, 1)) return false;
  if (pos) *pos = size_t(m.data() - text.data());
  if (len) *len = m.size();
  return true;
}

}  // namespace trustsim
