// Key revocation and replacement: software authenticity key add|revoke and
// show software authenticity upgrade-status (docs/os-image.md, "Key
// revocation"). The key changes come from a key bundle at the end of a
// signed image's payload (common/key_bundle.h); key storage is written with
// key_update::commit (the copy not in force first — the backup on a healthy
// board — then the other, each read back; docs/nvram-layout.md).
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

verify::Result g_vr;
kb::Bundle g_bundle;
keys::Store g_next;

const char* signed_kind(uint8_t key_type) {
  switch (keys::KeyType(key_type)) {
    case keys::KeyType::kProduction: return "RELEASE";
    case keys::KeyType::kSpecial: return "DEVELOPMENT";
    case keys::KeyType::kRollover: return "REVOCATION";
  }
  return "UNKNOWN";
}

void print_key(const char* verb, const keys::KeyRecord& k) {
  fw::printf("%s %s key version %c (key id %02x%02x%02x%02x...)\n", verb, keys::key_type_name(k.type), k.version,
             k.key_id[0], k.key_id[1], k.key_id[2], k.key_id[3]);
}

// Loads and verifies the image holding the key bundle: `path`, or the
// running image when the command names none. Checks that the signer may
// change keys of `key_type`: production keys only through a revocation image
// signed with the rollover key, special keys only through an image signed
// with a production key (the IOS XE guide's two processes).
bool load_bundle_image(const char* path, uint8_t key_type, char* full, size_t full_cap) {
  char name[bfs::kMaxNameLen + 1];
  if (!path) {
    if (g.handoff->magic != trustsim::handoff::kMagic || !g.handoff->os_path[0]) {
      fw::printf("%%Error: no image file named and the running image is unknown\n");
      return false;
    }
    path = g.handoff->os_path;
  }
  if (!g.fs_mounted) {
    fw::printf("%%Error: bootflash: is not available (not mounted)\n");
    return false;
  }
  if (!local_name(path, name, sizeof name)) return false;
  fw::snprintf(full, full_cap, "bootflash:%s", name);
  if (!g.keys_valid) {
    fw::printf("%%Error: key storage is invalid; key storage not changed\n");
    return false;
  }
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
  const img::Header& h = g_vr.header;
  uint8_t signer = g_vr.key->type;
  if (key_type == uint8_t(keys::KeyType::kProduction) &&
      (h.image_type != uint32_t(img::Type::kRevocation) || signer != uint8_t(keys::KeyType::kRollover))) {
    fw::printf("%%Error: %s is %s image signed with %s key version %c; production keys change only through a "
               "revocation image signed with the rollover key; key storage not changed\n",
               full, h.image_type == uint32_t(img::Type::kOs) ? "an OS" : "a ROMmon", keys::key_type_name(signer),
               g_vr.key->version);
    return false;
  }
  if (key_type == uint8_t(keys::KeyType::kSpecial) && signer != uint8_t(keys::KeyType::kProduction)) {
    fw::printf("%%Error: %s is signed with %s key version %c; special keys change only through an image signed "
               "with a production key; key storage not changed\n",
               full, keys::key_type_name(signer), g_vr.key->version);
    return false;
  }
  fw::printf("RSA Signed %s Image Signature Verification Successful.\n", signed_kind(signer));
  kb::Error be = kb::find(file + img::kHeaderSize, h.payload_len, g_bundle);
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

// Writes g_next with start and end markers a power-cut campaign can use as
// its window.
void write_key_storage(const char* done_tag, const char* done_verb, uint8_t key_type, bool revoked) {
  fw::printf("%%SOFTWARE_AUTHENTICITY-5-KEY_STORAGE_WRITE: writing key storage generation %u\n",
             g_next.generation + 1);
  fw::flush();
  ku::CommitResult cr = fw::keystore_commit(g_next, first_copy_written);
  if (cr.step != ku::CommitStep::kNothing) g.keys = g_next;  // the first copy already holds the new set
  if (cr.step == ku::CommitStep::kBothWritten)
    fw::printf("%s key storage updated (generation %u)\n", cr.primary_first ? "Backup" : "Primary",
               g_next.generation);
  if (!cr.ok) {
    fw::printf("%%Error: key storage write failed: %s\n", cr.failure);
    return;
  }
  for (uint32_t i = 0; i < g_bundle.count; ++i) {
    const kb::Entry& e = g_bundle.entries[i];
    if (e.key.type != key_type || (e.action == kb::Action::kRevoke) != revoked) continue;
    fw::printf("%%SOFTWARE_AUTHENTICITY-5-%s: %s key version %c %s\n", done_tag, keys::key_type_name(e.key.type),
               e.key.version, done_verb);
  }
}

bool refuse(ku::Status st, const char* what) {
  if (st == ku::Status::kOk) return false;
  if (st != ku::Status::kAlreadyDone) {
    fw::printf("%%Error: %s: %s; key storage not changed\n", what, ku::status_text(st));
    return true;
  }
  // The guide's "issue the command again": the change is in force, but a
  // copy that lacks it (a failed second write) is rewritten now.
  keys::LoadResult kr;
  fw::keystore_load(g.keys, kr);
  if (kr.repair_primary || kr.repair_backup)
    fw::printf("%s: %s; %s key storage copy rewritten from the %s copy\n", what, ku::status_text(st),
               kr.repair_primary ? "primary" : "backup", kr.repair_primary ? "backup" : "primary");
  else
    fw::printf("%s: %s; nothing to write\n", what, ku::status_text(st));
  return true;
}

uint8_t key_type_of(const cli::Args& a) {
  return cli::KeyType(a.number(cli::ArgTag::kKeyType)) == cli::KeyType::kProduction
             ? uint8_t(keys::KeyType::kProduction)
             : uint8_t(keys::KeyType::kSpecial);
}

}  // namespace

