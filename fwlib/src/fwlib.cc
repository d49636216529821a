#include "fwlib/fw.h"
#include "trustsim/mem_words.h"

extern "C" {

void* memcpy(void* d, const void* s, size_t n) {
  trustsim::mem::copy_forward(static_cast<uint8_t*>(d), static_cast<const uint8_t*>(s), n);
  return d;
}

void* memmove(void* d, const void* s, size_t n) {
  auto* dp = static_cast<uint8_t*>(d);
  auto* sp = static_cast<const uint8_t*>(s);
  if (dp < sp) {
    trustsim::mem::copy_forward(dp, sp, n);  // reads each word before the stores that could reach it
  } else {
    while (n--) dp[n] = sp[n];
  }
  return d;
}

void* memset(void* d, int c, size_t n) {
  trustsim::mem::fill(static_cast<uint8_t*>(d), uint8_t(c), n);
  return d;
}

int memcmp(const void* a, const void* b, size_t n) {
  auto* ap = static_cast<const uint8_t*>(a);
  auto* bp = static_cast<const uint8_t*>(b);
  for (size_t i = 0; i < n; ++i)
    if (ap[i] != bp[i]) return ap[i] < bp[i] ? -1 : 1;
  return 0;
}

size_t strlen(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

}  // extern "C"

namespace fw {
namespace {

volatile ts_mbox_request* const g_req = reinterpret_cast<volatile ts_mbox_request*>(kMailboxBase);
volatile ts_mbox_response* const g_rsp =
    reinterpret_cast<volatile ts_mbox_response*>(kMailboxBase + TS_MBOX_RESPONSE_OFFSET);
uint32_t g_seq;
ts_boardinfo g_board;
uint64_t g_console;
uint64_t g_power;
uint64_t g_nvram;

// Console output waiting to go out: complete lines (up to g_tx_lines) go
// out together just before the next request to another register or device,
// so consecutive lines cost one TX write, not one each.
char g_tx[1024];
size_t g_tx_len;
size_t g_tx_lines;

void flush_lines();
uint64_t g_rx_timeout;
bool g_rx_timeout_known;

Xfer transfer(uint32_t op, uint64_t bus_addr, uint64_t buf, uint64_t len) {
  if (g_tx_lines && bus_addr != g_console + TS_CONSOLE_TX) flush_lines();
  ++g_seq;
  g_req->magic = TS_MBOX_MAGIC;
  g_req->seq = g_seq;
  g_req->op = op;
  g_req->flags = 0;
  g_req->bus_addr = bus_addr;
  g_req->len = len;
  g_req->dma_addr = buf;
  // Order the request before the doorbell; the board answers before the
  // instruction after the HINT executes.
  asm volatile("dmb sy\n\thint #0x2a\n\tdmb sy" ::: "memory");
  if (g_rsp->seq != g_seq) return Xfer{TS_MBOX_DEVICE_ERROR, 0};
  return Xfer{g_rsp->status, g_rsp->actual_len};
}

}  // namespace

Xfer mbox_read(uint64_t bus_addr, void* buf, uint64_t len) {
  return transfer(TS_MBOX_OP_READ, bus_addr, reinterpret_cast<uint64_t>(buf), len);
}
Xfer mbox_write(uint64_t bus_addr, const void* buf, uint64_t len) {
  return transfer(TS_MBOX_OP_WRITE, bus_addr, reinterpret_cast<uint64_t>(buf), len);
}

uint64_t reg_read64(uint64_t bus_addr) {
  uint64_t v = 0;
  mbox_read(bus_addr, &v, sizeof v);
  return v;
}
void reg_write64(uint64_t bus_addr, uint64_t v) { mbox_write(bus_addr, &v, sizeof v); }

const char* mbox_status_text(uint32_t status) {
  switch (status) {
    case TS_MBOX_OK:
      return "ok";
    case TS_MBOX_ADDRESS_ERROR:
      return "address error";
    case TS_MBOX_COMMAND_ERROR:
      return "command refused";
    case TS_MBOX_BURST_ERROR:
      return "bad length";
    case TS_MBOX_DMA_ERROR:
      return "DMA outside RAM";
    case TS_MBOX_BAD_REQUEST:
      return "malformed request";
    case TS_MBOX_DEVICE_ERROR:
      return "device error";
  }
  return "unknown status";
}

bool board_init() {
  if (mbox_read(0, &g_board, sizeof g_board).status != TS_MBOX_OK || g_board.magic != TS_BOARDINFO_MAGIC) return false;
  g_console = dev_base(TS_DEV_CONSOLE);
  g_power = dev_base(TS_DEV_POWER);
  g_nvram = dev_base(TS_DEV_NVRAM);
  return g_console != 0;
}

uint64_t dev_base(uint32_t type) {
  uint32_t n = g_board.count < TS_BOARDINFO_MAX_ENTRIES ? g_board.count : TS_BOARDINFO_MAX_ENTRIES;
  for (uint32_t i = 0; i < n; ++i)
    if (g_board.entries[i].type == type) return g_board.entries[i].base;
  return 0;
}

const ts_boardinfo& board_info() { return g_board; }

// ---- console ----
void flush() {
  g_tx_lines = 0;
  if (g_tx_len == 0 || g_console == 0) return;
  mbox_write(g_console + TS_CONSOLE_TX, g_tx, g_tx_len);
  g_tx_len = 0;
}

namespace {
// Sends the complete lines and keeps a partial last line, as a flush at each
// newline would have.
void flush_lines() {
  size_t n = g_tx_lines;
  g_tx_lines = 0;
  if (g_console) mbox_write(g_console + TS_CONSOLE_TX, g_tx, n);
  memmove(g_tx, g_tx + n, g_tx_len - n);
  g_tx_len -= n;
}
}  // namespace

void putc(char c) {
  g_tx[g_tx_len++] = c;
  if (c == '\n') g_tx_lines = g_tx_len;
  if (g_tx_len == sizeof g_tx) flush();
}

void write(const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i) putc(s[i]);
}
void puts(const char* s) { write(s, strlen(s)); }

namespace {

struct Sink {
  char* buf;  // nullptr: the console
  size_t cap;
  size_t len;
  void put(char c) {
    if (!buf) {
      fw::putc(c);
    } else if (len + 1 < cap) {
      buf[len] = c;
    }
    ++len;
  }
};

void put_number(Sink& out, uint64_t v, unsigned base, int width, char pad, bool upper, bool neg) {
  char digits[24];
  int n = 0;
  const char* set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do {
    digits[n++] = set[v % base];
    v /= base;
  } while (v);
  if (neg) {
    if (pad == '0') out.put('-');
    --width;
  }
  for (int i = n; i < width; ++i) out.put(pad);
  if (neg && pad != '0') out.put('-');
  while (n) out.put(digits[--n]);
}

void format(Sink& out, const char* fmt, va_list ap) {
  for (; *fmt; ++fmt) {
    if (*fmt != '%') {
      out.put(*fmt);
      continue;
    }
    ++fmt;
    bool left = false;
    if (*fmt == '-') {
      left = true;
      ++fmt;
    }
    char pad = ' ';
    if (*fmt == '0') {
      pad = '0';
      ++fmt;
    }
    int width = 0;
    while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
    int longs = 0;
    while (*fmt == 'l') {
      ++longs;
      ++fmt;
    }
    if (*fmt == 'z') {
      longs = 2;
      ++fmt;
    }
    switch (*fmt) {
      case 'd': {
        int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
        put_number(out, v < 0 ? uint64_t(-v) : uint64_t(v), 10, width, pad, false, v < 0);
        break;
      }
      case 'u':
      case 'x':
      case 'X': {
        uint64_t v = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
        put_number(out, v, *fmt == 'u' ? 10 : 16, width, pad, *fmt == 'X', false);
        break;
      }
      case 'p':
        put_number(out, reinterpret_cast<uint64_t>(va_arg(ap, void*)), 16, 16, '0', false, false);
        break;
      case 'c':
        out.put(char(va_arg(ap, int)));
        break;
      case 's': {
        const char* s = va_arg(ap, const char*);
        if (!s) s = "(null)";
        int n = int(strlen(s));
        if (!left)
          for (int i = n; i < width; ++i) out.put(' ');
        while (*s) out.put(*s++);
        if (left)
          for (int i = n; i < width; ++i) out.put(' ');
        break;
      }
      case '%':
        out.put('%');
        break;
      default:
        out.put('%');
        out.put(*fmt);
        if (!*fmt) return;
    }
  }
}

}  // namespace

void vprintf(const char* fmt, va_list ap) {
  Sink s{nullptr, 0, 0};
  format(s, fmt, ap);
}

void printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

int snprintf(char* buf, size_t cap, const char* fmt, ...) {
  Sink s{buf, cap, 0};
  va_list ap;
  va_start(ap, fmt);
  format(s, fmt, ap);
  va_end(ap);
  if (cap) buf[s.len < cap ? s.len : cap - 1] = '\0';
  return int(s.len);
}

size_t console_read(char* buf, size_t max, uint64_t timeout_ns) {
  flush();
  // RX_TIMEOUT keeps its value until written or power goes (and a stage does
  // not know what the one before it left there): write it only on a change.
  if (!g_rx_timeout_known || g_rx_timeout != timeout_ns) {
    reg_write64(g_console + TS_CONSOLE_RX_TIMEOUT, timeout_ns);
    g_rx_timeout = timeout_ns;
    g_rx_timeout_known = true;
  }
  Xfer x = mbox_read(g_console + TS_CONSOLE_RX, buf, max);
  return x.status == TS_MBOX_OK ? size_t(x.actual) : 0;
}

size_t readline(char* buf, size_t cap) {
  size_t len = 0;
  for (;;) {
    char c;
    if (console_read(&c, 1, 0) != 1) continue;
    if (c == '\r' || c == '\n') {
      puts("\n");
      flush();  // the echo goes out now, whatever the caller does next
      buf[len] = '\0';
      return len;
    }
    if (c == 0x08 || c == 0x7F) {
      if (len) {
        --len;
        puts("\b \b");
        flush();
      }
      continue;
    }
    if (c == 0x15) {  // Ctrl-U: erase the line
      while (len) {
        --len;
        puts("\b \b");
      }
      flush();
      continue;
    }
    if (uint8_t(c) < 0x20 || uint8_t(c) > 0x7E) continue;
    if (len + 1 < cap) {
      buf[len++] = c;
      putc(c);
      flush();
    }
  }
}

// ---- power ----
uint32_t reset_cause() { return uint32_t(reg_read64(g_power + TS_POWER_RESET_CAUSE)); }

const char* reset_cause_text(uint32_t cause) {
  switch (cause) {
    case TS_RESET_POWER_ON:
      return "PowerOn";
    case TS_RESET_SOFTWARE:
      return "LocalSoft";
    case TS_RESET_WATCHDOG:
      return "Watchdog";
  }
  return "Unknown";
}

uint64_t uptime_ns() { return reg_read64(g_power + TS_POWER_UPTIME_NS); }
void sleep_ns(uint64_t ns) { reg_write64(g_power + TS_POWER_SLEEP_NS, ns); }
uint64_t last_board_time_ns() { return g_rsp->t_done_ns; }

bool wait_event(uint32_t type, uint64_t timeout_ns) {
  uint64_t v = ts_power_wait_value(type, timeout_ns);
  if (mbox_write(g_power + TS_POWER_WAIT_EVENT, &v, sizeof v).status == TS_MBOX_OK) return true;
  sleep_ns(timeout_ns);
  return false;
}

void reset() {
  flush();
  reg_write64(g_power + TS_POWER_CONTROL, TS_POWER_CMD_RESET);
  for (;;) asm volatile("wfi");
}

void power_off() {
  flush();
  reg_write64(g_power + TS_POWER_CONTROL, TS_POWER_CMD_OFF);
  for (;;) asm volatile("wfi");
}

// ---- NVRAM ----
bool nvram_read(uint32_t offset, void* buf, uint32_t len) {
  if (!g_nvram) return false;
  Xfer x = mbox_read(g_nvram + offset, buf, len);
  return x.status == TS_MBOX_OK && x.actual == len;
}

bool nvram_write(uint32_t offset, const void* buf, uint32_t len) {
  if (!g_nvram) return false;
  Xfer x = mbox_write(g_nvram + offset, buf, len);
  return x.status == TS_MBOX_OK && x.actual == len;
}

// ---- strings ----
int strcmp(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return uint8_t(*a) - uint8_t(*b);
}

int strncmp(const char* a, const char* b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i] || !a[i]) return uint8_t(a[i]) - uint8_t(b[i]);
  }
  return 0;
}

