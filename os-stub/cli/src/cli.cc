// CLI engine: matching, help, error forms, and the default grammar.
// Rules and forms are specified in docs/os-cli.md.
#include "cli/cli.h"

namespace trustsim::cli {
namespace {

// ---- characters and strings ----

bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c + ('a' - 'A')) : c; }
// Printable ASCII and tab; anything else in a line is rejected with a caret.
bool is_acceptable(char c) { return c == '\t' || (uint8_t(c) >= 0x20 && uint8_t(c) <= 0x7E); }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  char l = to_lower(c);
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;
}

// Length of the case-insensitive common prefix of a[0..an) and b[0..bn).
size_t common_prefix(const char* a, size_t an, const char* b, size_t bn) {
  size_t i = 0;
  while (i < an && i < bn && to_lower(a[i]) == to_lower(b[i])) ++i;
  return i;
}

size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

// Writes v in decimal (hex: uppercase) into buf, returns the length.
size_t format_unsigned(uint32_t v, bool hex, char* buf) {
  char tmp[10];
  size_t n = 0;
  const uint32_t base = hex ? 16 : 10;
  do {
    uint32_t d = v % base;
    tmp[n++] = char(d < 10 ? '0' + d : 'A' + (d - 10));
    v /= base;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
  return n;
}

// ---- file systems ----

constexpr const char* kFsPrefixes[] = {
    nullptr, "bootflash:", "flash:", "nvram:", "tftp:", "ftp:", "http:", "https:", nullptr, nullptr,
};
constexpr size_t kFsCount = sizeof(kFsPrefixes) / sizeof(kFsPrefixes[0]);

// Parses the part of a remote URL after `scheme:`: empty (the OS prompts for
// host and file, as IOS does) or `//[user[:password]@]host[/path]`. On
// failure *bad is the offset of the first character that does not fit.
bool parse_remote(const char* r, size_t n, Url* out, size_t* bad) {
  if (out) out->user = out->password = out->host = out->path = Span{r + n, 0};
  if (n == 0) return true;
  if (r[0] != '/') return *bad = 0, false;
  if (n < 2 || r[1] != '/') return *bad = 1, false;
  size_t auth_end = 2;
  while (auth_end < n && r[auth_end] != '/') ++auth_end;
  size_t host_start = 2;
  for (size_t i = 2; i < auth_end; ++i)
    if (r[i] == '@') host_start = i + 1;
  if (host_start == auth_end) return *bad = host_start, false;
  if (out) {
    if (host_start > 2) {
      size_t user_end = 2;
      while (user_end < host_start - 1 && r[user_end] != ':') ++user_end;
      out->user = Span{r + 2, user_end - 2};
      if (user_end < host_start - 1) out->password = Span{r + user_end + 1, host_start - 1 - (user_end + 1)};
    }
    out->host = Span{r + host_start, auth_end - host_start};
    size_t path_start = auth_end < n ? auth_end + 1 : n;
    out->path = Span{r + path_start, n - path_start};
  }
  return true;
}

// ---- token acceptance ----

struct Accept {
  bool ok;
  size_t bad;       // on failure: characters of the token that fitted
  uint32_t number;  // on success: numeric value, or FileSystem for URLs
};

Accept accept_number(const Node& node, const char* t, size_t n) {
  uint64_t v = 0;
  bool overflow = false;
  size_t i = 0;
  for (; i < n && is_digit(t[i]); ++i) {
    v = v * 10 + uint64_t(t[i] - '0');
    if (v > 0xFFFFFFFFu) overflow = true, v = 0xFFFFFFFFu + uint64_t(1);
  }
  if (i < n) return Accept{false, i, 0};
  if (overflow || v < node.min || v > node.max) return Accept{false, 0, 0};
  return Accept{true, 0, uint32_t(v)};
}

// hh:mm (time of day, node.min == 0) or [hh:]mm (a delay, node.min == 1).
// On failure `bad` points at the part that is wrong.
Accept accept_time(const Node& node, const char* t, size_t n) {
  size_t colon = 0;
  while (colon < n && t[colon] != ':') ++colon;
  bool delay = node.min == 1;
  auto digits = [&](size_t from, size_t to, uint32_t* v) {
    if (to == from || to - from > 3) return false;
    *v = 0;
    for (size_t i = from; i < to; ++i) {
      if (!is_digit(t[i])) return false;
      *v = *v * 10 + uint32_t(t[i] - '0');
    }
    return true;
  };
  uint32_t h = 0, m = 0;
  if (colon == n) {  // no colon: minutes only, a delay
    if (!delay || !digits(0, n, &m)) return Accept{false, 0, 0};
  } else {
    if (!digits(0, colon, &h) || (!delay && h > 23)) return Accept{false, 0, 0};
    if (!digits(colon + 1, n, &m) || n - colon - 1 != 2 || m > 59) return Accept{false, colon + 1, 0};
  }
  uint32_t v = h * 60 + m;
  if (v < node.min || v > node.max) return Accept{false, 0, 0};
  return Accept{true, 0, v};
}

Accept accept_hex(const Node& node, const char* t, size_t n) {
  if (n < 1 || t[0] != '0') return Accept{false, 0, 0};
  if (n < 2 || to_lower(t[1]) != 'x') return Accept{false, 1, 0};
  uint64_t v = 0;
  bool overflow = false;
  size_t i = 2;
  for (; i < n && hex_value(t[i]) >= 0; ++i) {
    v = v * 16 + uint64_t(hex_value(t[i]));
    if (v > 0xFFFFFFFFu) overflow = true, v = 0xFFFFFFFFu + uint64_t(1);
  }
  if (i < n || i == 2) return Accept{false, i, 0};
  if (overflow || v < node.min || v > node.max) return Accept{false, 0, 0};
  return Accept{true, 0, uint32_t(v)};
}

Accept accept_url(const Node& node, const char* t, size_t n) {
  size_t colon = 0;
  while (colon < n && t[colon] != ':') ++colon;
  size_t best = 0;
  for (size_t fs = 1; fs < kFsCount; ++fs) {
    if (!kFsPrefixes[fs] || !(node.max & (1u << fs))) continue;
    const char* p = kFsPrefixes[fs];
    size_t plen = __builtin_strlen(p);
    if (colon < n && plen == colon + 1 && common_prefix(t, colon + 1, p, plen) == plen) {
      if (!is_remote(FileSystem(fs))) return Accept{true, 0, uint32_t(fs)};
      size_t bad = 0;
      if (parse_remote(t + plen, n - plen, nullptr, &bad)) return Accept{true, 0, uint32_t(fs)};
      return Accept{false, plen + bad, 0};
    }
    best = max_size(best, common_prefix(t, colon < n ? colon + 1 : n, p, plen));
  }
  if (colon == n && (node.flags & kBareName)) return Accept{true, 0, uint32_t(FileSystem::kNone)};
  return Accept{false, best, 0};
}

Accept accept_param(const Node& node, const char* t, size_t n) {
  switch (node.type) {
    case TokenType::kWord:
    case TokenType::kLine:
      return Accept{true, 0, 0};
    case TokenType::kNumber:
      return accept_number(node, t, n);
    case TokenType::kHex:
      return accept_hex(node, t, n);
    case TokenType::kUrl:
      return accept_url(node, t, n);
    case TokenType::kTime:
      return accept_time(node, t, n);
    case TokenType::kKeyword:
      break;
  }
  return Accept{false, 0, 0};
}

// ---- matching one token against the alternatives of a node ----

struct Match {
  enum Kind : uint8_t { kNone, kOne, kAmbiguous } kind;
  const Node* node;
  uint32_t number;
  size_t bad;  // kNone: offset of the first bad character in the token
};

// Keywords first: an exact keyword wins, then a unique abbreviation; two or
// more abbreviations are ambiguous. Only then parameters, in grammar order.
Match match_token(NodeList alts, const char* t, size_t n) {
  const Node* abbreviated = nullptr;
  int abbreviations = 0;
  for (uint8_t i = 0; i < alts.count; ++i) {
    const Node& k = alts.nodes[i];
    if (k.type != TokenType::kKeyword) continue;
    size_t klen = __builtin_strlen(k.text);
    if (n > klen || common_prefix(t, n, k.text, klen) != n) continue;
    if (n == klen) return Match{Match::kOne, &k, k.value, 0};
    ++abbreviations;
    abbreviated = &k;
  }
  if (abbreviations == 1) return Match{Match::kOne, abbreviated, abbreviated->value, 0};
  if (abbreviations > 1) return Match{Match::kAmbiguous, nullptr, 0, 0};
  size_t bad = 0;
  for (uint8_t i = 0; i < alts.count; ++i) {
    const Node& p = alts.nodes[i];
    if (p.type == TokenType::kKeyword) {
      bad = max_size(bad, common_prefix(t, n, p.text, __builtin_strlen(p.text)));
      continue;
    }
    Accept a = accept_param(p, t, n);
    if (a.ok) return Match{Match::kOne, &p, a.number, 0};
    bad = max_size(bad, a.bad);
  }
  return Match{Match::kNone, nullptr, 0, bad};
}

// ---- walking a line through the grammar ----

struct Walk {
  enum Status : uint8_t { kOk, kInvalid, kAmbiguous } status = kOk;
  const Node* last = nullptr;  // last matched node
  NodeList next = {nullptr, 0};
  size_t error_pos = 0;  // kInvalid: caret offset in the line
  size_t tokens = 0;
  bool in_line = false;  // `last` is a LINE that took the rest
};

// Argument texts are copied here with their NUL terminators.
struct ArgStore {
  char text[kMaxLine + kMaxArgs + 1];
  size_t used = 0;
};

void record(Args& args, ArgStore& store, const Node& node, const char* t, size_t n, uint32_t number) {
  if (node.tag == ArgTag::kNone || args.count >= kMaxArgs) return;
  Arg& a = args.items[args.count++];
  a.tag = node.tag;
  a.type = node.type;
  a.number = number;
  if (node.type == TokenType::kKeyword || store.used + n + 1 > sizeof(store.text)) {
    a.text = node.text;
    return;
  }
  char* dst = store.text + store.used;
  __builtin_memcpy(dst, t, n);
  dst[n] = '\0';
  store.used += n + 1;
  a.text = dst;
}

void walk(NodeList root, const char* line, size_t len, Args& args, ArgStore& store, Walk& w) {
  w.next = root;
  size_t pos = 0;
  for (;;) {
    while (pos < len && is_space(line[pos])) ++pos;
    if (pos >= len) return;
    size_t start = pos;
    while (pos < len && !is_space(line[pos])) ++pos;
    Match m = match_token(w.next, line + start, pos - start);
    if (m.kind == Match::kNone) {
      w.status = Walk::kInvalid;
      w.error_pos = start + m.bad;
      return;
    }
    if (m.kind == Match::kAmbiguous) {
      w.status = Walk::kAmbiguous;
      w.error_pos = start;
      return;
    }
    const Node& node = *m.node;
    if (node.flags & kNegates) args.negated = true;
    size_t end = pos;
    if (node.type == TokenType::kLine) {
      end = len;
      while (end > start && is_space(line[end - 1])) --end;
      w.in_line = true;
    }
    record(args, store, node, line + start, end - start, m.number);
    ++w.tokens;
    w.last = &node;
    w.next = node.children;
    if (w.in_line) return;
  }
}

// ---- help listings ----

struct Entry {
  const Node* node;  // nullptr: the <cr> line
  uint8_t fs;        // URL entries: which prefix this line shows
};

struct NameBuf {
  char text[32];
};

// Name shown for an entry: keyword, placeholder, URL prefix or number range.
const char* entry_name(const Entry& e, NameBuf& buf, size_t* len) {
  const char* s = "<cr>";
  if (e.node) {
    const Node& n = *e.node;
    if (n.type == TokenType::kUrl && e.fs != 0) {
      s = kFsPrefixes[e.fs];
    } else if (n.type == TokenType::kNumber || n.type == TokenType::kHex) {
      bool hex = n.type == TokenType::kHex;
      size_t k = 0;
      buf.text[k++] = '<';
      if (hex) buf.text[k++] = '0', buf.text[k++] = 'x';
      k += format_unsigned(n.min, hex, buf.text + k);
      buf.text[k++] = '-';
      if (hex) buf.text[k++] = '0', buf.text[k++] = 'x';
      k += format_unsigned(n.max, hex, buf.text + k);
      buf.text[k++] = '>';
      buf.text[k] = '\0';
      *len = k;
      return buf.text;
    } else {
      s = n.text;
    }
  }
  *len = __builtin_strlen(s);
  return s;
}

int compare_names(const char* a, size_t an, const char* b, size_t bn) {
  size_t n = an < bn ? an : bn;
  int c = __builtin_memcmp(a, b, n);
  if (c != 0) return c;
  return an < bn ? -1 : an > bn ? 1 : 0;
}

struct EntryList {
  Entry items[kMaxHelpEntries];
  size_t count = 0;
  void add(const Node* node, uint8_t fs) {
    if (count < kMaxHelpEntries) items[count++] = Entry{node, fs};
  }
  // ASCII order of the shown names, as IOS lists them.
  void sort() {
    for (size_t i = 1; i < count; ++i) {
      Entry e = items[i];
      NameBuf eb, jb;
      size_t el, jl;
      const char* en = entry_name(e, eb, &el);
      size_t j = i;
      while (j > 0) {
        const char* jn = entry_name(items[j - 1], jb, &jl);
        if (compare_names(jn, jl, en, el) <= 0) break;
        items[j] = items[j - 1];
        --j;
      }
      items[j] = e;
    }
  }
};

// Entries for the full listing of one node's alternatives.
void add_alternatives(EntryList& list, NodeList alts) {
  for (uint8_t i = 0; i < alts.count; ++i) {
    const Node& n = alts.nodes[i];
    if (n.type != TokenType::kUrl) {
      list.add(&n, 0);
      continue;
    }
    for (size_t fs = 1; fs < kFsCount; ++fs)
      if (kFsPrefixes[fs] && (n.max & (1u << fs))) list.add(&n, uint8_t(fs));
  }
}

constexpr char kSpaces[] = "                                ";

void write_spaces(Output& out, size_t n) {
  while (n > 0) {
    size_t k = n < sizeof(kSpaces) - 1 ? n : sizeof(kSpaces) - 1;
    out.write(kSpaces, k);
    n -= k;
  }
}

void write_str(Output& out, const char* s) { out.write(s, __builtin_strlen(s)); }

// Help text of an entry; "%s" in a URL node's help stands for the prefix.
void write_help(Output& out, const Entry& e) {
  if (!e.node) {
    write_str(out, "<cr>");
    return;
  }
  const char* h = e.node->help;
  if (e.node->type == TokenType::kUrl && e.fs != 0) {
    for (const char* p = h; *p; ++p) {
      if (p[0] == '%' && p[1] == 's') {
        out.write(h, size_t(p - h));
        write_str(out, kFsPrefixes[e.fs]);
        write_str(out, p + 2);
        return;
      }
    }
  }
  write_str(out, h);
}

// "  name<pad> help" lines, names padded to the longest one plus a space.
void write_table(Output& out, const EntryList& list) {
  size_t width = 0;
  for (size_t i = 0; i < list.count; ++i) {
    NameBuf b;
    size_t l;
    entry_name(list.items[i], b, &l);
    width = max_size(width, l);
  }
  for (size_t i = 0; i < list.count; ++i) {
    NameBuf b;
    size_t l;
    const char* name = entry_name(list.items[i], b, &l);
    out.write("  ", 2);
    out.write(name, l);
    write_spaces(out, width - l + 1);
    write_help(out, list.items[i]);
    out.write("\n", 1);
  }
  out.write("\n", 1);
}

// Partial-word help: the matching names, two spaces after each, wrapped
// before column 80.
void write_words(Output& out, const EntryList& list) {
  size_t column = 0;
  for (size_t i = 0; i < list.count; ++i) {
    NameBuf b;
    size_t l;
    const char* name = entry_name(list.items[i], b, &l);
    if (column > 0 && column + l + 2 > 80) {
      out.write("\n", 1);
      column = 0;
    }
    out.write(name, l);
    out.write("  ", 2);
    column += l + 2;
  }
  out.write("\n\n", 2);
}

constexpr char kInvalidInput[] = "% Invalid input detected at '^' marker.\n\n";
constexpr char kIncomplete[] = "% Incomplete command.\n\n";
constexpr char kUnrecognized[] = "% Unrecognized command\n";

// ============================================================================
// The default grammar. Syntax from the IOS XE 16.12 image-management guide;
// help texts are ours. Alternatives are listed in the order the engine tries
// parameters; `?` listings are sorted anyway.
// ============================================================================

using C = CommandId;
using T = ArgTag;
constexpr uint32_t kBootflashOnly = fs_bit(FileSystem::kBootflash) | fs_bit(FileSystem::kFlash);
constexpr uint32_t kAnyFs = kLocalFs | kRemoteFs;

// A keyword that reports an enum value under `tag` and may end command `id`.
template <typename Enum>
constexpr Node choice(const char* text, const char* help, ArgTag tag, Enum value, CommandId id = C::kNone) {
  return keyword(text, help).as(tag).with_value(uint32_t(value)).runs(id);
}
constexpr Node category(const char* text, const char* help, DebugCategory c) {
  return choice(text, help, T::kCategory, c, C::kDebugSoftwareAuthenticity);
}
// A file-name parameter on the given file systems; bare names allowed.
constexpr Node file_param(uint32_t fs_mask, const char* help, ArgTag tag, CommandId id = C::kNone) {
  return url(fs_mask, help).with_flags(kBareName).as(tag).runs(id);
}

// --- shared tails ---

// [sign [nonce <0-4294967295>]] after show platform integrity / sudi certificate.
constexpr Node nonce_value(CommandId id) {
  return number(0, 0xFFFFFFFFu, "Nonce to include in the signed output").as(T::kNonce).runs(id);
}
constexpr Node nonce(NodeList value) { return keyword("nonce", "Bind the signature to a nonce").then(value); }
constexpr Node sign(CommandId id, NodeList tail) {
  return keyword("sign", "Sign the output with the device identity key").as(T::kSign).runs(id).then(tail);
}
constexpr Node kIntegrityNonceValue[] = {nonce_value(C::kShowPlatformIntegrity)};
constexpr Node kIntegrityNonce[] = {nonce(list(kIntegrityNonceValue))};
constexpr Node kIntegritySign[] = {sign(C::kShowPlatformIntegrity, list(kIntegrityNonce))};
constexpr Node kSudiNonceValue[] = {nonce_value(C::kShowPlatformSudiCertificate)};
constexpr Node kSudiNonce[] = {nonce(list(kSudiNonceValue))};
constexpr Node kSudiSign[] = {sign(C::kShowPlatformSudiCertificate, list(kSudiNonce))};

// debug software authenticity {envelope|errors|key|revocation|show|verbose}
constexpr Node kDebugCategories[] = {
    category("envelope", "Signature envelope parsing", DebugCategory::kEnvelope),
    category("errors", "Verification failures only", DebugCategory::kErrors),
    category("key", "Key storage lookups and updates", DebugCategory::kKey),
    category("revocation", "Key revocation and replacement", DebugCategory::kRevocation),
    category("show", "The show software authenticity commands", DebugCategory::kShow),
    category("verbose", "Every step of signature verification", DebugCategory::kVerbose),
};
constexpr Node kDebugAuthenticity[] = {
    keyword("authenticity", "Digitally signed software").then(list(kDebugCategories))};
constexpr Node kDebugAutoupgrade = keyword("autoupgrade", "Auto-Upgrade Manager steps").runs(C::kDebugAutoupgrade);
constexpr Node kDebugSoftware[] = {
    kDebugAutoupgrade,
    keyword("software", "Software image management").then(list(kDebugAuthenticity)),
};
constexpr Node kUndebugTargets[] = {
    keyword("all", "Turn off every debug category").runs(C::kUndebugAll),
    kDebugAutoupgrade,
    keyword("software", "Software image management").then(list(kDebugAuthenticity)),
};

// production | special, no file: the key comes from the running image's
// bundle (add) or from the running image's key version (production revoke),
// as the IOS XE guide has it (docs/os-image.md).
constexpr Node kKeyAddTypes[] = {
    choice("production", "Production (release) key", T::kKeyType, KeyType::kProduction, C::kSoftwareAuthenticityKeyAdd),
    choice("special", "Special (development) key", T::kKeyType, KeyType::kSpecial, C::kSoftwareAuthenticityKeyAdd),
};
constexpr Node kKeyRevokeTypes[] = {
    choice("production", "Production (release) key", T::kKeyType, KeyType::kProduction,
           C::kSoftwareAuthenticityKeyRevoke),
    choice("special", "Special (development) key", T::kKeyType, KeyType::kSpecial, C::kSoftwareAuthenticityKeyRevoke),
};

// --- user EXEC ---

constexpr Node kUserShow[] = {keyword("version", "Software, ROMmon and hardware summary").runs(C::kShowVersion)};

constexpr Node kPingHost[] = {word("Host name or address").as(T::kName).runs(C::kPing)};
constexpr Node kUserRoot[] = {
    keyword("enable", "Enter privileged EXEC mode").runs(C::kEnable),
    keyword("exit", "End this console session").runs(C::kLogout),
    keyword("logout", "End this console session").runs(C::kLogout),
    keyword("ping", "Send echo messages").then(list(kPingHost)),
    keyword("show", "Display system state").then(list(kUserShow)),
};

// --- privileged EXEC ---

constexpr Node kShowAuthFilePath[] = {
    file_param(kLocalFs, "Signed image on %s", T::kPath, C::kShowSoftwareAuthenticityFile)};
constexpr Node kShowAuthenticity[] = {
    keyword("file", "Signature details of an image file").then(list(kShowAuthFilePath)),
    keyword("keys", "Public keys in key storage").runs(C::kShowSoftwareAuthenticityKeys),
    keyword("running", "Signatures of the running ROMmon and image").runs(C::kShowSoftwareAuthenticityRunning),
    keyword("upgrade-status", "Readiness for production key revocation")
        .runs(C::kShowSoftwareAuthenticityUpgradeStatus),
};
constexpr Node kShowSoftware[] = {keyword("authenticity", "Digitally signed software").then(list(kShowAuthenticity))};

constexpr Node kShowSudi[] = {
    keyword("certificate", "SUDI certificate chain (PEM)").runs(C::kShowPlatformSudiCertificate).then(list(kSudiSign))};
constexpr Node kShowPlatform[] = {
    keyword("integrity", "Boot stage measurements and PCRs").runs(C::kShowPlatformIntegrity).then(list(kIntegritySign)),
    keyword("sudi", "Secure Unique Device Identity").then(list(kShowSudi)),
};

constexpr Node kShowAutoupgradeConfig[] = {
    keyword("unknown", "Configuration lines the running image did not accept at boot")
        .as(T::kUnknown)
        .runs(C::kShowAutoupgradeConfiguration)};
constexpr Node kShowAutoupgrade[] = {keyword("configuration", "Auto-Upgrade Manager settings")
                                         .runs(C::kShowAutoupgradeConfiguration)
                                         .then(list(kShowAutoupgradeConfig))};

constexpr Node kPrivShow[] = {
    keyword("autoupgrade", "Auto-Upgrade Manager").then(list(kShowAutoupgrade)),
    keyword("boot", "Boot variable and configuration register").runs(C::kShowBoot),
    choice("bootflash:", "Files on bootflash:", T::kFileSystem, FileSystem::kBootflash, C::kShowFileSystem),
    choice("flash:", "Files on flash:", T::kFileSystem, FileSystem::kFlash, C::kShowFileSystem),
    keyword("logging", "The log buffer").runs(C::kShowLogging),
    keyword("platform", "Platform identity and integrity").then(list(kShowPlatform)),
    keyword("reload", "Scheduled reload").runs(C::kShowReload),
    keyword("running-config", "Configuration in effect now").runs(C::kShowRunningConfig),
    keyword("software", "Software image management").then(list(kShowSoftware)),
    keyword("startup-config", "Configuration saved in NVRAM").runs(C::kShowStartupConfig),
    keyword("version", "Software, ROMmon and hardware summary").runs(C::kShowVersion),
};

constexpr Node kConfigureKinds[] = {
    keyword("terminal", "Type configuration commands on this terminal").runs(C::kConfigureTerminal)};

constexpr Node kCopyDestination[] = {
    choice("running-config", "Merge into the configuration in effect now", T::kDestination, FileSystem::kRunningConfig,
           C::kCopy),
    choice("startup-config", "Save as the configuration in NVRAM", T::kDestination, FileSystem::kStartupConfig,
           C::kCopy),
    file_param(kAnyFs, "Copy to %s", T::kDestination, C::kCopy),
};
constexpr Node kCopySource[] = {
    choice("running-config", "Copy the configuration in effect now", T::kSource, FileSystem::kRunningConfig)
        .then(list(kCopyDestination)),
    choice("startup-config", "Copy the configuration saved in NVRAM", T::kSource, FileSystem::kStartupConfig)
        .then(list(kCopyDestination)),
    file_param(kAnyFs, "Copy from %s", T::kSource).then(list(kCopyDestination)),
};

constexpr Node kDeletePath[] = {file_param(kLocalFs, "File to delete on %s", T::kPath, C::kDelete)};
constexpr Node kDeleteArgs[] = {
    keyword("/force", "Do not ask for confirmation").as(T::kForce).then(list(kDeletePath)),
    kDeletePath[0],
};

constexpr Node kDirPath[] = {file_param(kLocalFs, "Directory or file on %s", T::kPath, C::kDir)};

constexpr Node kFormatTargets[] = {
    choice("bootflash:", "Erase bootflash: and create an empty file system", T::kFileSystem, FileSystem::kBootflash,
           C::kFormat),
    choice("flash:", "Erase flash: and create an empty file system", T::kFileSystem, FileSystem::kFlash, C::kFormat),
};

constexpr Node kMorePath[] = {file_param(kLocalFs, "File to display on %s", T::kPath, C::kMore)};

constexpr Node kNoDebug[] = {
    keyword("all", "Turn off every debug category").runs(C::kUndebugAll),
    kDebugAutoupgrade,
    keyword("software", "Software image management").then(list(kDebugAuthenticity)),
};
constexpr Node kPrivNo[] = {keyword("debug", "Turn off debug output").then(list(kNoDebug))};

constexpr Node kRenameTo[] = {file_param(kLocalFs, "New name on %s", T::kDestination, C::kRename)};
constexpr Node kRenameFrom[] = {file_param(kLocalFs, "File to rename on %s", T::kSource).then(list(kRenameTo))};

constexpr Node kKeyActions[] = {
    keyword("add", "Add the key bundled in the running image").then(list(kKeyAddTypes)),
    keyword("revoke", "Revoke a key from key storage").then(list(kKeyRevokeTypes)),
};
constexpr Node kSoftwareAuthenticity[] = {keyword("key", "Key storage maintenance").then(list(kKeyActions))};
constexpr Node kSoftware[] = {keyword("authenticity", "Digitally signed software").then(list(kSoftwareAuthenticity))};

constexpr Node kRomLocations[] = {
    choice("all", "Every route processor", T::kLocation, RomLocation::kAll, C::kUpgradeRomMonitor),
    choice("r0", "Route processor 0", T::kLocation, RomLocation::kR0, C::kUpgradeRomMonitor),
};
constexpr Node kRomPath[] = {
    file_param(kLocalFs, "ROMmon package on %s", T::kPath, C::kUpgradeRomMonitor).then(list(kRomLocations))};
constexpr Node kRomFilename[] = {keyword("filename", "Take the ROMmon from a package file").then(list(kRomPath))};
// upgrade automatic [getversion {cisco username U password P image I | URL}
//   [at hh:mm | now | in hh:mm] [disk-management auto|confirm|no] | runversion
//   [at hh:mm | now | in hh:mm] | abortversion]   (docs/aum.md)
constexpr CommandId kGet = C::kUpgradeAutomaticGetversion, kRun = C::kUpgradeAutomaticRunversion;
constexpr Node kAumDiskValues[] = {
    choice("auto", "Delete what the clean-up policy allows, without asking", T::kDiskManagement, AumDisk::kAuto, kGet),
    choice("confirm", "Ask before each deletion", T::kDiskManagement, AumDisk::kConfirm, kGet),
    choice("no", "Never delete files", T::kDiskManagement, AumDisk::kNo, kGet),
};
constexpr Node kAumDisk[] = {
    keyword("disk-management", "Disk clean-up when bootflash: is short of space").then(list(kAumDiskValues))};
constexpr Node kAumGetAt[] = {time_of_day("Time of the reload (UTC)").as(T::kValue).runs(kGet).then(list(kAumDisk))};
constexpr Node kAumGetIn[] = {
    time_delay(24 * 24 * 60, "Delay before the reload, up to 24 days").as(T::kValue).runs(kGet).then(list(kAumDisk))};
constexpr Node kAumGetWhen[] = {
    choice("at", "Reload with the new image at a time of day", T::kWhen, AumWhen::kAt).then(list(kAumGetAt)),
    kAumDisk[0],
    choice("in", "Reload with the new image after a delay", T::kWhen, AumWhen::kIn).then(list(kAumGetIn)),
    choice("now", "Reload with the new image once it is validated", T::kWhen, AumWhen::kNow, kGet).then(list(kAumDisk)),
};
constexpr Node kAumImage[] = {word("Name of the image to ask for").as(T::kImage).runs(kGet).then(list(kAumGetWhen))};
constexpr Node kAumImageKw[] = {keyword("image", "Image to download").then(list(kAumImage))};
constexpr Node kAumPassword[] = {word("Password for the IDA").as(T::kPassword).then(list(kAumImageKw))};
constexpr Node kAumPasswordKw[] = {keyword("password", "Password for the IDA").then(list(kAumPassword))};
constexpr Node kAumUser[] = {word("User name for the IDA").as(T::kUser).then(list(kAumPasswordKw))};
constexpr Node kAumUserKw[] = {keyword("username", "User name for the IDA").then(list(kAumUser))};
constexpr Node kAumGetSource[] = {
    keyword("cisco", "Ask the IDA for the image's URL").as(T::kCisco).then(list(kAumUserKw)),
    url(kRemoteFs, "Image on %s").as(T::kPath).runs(kGet).then(list(kAumGetWhen)),
};
constexpr Node kAumRunAt[] = {time_of_day("Time of the reload (UTC)").as(T::kValue).runs(kRun)};
constexpr Node kAumRunIn[] = {
    time_delay(24 * 24 * 60, "Delay before the reload, up to 24 days").as(T::kValue).runs(kRun)};
constexpr Node kAumRunWhen[] = {
    choice("at", "Reload with the new image at a time of day", T::kWhen, AumWhen::kAt).then(list(kAumRunAt)),
    choice("in", "Reload with the new image after a delay", T::kWhen, AumWhen::kIn).then(list(kAumRunIn)),
    choice("now", "Reload with the new image now", T::kWhen, AumWhen::kNow, kRun),
};
constexpr Node kAumActions[] = {
    keyword("abortversion", "Cancel the scheduled upgrade").runs(C::kUpgradeAutomaticAbortversion),
    keyword("getversion", "Download, check and validate a new image").then(list(kAumGetSource)),
    keyword("runversion", "Reload with the downloaded image").runs(kRun).then(list(kAumRunWhen)),
};
constexpr Node kUpgrade[] = {
    keyword("automatic", "Auto-Upgrade Manager (asks its questions without arguments)")
        .runs(C::kUpgradeAutomatic)
        .then(list(kAumActions)),
    keyword("rom-monitor", "ROM monitor (ROMmon)").then(list(kRomFilename)),
};

constexpr Node kVerifyPath[] = {file_param(kLocalFs, "File to check on %s", T::kPath, C::kVerify)};

constexpr Node kWriteKinds[] = {keyword("memory", "Save the running configuration to NVRAM").runs(C::kWriteMemory)};

// reload at hh:mm [day month | month day]
template <bool kFirst>
constexpr Node month(const char* text, uint32_t v, const NodeList& then) {
  Node n = keyword(text, "Month of the year").as(T::kMonth).with_value(v);
  return kFirst ? n.then(then) : n.runs(C::kReloadAt);
}
constexpr Node kReloadDay[] = {number(1, 31, "Day of the month").as(T::kDay).runs(C::kReloadAt)};
#define TS_MONTHS(first, then)                                                                            \
  month<first>("january", 0, then), month<first>("february", 1, then), month<first>("march", 2, then),    \
      month<first>("april", 3, then), month<first>("may", 4, then), month<first>("june", 5, then),        \
      month<first>("july", 6, then), month<first>("august", 7, then), month<first>("september", 8, then), \
      month<first>("october", 9, then), month<first>("november", 10, then), month<first>("december", 11, then)
constexpr Node kReloadMonth[] = {TS_MONTHS(false, NodeList{})};
constexpr Node kReloadDate[] = {
    number(1, 31, "Day of the month").as(T::kDay).then(list(kReloadMonth)),
    TS_MONTHS(true, list(kReloadDay)),
};
#undef TS_MONTHS
constexpr Node kReloadAtTime[] = {
    time_of_day("Time of the reload (UTC)").as(T::kValue).runs(C::kReloadAt).then(list(kReloadDate))};
constexpr Node kReloadInDelay[] = {
    time_delay(24 * 24 * 60, "Delay before the reload, up to 24 days").as(T::kValue).runs(C::kReloadIn)};
constexpr Node kReloadArgs[] = {
    keyword("at", "Reload at a time of day (and date)").then(list(kReloadAtTime)),
    keyword("cancel", "Cancel a scheduled reload").runs(C::kReloadCancel),
    keyword("in", "Reload after a delay").then(list(kReloadInDelay)),
};

constexpr Node kPrivRoot[] = {
    keyword("configure", "Enter configuration mode").then(list(kConfigureKinds)),
    keyword("copy", "Copy a file or a configuration").then(list(kCopySource)),
    keyword("debug", "Turn on debug output").then(list(kDebugSoftware)),
    keyword("delete", "Delete a file").then(list(kDeleteArgs)),
    keyword("dir", "List files").runs(C::kDir).then(list(kDirPath)),
    keyword("disable", "Leave privileged EXEC mode").runs(C::kDisable),
    keyword("enable", "Enter privileged EXEC mode").runs(C::kEnable),
    keyword("exit", "End this console session").runs(C::kLogout),
    keyword("format", "Erase a file system").then(list(kFormatTargets)),
    keyword("logout", "End this console session").runs(C::kLogout),
    keyword("more", "Display a file").then(list(kMorePath)),
    keyword("no", "Undo a command").with_flags(kNegates).then(list(kPrivNo)),
    keyword("ping", "Send echo messages").then(list(kPingHost)),
    keyword("reload", "Restart the system").runs(C::kReload).then(list(kReloadArgs)),
    keyword("rename", "Rename a file").then(list(kRenameFrom)),
    keyword("show", "Display system state").then(list(kPrivShow)),
    keyword("software", "Software image management").then(list(kSoftware)),
    keyword("undebug", "Turn off debug output").with_flags(kNegates).then(list(kUndebugTargets)),
    keyword("upgrade", "Upgrade firmware").then(list(kUpgrade)),
    keyword("verify", "Check a file's hash and digital signature").then(list(kVerifyPath)),
    keyword("write", "Save the running configuration").runs(C::kWriteMemory).then(list(kWriteKinds)),
};

// --- global configuration ---

constexpr Node kBootFlashFile[] = {file_param(kBootflashOnly, "Image on %s", T::kPath, C::kBootSystem)};
constexpr Node kBootSystemArgs[] = {
    keyword("flash", "Boot an image from flash").as(T::kFlash).runs(C::kBootSystem).then(list(kBootFlashFile)),
    url(kBootflashOnly | fs_bit(FileSystem::kTftp) | fs_bit(FileSystem::kFtp), "Boot image on %s")
        .as(T::kPath)
        .runs(C::kBootSystem),
};
constexpr Node kBoot[] = {keyword("system", "Image to boot, tried in order").then(list(kBootSystemArgs))};

constexpr Node kConfigRegisterValue[] = {
    hex_number(0, 0xFFFF, "Configuration register value").as(T::kValue).runs(C::kConfigRegister)};

constexpr Node kHostnameValue[] = {word("Name of this system").as(T::kName).runs(C::kHostname)};

constexpr Node kFilePromptLevels[] = {
    choice("alert", "Prompt for destructive file operations (the default)", T::kPromptLevel, FilePrompt::kAlert,
           C::kFilePrompt),
    choice("noisy", "Confirm every file operation parameter", T::kPromptLevel, FilePrompt::kNoisy, C::kFilePrompt),
    choice("quiet", "Seldom prompt for file operations", T::kPromptLevel, FilePrompt::kQuiet, C::kFilePrompt),
};
constexpr Node kFile[] = {
    keyword("prompt", "Prompting for file operations").runs(C::kFilePrompt).then(list(kFilePromptLevels))};

constexpr Node kFtpUserValue[] = {word("User name for FTP transfers").as(T::kName).runs(C::kIpFtpUsername)};
constexpr Node kFtpPasswordValue[] = {word("Password for FTP transfers").as(T::kName).runs(C::kIpFtpPassword)};
constexpr Node kIpFtp[] = {
    keyword("password", "Default FTP password").then(list(kFtpPasswordValue)),
    keyword("username", "Default FTP user name").then(list(kFtpUserValue)),
};
constexpr Node kDomainNameValue[] = {word("This system's domain name").as(T::kName).runs(C::kIpDomainName)};
constexpr Node kIpDomain[] = {keyword("name", "Domain name of this system").then(list(kDomainNameValue))};
constexpr Node kNameServerValue[] = {word("Name server address (A.B.C.D)").as(T::kName).runs(C::kIpNameServer)};
constexpr Node kIp[] = {
    keyword("domain", "Domain name settings").then(list(kIpDomain)),
    keyword("ftp", "FTP client settings").then(list(kIpFtp)),
    keyword("name-server", "Name server for host names").then(list(kNameServerValue)),
};

// no boot system [flash] [PATH]
constexpr Node kNoBootFlashFile[] = {file_param(kBootflashOnly, "Image on %s", T::kPath, C::kBootSystem)};
constexpr Node kNoBootSystemArgs[] = {
    keyword("flash", "Entries that boot from flash").as(T::kFlash).runs(C::kBootSystem).then(list(kNoBootFlashFile)),
    url(kBootflashOnly | fs_bit(FileSystem::kTftp) | fs_bit(FileSystem::kFtp), "Boot image on %s")
        .as(T::kPath)
        .runs(C::kBootSystem),
};
constexpr Node kNoBoot[] = {keyword("system", "Remove boot entries (all, or the one given)")
                                .runs(C::kBootSystem)
                                .then(list(kNoBootSystemArgs))};
constexpr Node kNoIpFtp[] = {
    keyword("password", "Default FTP password").runs(C::kIpFtpPassword).then(list(kFtpPasswordValue)),
    keyword("username", "Default FTP user name").runs(C::kIpFtpUsername).then(list(kFtpUserValue)),
};
constexpr Node kNoIpDomain[] = {
    keyword("name", "Domain name of this system").runs(C::kIpDomainName).then(list(kDomainNameValue))};
constexpr Node kNoIp[] = {
    keyword("domain", "Domain name settings").then(list(kNoIpDomain)),
    keyword("ftp", "FTP client settings").then(list(kNoIpFtp)),
    keyword("name-server", "Name server for host names").runs(C::kIpNameServer).then(list(kNameServerValue)),
};
// autoupgrade disk-cleanup {crashinfo|core|image|irrecoverable} | ida url URL |
// status email {recipient ADDR | smtp-server NAME}
constexpr CommandId kCleanup = C::kAutoupgradeDiskCleanup, kIda = C::kAutoupgradeIdaUrl;
constexpr CommandId kRcpt = C::kAutoupgradeEmailRecipient, kSmtp = C::kAutoupgradeSmtpServer;
constexpr Node kAumCleanups[] = {
    choice("core", "Core files", T::kCategory, AumCleanup::kCore, kCleanup),
    choice("crashinfo", "Crash information files", T::kCategory, AumCleanup::kCrashinfo, kCleanup),
    choice("image", "Other OS images", T::kCategory, AumCleanup::kImage, kCleanup),
    choice("irrecoverable", "Files that can never boot (not a valid signed image)", T::kCategory,
           AumCleanup::kIrrecoverable, kCleanup),
};
constexpr Node kAumIdaUrl[] = {url(kRemoteFs, "IDA locator on %s").as(T::kPath).runs(kIda)};
constexpr Node kAumRecipient[] = {word("Mail address of the recipient").as(T::kName).runs(kRcpt)};
constexpr Node kAumSmtp[] = {word("SMTP server, HOST or HOST:PORT").as(T::kName).runs(kSmtp)};
constexpr Node kAumEmail[] = {
    keyword("recipient", "Who the status mail goes to").then(list(kAumRecipient)),
    keyword("smtp-server", "Outgoing mail server").then(list(kAumSmtp)),
};
constexpr Node kAumStatus[] = {keyword("email", "Status mail").then(list(kAumEmail))};
constexpr Node kAumIda[] = {keyword("url", "Where image requests are sent").then(list(kAumIdaUrl))};
constexpr Node kAutoupgrade[] = {
    keyword("disk-cleanup", "What the disk clean-up may delete").then(list(kAumCleanups)),
    keyword("ida", "Intelligent Download Application").then(list(kAumIda)),
    keyword("status", "Status notification").then(list(kAumStatus)),
};
constexpr Node kNoAumEmail[] = {
    keyword("recipient", "Who the status mail goes to").runs(kRcpt).then(list(kAumRecipient)),
    keyword("smtp-server", "Outgoing mail server").runs(kSmtp).then(list(kAumSmtp)),
};
constexpr Node kNoAumStatus[] = {keyword("email", "Status mail").then(list(kNoAumEmail))};
constexpr Node kNoAumIda[] = {keyword("url", "Where image requests are sent").runs(kIda).then(list(kAumIdaUrl))};
constexpr Node kNoAutoupgrade[] = {
    keyword("disk-cleanup", "What the disk clean-up may delete (all if none given)")
        .runs(kCleanup)
        .then(list(kAumCleanups)),
    keyword("ida", "Intelligent Download Application").then(list(kNoAumIda)),
    keyword("status", "Status notification").then(list(kNoAumStatus)),
};
// crypto pki trustpoint NAME | certificate ca NAME PART; crypto ca authenticate NAME
constexpr Node kTrustpointName[] = {word("Trustpoint name").as(T::kName).runs(C::kCryptoPkiTrustpoint)};
constexpr Node kCertPart[] = {word("Base 64 part of the CA certificate").as(T::kText).runs(C::kCryptoPkiCertificateCa)};
constexpr Node kCertTrustpoint[] = {word("Trustpoint name").as(T::kName).then(list(kCertPart))};
constexpr Node kPkiCertificate[] = {keyword("ca", "The trustpoint's CA certificate").then(list(kCertTrustpoint))};
constexpr Node kCryptoPki[] = {
    keyword("certificate", "Certificates of a trustpoint").then(list(kPkiCertificate)),
    keyword("trustpoint", "Define a trustpoint and enter its submode").then(list(kTrustpointName)),
};
constexpr Node kAuthName[] = {word("Trustpoint name").as(T::kName).runs(C::kCryptoCaAuthenticate)};
constexpr Node kCryptoCa[] = {keyword("authenticate", "Get the CA certificate of a trustpoint").then(list(kAuthName))};
constexpr Node kCrypto[] = {
    keyword("ca", "Certification authority commands").then(list(kCryptoCa)),
    keyword("pki", "Public key infrastructure").then(list(kCryptoPki)),
};
constexpr Node kNoCertTrustpoint[] = {word("Trustpoint name").as(T::kName).runs(C::kCryptoPkiCertificateCa)};
constexpr Node kNoPkiCertificate[] = {keyword("ca", "The trustpoint's CA certificate").then(list(kNoCertTrustpoint))};
constexpr Node kNoCryptoPki[] = {
    keyword("certificate", "Certificates of a trustpoint").then(list(kNoPkiCertificate)),
    keyword("trustpoint", "Remove a trustpoint").then(list(kTrustpointName)),
};
constexpr Node kNoCrypto[] = {keyword("pki", "Public key infrastructure").then(list(kNoCryptoPki))};

constexpr Node kConfigNo[] = {
    keyword("autoupgrade", "Auto-Upgrade Manager settings").then(list(kNoAutoupgrade)),
    keyword("boot", "Boot-time settings").then(list(kNoBoot)),
    keyword("crypto", "Encryption settings").then(list(kNoCrypto)),
    keyword("file", "File system settings").then(list(kFile)),
    keyword("hostname", "Set the name back to Router").runs(C::kHostname),
    keyword("ip", "IP settings").then(list(kNoIp)),
};

constexpr Node kConfigRoot[] = {
    keyword("autoupgrade", "Auto-Upgrade Manager settings").then(list(kAutoupgrade)),
    keyword("boot", "Boot-time settings").then(list(kBoot)),
    keyword("config-register", "Set the configuration register").then(list(kConfigRegisterValue)),
    keyword("crypto", "Encryption settings").then(list(kCrypto)),
    keyword("end", "Leave configuration mode").runs(C::kEnd),
    keyword("exit", "Leave configuration mode").runs(C::kExit),
    keyword("file", "File system settings").then(list(kFile)),
    keyword("hostname", "Set the name of this system").then(list(kHostnameValue)),
    keyword("ip", "IP settings").then(list(kIp)),
    keyword("no", "Undo a command or restore its default").with_flags(kNegates).then(list(kConfigNo)),
};

// The trustpoint submode (Router(ca-trustpoint)#).
constexpr Node kEnrollment[] = {
    keyword("terminal", "Paste the CA certificate at the terminal").runs(C::kTrustpointEnrollment)};
constexpr Node kRevocation[] = {keyword("none", "Do not check revocation").runs(C::kTrustpointRevocationNone)};
constexpr Node kTrustpointNo[] = {
    keyword("enrollment", "Enrollment method").then(list(kEnrollment)),
    keyword("revocation-check", "Revocation checking").then(list(kRevocation)),
};
constexpr Node kTrustpointRoot[] = {
    keyword("end", "Leave configuration mode").runs(C::kEnd),
    keyword("enrollment", "Enrollment method").then(list(kEnrollment)),
    keyword("exit", "Leave the trustpoint submode").runs(C::kExit),
    keyword("no", "Undo a command or restore its default").with_flags(kNegates).then(list(kTrustpointNo)),
    keyword("revocation-check", "Revocation checking").then(list(kRevocation)),
};

// ---- grammar checks ----

struct Checker {
  char* why;
  size_t cap;
  bool ok = true;

  void fail(const char* what, const Node* node) {
    if (!ok) return;
    ok = false;
    if (!why || cap == 0) return;
    size_t n = 0;
    auto put = [&](const char* s) {
      while (s && *s && n + 1 < cap) why[n++] = *s++;
    };
    put(what);
    if (node && node->text) {
      put(": ");
      put(node->text);
    }
    why[n] = '\0';
  }

  void check_list(NodeList l, size_t depth, size_t tagged) {
    if (!ok) return;
    if (depth > 32) return fail("grammar deeper than 32 tokens", nullptr);
    size_t lines = 0;
    for (uint8_t i = 0; i < l.count; ++i) {
      const Node& n = l.nodes[i];
      lines += n.type == TokenType::kUrl ? 0 : 1;
      if (n.type == TokenType::kUrl)
        for (size_t fs = 1; fs < kFsCount; ++fs) lines += (kFsPrefixes[fs] && (n.max & (1u << fs))) ? 1 : 0;
    }
    if (lines + 1 > kMaxHelpEntries) return fail("too many alternatives for one help listing", &l.nodes[0]);
    for (uint8_t i = 0; i < l.count; ++i) {
      const Node& n = l.nodes[i];
      bool needs_text = n.type != TokenType::kNumber && n.type != TokenType::kHex;  // ranges are generated
      if ((needs_text && (!n.text || !n.text[0])) || !n.help || !n.help[0])
        return fail("node without text or help", &n);
      if (n.type == TokenType::kKeyword) {
        for (const char* p = n.text; *p; ++p)
          if (is_space(*p) || !is_acceptable(*p) || (*p >= 'A' && *p <= 'Z') || *p == '?')
            return fail("keyword must be lower case without spaces", &n);
        for (uint8_t j = 0; j < i; ++j) {
          const Node& o = l.nodes[j];
          if (o.type == TokenType::kKeyword && __builtin_strlen(o.text) == __builtin_strlen(n.text) &&
              common_prefix(o.text, __builtin_strlen(o.text), n.text, __builtin_strlen(n.text)) ==
                  __builtin_strlen(n.text))
            return fail("duplicate keyword", &n);
        }
      }
      if ((n.type == TokenType::kNumber || n.type == TokenType::kHex) && n.min > n.max)
        return fail("number range with min > max", &n);
      if (n.type == TokenType::kUrl) {
        uint32_t known = 0;
        for (size_t fs = 1; fs < kFsCount; ++fs)
          if (kFsPrefixes[fs]) known |= 1u << fs;
        if (n.max == 0 || (n.max & ~known)) return fail("URL node with an empty or unknown file-system mask", &n);
      }
      if (n.type == TokenType::kLine && n.children.count != 0) return fail("LINE must be the last token", &n);
      if (n.command == CommandId::kNone && n.children.count == 0) return fail("path ends without a command", &n);
      if (n.command >= CommandId::kCount) return fail("command id out of range", &n);
      size_t t = tagged + (n.tag != ArgTag::kNone ? 1 : 0);
      if (t > kMaxArgs) return fail("more tagged tokens on one path than kMaxArgs", &n);
      check_list(n.children, depth + 1, t);
    }
  }
};

}  // namespace

