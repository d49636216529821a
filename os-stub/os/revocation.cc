// Key revocation and replacement, as the IOS XE guide runs it
// (docs/os-image.md, "Key revocation"): software authenticity key
// add|revoke, show software authenticity upgrade-status and the revocation
// image's command filter.
//
// Production keys: the revocation image (this OS built with
// OS_REVOCATION_IMAGE, signed with the rollover key) adds the one production
// key bundled in it; a production image signed with key version N revokes
// every older production version. Special keys: a production image adds
// the special key bundled in it and revokes the one its bundle names.
// Special images change no key. Key storage is written with
// key_update::commit (the copy not in force first, each read back;
// docs/nvram-layout.md).
#include "os.h"

#include "trustsim/key_bundle.h"
#include "trustsim/romvars.h"
#include "trustsim/verify.h"

namespace os {
namespace {

namespace verify = trustsim::verify;
namespace kb = trustsim::key_bundle;
namespace ku = trustsim::key_update;
namespace img = trustsim::image;

constexpr uint8_t kProduction = uint8_t(keys::KeyType::kProduction);
constexpr uint8_t kSpecial = uint8_t(keys::KeyType::kSpecial);
constexpr uint8_t kRollover = uint8_t(keys::KeyType::kRollover);

verify::Result g_vr;
kb::Bundle g_bundle;
keys::Store g_next;
keys::Store g_before;

void print_key(const char* verb, const keys::KeyRecord& k) {
  fw::printf("%s %s key version %c (key id %02x%02x%02x%02x...)\n", verb, keys::key_type_name(k.type), k.version,
             k.key_id[0], k.key_id[1], k.key_id[2], k.key_id[3]);
}

bool handoff_valid() { return g.handoff->magic == trustsim::handoff::kMagic && g.handoff->os_path[0]; }

// Loads and verifies the running image's file (the path the boot chain
// loaded it from), checks it is the image that is running (its digest is
// the one ROMmon verified) and finds its key bundle.
bool load_running_bundle(char* full, size_t full_cap) {
  if (!handoff_valid()) {
    fw::printf("%%Error: the running image is unknown (no boot chain record); key storage not changed\n");
    return false;
  }
  if (!g.fs_mounted) {
    fw::printf("%%Error: bootflash: is not available (not mounted); key storage not changed\n");
    return false;
  }
  if (!g.keys_valid) {
    fw::printf("%%Error: key storage is invalid; key storage not changed\n");
    return false;
  }
  char name[bfs::kMaxNameLen + 1];
  if (!local_name(g.handoff->os_path, name, sizeof name)) return false;
  fw::snprintf(full, full_cap, "bootflash:%s", name);
  fw::printf("Verifying %s\n", full);
  uint64_t size;
  if (!load_file(name, &size)) return false;
  fw::EngineCrypto crypto;
  const uint8_t* file = reinterpret_cast<const uint8_t*>(kStaging);
  verify::verify_image(file, size, g.keys, crypto, g_vr);
  if (g.debug.revocation && g_vr.have_envelope)
    fw::printf("SOFTWARE_AUTHENTICITY: revocation: %s signed with %s key version %c, verdict: %s\n", full,
               keys::key_type_name(g_vr.envelope.key_type), g_vr.envelope.key_version,
               verify::verdict_text(g_vr.verdict));
  if (g_vr.verdict != verify::Verdict::kOk) {
    fw::printf("%%Error: %s: %s%s%s; key storage not changed\n", full, verify::verdict_text(g_vr.verdict),
               g_vr.detail ? ": " : "", g_vr.detail ? g_vr.detail : "");
    return false;
  }
  if (memcmp(g_vr.envelope.image_digest, g.handoff->os.digest, 64) != 0) {
    fw::printf("%%Error: %s changed since it was booted; reload and try again; key storage not changed\n", full);
    return false;
  }
  fw::printf("RSA Signed %s Image Signature Verification Successful.\n", verify::signed_kind(g_vr.key->type));
  kb::Error be = kb::find(file + img::kHeaderSize, g_vr.header.payload_len, g_bundle);
  if (be != kb::Error::kOk) {
    fw::printf("%%Error: %s: %s; key storage not changed\n", full, kb::error_text(be));
    return false;
  }
  return true;
}

void first_copy_written(bool primary_first, uint32_t generation) {
  fw::printf("%s key storage updated (generation %u)\n", primary_first ? "Primary" : "Backup", generation);
  fw::flush();
}

// Writes g_next (the change from g_before) with start and end markers a
// power-cut campaign can use as its window.
void write_key_storage() {
  fw::printf("%%SOFTWARE_AUTHENTICITY-5-KEY_STORAGE_WRITE: writing key storage generation %u\n", g_next.generation + 1);
  fw::flush();
  ku::CommitResult cr = fw::keystore_commit(g_next, first_copy_written);
  if (cr.step != ku::CommitStep::kNothing) g.keys = g_next;  // the first copy already holds the new set
  if (cr.step == ku::CommitStep::kBothWritten)
    fw::printf("%s key storage updated (generation %u)\n", cr.primary_first ? "Backup" : "Primary", g_next.generation);
  if (!cr.ok) {
    fw::printf("%%Error: key storage write failed: %s\n", cr.failure);
    return;
  }
  for (uint32_t i = 0; i < g_next.count; ++i) {
    const keys::KeyRecord& k = g_next.keys[i];
    const keys::KeyRecord* was = keys::find_by_id(g_before, k.key_id);
    if (!was)
      fw::printf("%%SOFTWARE_AUTHENTICITY-5-KEY_ADDED: %s key version %c added to key storage\n",
                 keys::key_type_name(k.type), k.version);
    else if ((k.flags & keys::kFlagRevoked) && !(was->flags & keys::kFlagRevoked))
      fw::printf("%%SOFTWARE_AUTHENTICITY-5-KEY_REVOKED: %s key version %c revoked\n", keys::key_type_name(k.type),
                 k.version);
  }
}

bool confirm_and_write() {
  if (!confirm("Proceed with the key storage update? [confirm]")) {
    fw::printf("Key storage not changed\n");
    return false;
  }
  g_before = g.keys;
  write_key_storage();
  return true;
}

// The guide's "issue the command again": the change is in force, but a
// copy that lacks it (a failed second write) is rewritten now.
void already_done(const char* what) {
  keys::LoadResult kr;
  fw::keystore_load(g.keys, kr);
  if (kr.repair_primary || kr.repair_backup)
    fw::printf("%s: %s; %s key storage copy rewritten from the %s copy\n", what,
               ku::status_text(ku::Status::kAlreadyDone), kr.repair_primary ? "primary" : "backup",
               kr.repair_primary ? "backup" : "primary");
  else
    fw::printf("%s: %s; nothing to write\n", what, ku::status_text(ku::Status::kAlreadyDone));
}

// One line for a refused plan_add.
void refuse_add(ku::Status st, const kb::Entry* e, uint8_t type) {
  const char* tn = keys::key_type_name(type);
  if (st == ku::Status::kWasRevoked && e) {
    fw::printf("%%Error: %s key version %c was revoked and can never be added again; key storage not changed\n", tn,
               e->key.version);
  } else if (st == ku::Status::kNotNextVersion && e) {
    char want = ku::next_version(g.keys, type);
    if (want)
      fw::printf(
          "%%Error: %s key version %c cannot be added: key versions advance one letter at a time and the "
          "next %s key is version %c; key storage not changed\n",
          tn, e->key.version, tn, want);
    else
      fw::printf(
          "%%Error: %s key version %c cannot be added: no %s key version is left after Z; key storage not "
          "changed\n",
          tn, e->key.version, tn);
  } else {
    fw::printf("%%Error: cannot add the key: %s; key storage not changed\n", ku::status_text(st));
  }
}

void add_from_bundle(uint8_t type) {
  uint32_t changed = 0;
  const kb::Entry* culprit = nullptr;
  ku::Status st = ku::plan_add(g.keys, g_bundle, type, g_next, &changed, &culprit);
  if (st == ku::Status::kAlreadyDone) return already_done("cannot add the key");
  if (st != ku::Status::kOk) return refuse_add(st, culprit, type);
  for (uint32_t i = 0; i < g_next.count; ++i)
    if (!keys::find_by_id(g.keys, g_next.keys[i].key_id)) print_key("Adding", g_next.keys[i]);
  confirm_and_write();
}

// Production step 1, on the revocation image only.
void add_production() {
  if (!kRevocationImage) {
    fw::printf(
        "%%Error: production keys are added from the revocation image (signed with the rollover key): boot "
        "it and run this command there; key storage not changed\n");
    return;
  }
  char full[160];
  if (!load_running_bundle(full, sizeof full)) return;
  if (g_vr.header.image_type != uint32_t(img::Type::kRevocation) || g_vr.key->type != kRollover) {
    fw::printf("%%Error: %s is not a revocation image signed with the rollover key; key storage not changed\n", full);
    return;
  }
  const kb::Entry& e = g_bundle.entries[0];
  if (g_bundle.count != 1 || e.action != kb::Action::kAdd || e.key.type != kProduction) {
    fw::printf(
        "%%Error: %s: a revocation image carries exactly one production key to add, this one carries %u "
        "key change(s); key storage not changed\n",
        full, g_bundle.count);
    return;
  }
  add_from_bundle(kProduction);
}

// Special images and the revocation image change no special key.
bool special_allowed() {
  if (kRevocationImage) {
    fw::printf(
        "%%Error: the revocation image changes only production keys; special keys change from a production "
        "image; key storage not changed\n");
    return false;
  }
  if (!handoff_valid()) {
    fw::printf("%%Error: the running image is unknown (no boot chain record); key storage not changed\n");
    return false;
  }
  if (g.handoff->os.key_type != kProduction) {
    fw::printf(
        "%%Error: the running image is signed with %s key version %c: only a production image adds or "
        "revokes keys; key storage not changed\n",
        keys::key_type_name(g.handoff->os.key_type), g.handoff->os.key_version);
    return false;
  }
  return true;
}

void add_special() {
  if (!special_allowed()) return;
  char full[160];
  if (!load_running_bundle(full, sizeof full)) return;
  if (g_vr.key->type != kProduction) {  // the handoff said production; the file must agree
    fw::printf("%%Error: %s is not signed with a production key; key storage not changed\n", full);
    return;
  }
  add_from_bundle(kSpecial);
}

// The key that verifies a BOOT entry's image now, if it verifies.
bool boot_entry_signer(const char* path, uint8_t* type, char* version) {
  char name[bfs::kMaxNameLen + 1];
  cli::Url u;
  if (!cli::split_url(path, &u) || (u.fs != cli::FileSystem::kBootflash && u.fs != cli::FileSystem::kFlash))
    return false;
  bfs::FileInfo fi;
  if (!g.fs_mounted || !local_name(path, name, sizeof name) || bfs::stat(g.fs, name, &fi) != bfs::Status::kOk)
    return false;
  uint64_t size;
  if (!load_file(name, &size)) return false;
  fw::EngineCrypto crypto;
  verify::verify_image(reinterpret_cast<const uint8_t*>(kStaging), size, g.keys, crypto, g_vr);
  if (g_vr.verdict != verify::Verdict::kOk) return false;
  *type = g_vr.key->type;
  *version = g_vr.key->version;
  return true;
}

constexpr uint32_t kMaxUses = kMaxBootEntries + 4;
ku::KeyUse g_uses[kMaxUses];
char g_use_text[kMaxUses][200];

void add_use(uint32_t* n, uint8_t type, char version, const char* what) {
  if (*n >= kMaxUses) return;
  fw::snprintf(g_use_text[*n], sizeof g_use_text[*n], "%s", what);
  g_uses[*n] = ku::KeyUse{type, version, g_use_text[*n]};
  ++*n;
}

// Everything the board will boot after a revocation and the key that
// verifies it now: the running image, the upgradable ROMmon (primary slot),
// the golden ROMmon (Boot0's fallback, never rewritten) and the image of
// every BOOT entry. Production and special revocations refuse alike when a
// key to revoke verifies one of them. Returns how many there are (g_uses).
uint32_t collect_key_uses() {
  uint32_t n = 0;
  char what[200];
  add_use(&n, g.handoff->os.key_type, g.handoff->os.key_version, "the running image");
  char rv[64];
  uint8_t t = 0;
  char v = 0;
  if (primary_rommon_signer(rv, sizeof rv, &t, &v)) {
    fw::snprintf(what, sizeof what, "the upgradable ROMmon %s", rv);
    add_use(&n, t, v, what);
  }
  if (golden_rommon_signer(&t, &v)) add_use(&n, t, v, "the golden ROMmon (never rewritten; Boot0's fallback)");
  size_t cursor = 0;
  trustsim::romvars::BootEntry e{};
  char path[160];
  while (n < kMaxUses && trustsim::romvars::next_boot_entry(trustsim::romvars::get(g.vars, "BOOT"), &cursor, &e)) {
    if (!trustsim::romvars::copy_boot_path(e, path, sizeof path) || !boot_entry_signer(path, &t, &v)) continue;
    fw::snprintf(what, sizeof what, "the autoboot image %s (BOOT entry %u)", path, e.index);
    add_use(&n, t, v, what);
  }
  return n;
}

// One line for a refused plan_revoke / plan_revoke_older.
void refuse_revoke(ku::Status st, const ku::KeyUse* blocker) {
  if (st == ku::Status::kStillNeeded && blocker)
    fw::printf("%%Error: cannot revoke %s key version %c: %s is signed with it; key storage not changed\n",
               keys::key_type_name(blocker->key_type), blocker->key_version, blocker->what);
  else
    fw::printf("%%Error: cannot revoke the key: %s; key storage not changed\n", ku::status_text(st));
}

// The planned revocation (g_next against the key set in force), then the
// confirmation and the write.
void print_revoking_and_write() {
  for (uint32_t i = 0; i < g_next.count; ++i)
    if ((g_next.keys[i].flags & keys::kFlagRevoked) && !(g.keys.keys[i].flags & keys::kFlagRevoked))
      print_key("Revoking", g_next.keys[i]);
  fw::printf("Images signed with a revoked key will no longer boot.\n");
  confirm_and_write();
}

// Production step 4, on a production image signed with key version N.
void revoke_production() {
  if (!handoff_valid()) {
    fw::printf("%%Error: the running image is unknown (no boot chain record); key storage not changed\n");
    return;
  }
  const trustsim::handoff::StageInfo& os = g.handoff->os;
  if (os.key_type != kProduction) {
    fw::printf(
        "%%Error: the running image is signed with %s key version %c: production keys are revoked from a "
        "production image signed with the new key; key storage not changed\n",
        keys::key_type_name(os.key_type), os.key_version);
    return;
  }
  if (!g.keys_valid) {
    fw::printf("%%Error: key storage is invalid; key storage not changed\n");
    return;
  }
  uint32_t n = collect_key_uses();
  uint32_t changed = 0;
  const ku::KeyUse* blocker = nullptr;
  ku::Status st = ku::plan_revoke_older(g.keys, kProduction, os.key_version, g_uses, n, g_next, &changed, &blocker);
  if (st == ku::Status::kNothingOlder) {
    fw::printf("No production key older than version %c is in key storage; nothing to revoke\n", os.key_version);
    return;
  }
  if (st == ku::Status::kNotInStorage) {
    fw::printf(
        "%%Error: Production key version %c, which verified the running image, is not a usable key in key "
        "storage; key storage not changed\n",
        os.key_version);
    return;
  }
  if (st != ku::Status::kOk) return refuse_revoke(st, blocker);
  print_revoking_and_write();
}

// Special step 3: the special keys the running production image's bundle names.
void revoke_special() {
  if (!special_allowed()) return;
  char full[160];
  if (!load_running_bundle(full, sizeof full)) return;
  uint32_t n = collect_key_uses();
  uint32_t changed = 0;
  const ku::KeyUse* blocker = nullptr;
  ku::Status st = ku::plan_revoke(g.keys, g_bundle, kSpecial, g_uses, n, g_next, &changed, &blocker);
  if (st == ku::Status::kAlreadyDone) return already_done("cannot revoke the key");
  if (st != ku::Status::kOk) return refuse_revoke(st, blocker);
  print_revoking_and_write();
}

bool is_production(const cli::Args& a) {
  return cli::KeyType(a.number(cli::ArgTag::kKeyType)) == cli::KeyType::kProduction;
}

}  // namespace

void cmd_key_add(const cli::Args& a) {
  if (is_production(a))
    add_production();
  else
    add_special();
}

void cmd_key_revoke(const cli::Args& a) {
  if (is_production(a))
    revoke_production();
  else
    revoke_special();
}

void print_revocation_image_line() {
  const trustsim::handoff::Block* h = g.handoff;
  bool ho = h->magic == trustsim::handoff::kMagic;
  fw::printf(
      "This is a revocation image, signed with the %s key version %c: it only adds the production key "
      "bundled in it (software authenticity key add production)\n",
      ho ? keys::key_type_name(h->os.key_type) : "unknown", ho ? h->os.key_version : '?');
}

bool revocation_image_allows(cli::CommandId id) {
  using C = cli::CommandId;
  switch (id) {
    case C::kEnable:
    case C::kDisable:
    case C::kConfigureTerminal:
    case C::kEnd:
    case C::kExit:
    case C::kLogout:
    case C::kShowVersion:
    case C::kShowSoftwareAuthenticityRunning:
    case C::kShowSoftwareAuthenticityFile:
    case C::kShowSoftwareAuthenticityKeys:
    case C::kShowSoftwareAuthenticityUpgradeStatus:
    case C::kShowFileSystem:
    case C::kShowRunningConfig:
    case C::kShowStartupConfig:
    case C::kDir:
    case C::kDelete:
    case C::kRename:
    case C::kCopy:
    case C::kMore:
    case C::kVerify:
    case C::kBootSystem:
    case C::kWriteMemory:
    case C::kUpgradeRomMonitor:
    case C::kReload:
    case C::kSoftwareAuthenticityKeyAdd:
      return true;
    // The other lines a startup-config holds: applied at start-up, so that
    // write memory on this image keeps them.
    case C::kHostname:
    case C::kConfigRegister:
    case C::kIpFtpUsername:
    case C::kIpFtpPassword:
    case C::kIpDomainName:
    case C::kIpNameServer:
    case C::kFilePrompt:
    case C::kAutoupgradeDiskCleanup:
    case C::kAutoupgradeIdaUrl:
    case C::kAutoupgradeEmailRecipient:
    case C::kAutoupgradeSmtpServer:
    case C::kCryptoPkiTrustpoint:
    case C::kTrustpointEnrollment:
    case C::kTrustpointRevocationNone:
    case C::kCryptoPkiCertificateCa:
      return true;
    default:
      break;
  }
  fw::printf("%% '%s' is not available on the revocation image: it only adds its bundled production key\n",
             cli::command_name(id));
  return false;
}

keys::CopyState read_key_copy(uint32_t offset, keys::Store& out) {
  static uint8_t region[keys::kStoreRegionLen];
  memset(region, 0xFF, sizeof region);
  if (!fw::nvram_read(offset, region, sizeof region)) return keys::CopyState::kErased;
  return keys::decode_copy(region, sizeof region, out);
}

namespace {

const char* stored_state(keys::CopyState cs, const keys::Store& s, const keys::KeyRecord& k) {
  if (cs != keys::CopyState::kValid) return keys::copy_state_text(cs);
  const keys::KeyRecord* r = keys::find_by_id(s, k.key_id);
  if (!r) return "Not installed";
  return (r->flags & keys::kFlagRevoked) ? "Revoked" : "Installed";
}

keys::Store g_copy;

}  // namespace

void cmd_show_upgrade_status() {
  if (g.debug.show) fw::printf("SOFTWARE_AUTHENTICITY: show: production key upgrade status\n");
  fw::printf("Production Key Upgrade Status\n-----------------------------\n");
  if (!g.keys_valid) {
    fw::printf("%%Error: key storage is invalid\n");
    return;
  }
  // The newest usable production key is the one the upgrade moves to.
  const keys::KeyRecord* newest = nullptr;
  uint32_t older = 0;
  for (uint32_t i = 0; i < g.keys.count; ++i) {
    const keys::KeyRecord& k = g.keys.keys[i];
    if (k.type != kProduction || (k.flags & keys::kFlagRevoked)) continue;
    if (!newest || k.version > newest->version) newest = &k;
  }
  if (!newest) {
    status_field(0, "New production key version", "none (no usable production key)");
    return;
  }
  for (uint32_t i = 0; i < g.keys.count; ++i) {
    const keys::KeyRecord& k = g.keys.keys[i];
    if (k.type == kProduction && !(k.flags & keys::kFlagRevoked) && k.version < newest->version) ++older;
  }
  char v[96];
  fw::snprintf(v, sizeof v, "%c", newest->version);
  status_field(0, "New production key version", v);
  keys::CopyState ps = read_key_copy(keys::kPrimaryOffset, g_copy);
  const char* in_primary = stored_state(ps, g_copy, *newest);
  bool ok_primary = fw::strcmp(in_primary, "Installed") == 0;
  status_field(4, "Primary key storage", in_primary);
  keys::CopyState bs = read_key_copy(keys::kBackupOffset, g_copy);
  const char* in_backup = stored_state(bs, g_copy, *newest);
  bool ok_backup = fw::strcmp(in_backup, "Installed") == 0;
  status_field(4, "Backup key storage", in_backup);

  // The image the next boot takes: the first BOOT entry.
  bool ok_image = false;
  char path[160] = {};
  size_t cursor = 0;
  trustsim::romvars::BootEntry e{};
  bool have_entry = trustsim::romvars::next_boot_entry(trustsim::romvars::get(g.vars, "BOOT"), &cursor, &e);
  if (!have_entry) {
    status_field(0, "Autoboot image", "none (BOOT is not set)");
  } else if (!trustsim::romvars::copy_boot_path(e, path, sizeof path)) {
    fw::snprintf(v, sizeof v, "unreadable (its path is longer than %u characters)", unsigned(sizeof path - 1));
    status_field(0, "Autoboot image", v);
  } else {
    status_field(0, "Autoboot image", path);
    char name[bfs::kMaxNameLen + 1];
    uint64_t size;
    cli::Url u;
    bool local = cli::split_url(path, &u) && (u.fs == cli::FileSystem::kBootflash || u.fs == cli::FileSystem::kFlash);
    if (!local || !g.fs_mounted || !local_name(path, name, sizeof name) || !load_file(name, &size)) {
      status_field(4, "Signed with", "unknown (file not readable)");
    } else {
      fw::EngineCrypto crypto;
      verify::verify_image(reinterpret_cast<const uint8_t*>(kStaging), size, g.keys, crypto, g_vr);
      if (g_vr.verdict != verify::Verdict::kOk) {
        fw::snprintf(v, sizeof v, "does not verify: %s", verify::verdict_text(g_vr.verdict));
      } else {
        fw::snprintf(v, sizeof v, "%s key version %c", keys::key_type_name(g_vr.key->type), g_vr.key->version);
        ok_image = g_vr.key->type == newest->type && g_vr.key->version == newest->version;
      }
      status_field(4, "Signed with", v);
    }
  }
  // The ROMmon the next boot starts: the primary slot of the boot flash
  // (Boot0 falls back to the golden copy only if it fails to verify).
  bool ok_rommon = false;
  char rom_version[64];
  uint8_t rom_type = 0;
  char rom_key = 0;
  if (primary_rommon_signer(rom_version, sizeof rom_version, &rom_type, &rom_key)) {
    fw::snprintf(v, sizeof v, "%s (primary copy)", rom_version);
    status_field(0, "Upgradable ROMmon", v);
    fw::snprintf(v, sizeof v, "%s key version %c", keys::key_type_name(rom_type), rom_key);
    status_field(4, "Signed with", v);
    ok_rommon = rom_type == newest->type && rom_key == newest->version;
  } else {
    status_field(0, "Upgradable ROMmon", "primary copy does not verify");
  }
  bool ready = ok_primary && ok_backup && ok_image && ok_rommon;
  status_field(0, "Ready for the next boot", ready ? "Yes" : "No");
  if (!ok_primary || !ok_backup)
    fw::printf("    Add the key again: software authenticity key add production, on the revocation image\n");
  if (!ok_image)
    fw::printf("    Point boot system at an image signed with production key version %c\n", newest->version);
  if (!ok_rommon) fw::printf("    Upgrade the ROMmon to one signed with production key version %c\n", newest->version);
  if (ready && older)
    fw::printf(
        "    After the reload: software authenticity key revoke production, on the image signed with version %c\n",
        newest->version);
}

}  // namespace os
