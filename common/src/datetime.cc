#include "trustsim/datetime.h"

namespace trustsim::datetime {

Civil from_unix(uint64_t seconds) {
  // Days to civil date (proleptic Gregorian), after H. Hinnant's algorithm.
  int64_t days = int64_t(seconds / 86400);
  uint64_t rem = seconds % 86400;
  days += 719468;
  int64_t era = days / 146097;
  unsigned doe = unsigned(days - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  Civil c;
  c.day = doy - (153 * mp + 2) / 5 + 1;
  c.month = mp < 10 ? mp + 3 : mp - 9;
  c.year = int(int64_t(yoe) + era * 400 + (c.month <= 2));
  c.hour = unsigned(rem / 3600);
  c.minute = unsigned(rem / 60 % 60);
  c.second = unsigned(rem % 60);
  return c;
}

const char* month_abbrev(unsigned month) {
  static const char* const kNames[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return month >= 1 && month <= 12 ? kNames[month - 1] : "???";
}

namespace {
void put2(char* p, unsigned v) {
  p[0] = char('0' + v / 10 % 10);
  p[1] = char('0' + v % 10);
}
}  // namespace

size_t format_ios(uint64_t seconds, char* out, size_t cap) {
  // "Mon DD YYYY HH:MM:SS +00:00" = 27 characters
  if (cap < 28) {
    if (cap) out[0] = '\0';
    return 0;
  }
  Civil c = from_unix(seconds);
  const char* m = month_abbrev(c.month);
  out[0] = m[0];
  out[1] = m[1];
  out[2] = m[2];
  out[3] = ' ';
  put2(out + 4, c.day);
  out[6] = ' ';
  int y = c.year;
  for (int i = 3; i >= 0; --i) {
    out[7 + i] = char('0' + y % 10);
    y /= 10;
  }
  out[11] = ' ';
  put2(out + 12, c.hour);
  out[14] = ':';
  put2(out + 15, c.minute);
  out[17] = ':';
  put2(out + 18, c.second);
  const char* tz = " +00:00";
  for (int i = 0; i < 7; ++i) out[20 + i] = tz[i];
  out[27] = '\0';
  return 27;
}

}  // namespace trustsim::datetime
