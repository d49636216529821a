// Trustpoints: the CA certificates the OS trusts for https:// copies.
// `crypto pki trustpoint NAME` (submode: enrollment terminal,
// revocation-check none), `crypto ca authenticate NAME` (paste the CA
// certificate), and the saved form `crypto pki certificate ca NAME PART`.
// The OS only checks that a pasted certificate is base 64 of a DER
// SEQUENCE of the length it announces; the transfer engine (OpenSSL inside
// libcurl) checks the server against it (docs/netxfer.md, "HTTPS").
#include "os.h"
#include "trustsim/netxfer_regs.h"

namespace os {
namespace {

bool tp_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

bool b64_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Decodes base 64 into out (cap bytes); returns the length, or -1 if the
// text is not base 64.
long b64_decode(const char* s, size_t n, uint8_t* out, size_t cap) {
  if (n % 4) return -1;
  size_t k = 0;
  for (size_t i = 0; i < n; i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = s[i + size_t(j)];
      if (c == '=' && i + 4 == n && j >= 2) {
        v[j] = 0;
        ++pad;
      } else if (pad || (v[j] = b64_value(c)) < 0) {
        return -1;
      }
    }
    uint32_t w = uint32_t(v[0]) << 18 | uint32_t(v[1]) << 12 | uint32_t(v[2]) << 6 | uint32_t(v[3]);
    for (int j = 0; j < 3 - pad; ++j) {
      if (k >= cap) return -1;
      out[k++] = uint8_t(w >> (16 - 8 * j));
    }
  }
  return long(k);
}

// Why `der` is not one DER SEQUENCE filling it exactly; nullptr if it is.
const char* der_problem(const uint8_t* der, size_t n) {
  if (n < 2 || der[0] != 0x30) return "not a DER SEQUENCE";
  size_t len = der[1], hdr = 2;
  if (len & 0x80) {
    size_t bytes = len & 0x7f;
    if (bytes == 0 || bytes > 3 || n < 2 + bytes) return "bad DER length";
    len = 0;
    for (size_t i = 0; i < bytes; ++i) len = len << 8 | der[2 + i];
    hdr = 2 + bytes;
  }
  if (hdr + len != n) return "the DER length does not match the data";
  return nullptr;
}

// One DER element at d[*pos..end): its tag, where its contents start and
// their length; *pos moves past it. False if it does not fit.
bool der_next(const uint8_t* d, size_t end, size_t* pos, uint8_t* tag, size_t* start, size_t* len) {
  size_t p = *pos;
  if (end - p < 2) return false;
  *tag = d[p];
  size_t l = d[p + 1];
  p += 2;
  if (l & 0x80) {
    size_t bytes = l & 0x7f;
    if (bytes == 0 || bytes > 3 || end - p < bytes) return false;
    l = 0;
    for (size_t i = 0; i < bytes; ++i) l = l << 8 | d[p + i];
    p += bytes;
  }
  if (end - p < l) return false;
  *start = p;
  *len = l;
  *pos = p + l;
  return true;
}

// A DER SEQUENCE that is not shaped as an X.509 certificate: SEQUENCE {
// tbsCertificate SEQUENCE { [0] version?, serial INTEGER, ... },
// signatureAlgorithm SEQUENCE, signature BIT STRING }. Returns why, or
// nullptr. (Whether the engine's OpenSSL accepts the rest is found out at
// the first https: transfer.)
const char* x509_problem(const uint8_t* der, size_t n) {
  size_t pos = 0, start, len, body_end;
  uint8_t tag;
  if (!der_next(der, n, &pos, &tag, &start, &len)) return "not an X.509 certificate";
  body_end = start + len;
  pos = start;
  uint8_t tags[3];
  size_t tbs_start = 0, tbs_len = 0;
  for (int i = 0; i < 3; ++i) {
    if (!der_next(der, body_end, &pos, &tags[i], &start, &len)) return "not an X.509 certificate";
    if (i == 0) tbs_start = start, tbs_len = len;
  }
  if (pos != body_end || tags[0] != 0x30 || tags[1] != 0x30 || tags[2] != 0x03) return "not an X.509 certificate";
  pos = tbs_start;
  if (!der_next(der, tbs_start + tbs_len, &pos, &tag, &start, &len)) return "not an X.509 certificate";
  if (tag == 0xA0 && !der_next(der, tbs_start + tbs_len, &pos, &tag, &start, &len)) return "not an X.509 certificate";
  return tag == 0x02 ? nullptr : "not an X.509 certificate";
}

uint8_t g_der[kMaxCaB64];

Trustpoint* find_tp(const char* name) {
  for (Trustpoint& t : g.trustpoints)
    if (t.used && fw::strcmp(t.name, name) == 0) return &t;
  return nullptr;
}

bool check_tp_name(const char* name) {
  size_t n = name ? strlen(name) : 0;
  bool ok = n > 0 && n < sizeof g.trustpoints[0].name;
  for (size_t i = 0; ok && i < n; ++i) ok = tp_name_char(name[i]);
  if (!ok)
    fw::printf("%%Error: a trustpoint name is 1-%u letters, digits and - _ .\n",
               unsigned(sizeof g.trustpoints[0].name - 1));
  return ok;
}

}  // namespace

