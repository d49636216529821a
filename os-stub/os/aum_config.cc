// The Auto-Upgrade Manager's configuration: autoupgrade disk-cleanup | ida
// url | status email, show autoupgrade configuration [unknown] and debug
// autoupgrade. Built into both images (the revocation image keeps these
// lines of a startup-config). The upgrade itself is aum.cc. docs/aum.md.
#include "os.h"

namespace os {
namespace {

const char* const kCleanupNames[] = {"crashinfo", "core", "image", "irrecoverable"};
constexpr uint32_t kCleanupCount = sizeof kCleanupNames / sizeof kCleanupNames[0];

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

// HOST or HOST:PORT with a port of 1..65535.
bool valid_server(const char* s) {
  const char* p = s;
  while (host_char(*p)) ++p;
  if (p == s) return false;
  if (!*p) return true;
  if (*p != ':' || !p[1]) return false;
  uint32_t port = 0;
  for (++p; *p; ++p) {
    if (*p < '0' || *p > '9') return false;
    port = port * 10 + uint32_t(*p - '0');
    if (port > 65535) return false;
  }
  return port != 0;
}

// LOCAL@DOMAIN: letters, digits and . - _ + in LOCAL, a host name as DOMAIN.
bool valid_address(const char* s) {
  const char* at = nullptr;
  for (const char* p = s; *p; ++p) {
    if (*p == '@') {
      if (at) return false;
      at = p;
    } else if (!host_char(*p) && !(!at && (*p == '_' || *p == '+'))) {
      return false;
    }
  }
  return at && at != s && at[1] && at[1] != '.' && at[1] != '-';
}

// One text setting: `no` clears it; otherwise a value `valid` accepts and
// that fits replaces it. A refused value leaves the old one.
void set_text(char* slot, size_t cap, const cli::Args& a, const char* v, bool (*valid)(const char*),
              const char* refusal, const char* what) {
  if (a.negated) {
    slot[0] = '\0';
    return;
  }
  if (!valid(v)) {
    fw::printf(refusal, v);
    return;
  }
  size_t n = strlen(v);
  if (n >= cap) {
    fw::printf("%%Error: the %s is longer than %u characters\n", what, unsigned(cap - 1));
    return;
  }
  memcpy(slot, v, n + 1);
}

bool valid_ida_url(const char* s) { return fw::starts_with(s, "https://") || fw::starts_with(s, "http://"); }

}  // namespace

void cmd_autoupgrade(cli::CommandId id, const cli::Args& a) {
  using C = cli::CommandId;
  const char* v = a.text(id == C::kAutoupgradeIdaUrl ? cli::ArgTag::kPath : cli::ArgTag::kName);
  switch (id) {
    case C::kAutoupgradeDiskCleanup: {
      if (!a.has(cli::ArgTag::kCategory)) {  // no autoupgrade disk-cleanup
        g.aum_cleanup = 0;
        return;
      }
      uint8_t bit = uint8_t(1u << a.number(cli::ArgTag::kCategory));
      g.aum_cleanup = a.negated ? uint8_t(g.aum_cleanup & ~bit) : uint8_t(g.aum_cleanup | bit);
      return;
    }
    case C::kAutoupgradeIdaUrl:
      set_text(g.aum_ida_url, sizeof g.aum_ida_url, a, v, valid_ida_url,
               "%%Error: the IDA URL must be an http: or https: URL, not %s\n", "IDA URL");
      return;
    case C::kAutoupgradeEmailRecipient:
      set_text(g.aum_recipient, sizeof g.aum_recipient, a, v, valid_address,
               "%%Error: %s is not a mail address (LOCAL@DOMAIN; letters, digits and . - _ +)\n", "recipient address");
      return;
    case C::kAutoupgradeSmtpServer:
      set_text(g.aum_smtp_server, sizeof g.aum_smtp_server, a, v, valid_server,
               "%%Error: %s is not a server name (HOST or HOST:PORT)\n", "SMTP server name");
      return;
    default:
      return;
  }
}

size_t render_autoupgrade(char* out, size_t cap) {
  size_t n = 0;
  auto add = [&](const char* fmt, const char* arg) {
    int w = fw::snprintf(out + n, cap - n, fmt, arg);
    if (w > 0) n = n + size_t(w) < cap ? n + size_t(w) : cap - 1;
  };
  for (uint32_t i = 0; i < kCleanupCount; ++i)
    if (g.aum_cleanup & (1u << i)) add("autoupgrade disk-cleanup %s\n", kCleanupNames[i]);
  if (g.aum_ida_url[0]) add("autoupgrade ida url %s\n", g.aum_ida_url);
  if (g.aum_recipient[0]) add("autoupgrade status email recipient %s\n", g.aum_recipient);
  if (g.aum_smtp_server[0]) add("autoupgrade status email smtp-server %s\n", g.aum_smtp_server);
  return n;
}

void cmd_show_autoupgrade(const cli::Args& a) {
  if (a.has(cli::ArgTag::kUnknown)) {
    print_invalid_config();
    return;
  }
  fw::printf("Auto-Upgrade Manager configuration\n");
  fw::printf("  Disk clean-up         :");
  if (!g.aum_cleanup) fw::printf(" none");
  for (uint32_t i = 0; i < kCleanupCount; ++i)
    if (g.aum_cleanup & (1u << i)) fw::printf(" %s", kCleanupNames[i]);
  fw::printf("\n");
  if (g.aum_ida_url[0])
    fw::printf("  IDA URL               : %s\n", g.aum_ida_url);
  else
    fw::printf("  IDA URL               : %s (default)\n", kAumDefaultIdaUrl);
  fw::printf("  Status mail recipient : %s\n", g.aum_recipient[0] ? g.aum_recipient : "not configured");
  fw::printf("  Status mail server    : %s\n", g.aum_smtp_server[0] ? g.aum_smtp_server : "not configured");
  fw::printf("  Debugging             : %s\n", g.debug.autoupgrade ? "on" : "off");
}

void cmd_debug_autoupgrade(const cli::Args& a) {
  g.debug.autoupgrade = !a.negated;
  fw::printf("Auto-Upgrade Manager debugging is %s\n", a.negated ? "off" : "on");
}

}  // namespace os
