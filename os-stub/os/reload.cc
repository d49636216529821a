// Scheduled reloads: reload in [hh:]mm, reload at hh:mm [day month],
// reload cancel, show reload. The schedule runs on the board's RTC (virtual
// time): the command prompt waits for a key with a timeout that ends at the
// next warning or at the reload, so hours of board time pass in moments of
// wall time while nobody types. docs/os-image.md, "Scheduled reloads".
#include "os.h"
#include "trustsim/datetime.h"

namespace os {
namespace {

namespace dt = trustsim::datetime;

constexpr uint64_t kNs = 1000000000ull;
// Warnings before the reload, in seconds (IOS warns at these marks).
constexpr uint64_t kWarnings[] = {3600, 1800, 300, 60};

struct Schedule {
  bool active;
  uint64_t at_rtc;     // RTC second of the reload
  uint64_t at_uptime;  // the same instant on the uptime clock (ns)
  uint32_t warned;     // warnings printed so far (index into kWarnings)
  bool upgrade;        // scheduled by the Auto-Upgrade Manager
} g_sched;

const char* reason() { return g_sched.upgrade ? "Auto upgrade" : "Reload Command"; }

// "2 hours and 25 minutes", "10 minutes", "1 hour", "0 minutes" (rounded down).
void print_span(uint64_t seconds) {
  uint64_t minutes = seconds / 60, hours = minutes / 60;  // whole minutes, as IOS counts down
  minutes %= 60;
  if (hours) fw::printf("%lu hour%s", hours, hours == 1 ? "" : "s");
  if (hours && minutes) fw::printf(" and ");
  if (minutes || !hours) fw::printf("%lu minute%s", minutes, minutes == 1 ? "" : "s");
}

void banner(const char* text) { fw::printf("\n\n***\n*** --- %s ---\n***\n\n", text); }

// Skips the warnings whose mark has already passed (a short delay).
uint32_t first_warning(uint64_t left) {
  uint32_t i = 0;
  while (i < sizeof kWarnings / sizeof kWarnings[0] && kWarnings[i] >= left) ++i;
  return i;
}

// Arms the schedule for RTC second `at` and logs it.
void arm(uint64_t at, bool upgrade) {
  uint64_t up = fw::uptime_ns();
  uint64_t now = fw::rtc_seconds();  // the questions took time
  if (now > at) at = now;
  g_sched = Schedule{true, at, up + (at - now) * kNs, first_warning(at - now), upgrade};
  char when[40], from[40], text[160];
  dt::format_long(at, when, sizeof when);
  dt::format_long(now, from, sizeof from);
  fw::snprintf(text, sizeof text,
               "%%SYS-5-SCHEDULED_RELOAD: Reload requested for %s at %s by console. Reload Reason: %s.", when, from,
               reason());
  log_message(text);
}

// Asks, then schedules a reload `delay` seconds from now.
void schedule(uint64_t now, uint64_t delay, bool at_form) {
  uint64_t at = now + delay;
  char when[40];
  dt::format_long(at, when, sizeof when);
  if (at_form) {
    fw::printf("Reload scheduled for %s (in ", when);
    print_span(delay);
    fw::printf(")\n");
  } else {
    fw::printf("Reload scheduled in ");
    print_span(delay);
    fw::printf(" by console\n");
  }
  fw::printf("Reload reason: Reload Command\n");
  offer_save();
  if (!confirm("Proceed with reload? [confirm]")) return;
  arm(at, false);
}

[[noreturn]] void reload_now() {
  fw::printf("\nReload Requested by console. Reload Reason: %s.\n", reason());
  fw::flush();
  fw::reset();
}

}  // namespace

void cmd_reload_in(const cli::Args& a) {
  uint64_t minutes = a.number(cli::ArgTag::kValue);
  schedule(fw::rtc_seconds(), minutes * 60, false);
}

void cmd_reload_at(const cli::Args& a) {
  uint64_t now = fw::rtc_seconds();
  uint32_t hhmm = a.number(cli::ArgTag::kValue);
  dt::Civil c = dt::from_unix(now);
  c.hour = hhmm / 60;
  c.minute = hhmm % 60;
  c.second = 0;
  bool dated = a.has(cli::ArgTag::kDay);
  if (dated) {
    unsigned month = a.number(cli::ArgTag::kMonth) + 1, day = a.number(cli::ArgTag::kDay);
    // The next such date: this year, or next year if it has passed.
    dt::Civil d = c;
    d.month = month;
    d.day = day;
    if (day > dt::days_in_month(d.year, month) || dt::to_unix(d) <= now) ++d.year;
    if (day > dt::days_in_month(d.year, month)) {
      fw::printf("%%Error: %s %u is not a date\n", dt::month_abbrev(month), day);
      return;
    }
    c = d;
  }
  uint64_t at = dt::to_unix(c);
  if (!dated && at <= now) at += 86400;  // today's hh:mm has passed: tomorrow
  if (at <= now) {
    fw::printf("%%Error: the reload time has passed\n");
    return;
  }
  constexpr uint64_t kMaxAhead = 24ull * 86400;  // IOS schedules at most 24 days ahead
  if (at - now > kMaxAhead) {
    fw::printf("%%Error: a reload can be scheduled at most 24 days ahead\n");
    return;
  }
  schedule(now, at - now, true);
}

void cmd_reload_cancel() {
  if (!g_sched.active) {
    fw::printf("%%No reload is scheduled.\n");
    return;
  }
  cancel_scheduled_reload();
}

void cancel_scheduled_reload() {
  g_sched.active = false;
  banner("SHUTDOWN ABORTED");
  char now[40], text[120];
  dt::format_long(fw::rtc_seconds(), now, sizeof now);
  fw::snprintf(text, sizeof text, "%%SYS-5-SCHEDULED_RELOAD_CANCELLED:  Scheduled reload cancelled at %s", now);
  log_message(text);
}

bool upgrade_reload_pending() { return g_sched.active && g_sched.upgrade; }

void schedule_upgrade_reload(uint64_t delay, bool at_form, const char* image) {
  g_sched.active = false;  // an upgrade replaces any reload scheduled before
  g_sched.upgrade = true;
  if (delay == 0) reload_now();
  uint64_t now = fw::rtc_seconds(), at = now + delay;
  char when[40];
  dt::format_long(at, when, sizeof when);
  fw::printf("Reload scheduled for %s (in ", when);
  print_span(delay);
  fw::printf(") with image -\n%s by console\nReload reason: Auto upgrade\n", image);
  dt::Civil c = dt::from_unix(at);
  if (at_form)
    fw::printf("Device will WARM UPGRADE at %02u:%02u:%02u\n", c.hour, c.minute, c.second);
  else
    fw::printf("Device will WARM UPGRADE in %lu:%02lu:%02lu\n", delay / 3600, delay / 60 % 60, delay % 60);
  fw::printf("To cancel the upgrade, enter the command \"upgrade automatic abortversion\"\n");
  arm(at, true);
}

void cmd_show_reload() {
  if (!g_sched.active) {
    fw::printf("No reload is scheduled.\n");
    return;
  }
  uint64_t now = fw::rtc_seconds();
  char when[40];
  dt::format_long(g_sched.at_rtc, when, sizeof when);
  fw::printf("Reload scheduled for %s (in ", when);
  print_span(g_sched.at_rtc > now ? g_sched.at_rtc - now : 0);
  fw::printf(") by console\nReload reason: %s\n", reason());
}

uint64_t reload_wait_ns() {
  if (!g_sched.active) return 0;
  uint64_t next = g_sched.at_uptime;
  if (g_sched.warned < sizeof kWarnings / sizeof kWarnings[0]) next -= kWarnings[g_sched.warned] * kNs;
  uint64_t up = fw::uptime_ns();
  return next > up ? next - up : 1;
}

void reload_tick() {
  if (!g_sched.active) return;
  uint64_t up = fw::uptime_ns();
  if (up >= g_sched.at_uptime) {
    g_sched.active = false;
    banner("SHUTDOWN NOW");
    fw::printf("Reload Requested by console. Reload Reason: %s.\n", reason());
    fw::flush();
    fw::reset();
    return;
  }
  uint32_t printed = g_sched.warned;
  while (g_sched.warned < sizeof kWarnings / sizeof kWarnings[0] &&
         up >= g_sched.at_uptime - kWarnings[g_sched.warned] * kNs)
    ++g_sched.warned;
  if (g_sched.warned != printed) {
    uint64_t left = kWarnings[g_sched.warned - 1];
    char text[32];
    fw::snprintf(text, sizeof text, "SHUTDOWN in %lu:%02lu:00", left / 3600, left / 60 % 60);
    banner(text);
  }
}

}  // namespace os
