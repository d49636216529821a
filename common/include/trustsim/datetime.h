// Calendar formatting for the board's real-time clock (seconds since the
// Unix epoch, UTC), freestanding, for dir listings and show version.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace trustsim::datetime {

struct Civil {
  int year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
  unsigned hour, minute, second;
};

Civil from_unix(uint64_t seconds);
const char* month_abbrev(unsigned month);  // "Jan".."Dec"
// "Nov 29 2026 00:00:00 +00:00" (the IOS dir/show flash form); returns length.
size_t format_ios(uint64_t seconds, char* out, size_t cap);
// Seconds since the epoch of a civil UTC time (the inverse of from_unix).
uint64_t to_unix(const Civil& c);
// Days in `month` (1..12) of `year`; 0 for a month that does not exist.
unsigned days_in_month(int year, unsigned month);
const char* weekday_abbrev(uint64_t seconds);  // "Mon".."Sun" of that day
// "19:30:00 UTC Wed Jun 5 1996" (the reload form); returns length.
size_t format_long(uint64_t seconds, char* out, size_t cap);

}  // namespace trustsim::datetime