// ============================================================================
// Public helpers
// ============================================================================

extern const Grammar kDefaultGrammar = {{list(kUserRoot), list(kPrivRoot), list(kConfigRoot), list(kTrustpointRoot)}};

const char* command_name(CommandId id) {
  switch (id) {
    case C::kNone:
      return "none";
    case C::kEnable:
      return "enable";
    case C::kDisable:
      return "disable";
    case C::kConfigureTerminal:
      return "configure terminal";
    case C::kEnd:
      return "end";
    case C::kExit:
      return "exit";
    case C::kLogout:
      return "logout";
    case C::kHostname:
      return "hostname";
    case C::kShowVersion:
      return "show version";
    case C::kShowSoftwareAuthenticityRunning:
      return "show software authenticity running";
    case C::kShowSoftwareAuthenticityFile:
      return "show software authenticity file";
    case C::kShowSoftwareAuthenticityKeys:
      return "show software authenticity keys";
    case C::kShowSoftwareAuthenticityUpgradeStatus:
      return "show software authenticity upgrade-status";
    case C::kShowPlatformIntegrity:
      return "show platform integrity";
    case C::kShowPlatformSudiCertificate:
      return "show platform sudi certificate";
    case C::kShowFileSystem:
      return "show <file system>";
    case C::kShowRunningConfig:
      return "show running-config";
    case C::kShowStartupConfig:
      return "show startup-config";
    case C::kShowBoot:
      return "show boot";
    case C::kDir:
      return "dir";
    case C::kDelete:
      return "delete";
    case C::kRename:
      return "rename";
    case C::kCopy:
      return "copy";
    case C::kMore:
      return "more";
    case C::kFormat:
      return "format";
    case C::kVerify:
      return "verify";
    case C::kWriteMemory:
      return "write memory";
    case C::kReload:
      return "reload";
    case C::kReloadIn:
      return "reload in";
    case C::kReloadAt:
      return "reload at";
    case C::kReloadCancel:
      return "reload cancel";
    case C::kShowReload:
      return "show reload";
    case C::kDebugSoftwareAuthenticity:
      return "debug software authenticity";
    case C::kUndebugAll:
      return "undebug all";
    case C::kSoftwareAuthenticityKeyAdd:
      return "software authenticity key add";
    case C::kSoftwareAuthenticityKeyRevoke:
      return "software authenticity key revoke";
    case C::kUpgradeRomMonitor:
      return "upgrade rom-monitor filename";
    case C::kBootSystem:
      return "boot system";
    case C::kConfigRegister:
      return "config-register";
    case C::kIpFtpUsername:
      return "ip ftp username";
    case C::kIpFtpPassword:
      return "ip ftp password";
    case C::kIpDomainName:
      return "ip domain name";
    case C::kIpNameServer:
      return "ip name-server";
    case C::kPing:
      return "ping";
    case C::kFilePrompt:
      return "file prompt";
    case C::kAutoupgradeDiskCleanup:
      return "autoupgrade disk-cleanup";
    case C::kAutoupgradeIdaUrl:
      return "autoupgrade ida url";
    case C::kAutoupgradeEmailRecipient:
      return "autoupgrade status email recipient";
    case C::kAutoupgradeSmtpServer:
      return "autoupgrade status email smtp-server";
    case C::kShowAutoupgradeConfiguration:
      return "show autoupgrade configuration";
    case C::kDebugAutoupgrade:
      return "debug autoupgrade";
    case C::kShowLogging:
      return "show logging";
    case C::kUpgradeAutomatic:
      return "upgrade automatic";
    case C::kUpgradeAutomaticGetversion:
      return "upgrade automatic getversion";
    case C::kUpgradeAutomaticRunversion:
      return "upgrade automatic runversion";
    case C::kUpgradeAutomaticAbortversion:
      return "upgrade automatic abortversion";
    case C::kCryptoPkiTrustpoint:
      return "crypto pki trustpoint";
    case C::kCryptoPkiCertificateCa:
      return "crypto pki certificate ca";
    case C::kCryptoCaAuthenticate:
      return "crypto ca authenticate";
    case C::kTrustpointEnrollment:
      return "enrollment terminal";
    case C::kTrustpointRevocationNone:
      return "revocation-check none";
    case C::kCount:
      break;
  }
  return "?";
}

