// show software authenticity running | file | keys, verify, and the
// debug software authenticity switches.
#include "os.h"

#include "trustsim/verify.h"

namespace os {
void status_field(int indent, const char* label, const char* value) {
  char pad[40];
  int n = 0;
  for (; n < indent; ++n) pad[n] = ' ';
  for (const char* s = label; *s && n < 30; ++s) pad[n++] = *s;
  while (n < 30) pad[n++] = ' ';
  pad[n] = '\0';
  fw::printf("%s: %s\n", pad, value);
}

namespace {

namespace verify = trustsim::verify;

void header(const char* title) {
  fw::printf("%s\n", title);
  size_t n = strlen(title);
  for (size_t i = 0; i < n; ++i) fw::putc('-');
  fw::putc('\n');
}

const char* image_type_name(uint8_t key_type) {
  switch (keys::KeyType(key_type)) {
    case keys::KeyType::kProduction:
      return "Production";
    case keys::KeyType::kSpecial:
      return "Special";
    case keys::KeyType::kRollover:
      return "Rollover";
  }
  return "Unsigned";
}

void signer_block(uint8_t key_type, char key_version, const char* cn, const char* ou, const char* on,
                  const char* serial) {
  status_field(0, "Image type", image_type_name(key_type));
  fw::printf("    Signer Information\n");
  status_field(8, "Common Name", cn);
  status_field(8, "Organization Unit", ou);
  status_field(8, "Organization Name", on);
  status_field(4, "Certificate Serial Number", serial);
  status_field(4, "Hash Algorithm", "SHA512");
  status_field(4, "Signature Algorithm", "2048-bit RSA");
  char v[2] = {key_version, 0};
  status_field(4, "Key Version", v);
}

void stage_block(const trustsim::handoff::StageInfo& s, const char* verifier, const char* verifier_version) {
  signer_block(s.key_type, s.key_version, s.signer_common_name, s.signer_org_unit, s.signer_org_name, s.cert_serial);
  fw::printf("\n    Verifier Information\n");  // the guide's example has a blank line here
  status_field(8, "Verifier Name", verifier);
  status_field(8, "Verifier Version", verifier_version);
}

verify::Result g_result;

}  // namespace

void cmd_show_auth_running() {
  const trustsim::handoff::Block* h = g.handoff;
  if (g.debug.show) fw::printf("SOFTWARE_AUTHENTICITY: show: running images, from the boot chain's handoff record\n");
  if (h->magic != trustsim::handoff::kMagic) {
    fw::printf("%%Error: the boot chain left no verification record\n");
    return;
  }
  char rommon_version[96];
  fw::snprintf(rommon_version, sizeof rommon_version, "System Bootstrap, Version %s", h->rommon.version);
  char boot0_version[96];
  fw::snprintf(boot0_version, sizeof boot0_version, "Boot0 Version %s", h->boot0.version);
  if (kRevocationImage) print_revocation_image_line();
  header("SYSTEM IMAGE");
  stage_block(h->os, "ROMMON", rommon_version);
  fw::printf("\n");
  header("ROMMON");
  stage_block(h->rommon, "Boot0", boot0_version);
}

bool verify_local_file(const char* path, const char* name) {
  uint64_t size;
  if (!load_file(name, &size)) return false;
  fw::EngineCrypto crypto;
  verify::verify_image(reinterpret_cast<const uint8_t*>(kStaging), size, g.keys, crypto, g_result);
  if (g.debug.envelope && g_result.have_envelope)
    fw::printf("SOFTWARE_AUTHENTICITY: envelope: key type %s version %c, signer %s, serial %s\n",
               keys::key_type_name(g_result.envelope.key_type), g_result.envelope.key_version,
               g_result.envelope.common_name, g_result.envelope.cert_serial);
  if (g.debug.key && g_result.key)
    fw::printf("SOFTWARE_AUTHENTICITY: key: matched %s key version %c%s\n", keys::key_type_name(g_result.key->type),
               g_result.key->version, (g_result.key->flags & keys::kFlagRevoked) ? " (revoked)" : "");
  if (g.debug.errors && g_result.verdict != verify::Verdict::kOk)
    fw::printf("SOFTWARE_AUTHENTICITY: error: %s: %s%s%s\n", path, verify::verdict_text(g_result.verdict),
               g_result.detail ? ": " : "", g_result.detail ? g_result.detail : "");
  return true;
}

const char* verify_file_verdict(const char* name) {
  char path[bfs::kMaxNameLen + 12];
  fw::snprintf(path, sizeof path, "bootflash:%s", name);
  if (!verify_local_file(path, name)) return nullptr;
  return g_result.verdict == verify::Verdict::kOk ? "" : verify::verdict_text(g_result.verdict);
}

void cmd_show_auth_file(const cli::Args& a) {
  const char* path = a.text(cli::ArgTag::kPath);
  char name[bfs::kMaxNameLen + 1];
  if (!bootflash_mounted()) return;
  if (!local_name(path, name, sizeof name)) return;
  if (g.debug.show) fw::printf("SOFTWARE_AUTHENTICITY: show: verifying bootflash:%s against key storage\n", name);
  if (!verify_local_file(path, name)) return;
  char full[160];
  fw::snprintf(full, sizeof full, "bootflash:%s", name);
  status_field(0, "File Name", path);  // as typed, as the captures echo it
  if (!g_result.have_envelope) {
    fw::printf("%%Error: %s: %s%s%s\n", full, verify::verdict_text(g_result.verdict), g_result.detail ? ": " : "",
               g_result.detail ? g_result.detail : "");
    return;
  }
  const keys::Envelope& e = g_result.envelope;
  signer_block(e.key_type, e.key_version, e.common_name, e.org_unit, e.org_name, e.cert_serial);
  if (g_result.verdict != verify::Verdict::kOk)
    fw::printf("%%Warning: %s: %s\n", full, verify::verdict_text(g_result.verdict));
}

namespace {

// "Computed Hash   SHA2: " and three continuation lines: 64 bytes, 16 a line.
void hash_lines(const char* label, const uint8_t* digest) {
  for (uint32_t line = 0; line < 4; ++line) {
    if (line == 0)
      fw::printf("%-16sSHA2: ", label);
    else
      fw::printf("                      ");
    for (uint32_t b = 0; b < 16; ++b) fw::printf("%02x", digest[line * 16 + b]);
    fw::printf("\n");
  }
}

}  // namespace

// The IOS XE verify of the captures (ios-outputs.md, ASR1k): integrity
// line, progress dots, the computed and embedded SHA-512 of header +
// payload, then the signature verdict. No SHA1 lines: our images embed no
// SHA1 (docs/os-image.md).
void cmd_verify(const cli::Args& a) {
  const char* path = a.text(cli::ArgTag::kPath);
  char name[bfs::kMaxNameLen + 1];
  if (!bootflash_mounted()) return;
  if (!local_name(path, name, sizeof name)) return;
  fw::printf("Verifying file integrity of bootflash:%s\n", name);
  bfs::FileInfo fi;
  uint64_t size = bfs::stat(g.fs, name, &fi) == bfs::Status::kOk ? fi.size : 0;
  if (!verify_local_file(path, name)) return;
  uint64_t dots = size / 4096 + 1;
  for (uint64_t i = 0; i < dots && i < 75; ++i) fw::putc('.');
  fw::printf("\n");
  const trustsim::image::Header& h = g_result.header;
  if (g_result.have_header && h.payload_len <= size - trustsim::image::kHeaderSize) {
    fw::printf("Starting image verification\nHash Computation:    100%%Done!\n");
    uint8_t digest[64];
    fw::EngineCrypto crypto;
    if (crypto.sha512(reinterpret_cast<const uint8_t*>(kStaging), trustsim::image::kHeaderSize + h.payload_len, digest))
      hash_lines("Computed Hash", digest);
    if (g_result.have_envelope) hash_lines("Embedded Hash", g_result.envelope.image_digest);
  }
  if (g_result.verdict == verify::Verdict::kOk)
    fw::printf(
        "Digital signature successfully verified in file bootflash:%s\nEmbedded hash verification "
        "successful.\n",
        name);
  else
    fw::printf("%%Error: digital signature verification failed for bootflash:%s: %s\n", name,
               verify::verdict_text(g_result.verdict));
}

namespace {

keys::Store g_key_copy;

// One "Public Key #N Information" block, as the guide's example prints it
// (upper-case modulus hex, 16 bytes a line).
void key_block(uint32_t number, const keys::KeyRecord& k, const char* store) {
  char title[40];
  fw::snprintf(title, sizeof title, "Public Key #%u Information", number);
  header(title);
  const char* type = k.type == uint8_t(keys::KeyType::kProduction) ? "Release"
                     : k.type == uint8_t(keys::KeyType::kSpecial)  ? "Development"
                                                                   : "Rollover";
  char value[48];
  fw::snprintf(value, sizeof value, "%s (%s)", type, store);
  status_field(0, "Key Type", value);
  status_field(0, "Public Key Algorithm", "RSA");
  status_field(0, "Modulus (256 bytes)", "");
  for (uint32_t b = 0; b < keys::kModulusLen; ++b) {
    if (b % 16 == 0) fw::printf("        ");
    fw::printf("%02X%s", k.modulus[b], b % 16 == 15 ? (b + 1 == keys::kModulusLen ? "\n" : ":\n") : ":");
  }
  fw::snprintf(value, sizeof value, "%X", k.exponent);
  status_field(0, "Exponent (4 bytes)", value);
  char v[2] = {k.version, 0};
  status_field(0, "Key Version", v);
  fw::printf("\n");
}

}  // namespace

// Both key storage copies as NVRAM holds them now: the primary copy's
// production and special keys as (Primary), its rollover key as
// (Revocation), then the backup copy's production and special keys as
// (Backup). A revoked key is out of operation and not listed.
void cmd_show_auth_keys() {
  if (g.debug.show)
    fw::printf("SOFTWARE_AUTHENTICITY: show: %u keys from key storage generation %u\n", g.keys.count,
               g.keys.generation);
  if (!g.keys_valid) {
    fw::printf("%%Error: key storage is invalid\n");
    return;
  }
  uint32_t number = 0;
  struct {
    uint32_t offset;
    const char* name;
  } copies[] = {{keys::kPrimaryOffset, "Primary"}, {keys::kBackupOffset, "Backup"}};
  for (const auto& c : copies) {
    keys::CopyState cs = read_key_copy(c.offset, g_key_copy);
    if (cs != keys::CopyState::kValid) {
      fw::printf("%%Warning: %s key storage copy: %s\n\n", c.name, keys::copy_state_text(cs));
      continue;
    }
    bool primary = c.offset == keys::kPrimaryOffset;
    for (uint32_t i = 0; i < g_key_copy.count; ++i) {
      const keys::KeyRecord& k = g_key_copy.keys[i];
      if (k.flags & keys::kFlagRevoked) continue;
      bool rollover = k.type == uint8_t(keys::KeyType::kRollover);
      if (rollover && !primary) continue;
      key_block(++number, k, rollover ? "Revocation" : c.name);
    }
  }
}

void cmd_debug(const cli::Args& a) {
  if (!a.has(cli::ArgTag::kCategory)) {  // undebug all / no debug all
    g.debug = DebugFlags{};
    fw::printf("All possible debugging has been turned off\n");
    return;
  }
  bool on = !a.negated;
  // One row per `debug software authenticity` category, in the order of
  // cli::DebugCategory; verbose switches every category but autoupgrade.
  struct Row {
    bool DebugFlags::*flag;
    const char* what;
  };
  static constexpr Row kRows[] = {{&DebugFlags::envelope, "envelope"}, {&DebugFlags::errors, "errors"},
                                  {&DebugFlags::key, "key"},           {&DebugFlags::revocation, "revocation"},
                                  {&DebugFlags::show, "show"},         {&DebugFlags::verbose, "verbose"}};
  const auto category = a.number(cli::ArgTag::kCategory);
  if (category >= sizeof(kRows) / sizeof(kRows[0])) {  // the parser only yields known categories
    fw::printf("%%Error: unknown debug category %u\n", unsigned(category));
    return;
  }
  const Row& row = kRows[category];
  if (cli::DebugCategory(category) == cli::DebugCategory::kVerbose) {
    for (const Row& r : kRows) g.debug.*r.flag = on;
  } else {
    g.debug.*row.flag = on;
  }
  fw::printf("Software authenticity %s debugging is %s\n", row.what, on ? "on" : "off");
}

}  // namespace os
