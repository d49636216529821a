#include "trustsim/key_bundle.h"

#include "trustsim/bytes.h"
#include "trustsim/crc32.h"

namespace trustsim::key_bundle {

const char* error_text(Error e) {
  switch (e) {
    case Error::kOk:
      return "ok";
    case Error::kNone:
      return "the image carries no key bundle";
    case Error::kTruncated:
      return "key bundle truncated";
    case Error::kBadVersion:
      return "unsupported key bundle version";
    case Error::kBadCount:
      return "key bundle entry count out of range";
    case Error::kBadCrc:
      return "key bundle checksum mismatch";
    case Error::kBadEntry:
      return "malformed key bundle entry";
  }
  return "?";
}

uint32_t encode(const Bundle& b, uint8_t* out) {
  uint32_t n = b.count > kMaxEntries ? kMaxEntries : b.count;
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t* e = out + i * kEntryLen;
    e[0] = uint8_t(b.entries[i].action);
    e[1] = e[2] = e[3] = 0;
    keys::KeyRecord k = b.entries[i].key;
    k.flags = 0;
    keys::encode_record(k, e + 4);
  }
  uint8_t* f = out + n * kEntryLen;
  store_le32(f, kMagic);
  store_le16(f + 4, kVersion);
  store_le16(f + 6, uint16_t(n));
  store_le32(f + 8, crc32(out, n * kEntryLen));
  store_le32(f + 12, 0);
  return encoded_len(n);
}

Error find(const uint8_t* payload, uint64_t len, Bundle& out) {
  out.count = 0;
  if (len < kFooterLen) return Error::kNone;
  const uint8_t* f = payload + len - kFooterLen;
  if (load_le32(f) != kMagic) return Error::kNone;
  if (load_le16(f + 4) != kVersion || load_le32(f + 12) != 0) return Error::kBadVersion;
  uint32_t count = load_le16(f + 6);
  if (count == 0 || count > kMaxEntries) return Error::kBadCount;
  if (uint64_t(count) * kEntryLen > len - kFooterLen) return Error::kTruncated;
  const uint8_t* start = f - count * kEntryLen;
  if (crc32(start, count * kEntryLen) != load_le32(f + 8)) return Error::kBadCrc;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = start + i * kEntryLen;
    Entry& en = out.entries[i];
    if ((e[0] != uint8_t(Action::kAdd) && e[0] != uint8_t(Action::kRevoke)) || e[1] || e[2] || e[3])
      return Error::kBadEntry;
    en.action = Action(e[0]);
    if (!keys::decode_record(e + 4, en.key) || en.key.flags != 0) return Error::kBadEntry;
  }
  out.count = count;
  return Error::kOk;
}

}  // namespace trustsim::key_bundle

namespace trustsim::key_update {

const char* status_text(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kNoEntries:
      return "the image carries no key of this type for this operation";
    case Status::kAlreadyDone:
      return "key storage already holds this change";
    case Status::kNotInStorage:
      return "the key to revoke is not in key storage";
    case Status::kConflict:
      return "key storage already holds a different key of the same type and version";
    case Status::kFull:
      return "key storage is full";
    case Status::kLastKeyOfType:
      return "revoking it would leave no usable key of this type";
    case Status::kWasRevoked:
      return "the key was revoked and can never be added again";
    case Status::kNotNextVersion:
      return "the key version is not the next one after the newest of its type";
    case Status::kStillNeeded:
      return "software the board will boot is still signed with a key to revoke";
    case Status::kNothingOlder:
      return "no usable key of this type is older than the running image's";
  }
  return "?";
}

namespace {

bool same_record(const keys::KeyRecord& a, const keys::KeyRecord& b) {
  return a.type == b.type && a.version == b.version && a.flags == b.flags && a.exponent == b.exponent &&
         __builtin_memcmp(a.key_id, b.key_id, keys::kKeyIdLen) == 0 &&
         __builtin_memcmp(a.modulus, b.modulus, keys::kModulusLen) == 0;
}

// The stored record that is this key (same id, type and version), else nullptr.
keys::KeyRecord* stored(keys::Store& s, const keys::KeyRecord& k) {
  for (uint32_t i = 0; i < s.count; ++i)
    if (__builtin_memcmp(s.keys[i].key_id, k.key_id, keys::kKeyIdLen) == 0)
      return s.keys[i].type == k.type && s.keys[i].version == k.version ? &s.keys[i] : nullptr;
  return nullptr;
}

}  // namespace