bool starts_with(const char* s, const char* prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

bool parse_u64(const char* s, uint64_t* out) {
  uint64_t v = 0;
  unsigned base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
  }
  if (!*s) return false;
  for (; *s; ++s) {
    unsigned d;
    if (*s >= '0' && *s <= '9')
      d = unsigned(*s - '0');
    else if (base == 16 && *s >= 'a' && *s <= 'f')
      d = unsigned(*s - 'a' + 10);
    else if (base == 16 && *s >= 'A' && *s <= 'F')
      d = unsigned(*s - 'A' + 10);
    else
      return false;
    if (v > (~0ull - d) / base) return false;
    v = v * base + d;
  }
  *out = v;
  return true;
}

char* trim(char* s) {
  while (*s == ' ' || *s == '\t') ++s;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
  return s;
}

}  // namespace fw

extern "C" void fw_exception(uint64_t kind, uint64_t esr, uint64_t elr, uint64_t far) {
  fw::printf("\n*** CPU exception %lu: ESR=0x%lx ELR=0x%lx FAR=0x%lx\n", kind, esr, elr, far);
  fw::flush();
  fw::power_off();
}

// Called only if a pure virtual function is somehow invoked.
extern "C" void __cxa_pure_virtual() { fw_exception(99, 0, 0, 0); }

uint64_t fw::rtc_seconds() { return reg_read64(dev_base(TS_DEV_POWER) + TS_POWER_RTC_SECONDS); }