void cmd_key_add(const cli::Args& a) {
  uint8_t type = key_type_of(a);
  char full[160];
  if (!load_bundle_image(a.text(cli::ArgTag::kPath), type, full, sizeof full)) return;
  uint32_t changed = 0;
  ku::Status st = ku::plan_add(g.keys, g_bundle, type, g_next, &changed);
  if (refuse(st, "cannot add the key")) return;
  for (uint32_t i = 0; i < g_bundle.count; ++i)
    if (g_bundle.entries[i].action == kb::Action::kAdd && g_bundle.entries[i].key.type == type &&
        !keys::find_by_id(g.keys, g_bundle.entries[i].key.key_id))
      print_key("Adding", g_bundle.entries[i].key);
  if (!confirm("Proceed with the key storage update? [confirm]")) {
    fw::printf("Key storage not changed\n");
    return;
  }
  write_key_storage("KEY_ADDED", "added to key storage", type, false);
}

void cmd_key_revoke(const cli::Args& a) {
  uint8_t type = key_type_of(a);
  char full[160];
  if (!load_bundle_image(a.text(cli::ArgTag::kPath), type, full, sizeof full)) return;
  ku::InUse in_use{};
  if (g.handoff->magic == trustsim::handoff::kMagic) {
    in_use.os_key_type = g.handoff->os.key_type;
    in_use.os_key_version = g.handoff->os.key_version;
    in_use.rommon_key_type = g.handoff->rommon.key_type;
    in_use.rommon_key_version = g.handoff->rommon.key_version;
  }
  // The ROMmon the next boot starts: the primary slot when it verifies.
  char rv[64];
  primary_rommon_signer(rv, sizeof rv, &in_use.rommon_key_type, &in_use.rommon_key_version);
  uint32_t changed = 0;
  ku::Status st = ku::plan_revoke(g.keys, g_bundle, type, in_use, g_next, &changed);
  if (refuse(st, "cannot revoke the key")) return;
  for (uint32_t i = 0; i < g_bundle.count; ++i) {
    const kb::Entry& e = g_bundle.entries[i];
    const keys::KeyRecord* k = keys::find_by_id(g.keys, e.key.key_id);
    if (e.action == kb::Action::kRevoke && e.key.type == type && k && !(k->flags & keys::kFlagRevoked))
      print_key("Revoking", e.key);
  }
  fw::printf("Images signed with a revoked key will no longer boot.\n");
  // The golden ROMmon is never rewritten: if its key goes, so does the
  // fallback Boot0 starts when the primary ROMmon is damaged.
  uint8_t gt = 0;
  char gv = 0;
  if (golden_rommon_signer(&gt, &gv)) {
    bool kept = false;
    for (uint32_t i = 0; i < g_next.count; ++i)
      kept |= g_next.keys[i].type == gt && g_next.keys[i].version == gv && !(g_next.keys[i].flags & keys::kFlagRevoked);
    if (!kept)
      fw::printf("%%Warning: the golden ROMmon is signed with %s key version %c: after this revocation it no longer "
                 "verifies, and Boot0 has no fallback if the primary ROMmon is damaged\n",
                 keys::key_type_name(gt), gv);
  }
  if (!confirm("Proceed with the key storage update? [confirm]")) {
    fw::printf("Key storage not changed\n");
    return;
  }
  write_key_storage("KEY_REVOKED", "revoked", type, true);
}