const char* fs_prefix(FileSystem fs) { return size_t(fs) < kFsCount ? kFsPrefixes[size_t(fs)] : nullptr; }

bool is_remote(FileSystem fs) { return (fs_bit(fs) & kRemoteFs) != 0; }

const Arg* Args::find(ArgTag tag) const {
  for (uint8_t i = 0; i < count && i < kMaxArgs; ++i)
    if (items[i].tag == tag) return &items[i];
  return nullptr;
}

const char* Args::text(ArgTag tag) const {
  const Arg* a = find(tag);
  return a ? a->text : nullptr;
}

uint32_t Args::number(ArgTag tag, uint32_t fallback) const {
  const Arg* a = find(tag);
  return a ? a->number : fallback;
}

bool split_url(const char* text, Url* out) {
  size_t n = __builtin_strlen(text);
  size_t colon = 0;
  while (colon < n && text[colon] != ':') ++colon;
  out->fs = FileSystem::kNone;
  out->user = out->password = out->host = Span{text + n, 0};
  if (colon == n) {
    out->path = Span{text, n};
    return true;
  }
  for (size_t fs = 1; fs < kFsCount; ++fs) {
    const char* p = kFsPrefixes[fs];
    if (!p || __builtin_strlen(p) != colon + 1 || common_prefix(text, colon + 1, p, colon + 1) != colon + 1) continue;
    out->fs = FileSystem(fs);
    const char* rest = text + colon + 1;
    size_t rn = n - colon - 1;
    if (!is_remote(out->fs)) {
      out->path = Span{rest, rn};
      return true;
    }
    size_t bad = 0;
    return parse_remote(rest, rn, out, &bad);
  }
  out->path = Span{text, n};
  return false;
}