void cmd_crypto_pki_trustpoint(const cli::Args& a, cli::Engine& engine) {
  const char* name = a.text(cli::ArgTag::kName);
  if (!check_tp_name(name)) {
    engine.set_mode(cli::Mode::kConfig);
    return;
  }
  Trustpoint* t = find_tp(name);
  if (a.negated) {
    if (t)
      *t = Trustpoint{};
    else
      fw::printf("%% Trustpoint %s does not exist\n", name);
    return;
  }
  if (!t)
    for (Trustpoint& f : g.trustpoints)
      if (!f.used) {
        t = &f;
        *t = Trustpoint{};
        t->used = true;
        memcpy(t->name, name, strlen(name) + 1);
        break;
      }
  if (!t) {
    fw::printf("%%Error: this board keeps at most %u trustpoints\n", unsigned(kMaxTrustpoints));
    engine.set_mode(cli::Mode::kConfig);
    return;
  }
  g.current_tp = uint32_t(t - g.trustpoints);
}

void cmd_trustpoint_setting(const cli::Args& a, bool enrollment) {
  Trustpoint& t = g.trustpoints[g.current_tp];
  if (enrollment)
    t.enrollment_terminal = !a.negated;
  else
    t.revocation_none = !a.negated;
}

namespace {

// Stores `der`'s base 64 form `b64` (n characters) as t's CA certificate.
void store_ca(Trustpoint& t, const char* b64, size_t n) {
  memcpy(t.ca_b64, b64, n);
  t.ca_b64[n] = '\0';
  t.ca_len = uint32_t(n);
}

char g_paste[kMaxCaB64 + 1];

}  // namespace

void cmd_crypto_ca_authenticate(const cli::Args& a) {
  const char* name = a.text(cli::ArgTag::kName);
  Trustpoint* t = name ? find_tp(name) : nullptr;
  if (!t) {
    fw::printf("%% Trustpoint %s does not exist: create it with crypto pki trustpoint\n", name ? name : "");
    return;
  }
  if (!t->enrollment_terminal) {
    fw::printf("%%Error: trustpoint %s needs enrollment terminal to take a pasted certificate\n", name);
    return;
  }
  fw::printf("Paste the CA certificate in base 64 (PEM), then a blank line or the word quit:\n");
  size_t n = 0;
  bool too_long = false, bad_char = false;
  char line[cli::kMaxLine + 1];
  for (;;) {
    fw::flush();
    size_t len = fw::readline(line, sizeof line);
    const char* s = fw::trim(line);
    if (!*s || fw::strcmp(s, "quit") == 0) break;
    if (fw::starts_with(s, "-----")) continue;  // BEGIN / END CERTIFICATE
    (void)len;
    for (; *s; ++s) {
      if (*s == ' ' || *s == '\t' || *s == '\r') continue;
      if (!b64_char(*s)) bad_char = true;
      if (n < kMaxCaB64)
        g_paste[n++] = *s;
      else
        too_long = true;
    }
  }
  const char* why = nullptr;
  long der_len = -1;
  if (n == 0)
    why = "nothing was pasted";
  else if (too_long)
    why = "longer than this board keeps";
  else if (bad_char || (der_len = b64_decode(g_paste, n, g_der, sizeof g_der)) < 0)
    why = "not base 64";
  else
    why = der_problem(g_der, size_t(der_len));
  if (!why) why = x509_problem(g_der, size_t(der_len));
  if (why) {
    fw::printf("%% The certificate does not parse (%s); trustpoint %s unchanged\n", why, name);
    return;
  }
  uint8_t digest[64];
  fw::EngineCrypto crypto;
  fw::printf("Certificate has the following attributes:\n");
  if (crypto.sha512(g_der, uint64_t(der_len), digest)) {
    fw::printf("  Fingerprint SHA512:");
    for (int i = 0; i < 64; ++i)
      fw::printf("%s%02X", i % 4 ? "" : (i == 32 ? "\n                     " : " "), digest[i]);
    fw::printf("\n");
  }
  fw::printf("%% Do you accept this certificate? [yes/no]: ");
  fw::flush();
  char answer[16];
  fw::readline(answer, sizeof answer);
  const char* ans = fw::trim(answer);
  if (fw::strcmp(ans, "yes") != 0 && fw::strcmp(ans, "y") != 0) {
    fw::printf("%% Certificate not accepted; trustpoint %s unchanged\n", name);
    return;
  }
  store_ca(*t, g_paste, n);
  fw::printf("Trustpoint CA certificate accepted.\n%% Certificate successfully imported\n");
}