bool same_keys(const keys::Store& a, const keys::Store& b) {
  if (a.count != b.count) return false;
  for (uint32_t i = 0; i < a.count; ++i)
    if (!same_record(a.keys[i], b.keys[i])) return false;
  return true;
}

char next_version(const keys::Store& s, uint8_t key_type) {
  char newest = 0;
  for (uint32_t i = 0; i < s.count; ++i)
    if (s.keys[i].type == key_type && s.keys[i].version > newest) newest = s.keys[i].version;
  if (!newest) return 'A';
  return newest < 'Z' ? char(newest + 1) : 0;
}

Status plan_add(const keys::Store& cur, const key_bundle::Bundle& b, uint8_t key_type, keys::Store& next,
                uint32_t* changed, const key_bundle::Entry** culprit) {
  next = cur;
  *changed = 0;
  bool any = false;
  for (uint32_t i = 0; i < b.count; ++i) {
    const key_bundle::Entry& e = b.entries[i];
    if (e.action != key_bundle::Action::kAdd || e.key.type != key_type) continue;
    any = true;
    if (culprit) *culprit = &e;
    if (const keys::KeyRecord* have = keys::find_by_id(next, e.key.key_id)) {
      if (!stored(next, e.key)) return Status::kConflict;  // same modulus filed as another type/version
      if (have->flags & keys::kFlagRevoked) return Status::kWasRevoked;
      continue;  // already there
    }
    for (uint32_t k = 0; k < next.count; ++k)
      if (next.keys[k].type == e.key.type && next.keys[k].version == e.key.version)
        return (next.keys[k].flags & keys::kFlagRevoked) ? Status::kWasRevoked : Status::kConflict;
    if (e.key.version != next_version(next, key_type)) return Status::kNotNextVersion;
    if (next.count >= keys::kMaxKeys) return Status::kFull;
    next.keys[next.count] = e.key;
    next.keys[next.count].flags = 0;
    ++next.count;
    ++*changed;
  }
  if (culprit) *culprit = nullptr;
  if (!any) return Status::kNoEntries;
  return *changed ? Status::kOk : Status::kAlreadyDone;
}

namespace {

// The first use verified by `k`, if any.
const KeyUse* use_of(const keys::KeyRecord& k, const KeyUse* uses, uint32_t n_uses) {
  for (uint32_t u = 0; u < n_uses; ++u)
    if (uses[u].key_type == k.type && uses[u].key_version == k.version) return &uses[u];
  return nullptr;
}

// A refused plan leaves `next` as `cur`: nothing half-planned.
Status refuse(const keys::Store& cur, keys::Store& next, uint32_t* changed, Status st) {
  next = cur;
  *changed = 0;
  return st;
}

}  // namespace

Status plan_revoke_older(const keys::Store& cur, uint8_t key_type, char keep, const KeyUse* uses, uint32_t n_uses,
                         keys::Store& next, uint32_t* changed, const KeyUse** blocker) {
  next = cur;
  *changed = 0;
  if (blocker) *blocker = nullptr;
  bool kept = false;
  for (uint32_t k = 0; k < next.count; ++k)
    kept |= next.keys[k].type == key_type && next.keys[k].version == keep && !(next.keys[k].flags & keys::kFlagRevoked);
  if (!kept) return Status::kNotInStorage;
  for (uint32_t k = 0; k < next.count; ++k) {
    keys::KeyRecord& r = next.keys[k];
    if (r.type != key_type || r.version >= keep || (r.flags & keys::kFlagRevoked)) continue;
    if (const KeyUse* u = use_of(r, uses, n_uses)) {
      if (blocker) *blocker = u;
      return refuse(cur, next, changed, Status::kStillNeeded);
    }
    r.flags |= keys::kFlagRevoked;
    ++*changed;
  }
  return *changed ? Status::kOk : Status::kNothingOlder;
}