bool check_grammar(const Grammar& g, char* why, size_t cap) {
  Checker c{why, cap};
  if (why && cap) why[0] = '\0';
  for (size_t m = 0; m < kModeCount && c.ok; ++m) c.check_list(g.roots[m], 0, 0);
  return c.ok;
}

// ============================================================================
// Engine
// ============================================================================

void Engine::set_mode(Mode m) {
  mode_ = m;
  update_prompt();
}

bool Engine::set_hostname(const char* name) {
  if (!name) return false;
  size_t n = 0;
  while (n <= kMaxHostname && name[n]) ++n;
  if (n == 0 || n > kMaxHostname || !is_alpha(name[0]) || name[n - 1] == '-') return false;
  for (size_t i = 0; i < n; ++i)
    if (!is_alpha(name[i]) && !is_digit(name[i]) && name[i] != '-') return false;
  __builtin_memcpy(hostname_, name, n);
  hostname_[n] = '\0';
  update_prompt();
  return true;
}

void Engine::update_prompt() {
  size_t n = __builtin_strlen(hostname_);
  __builtin_memcpy(prompt_, hostname_, n);
  const char* suffix = mode_ == Mode::kUserExec   ? ">"
                       : mode_ == Mode::kPrivExec ? "#"
                       : mode_ == Mode::kConfig   ? "(config)#"
                                                  : "(ca-trustpoint)#";
  size_t s = __builtin_strlen(suffix);
  __builtin_memcpy(prompt_ + n, suffix, s);
  prompt_len_ = n + s;
  prompt_[prompt_len_] = '\0';
}

