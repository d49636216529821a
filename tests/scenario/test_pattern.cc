// Scenario console patterns (scenario/pattern.h): the matching rules the
// runner relies on, and that a pattern over a large console buffer neither
// recurses nor blows up.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "scenario/pattern.h"

namespace trustsim {
namespace {

TEST(Pattern, LeftmostMatchAndItsExtent) {
  Pattern p("rommon \\d+ > ");
  size_t pos = 99, len = 99;
  ASSERT_TRUE(p.search("boot...\nrommon 12 > rommon 13 > ", &pos, &len));
  EXPECT_EQ(pos, 8u);
  EXPECT_EQ(len, 12u);
  EXPECT_FALSE(p.search("rommon x > "));
}

TEST(Pattern, FirstAlternativeWinsAsInEcmaScript) {
  size_t pos = 0, len = 0;
  ASSERT_TRUE(Pattern("a|ab").search("xab", &pos, &len));
  EXPECT_EQ(pos, 1u);
  EXPECT_EQ(len, 1u);  // Perl/ECMAScript semantics, not POSIX longest
  ASSERT_TRUE(Pattern("a.*?c").search("abcbc", &pos, &len));
  EXPECT_EQ(len, 3u);
}

TEST(Pattern, DotStopsAtNewlineAndEscapesWork) {
  EXPECT_FALSE(Pattern("A.B").search("A\nB"));
  EXPECT_TRUE(Pattern("A(.|\\n)B").search("A\nB"));
  EXPECT_TRUE(Pattern("\\x03").search(std::string("x\x03y")));
  EXPECT_TRUE(Pattern("Version: 17\\.3\\(1r\\)\\n").search("Version: 17.3(1r)\n"));
  EXPECT_TRUE(Pattern("[0-9A-F]{600,}").search(std::string(700, 'A')));
}

TEST(Pattern, UnsupportedOrBrokenPatternsAreRefusedWithTheReason) {
  for (const char* bad : {"a(b", "(?=x)y", "(a)\\1", "x{2,1}"}) {
    try {
      Pattern p(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_FALSE(std::string(e.what()).empty()) << bad;
    }
  }
}

TEST(Pattern, LongMatchesOverLargeBuffersNeedNoStack) {
  // std::regex recursed per character here and overflowed a 1 MiB thread stack.
  std::string text(4 << 20, 'x');
  for (size_t i = 0; i < text.size(); i += 64) text[i] = '\n';
  text += "END";
  size_t pos = 1, len = 0;
  ASSERT_TRUE(Pattern("(.|\\n)*END").search(text, &pos, &len));
  EXPECT_EQ(pos, 0u);
  EXPECT_EQ(len, text.size());
  EXPECT_FALSE(Pattern("(.|\\n)*NOPE").search(text));
}

}  // namespace
}  // namespace trustsim
