// Calendar arithmetic of the board's RTC (common/src/datetime.cc): to_unix
// is the inverse of from_unix on every day of four centuries, month lengths
// follow the Gregorian leap rule, and the long form names the weekday.
#include <gtest/gtest.h>

#include <string>

#include "trustsim/datetime.h"

namespace dt = trustsim::datetime;

TEST(Datetime, ToUnixInvertsFromUnixOnEveryDay) {
  // 1970-01-01 .. 2370-01-01, at a time of day that moves with the day.
  for (uint64_t day = 0; day < 146097; ++day) {
    uint64_t t = day * 86400 + (day * 7919) % 86400;
    dt::Civil c = dt::from_unix(t);
    ASSERT_EQ(dt::to_unix(c), t) << "day " << day;
    ASSERT_GE(c.day, 1u);
    ASSERT_LE(c.day, dt::days_in_month(c.year, c.month)) << c.year << "-" << c.month;
  }
}

TEST(Datetime, MonthLengthsFollowTheLeapRule) {
  EXPECT_EQ(dt::days_in_month(2026, 2), 28u);
  EXPECT_EQ(dt::days_in_month(2028, 2), 29u);
  EXPECT_EQ(dt::days_in_month(2100, 2), 28u);
  EXPECT_EQ(dt::days_in_month(2000, 2), 29u);
  EXPECT_EQ(dt::days_in_month(2026, 4), 30u);
  EXPECT_EQ(dt::days_in_month(2026, 12), 31u);
  EXPECT_EQ(dt::days_in_month(2026, 0), 0u);
  EXPECT_EQ(dt::days_in_month(2026, 13), 0u);
}

TEST(Datetime, LongFormNamesTheWeekday) {
  char buf[40];
  // The guide's examples: Wed Jun 5 1996 and Thu Jun 20 1996.
  EXPECT_EQ(dt::format_long(dt::to_unix(dt::Civil{1996, 6, 5, 19, 30, 0}), buf, sizeof buf), 27u);
  EXPECT_EQ(std::string(buf), "19:30:00 UTC Wed Jun 5 1996");
  dt::format_long(dt::to_unix(dt::Civil{1996, 6, 20, 2, 0, 0}), buf, sizeof buf);
  EXPECT_EQ(std::string(buf), "02:00:00 UTC Thu Jun 20 1996");
  dt::format_long(1795910400, buf, sizeof buf);  // the default board's RTC at power-on
  EXPECT_EQ(std::string(buf), "00:00:00 UTC Sun Nov 29 2026");
  EXPECT_EQ(dt::format_long(0, buf, 28), 0u);  // too small: empty, no overflow
  EXPECT_EQ(buf[0], '\0');
}