void Engine::print_caret(size_t column) {
  write_spaces(*out_, column);
  print("^\n");
  print(kInvalidInput);
}

// Rejects what the engine never parses: lines over kMaxLine characters and
// control or non-ASCII bytes. Prints the error and returns false.
static bool line_is_usable(Engine& e, Output& out, const char* line, size_t len) {
  if (len > kMaxLine) {
    char num[12];
    size_t k = format_unsigned(uint32_t(kMaxLine), false, num);
    write_str(out, "% Line too long: at most ");
    out.write(num, k);
    write_str(out, " characters are accepted; nothing was done.\n\n");
    return false;
  }
  for (size_t i = 0; i < len; ++i) {
    if (!is_acceptable(line[i])) {
      write_spaces(out, e.prompt_len() + i);
      write_str(out, "^\n");
      write_str(out, kInvalidInput);
      return false;
    }
  }
  return true;
}

static void print_ambiguous(Output& out, const char* line, size_t len) {
  size_t b = 0;
  while (b < len && is_space(line[b])) ++b;
  while (len > b && is_space(line[len - 1])) --len;
  write_str(out, "% Ambiguous command:  \"");
  out.write(line + b, len - b);
  write_str(out, "\"\n");
}

LineResult Engine::process_line(const char* line, size_t len) {
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) --len;
  for (size_t i = 0; i < len; ++i) {
    if (line[i] == '?') {
      help(line, i);
      return LineResult{true, i <= kMaxLine ? i : 0};
    }
  }
  execute(line, len);
  return LineResult{false, 0};
}

