// Console log messages and the log buffer that show logging lists
// (docs/os-image.md, "show logging"). A message is printed on the console
// with the IOS time stamp and kept in a 4 KiB buffer; when the buffer is
// full the oldest messages make room. The buffer is RAM only: a reload
// empties it, as on IOS without logging persistent.
#include "os.h"
#include "trustsim/datetime.h"

namespace os {
namespace {

namespace dt = trustsim::datetime;

constexpr size_t kLogSize = 4096;
char g_log[kLogSize];
size_t g_log_len;
uint32_t g_logged, g_dropped;

// "*Nov 29 00:00:05.123: " into out.
int format_stamp(char* out, size_t cap) {
  dt::Civil c = dt::from_unix(fw::rtc_seconds());
  return fw::snprintf(out, cap, "*%s %2u %02u:%02u:%02u.%03lu: ", dt::month_abbrev(c.month), c.day, c.hour, c.minute,
                      c.second, uint64_t(fw::uptime_ns() / 1000000 % 1000));
}

// Drops whole lines from the front until `need` more bytes fit.
void make_room(size_t need) {
  size_t cut = 0;
  while (g_log_len - cut + need > kLogSize && cut < g_log_len) {
    while (cut < g_log_len && g_log[cut] != '\n') ++cut;
    if (cut < g_log_len) ++cut;
    ++g_dropped;
  }
  memmove(g_log, g_log + cut, g_log_len - cut);
  g_log_len -= cut;
}

}  // namespace

void log_stamp() {
  char s[40];
  format_stamp(s, sizeof s);
  fw::puts(s);
}

void log_message(const char* text) {
  char line[400];
  int n = format_stamp(line, sizeof line);
  if (n < 0) n = 0;
  n += fw::snprintf(line + n, sizeof line - size_t(n), "%s\n", text);
  size_t len = strlen(line);
  fw::puts(line);
  ++g_logged;
  if (len > kLogSize) return;
  make_room(len);
  memcpy(g_log + g_log_len, line, len);
  g_log_len += len;
}

void cmd_show_logging() {
  fw::printf("Syslog logging: enabled (%u messages dropped, 0 flushes, 0 overruns)\n", g_dropped);
  fw::printf("    Console logging: level debugging, %u messages logged\n", g_logged);
  fw::printf("    Buffer logging:  level debugging, %u messages logged\n\n", g_logged);
  fw::printf("Log Buffer (%u bytes):\n", unsigned(kLogSize));
  fw::write(g_log, g_log_len);
}

}  // namespace os