Status plan_revoke(const keys::Store& cur, const key_bundle::Bundle& b, uint8_t key_type, const KeyUse* uses,
                   uint32_t n_uses, keys::Store& next, uint32_t* changed, const KeyUse** blocker) {
  next = cur;
  *changed = 0;
  if (blocker) *blocker = nullptr;
  bool any = false;
  for (uint32_t i = 0; i < b.count; ++i) {
    const key_bundle::Entry& e = b.entries[i];
    if (e.action != key_bundle::Action::kRevoke || e.key.type != key_type) continue;
    any = true;
    keys::KeyRecord* k = stored(next, e.key);
    if (!k) return refuse(cur, next, changed, Status::kNotInStorage);
    if (k->flags & keys::kFlagRevoked) continue;
    if (const KeyUse* u = use_of(*k, uses, n_uses)) {
      if (blocker) *blocker = u;
      return refuse(cur, next, changed, Status::kStillNeeded);
    }
    k->flags |= keys::kFlagRevoked;
    ++*changed;
  }
  if (!any) return Status::kNoEntries;
  if (!*changed) return Status::kAlreadyDone;
  uint32_t usable = 0;
  for (uint32_t k = 0; k < next.count; ++k)
    if (next.keys[k].type == key_type && !(next.keys[k].flags & keys::kFlagRevoked)) ++usable;
  return usable ? Status::kOk : refuse(cur, next, changed, Status::kLastKeyOfType);
}

namespace {

void read_copy(NvramIo& io, uint32_t offset, uint8_t* region) {
  __builtin_memset(region, 0xFF, keys::kStoreRegionLen);
  if (!io.read(offset, region, keys::kStoreHeaderLen)) return;
  uint32_t count = load_le16(region + 6);
  if (load_le32(region) != keys::kStoreMagic || count > keys::kMaxKeys) return;
  if (count) io.read(offset + keys::kStoreHeaderLen, region + keys::kStoreHeaderLen, count * keys::kRecordLen);
}

// Writes one copy and reads it back; false if either fails or differs.
bool write_copy(NvramIo& io, uint32_t offset, const uint8_t* image, uint32_t n, uint8_t* readback) {
  if (!io.write(offset, image, n)) return false;
  if (!io.read(offset, readback, n)) return false;
  return __builtin_memcmp(image, readback, n) == 0;
}

keys::Store g_commit_store;  // too large for a firmware stack frame

}  // namespace

bool load_and_repair(NvramIo& io, keys::Store& out, keys::LoadResult& r, uint8_t* scratch) {
  uint8_t* primary = scratch;
  uint8_t* backup = scratch + keys::kStoreRegionLen;
  read_copy(io, keys::kPrimaryOffset, primary);
  read_copy(io, keys::kBackupOffset, backup);
  r = keys::load(primary, backup, out);
  if (!r.any_valid) return false;
  // Repair writes the winning copy unchanged (same generation). A cut during
  // it only tears the copy that already lost, so it cannot change the winner.
  uint32_t n = keys::encode_copy(out, primary);
  if (r.repair_backup) io.write(keys::kBackupOffset, primary, n);
  if (r.repair_primary) io.write(keys::kPrimaryOffset, primary, n);
  return true;
}

CommitResult commit(NvramIo& io, keys::Store& next, uint8_t* scratch, CommitProgress after_first) {
  uint8_t* image = scratch;
  uint8_t* readback = scratch + keys::kStoreRegionLen;
  // What is in NVRAM now decides the order: never overwrite the copy in
  // force while it is the only one.
  keys::Store* now = &g_commit_store;
  read_copy(io, keys::kPrimaryOffset, image);
  read_copy(io, keys::kBackupOffset, readback);
  keys::LoadResult r = keys::load(image, readback, *now);
  if (r.any_valid && int32_t(now->generation - next.generation) > 0) next.generation = now->generation;
  next.generation += 1;
  bool primary_first = r.any_valid && r.from_backup;
  uint32_t first = primary_first ? keys::kPrimaryOffset : keys::kBackupOffset;
  uint32_t second = primary_first ? keys::kBackupOffset : keys::kPrimaryOffset;
  uint32_t n = keys::encode_copy(next, image);
  if (!write_copy(io, first, image, n, readback))
    return {CommitStep::kNothing, false, primary_first,
            "the first copy did not write and read back; the key set in force is unchanged"};
  if (after_first) after_first(primary_first, next.generation);
  if (!write_copy(io, second, image, n, readback))
    return {CommitStep::kFirstCopyWritten, false, primary_first,
            "the second copy did not write and read back; the first copy holds the new keys and the next boot "
            "repairs the other"};
  return {CommitStep::kBothWritten, true, primary_first, nullptr};
}

}  // namespace trustsim::key_update