void Engine::execute(const char* line, size_t len) {
  if (!line_is_usable(*this, *out_, line, len)) return;
  Args args;
  ArgStore store;
  Walk w;
  walk(grammar_->roots[size_t(mode_)], line, len, args, store, w);
  if (w.status == Walk::kInvalid && mode_ == Mode::kTrustpoint) {
    // As IOS: a global configuration command typed in a submode leaves it.
    Args global_args;
    ArgStore global_store;
    Walk g;
    walk(grammar_->roots[size_t(Mode::kConfig)], line, len, global_args, global_store, g);
    if (g.status == Walk::kOk && g.tokens > 0 && g.last->command != CommandId::kNone) {
      set_mode(Mode::kConfig);
      return run(g.last->command, global_args);
    }
  }
  if (w.status == Walk::kInvalid) return print_caret(prompt_len_ + w.error_pos);
  if (w.status == Walk::kAmbiguous) return print_ambiguous(*out_, line, len);
  if (w.tokens == 0) return;  // empty line: nothing, as IOS
  if (w.last->command == CommandId::kNone) return print(kIncomplete);
  run(w.last->command, args);
}

void Engine::run(CommandId id, const Args& args) {
  Mode typed_in = mode_;
  switch (id) {
    case C::kEnable:
      set_mode(Mode::kPrivExec);
      break;
    case C::kDisable:
      set_mode(Mode::kUserExec);
      break;
    case C::kConfigureTerminal:
      set_mode(Mode::kConfig);
      break;
    case C::kEnd:
      set_mode(Mode::kPrivExec);
      break;
    case C::kExit:
      set_mode(mode_ == Mode::kTrustpoint ? Mode::kConfig : Mode::kPrivExec);
      break;
    case C::kCryptoPkiTrustpoint:
      if (!args.negated) set_mode(Mode::kTrustpoint);  // the handler returns to config if the name is refused
      break;
    case C::kHostname:
      if (args.negated) {
        set_hostname("Router");
      } else if (!set_hostname(args.text(ArgTag::kName))) {
        print(
            "% Hostname not changed: use 1-63 letters, digits and hyphens, starting with a letter and not ending "
            "with a hyphen.\n");
        return;
      }
      break;
    default:
      break;
  }
  Context ctx(*this, *out_, typed_in);
  handler_->execute(id, args, ctx);
}