void cmd_crypto_pki_certificate_ca(const cli::Args& a) {
  const char* name = a.text(cli::ArgTag::kName);
  const char* part = a.text(cli::ArgTag::kText);
  Trustpoint* t = name ? find_tp(name) : nullptr;
  if (!t) {
    fw::printf("%% Trustpoint %s does not exist\n", name ? name : "");
    return;
  }
  if (a.negated) {
    t->ca_len = 0;
    t->ca_b64[0] = '\0';
    return;
  }
  size_t n = part ? strlen(part) : 0;
  for (size_t i = 0; i < n; ++i)
    if (!b64_char(part[i])) {
      fw::printf("%%Error: the certificate part is not base 64\n");
      return;
    }
  if (t->ca_len + n > kMaxCaB64) {
    fw::printf("%%Error: the certificate of trustpoint %s is longer than this board keeps\n", name);
    return;
  }
  memcpy(t->ca_b64 + t->ca_len, part, n);
  t->ca_len += uint32_t(n);
  t->ca_b64[t->ca_len] = '\0';
}

void render_trustpoints(void (*add)(void* ctx, const char* text), void* ctx) {
  char line[128];
  for (const Trustpoint& t : g.trustpoints) {
    if (!t.used) continue;
    fw::snprintf(line, sizeof line, "crypto pki trustpoint %s\n", t.name);
    add(ctx, line);
    if (t.enrollment_terminal) add(ctx, " enrollment terminal\n");
    if (t.revocation_none) add(ctx, " revocation-check none\n");
    add(ctx, "!\n");
  }
  for (const Trustpoint& t : g.trustpoints) {
    if (!t.used || !t.ca_len) continue;
    for (uint32_t i = 0; i < t.ca_len; i += 64) {
      uint32_t k = t.ca_len - i < 64 ? t.ca_len - i : 64;
      char part[65];
      memcpy(part, t.ca_b64 + i, k);
      part[k] = '\0';
      fw::snprintf(line, sizeof line, "crypto pki certificate ca %s %s\n", t.name, part);
      add(ctx, line);
    }
    add(ctx, "!\n");
  }
}

uint64_t give_trusted_cas(uint64_t base) {
  static char pem[kMaxCaB64 + kMaxCaB64 / 64 + 64];
  fw::reg_write64(base + TS_NETXFER_CTRL, TS_NETXFER_CMD_CA_CLEAR);
  uint64_t count = 0;
  for (const Trustpoint& t : g.trustpoints) {
    if (!t.used || !t.ca_len) continue;
    size_t n = size_t(fw::snprintf(pem, sizeof pem, "-----BEGIN CERTIFICATE-----\n"));
    for (uint32_t i = 0; i < t.ca_len; i += 64) {
      uint32_t k = t.ca_len - i < 64 ? t.ca_len - i : 64;
      memcpy(pem + n, t.ca_b64 + i, k);
      n += k;
      pem[n++] = '\n';
    }
    n += size_t(fw::snprintf(pem + n, sizeof pem - n, "-----END CERTIFICATE-----\n"));
    if (fw::mbox_write(base + TS_NETXFER_CA, pem, n).status == TS_MBOX_OK) ++count;
  }
  return count;
}

}  // namespace os
