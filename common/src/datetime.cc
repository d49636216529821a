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

uint64_t to_unix(const Civil& c) {
  // Civil date to days (the inverse of from_unix, same algorithm).
  int y = c.year - (c.month <= 2);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = unsigned(y - era * 400);
  unsigned mp = c.month > 2 ? c.month - 3 : c.month + 9;
  unsigned doy = (153 * mp + 2) / 5 + c.day - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + int64_t(doe) - 719468;
  return uint64_t(days) * 86400 + c.hour * 3600ull + c.minute * 60ull + c.second;
}

unsigned days_in_month(int year, unsigned month) {
  static const unsigned char kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 0;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

const char* weekday_abbrev(uint64_t seconds) {
  static const char* const kNames[7] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};  // 1 Jan 1970 was a Thursday
  return kNames[seconds / 86400 % 7];
}

size_t format_long(uint64_t seconds, char* out, size_t cap) {
  // "19:30:00 UTC Wed Jun 5 1996": at most 28 characters
  if (cap < 29) {
    if (cap) out[0] = '\0';
    return 0;
  }
  Civil c = from_unix(seconds);
  size_t n = 0;
  auto put = [&](const char* s) {
    while (*s) out[n++] = *s++;
  };
  auto num = [&](unsigned v, bool two) {
    if (two || v >= 10) out[n++] = char('0' + v / 10 % 10);
    out[n++] = char('0' + v % 10);
  };
  num(c.hour, true);
  out[n++] = ':';
  num(c.minute, true);
  out[n++] = ':';
  num(c.second, true);
  put(" UTC ");
  put(weekday_abbrev(seconds));
  out[n++] = ' ';
  put(month_abbrev(c.month));
  out[n++] = ' ';
  num(c.day, false);
  out[n++] = ' ';
  int y = c.year;
  for (int i = 3; i >= 0; --i) {
    out[n + size_t(i)] = char('0' + y % 10);
    y /= 10;
  }
  n += 4;
  out[n] = '\0';
  return n;
}

}  // namespace trustsim::datetime