void Engine::help(const char* line, size_t len) {
  if (!line_is_usable(*this, *out_, line, len)) return;
  bool partial = len > 0 && !is_space(line[len - 1]);
  size_t word_start = len;
  if (partial)
    while (word_start > 0 && !is_space(line[word_start - 1])) --word_start;

  Args args;
  ArgStore store;
  Walk w;
  walk(grammar_->roots[size_t(mode_)], line, word_start, args, store, w);
  if (w.status == Walk::kInvalid) {
    if (w.tokens == 0) return print(kUnrecognized);
    return print_caret(prompt_len_ + w.error_pos);
  }
  if (w.status == Walk::kAmbiguous) return print_ambiguous(*out_, line, len);

  EntryList entries;
  if (!partial) {
    if (w.in_line) entries.add(w.last, 0);
    add_alternatives(entries, w.next);
    entries.sort();
    if (w.last && w.last->command != CommandId::kNone) entries.add(nullptr, 0);
    if (entries.count == 0) return print(kUnrecognized);
    return write_table(*out_, entries);
  }

  const char* t = line + word_start;
  size_t n = len - word_start;
  if (w.in_line) {
    entries.add(w.last, 0);
  } else {
    for (uint8_t i = 0; i < w.next.count; ++i) {
      const Node& node = w.next.nodes[i];
      if (node.type == TokenType::kKeyword) {
        size_t klen = __builtin_strlen(node.text);
        if (n <= klen && common_prefix(t, n, node.text, klen) == n) entries.add(&node, 0);
        continue;
      }
      size_t before = entries.count;
      if (node.type == TokenType::kUrl) {
        for (size_t fs = 1; fs < kFsCount; ++fs) {
          const char* p = kFsPrefixes[fs];
          if (!p || !(node.max & (1u << fs))) continue;
          size_t plen = __builtin_strlen(p);
          if (n <= plen && common_prefix(t, n, p, plen) == n) entries.add(&node, uint8_t(fs));
        }
      }
      if (entries.count == before && accept_param(node, t, n).ok) entries.add(&node, 0);
    }
  }
  if (entries.count == 0) return print(kUnrecognized);
  entries.sort();
  write_words(*out_, entries);
}

}  // namespace trustsim::cli
