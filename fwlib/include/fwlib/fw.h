// fwlib: the bare-metal runtime every firmware stage links (Boot0, ROMmon,
// the OS image): mailbox client, console, board discovery, power, NVRAM,
// formatting. No heap, no exceptions; see docs/firmware.md.
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "trustsim/mailbox_abi.h"

constexpr uint64_t kMailboxBase = TS_MBOX_BASE;

extern "C" {
void* memcpy(void* d, const void* s, size_t n);
void* memmove(void* d, const void* s, size_t n);
void* memset(void* d, int c, size_t n);
int memcmp(const void* a, const void* b, size_t n);
size_t strlen(const char* s);
[[noreturn]] void fw_jump(uint64_t entry);
[[noreturn]] void fw_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far);
int fw_main();
}

namespace fw {

// ---- mailbox ----
struct Xfer {
  uint32_t status;  // ts_mbox_status
  uint64_t actual;
};
Xfer mbox_read(uint64_t bus_addr, void* buf, uint64_t len);
Xfer mbox_write(uint64_t bus_addr, const void* buf, uint64_t len);
uint64_t reg_read64(uint64_t bus_addr);
void reg_write64(uint64_t bus_addr, uint64_t v);
const char* mbox_status_text(uint32_t status);

// ---- board discovery (call once, first) ----
bool board_init();
uint64_t dev_base(uint32_t type);  // 0 if the board has no such device
const ts_boardinfo& board_info();

// ---- console ----
void putc(char c);
void puts(const char* s);  // no newline added
void write(const char* s, size_t n);
void flush();
void printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintf(const char* fmt, va_list ap);
int snprintf(char* buf, size_t cap, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
// Reads up to `max` bytes; waits at most timeout_ns (0 = no limit).
size_t console_read(char* buf, size_t max, uint64_t timeout_ns);
// Line editor with echo: returns the line length (without the terminator).
size_t readline(char* buf, size_t cap);

// ---- power / time ----
uint32_t reset_cause();
const char* reset_cause_text(uint32_t cause);
uint64_t uptime_ns();
void sleep_ns(uint64_t ns);
// Board time (ns since the run began) when the last mailbox request
// completed, from its response: a clock reading that costs no request.
// Differences of it measure elapsed board time like uptime_ns().
uint64_t last_board_time_ns();
// Sleeps until the device of `type` (TS_DEV_*) raises its event line, or
// for timeout_ns, whichever comes first (power WAIT_EVENT,
// docs/mailbox-abi.md "Event waits"). Waking says nothing about the
// condition: read the device's status. False if the board refused the wait
// (that device raises no events), after sleeping timeout_ns instead.
bool wait_event(uint32_t type, uint64_t timeout_ns);
// The wait loop of a driver: `poll()` reads the device's status with a
// mailbox request (its response is the loop's clock) and says 1 (ready),
// 0 (not yet) or -1 (the read failed). Between polls it sleeps on the
// device's event line for the time left, so the wait costs a few requests
// whatever its length and ends the instant the device is ready.
// `sleep_first`: the caller's last request surely started an operation that
// raises the event when it ends, and every earlier event has been
// acknowledged by a status read since, so the first poll could only say "not
// yet": sleep before it (one request fewer; the timeout counts from the last
// request). Not for a command the device may refuse without raising its
// line: the wait would last its whole timeout.
enum class Wait { kReady, kTimeout, kError };
template <class Poll>
Wait wait_until(uint32_t type, uint64_t timeout_ns, Poll poll, bool sleep_first = false) {
  uint64_t start = last_board_time_ns();
  if (sleep_first) wait_event(type, timeout_ns);
  for (bool first = !sleep_first;; first = false) {
    int r = poll();
    if (r < 0) return Wait::kError;
    uint64_t now = last_board_time_ns();
    if (first) start = now;
    if (r > 0) return Wait::kReady;
    if (now - start >= timeout_ns) return Wait::kTimeout;
    wait_event(type, timeout_ns - (now - start));
  }
}
[[noreturn]] void reset();
[[noreturn]] void power_off();

// ---- NVRAM ----
bool nvram_read(uint32_t offset, void* buf, uint32_t len);
bool nvram_write(uint32_t offset, const void* buf, uint32_t len);

// ---- strings ----
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t n);
bool starts_with(const char* s, const char* prefix);
// Parses a decimal or 0x-hex number; the whole string must be consumed.
bool parse_u64(const char* s, uint64_t* out);
char* trim(char* s);

}  // namespace fw

namespace fw {
// Seconds since 1970 (UTC) from the board's real-time clock.
uint64_t rtc_seconds();
}  // namespace fw
