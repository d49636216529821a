// copy tftp:|ftp:|http:|https: ... bootflash: and back -- downloads and
// uploads through the board's transfer engine (docs/netxfer.md). A
// download goes into a bootflash: file written with
// bfs begin_write/append/commit, so a transfer that fails leaves no partial
// file and an existing file of the same name stays until the new one is
// complete. Dialog and error forms: docs/os-cli.md.
#include "os.h"
#include "trustsim/crc32.h"
#include "trustsim/netxfer_regs.h"

namespace os {
namespace {

constexpr size_t kNetChunk = 64 * 1024;  // bytes per DATA read (the DMA buffer)
constexpr uint64_t kBang = 5120;         // one '!' per 10 TFTP packets of 512 bytes, as IOS
uint8_t g_net[kNetChunk];

constexpr size_t kMaxHost = 128, kMaxPath = 256, kMaxCred = 64;

const char* net_error(uint64_t st) {
  switch (st) {
    case TS_NETXFER_BAD_URL:
      return "Invalid argument";
    case TS_NETXFER_REFUSED:
      return "Connection refused";
    case TS_NETXFER_UNKNOWN_HOST:
      return "Unknown host";
    case TS_NETXFER_NOT_FOUND:
      return "No such file or directory";
    case TS_NETXFER_DENIED:
      return "Permission denied";
    case TS_NETXFER_TIMEOUT_ERR:
      return "Timed out";
    case TS_NETXFER_TRUNCATED:
      return "Connection closed by the server before the end of the file";
    case TS_NETXFER_TOO_LARGE:
      return "File too large";
    case TS_NETXFER_NO_TRANSFER:
      return "No transfer open";
    case TS_NETXFER_UNTRUSTED:
      return "the server's certificate is not signed by a trusted CA";
    case TS_NETXFER_CERT_EXPIRED:
      return "the server's certificate has expired";
    case TS_NETXFER_CERT_NOT_YET_VALID:
      return "the server's certificate is not valid yet";
    case TS_NETXFER_CA_INVALID:
      return "a trustpoint's CA certificate does not parse";
    default:
      return "I/O error";
  }
}

// The reason phrase of the HTTP statuses a server is likely to refuse with.
const char* http_phrase(uint64_t code) {
  switch (code) {
    case 400:
      return " Bad Request";
    case 401:
      return " Unauthorized";
    case 403:
      return " Forbidden";
    case 404:
      return " Not Found";
    case 405:
      return " Method Not Allowed";
    case 409:
      return " Conflict";
    case 410:
      return " Gone";
    case 413:
      return " Content Too Large";
    case 500:
      return " Internal Server Error";
    case 501:
      return " Not Implemented";
    case 502:
      return " Bad Gateway";
    case 503:
      return " Service Unavailable";
    default:
      return "";
  }
}

bool is_http(cli::FileSystem fs) { return fs == cli::FileSystem::kHttp || fs == cli::FileSystem::kHttps; }

// `%Error VERB URL (WHY)`; an HTTP(S) server's error status is named after
// WHY: `(Permission denied: HTTP 403 Forbidden)`.
void print_net_error(const char* verb, const char* shown, uint64_t st, uint64_t base, cli::FileSystem fs) {
  uint64_t code = 0;
  if (is_http(fs) && (st == TS_NETXFER_NOT_FOUND || st == TS_NETXFER_DENIED || st == TS_NETXFER_FAILED))
    code = fw::reg_read64(base + TS_NETXFER_HTTP_CODE);
  if (code >= 400)
    fw::printf("%%Error %s %s (%s: HTTP %lu%s)\n", verb, shown, net_error(st), code, http_phrase(code));
  else
    fw::printf("%%Error %s %s (%s)\n", verb, shown, net_error(st));
}

bool copy_span(const cli::Span& s, char* out, size_t cap) {
  if (s.size >= cap) return false;
  memcpy(out, s.data, s.size);
  out[s.size] = '\0';
  return true;
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}
bool path_char(char c) { return host_char(c) || c == '/' || c == '_' || c == '~' || c == '+' || c == '='; }
bool cred_char(char c) { return host_char(c) || c == '_' || c == '~' || c == '+' || c == '='; }

// HOST or HOST:PORT (name or IPv4). Returns a reason, or nullptr if valid.
const char* check_host(const char* h) {
  if (!*h) return "missing host";
  const char* colon = nullptr;
  for (const char* p = h; *p; ++p) {
    if (*p == ':') {
      if (colon) return "bad port";
      colon = p;
    } else if (!colon && !host_char(*p)) {
      return "bad character in the host name";
    } else if (colon && !(*p >= '0' && *p <= '9')) {
      return "bad port";
    }
  }
  if (colon == h) return "missing host";
  if (colon) {
    uint64_t port = 0;
    const char* p = colon + 1;
    if (!*p) return "bad port";
    for (; *p; ++p) {
      port = port * 10 + uint64_t(*p - '0');
      if (port > 65535) return "bad port";
    }
    if (port == 0) return "bad port";
  }
  return nullptr;
}

const char* check_path(const char* p) {
  if (!*p) return "missing file name";
  for (; *p; ++p)
    if (!path_char(*p)) return "bad character in the file name";
  return nullptr;
}

const char* last_part(const char* path) {
  const char* b = path;
  for (const char* p = path; *p; ++p)
    if (*p == '/') b = p + 1;
  return b;
}

struct Remote {
  cli::FileSystem fs;  // kTftp, kFtp, kHttp or kHttps
  bool ftp;
  char host[kMaxHost];
  char path[kMaxPath];
  char user[kMaxCred];
  char password[kMaxCred];
};

// Appends `s` to out[*n..cap) with every character outside the URL's
// unreserved set as %XX (a router-formed password holds '@').
void put_escaped(const char* s, char* out, size_t cap, size_t* n) {
  static const char kHex[] = "0123456789ABCDEF";
  for (; *s && *n + 4 < cap; ++s) {
    char c = *s;
    if (host_char(c) || c == '_' || c == '~') {
      out[(*n)++] = c;
    } else {
      out[(*n)++] = '%';
      out[(*n)++] = kHex[uint8_t(c) >> 4];
      out[(*n)++] = kHex[uint8_t(c) & 15];
    }
  }
  out[*n] = '\0';
}

// scheme://[user:password@]host[:port]/path for the engine (with the
// credentials) and for the console (without them).
void build_url(const Remote& r, bool with_credentials, char* out, size_t cap) {
  const char* scheme = r.fs == cli::FileSystem::kHttps  ? "https"
                       : r.fs == cli::FileSystem::kHttp ? "http"
                       : r.ftp                          ? "ftp"
                                                        : "tftp";
  if (with_credentials && r.ftp) {
    size_t n = size_t(fw::snprintf(out, cap, "%s://", scheme));
    put_escaped(r.user, out, cap, &n);
    if (n + 1 < cap) out[n++] = ':';
    put_escaped(r.password, out, cap, &n);
    fw::snprintf(out + n, cap - n, "@%s/%s", r.host, r.path);
  } else {
    fw::snprintf(out, cap, "%s://%s/%s", scheme, r.host, r.path);
  }
}

void set_text(char* dst, const char* src) { memcpy(dst, src, strlen(src) + 1); }

// The FTP login, in the guide's order. User: the URL's, else ip ftp
// username, else anonymous. Password: the URL's, else ip ftp password, else
// USER@ROUTERNAME.DOMAIN formed by the router, where USER is the user name
// of the session -- the console has no login, so it is the FTP user name
// chosen above -- and ".DOMAIN" is left out when no ip domain name is set.
// Returns false (after the error) if the formed password does not fit.
bool choose_ftp_login(Remote& r, const char* src) {
  if (!r.user[0]) set_text(r.user, g.ftp_user[0] ? g.ftp_user : "anonymous");
  if (r.password[0]) return true;
  if (g.ftp_password[0]) {
    set_text(r.password, g.ftp_password);
    return true;
  }
  int n = fw::snprintf(r.password, sizeof r.password, "%s@%s%s%s", r.user, router_name(), g.domain_name[0] ? "." : "",
                       g.domain_name);
  if (n < 0 || size_t(n) >= sizeof r.password) {
    fw::printf("%%Error parsing %s (the password formed from the user, host and domain names is too long)\n", src);
    return false;
  }
  return true;
}

}  // namespace

void cmd_ip_ftp(const cli::Args& a, bool password) {
  char* slot = password ? g.ftp_password : g.ftp_user;
  const size_t cap = password ? sizeof g.ftp_password : sizeof g.ftp_user;
  const char* v = a.text(cli::ArgTag::kName);
  if (a.negated || !v) {
    slot[0] = '\0';
    return;
  }
  size_t n = strlen(v);
  for (size_t i = 0; i < n; ++i)
    if (!cred_char(v[i])) {
      fw::printf("%%Error: the FTP %s may hold letters, digits and . - _ ~ + = only\n",
                 password ? "password" : "user name");
      return;
    }
  if (n >= cap) {
    fw::printf("%%Error: the FTP %s is longer than %u characters\n", password ? "password" : "user name",
               unsigned(cap - 1));
    return;
  }
  memcpy(slot, v, n + 1);
}

void cmd_ip_domain_name(const cli::Args& a) {
  const char* v = a.text(cli::ArgTag::kName);
  if (a.negated || !v) {
    g.domain_name[0] = '\0';
    return;
  }
  size_t n = strlen(v);
  bool ok = n > 0 && v[0] != '.' && v[0] != '-' && v[n - 1] != '.';
  for (size_t i = 0; ok && i < n; ++i) ok = host_char(v[i]) && !(v[i] == '.' && v[i + 1] == '.');
  if (!ok) {
    fw::printf("%%Error: the domain name may hold letters, digits, - and single dots between labels only\n");
    return;
  }
  if (n >= sizeof g.domain_name) {
    fw::printf("%%Error: the domain name is longer than %u characters\n", unsigned(sizeof g.domain_name - 1));
    return;
  }
  memcpy(g.domain_name, v, n + 1);
}

void cmd_ping(const cli::Args& a) {
  const char* host = a.text(cli::ArgTag::kName);
  uint64_t base = fw::dev_base(TS_DEV_NETXFER);
  size_t n = host ? strlen(host) : 0;
  if (!base || n == 0 || n >= kMaxHost) {
    fw::printf("%% Unrecognized host or address, or protocol not running.\n\n");
    return;
  }
  fw::reg_write64(base + TS_NETXFER_NAMESERVER, g.name_server);
  if (fw::mbox_write(base + TS_NETXFER_URL, host, n).status != TS_MBOX_OK) return;
  uint64_t ok = 0, min = 0, max = 0, sum = 0;
  for (int i = 0; i < 5; ++i) {
    uint64_t t0 = fw::uptime_ns();
    fw::reg_write64(base + TS_NETXFER_CTRL, TS_NETXFER_CMD_PING);
    uint64_t st = fw::reg_read64(base + TS_NETXFER_STATUS);
    uint64_t ms = (fw::uptime_ns() - t0) / 1000000;
    if (st != TS_NETXFER_END && st != TS_NETXFER_TIMEOUT_ERR) {
      fw::printf("%% Unrecognized host or address, or protocol not running.\n\n");
      return;
    }
    if (i == 0) {
      uint64_t ip = fw::reg_read64(base + TS_NETXFER_ADDRESS);
      fw::printf(
          "Type escape sequence to abort.\nSending 5, 100-byte ICMP Echos to %lu.%lu.%lu.%lu, timeout is 2 "
          "seconds:\n",
          ip >> 24 & 255, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
    }
    fw::putc(st == TS_NETXFER_END ? '!' : '.');
    fw::flush();
    if (st != TS_NETXFER_END) continue;
    if (!ok || ms < min) min = ms;
    if (ms > max) max = ms;
    sum += ms;
    ++ok;
  }
  fw::printf("\nSuccess rate is %lu percent (%lu/5)", ok * 20, ok);
  if (ok) fw::printf(", round-trip min/avg/max = %lu/%lu/%lu ms", min, sum / ok, max);
  fw::printf("\n");
}

void cmd_ip_name_server(const cli::Args& a) {
  const char* v = a.text(cli::ArgTag::kName);
  if (a.negated) {
    g.name_server = 0;
    return;
  }
  uint32_t ip = 0, part = 0, parts = 0, digits = 0;
  bool ok = v != nullptr;
  for (const char* p = v; ok && p && *p; ++p) {
    if (*p >= '0' && *p <= '9' && digits < 3) {
      part = part * 10 + uint32_t(*p - '0');
      ++digits;
    } else if (*p == '.' && digits && parts < 3) {
      ok = part <= 255;
      ip = ip << 8 | part;
      part = digits = 0;
      ++parts;
    } else {
      ok = false;
    }
  }
  ok = ok && parts == 3 && digits && part <= 255;
  ip = ip << 8 | part;
  if (!ok || ip == 0) {
    fw::printf("%%Error: the name server must be an IPv4 address A.B.C.D\n");
    return;
  }
  g.name_server = ip;
}

namespace {

constexpr size_t kShownCap = kMaxHost + kMaxPath + 16;

// The checks every remote URL gets before the engine sees it: no
// credentials except on ftp:, allowed characters, the FTP login, the host and
// the path. Sets `shown` (the URL without credentials). Prints the error.
bool check_remote(Remote& r, const char* text, const char* scheme, char* shown) {
  if (!r.ftp && (r.user[0] || r.password[0])) {
    fw::printf("%%Error parsing %s (%s takes no user name or password)\n", text, scheme);
    return false;
  }
  for (const char* p = r.user; *p; ++p)
    if (!cred_char(*p)) return fw::printf("%%Error parsing %s (bad character in the user name)\n", text), false;
  for (const char* p = r.password; *p; ++p)
    if (!cred_char(*p)) return fw::printf("%%Error parsing %s (bad character in the password)\n", text), false;
  if (r.ftp && !choose_ftp_login(r, text)) return false;
  if (const char* why = check_host(r.host)) {
    fw::printf("%%Error parsing %s%s%s%s (%s)\n", scheme, r.host[0] ? "//" : "", r.host, r.host[0] ? "/" : "", why);
    return false;
  }
  build_url(r, false, shown, kShownCap);
  if (const char* why = check_path(r.path)) {
    fw::printf("%%Error parsing %s (%s)\n", shown, why);
    return false;
  }
  return true;
}

// The remote side of a copy: `text` is tftp:/ftp: (u parsed). Asks for the
// parts the URL leaves out (and, per file prompt, confirms the ones it has):
// the file is the "Source filename" of a download, the "Destination
// filename" of an upload, whose default is `local` when the URL names none.
// Checks everything, picks the FTP login and sets `shown` (the URL without
// credentials). Returns false after the error.
bool remote_from(const char* text, const cli::Url& u, bool upload, const char* local, Remote& r, char* shown) {
  r.fs = u.fs;
  r.ftp = u.fs == cli::FileSystem::kFtp;
  const char* scheme = cli::fs_prefix(u.fs);
  const char* file_label = upload ? "Destination filename" : "Source filename";
  if (!copy_span(u.host, r.host, sizeof r.host) || !copy_span(u.path, r.path, sizeof r.path) ||
      !copy_span(u.user, r.user, sizeof r.user) || !copy_span(u.password, r.password, sizeof r.password)) {
    fw::printf("%%Error parsing %s (Name too long)\n", text);
    return false;
  }
  if (u.host.size == 0 && u.path.size == 0) {
    // `copy tftp: bootflash:` / `copy bootflash:x tftp:`: ask for the parts.
    char answer[kMaxPath], question[kMaxPath + 32];
    ask("Address or name of remote host []? ", answer, sizeof answer);
    const char* h = fw::trim(answer);
    if (strlen(h) >= sizeof r.host) {
      fw::printf("%%Error parsing %s (host name too long)\n", text);
      return false;
    }
    memcpy(r.host, h, strlen(h) + 1);
    const char* dflt = upload ? local : "";
    fw::snprintf(question, sizeof question, "%s [%s]? ", file_label, dflt);
    ask(question, answer, sizeof answer);
    const char* p = fw::trim(answer);
    while (*p == '/') ++p;
    if (!*p) p = dflt;
    if (strlen(p) >= sizeof r.path) {
      fw::printf("%%Error parsing %s (file name too long)\n", text);
      return false;
    }
    memcpy(r.path, p, strlen(p) + 1);
  } else {
    ask_text("Address or name of remote host", r.host, sizeof r.host);  // noisy mode only
    // An upload's destination is asked in alert mode too, as IOS does.
    ask_text(file_label, r.path, sizeof r.path, !upload);
  }
  return check_remote(r, text, scheme, shown);
}

// Writes the URL with its credentials (and `query`, already escaped, after
// a '?') to the engine and gives it `cmd` (OPEN or UPLOAD); returns STATUS.
uint64_t start_transfer(uint64_t base, const Remote& r, uint64_t cmd, const char* query = nullptr) {
  char url[TS_NETXFER_MAX_URL + 1];  // credentials escaped: up to 3 bytes each
  build_url(r, true, url, sizeof url);
  size_t n = strlen(url);
  if (query) {
    size_t q = strlen(query);
    if (n + 1 + q > TS_NETXFER_MAX_URL) return TS_NETXFER_BAD_URL;
    url[n++] = '?';
    memcpy(url + n, query, q + 1);
    n += q;
  }
  fw::Xfer x = fw::mbox_write(base + TS_NETXFER_URL, url, n);
  if (x.status != TS_MBOX_OK) return TS_NETXFER_FAILED;
  fw::reg_write64(base + TS_NETXFER_NAMESERVER, g.name_server);  // host names resolve through it only
  fw::reg_write64(base + TS_NETXFER_CTRL, cmd);
  return fw::reg_read64(base + TS_NETXFER_STATUS);
}

void print_rate(uint64_t total, uint64_t t0) {
  uint64_t ns = fw::uptime_ns() - t0;
  uint64_t ms = ns / 1000000;
  fw::printf("%lu bytes copied in %lu.%03lu secs (%lu bytes/sec)\n", total, ms / 1000, ms % 1000,
             uint64_t(ns ? total * 1000000000ull / ns : 0));
}

}  // namespace

// `src` is tftp:/ftp:/http:/https: (su parsed), `dst` a local bootflash: path.
void net_copy(const char* src, const cli::Url& su, const char* dst, const cli::Url& du) {
  Remote r{};
  char shown[kShownCap];
  if (!remote_from(src, su, false, "", r, shown)) return;
  if (!bootflash_mounted()) return;

  // Destination name: bootflash:NAME, or the source's last part.
  char to[bfs::kMaxNameLen + 1];
  if (du.path.size == 0 || (du.path.size == 1 && du.path.data[0] == '/')) {
    const char* b = last_part(r.path);
    size_t n = strlen(b);
    if (n == 0 || n > bfs::kMaxNameLen) {
      fw::printf("%%Error: %s: no usable destination file name\n", shown);
      return;
    }
    memcpy(to, b, n + 1);
  } else if (!local_name(dst, to, sizeof to)) {
    return;
  }
  if (!ask_name("Destination filename", to, sizeof to)) return;
  bfs::FileInfo fi;
  if (bfs::stat(g.fs, to, &fi) == bfs::Status::kOk && !overwrite_ok()) return;

  uint64_t base = fw::dev_base(TS_DEV_NETXFER);
  if (!base) {
    fw::printf("%%Error opening %s (no management transfer engine on this board)\n", shown);
    return;
  }
  // TFTP: the `Loading` line carries the `!`; FTP and HTTP(S): they follow on this line.
  const bool tftp = r.fs == cli::FileSystem::kTftp;
  fw::printf("Accessing %s...", shown);
  if (tftp) fw::putc('\n');
  fw::flush();
  uint64_t t0 = fw::uptime_ns();
  // https: the engine trusts exactly the CA certificates of the trustpoints.
  if (r.fs == cli::FileSystem::kHttps) give_trusted_cas(base);
  uint64_t st = start_transfer(base, r, TS_NETXFER_CMD_OPEN);
  fw::Xfer x;
  if (st != TS_NETXFER_OK) {
    if (!tftp) fw::putc('\n');
    print_net_error("opening", shown, st, base, r.fs);
    return;
  }
  if (tftp) fw::printf("Loading %s from %s (via GigabitEthernet0): ", r.path, r.host);
  bfs::Status fs_st = bfs::begin_write(g.fs, to, uint32_t(fw::rtc_seconds()));
  uint64_t total = 0, bangs = 0;
  while (fs_st == bfs::Status::kOk) {
    x = fw::mbox_read(base + TS_NETXFER_DATA, g_net, kNetChunk);
    if (x.status != TS_MBOX_OK) {
      st = TS_NETXFER_FAILED;
      break;
    }
    if (x.actual) fs_st = bfs::append(g.fs, g_net, size_t(x.actual));
    total += x.actual;
    for (; bangs < total / kBang; ++bangs) fw::putc('!');
    st = fw::reg_read64(base + TS_NETXFER_STATUS);
    if (st != TS_NETXFER_OK) break;
    if (x.actual == 0) {  // the engine promised more bytes and gave none
      st = TS_NETXFER_FAILED;
      break;
    }
  }
  if (st == TS_NETXFER_END && total % kBang) fw::putc('!');
  fw::putc('\n');
  if (fs_st != bfs::Status::kOk || st != TS_NETXFER_END) {
    fw::reg_write64(base + TS_NETXFER_CTRL, TS_NETXFER_CMD_CLOSE);
    bfs::abort(g.fs);
    if (fs_st != bfs::Status::kOk)
      fw::printf("%%Error copying %s to bootflash:/%s (%s)\n", shown, to, ios_error(fs_st));
    else
      print_net_error("reading", shown, st, base, r.fs);
    return;
  }
  fs_st = bfs::commit(g.fs);
  if (fs_st != bfs::Status::kOk) {
    fw::printf("%%Error copying %s to bootflash:/%s (%s)\n", shown, to, ios_error(fs_st));
    return;
  }
  if (!tftp)
    fw::printf("[OK - %lu/4096 bytes]\n\n", total);
  else
    fw::printf("[OK - %lu bytes]\n", total);
  print_rate(total, t0);
}

// `src` is a local bootflash: file, `dst` tftp:/ftp:/http:/https: (du
// parsed; HTTP(S) by PUT). The file
// is loaded into the staging buffer and its checksum checked, then written
// to the engine and committed: the server gets the whole file or, on a
// failure, the IOS error is printed. bootflash: is only read.
void net_upload(const char* src, const char* dst, const cli::Url& du) {
  if (!bootflash_mounted()) return;
  char from[bfs::kMaxNameLen + 1];
  if (!local_name(src, from, sizeof from)) return;
  if (g.file_prompt == cli::FilePrompt::kNoisy && !ask_name("Source filename", from, sizeof from)) return;
  Remote r{};
  char shown[kShownCap];
  if (!remote_from(dst, du, true, from, r, shown)) return;
  bfs::FileInfo fi;
  uint64_t size = 0;
  if (bfs::stat(g.fs, from, &fi) != bfs::Status::kOk || !load_file(from, &size)) {
    if (bfs::stat(g.fs, from, &fi) != bfs::Status::kOk)
      fw::printf("%%Error opening bootflash:/%s (No such file or directory)\n", from);
    return;
  }
  const uint8_t* file = reinterpret_cast<const uint8_t*>(kStaging);
  bool crc_ok = trustsim::crc32(file, size_t(size), 0) == fi.crc32;
  fw::printf("Verifying checksum for '%s' (file # %u)... %s\n", from, fi.index, crc_ok ? "OK" : "FAILED");
  if (!crc_ok) {
    fw::printf("%%Error: bootflash:/%s does not match its checksum; not uploaded\n", from);
    return;
  }
  if (g.file_prompt != cli::FilePrompt::kQuiet) {
    char answer[16];
    fw::printf("Copy '%s' from Flash to server\n  as '%s'? [yes/no] ", from, r.path);
    fw::flush();
    fw::readline(answer, sizeof answer);
    const char* a = fw::trim(answer);
    if (fw::strcmp(a, "yes") != 0 && fw::strcmp(a, "y") != 0) {
      fw::printf("%%Upload cancelled\n");
      return;
    }
  }
  uint64_t base = fw::dev_base(TS_DEV_NETXFER);
  if (!base) {
    fw::printf("%%Error opening %s (no management transfer engine on this board)\n", shown);
    return;
  }
  uint64_t t0 = fw::uptime_ns();
  // https: the server is checked against the trustpoints, as for a download.
  if (r.fs == cli::FileSystem::kHttps) give_trusted_cas(base);
  uint64_t st = start_transfer(base, r, TS_NETXFER_CMD_UPLOAD);
  if (st != TS_NETXFER_OK) {
    print_net_error("opening", shown, st, base, r.fs);
    return;
  }
  fw::printf("writing %s ", r.path);
  uint64_t sent = 0, bangs = 0;
  while (st == TS_NETXFER_OK && sent < size) {
    size_t n = size - sent < kNetChunk ? size_t(size - sent) : kNetChunk;
    if (fw::mbox_write(base + TS_NETXFER_DATA, file + sent, n).status != TS_MBOX_OK) st = TS_NETXFER_FAILED;
    if (st == TS_NETXFER_OK) st = fw::reg_read64(base + TS_NETXFER_STATUS);
    if (st != TS_NETXFER_OK) break;
    sent += n;
    for (; bangs < sent / kBang; ++bangs) fw::putc('!');
  }
  if (st == TS_NETXFER_OK) {
    fw::reg_write64(base + TS_NETXFER_CTRL, TS_NETXFER_CMD_COMMIT);
    st = fw::reg_read64(base + TS_NETXFER_STATUS);
  }
  if (st == TS_NETXFER_END && sent % kBang) fw::putc('!');
  fw::putc('\n');
  if (st != TS_NETXFER_END) {
    fw::reg_write64(base + TS_NETXFER_CTRL, TS_NETXFER_CMD_CLOSE);
    print_net_error("writing", shown, st, base, r.fs);
    return;
  }
  fw::printf("Upload to server done\n");
  print_rate(size, t0);
}

const char* net_error_text(uint64_t status) { return net_error(status); }

namespace {

// The download of net_fetch and net_ask: `src` is a tftp:/ftp:/http:/https:
// URL (http:/https: only with a query). Quiet: no Loading line and no '!';
// a full buffer then ends the transfer and keeps the first `cap` bytes.
bool fetch_into(const char* src, const char* query, bool quiet, uint8_t* buf, uint64_t cap, uint64_t* size,
                uint64_t* status) {
  *size = 0;
  *status = TS_NETXFER_BAD_URL;
  cli::Url su;
  bool parsed = cli::split_url(src, &su);
  bool web = parsed && (su.fs == cli::FileSystem::kHttp || su.fs == cli::FileSystem::kHttps);
  bool file = parsed && !query && (su.fs == cli::FileSystem::kTftp || su.fs == cli::FileSystem::kFtp);
  if (!web && !file) {
    fw::printf("%%Error: %s: only tftp:, ftp:, http: and https: images can be downloaded here\n", src);
    return false;
  }
  Remote r{};
  r.fs = su.fs;
  r.ftp = su.fs == cli::FileSystem::kFtp;
  if (!copy_span(su.host, r.host, sizeof r.host) || !copy_span(su.path, r.path, sizeof r.path) ||
      !copy_span(su.user, r.user, sizeof r.user) || !copy_span(su.password, r.password, sizeof r.password)) {
    fw::printf("%%Error parsing %s (Name too long)\n", src);
    return false;
  }
  char shown[kShownCap];
  if (!check_remote(r, src, cli::fs_prefix(su.fs), shown)) return false;
  uint64_t base = fw::dev_base(TS_DEV_NETXFER);
  if (!base) {
    fw::printf("%%Error opening %s (no management transfer engine on this board)\n", shown);
    *status = TS_NETXFER_FAILED;
    return false;
  }
  // https: the engine trusts exactly the CA certificates of the trustpoints.
  if (r.fs == cli::FileSystem::kHttps) give_trusted_cas(base);
  uint64_t st = start_transfer(base, r, TS_NETXFER_CMD_OPEN, query);
  if (st != TS_NETXFER_OK) {
    *status = st;
    fw::printf("%%Error opening %s (%s)\n", shown, net_error(st));  // never the query: it may hold a password
    return false;
  }
  if (!quiet) fw::printf("Loading %s from %s (via GigabitEthernet0): ", r.path, r.host);
  uint64_t total = 0, bangs = 0;
  bool full = false;
  for (;;) {
    uint64_t want = cap - total < kNetChunk ? cap - total : kNetChunk;
    if (want == 0) {
      full = true;
      break;
    }
    fw::Xfer x = fw::mbox_read(base + TS_NETXFER_DATA, buf + total, want);
    if (x.status != TS_MBOX_OK) {
      st = TS_NETXFER_FAILED;
      break;
    }
    total += x.actual;
    if (!quiet)
      for (; bangs < total / kBang; ++bangs) fw::putc('!');
    st = fw::reg_read64(base + TS_NETXFER_STATUS);
    if (st != TS_NETXFER_OK) break;
    if (x.actual == 0) {
      st = TS_NETXFER_FAILED;
      break;
    }
  }
  if (quiet && full) {
    fw::reg_write64(base + TS_NETXFER_CTRL, TS_NETXFER_CMD_CLOSE);
    *size = total;
    return true;
  }
  if (!quiet) {
    if (st == TS_NETXFER_END && total % kBang) fw::putc('!');
    fw::putc('\n');
  }
  if (st != TS_NETXFER_END) {
    fw::reg_write64(base + TS_NETXFER_CTRL, TS_NETXFER_CMD_CLOSE);
    *status = full ? TS_NETXFER_TOO_LARGE : st;
    if (full)
      fw::printf("%%Error reading %s (File too large: more than %lu bytes)\n", shown, cap);
    else
      fw::printf("%%Error reading %s (%s)\n", shown, net_error(st));
    return false;
  }
  if (!quiet) fw::printf("[OK - %lu bytes]\n", total);
  *size = total;
  *status = TS_NETXFER_END;
  return true;
}

}  // namespace

bool net_fetch(const char* src, uint8_t* buf, uint64_t cap, uint64_t* size, uint64_t* status) {
  return fetch_into(src, nullptr, false, buf, cap, size, status);
}

bool net_ask(const char* url, const char* query, uint8_t* buf, uint64_t cap, uint64_t* size, uint64_t* status) {
  return fetch_into(url, query, true, buf, cap, size, status);
}

void url_escape(const char* s, char* out, size_t cap, size_t* n) { put_escaped(s, out, cap, n); }

}  // namespace os
