// Console patterns of scenario files (expect, on-console faults, sweep
// markers): RE2 syntax, matched without recursion in time linear in the
// text. std::regex recursed once per matched character, so a pattern like
// `(.|\n)*` over a few kilobytes of console output overflowed the runner's
// SystemC thread stack (docs/scenarios.md, "Patterns").
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace re2 {
class RE2;
}

namespace trustsim {

class Pattern {
 public:
  Pattern() = default;
  // Throws std::invalid_argument with RE2's reason when `text` is not a
  // valid pattern (e.g. a look-ahead or a back-reference, which RE2 does
  // not have).
  explicit Pattern(const std::string& text);

  bool empty() const { return !re_; }
  // The leftmost match in `text` (first alternative wins, as in Perl and
  // ECMAScript); its position and length when found.
  bool search(const std::string& text, size_t* pos = nullptr, size_t* len = nullptr) const;

 private:
  std::shared_ptr<const re2::RE2> re_;  // shared: steps are copied, patterns never change
};

}  // namespace trustsim