namespace {

// The copy at `offset` as it is in NVRAM now.
keys::CopyState read_copy_state(uint32_t offset, keys::Store& out) {
  static uint8_t region[keys::kStoreRegionLen];
  memset(region, 0xFF, sizeof region);
  if (!fw::nvram_read(offset, region, sizeof region)) return keys::CopyState::kErased;
  return keys::decode_copy(region, sizeof region, out);
}

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
    if (k.type != uint8_t(keys::KeyType::kProduction) || (k.flags & keys::kFlagRevoked)) continue;
    if (!newest || k.version > newest->version) newest = &k;
  }
  if (!newest) {
    status_field(0, "New production key version", "none (no usable production key)");
    return;
  }
  for (uint32_t i = 0; i < g.keys.count; ++i) {
    const keys::KeyRecord& k = g.keys.keys[i];
    if (k.type == uint8_t(keys::KeyType::kProduction) && !(k.flags & keys::kFlagRevoked) && k.version < newest->version)
      ++older;
  }
  char v[96];
  fw::snprintf(v, sizeof v, "%c", newest->version);
  status_field(0, "New production key version", v);
  keys::CopyState ps = read_copy_state(keys::kPrimaryOffset, g_copy);
  const char* in_primary = stored_state(ps, g_copy, *newest);
  bool ok_primary = fw::strcmp(in_primary, "Installed") == 0;
  status_field(4, "Primary key storage", in_primary);
  keys::CopyState bs = read_copy_state(keys::kBackupOffset, g_copy);
  const char* in_backup = stored_state(bs, g_copy, *newest);
  bool ok_backup = fw::strcmp(in_backup, "Installed") == 0;
  status_field(4, "Backup key storage", in_backup);

  // The image the next boot takes: the first BOOT entry.
  bool ok_image = false;
  const char* boot = trustsim::romvars::get(g.vars, "BOOT");
  char path[160] = {};
  if (boot) {
    size_t n = 0;
    while (boot[n] && boot[n] != ',' && boot[n] != ';' && n + 1 < sizeof path) {
      path[n] = boot[n];
      ++n;
    }
  }
  if (!path[0]) {
    status_field(0, "Autoboot image", "none (BOOT is not set)");
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
    fw::printf("    Add the key again: software authenticity key add production bootflash:<revocation image>\n");
  if (!ok_image) fw::printf("    Point boot system at an image signed with production key version %c\n", newest->version);
  if (!ok_rommon) fw::printf("    Upgrade the ROMmon to one signed with production key version %c\n", newest->version);
  if (ready && older)
    fw::printf("    After the reload: software authenticity key revoke production bootflash:<revocation image>\n");
}

}  // namespace os
