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

}  // namespace trustsim::datetime
