// Key bundle: the key changes an image carries at the end of its payload
// (docs/keys-and-signing.md, "Key bundles"). A revocation image (rollover
// key) carries production key changes; a production-signed OS image carries
// special key changes. Freestanding: firmware and host tools share it.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "trustsim/keys.h"

namespace trustsim::key_bundle {

constexpr uint32_t kMagic = 0x424B5354u;  // "TSKB"
constexpr uint16_t kVersion = 1;
constexpr uint32_t kFooterLen = 16;
constexpr uint32_t kEntryLen = 4 + keys::kRecordLen;  // action, 3 reserved, key record
constexpr uint32_t kMaxEntries = 8;

enum class Action : uint8_t { kAdd = 1, kRevoke = 2 };

struct Entry {
  Action action;
  keys::KeyRecord key;  // flags always 0 in a bundle
};

struct Bundle {
  uint32_t count;
  Entry entries[kMaxEntries];
};

enum class Error { kOk, kNone, kTruncated, kBadVersion, kBadCount, kBadCrc, kBadEntry };
const char* error_text(Error e);

// Bytes a bundle of `count` entries takes (entries + footer).
constexpr uint32_t encoded_len(uint32_t count) { return count * kEntryLen + kFooterLen; }
// Writes encoded_len(b.count) bytes; the caller appends them to the payload.
uint32_t encode(const Bundle& b, uint8_t* out);
// Looks for a bundle at the end of `payload`. kNone: the payload does not
// end in a bundle footer (an ordinary image). Any other error: a footer is
// there but the bundle is damaged.
Error find(const uint8_t* payload, uint64_t len, Bundle& out);

}  // namespace trustsim::key_bundle

namespace trustsim::key_update {

namespace keys = trustsim::keys;
namespace key_bundle = trustsim::key_bundle;

// Why a key change cannot be applied; text by status_text().
enum class Status {
  kOk,
  kNoEntries,       // the bundle has no entry of this action and key type
  kAlreadyDone,     // every key is already added / revoked: nothing to write
  kNotInStorage,    // a key to revoke is not in key storage
  kConflict,        // a key to add has the type+version of a different stored key
  kFull,            // key storage has no room for the keys to add
  kLastKeyOfType,   // revoking would leave no usable key of that type
  kWasRevoked,      // a key to add was revoked before: it can never come back
  kNotNextVersion,  // a key to add is not the next letter after the newest of its type ever held
  kStillNeeded,     // software the board will boot is signed with a key to revoke
  kNothingOlder,    // no usable key of this type is older than the one kept
};
const char* status_text(Status s);

// The version letter a new key of `key_type` must carry: the one after the
// newest version of that type the storage has ever held (revoked records
// count: they stay in storage for this and for kWasRevoked), 'A' if none;
// 0 when 'Z' was reached.
char next_version(const keys::Store& s, uint8_t key_type);

// The next key set after adding the bundle's `key_type` add entries, or
// revoking its `key_type` revoke entries. `next` gets cur's generation (the
// commit increments it); `changed` counts the records that change. Keys
// are added in bundle order, each the next version (kNotNextVersion), and
// never a key that was revoked (kWasRevoked). On a refusal, *culprit (if
// given) is the entry it concerns.
Status plan_add(const keys::Store& cur, const key_bundle::Bundle& b, uint8_t key_type, keys::Store& next,
                uint32_t* changed, const key_bundle::Entry** culprit = nullptr);

// Software the board will boot and the key that verifies it (the running
// OS, the autoboot image, the upgradable and the golden ROMmon). `what`
// names it in refusals.
struct KeyUse {
  uint8_t key_type;
  char key_version;
  const char* what;
};
// Production step 4 (IOS XE guide): revokes every usable key of `key_type`
// older than `keep` (the version the running image was verified with).
// kNothingOlder if there is none; kStillNeeded (with *blocker) if one of
// `uses` is verified by a key it would revoke; kNotInStorage if `keep`
// itself is not a usable stored key.
Status plan_revoke_older(const keys::Store& cur, uint8_t key_type, char keep, const KeyUse* uses, uint32_t n_uses,
                         keys::Store& next, uint32_t* changed, const KeyUse** blocker = nullptr);
// Special key step 3: revokes the bundle's `key_type` revoke entries, under
// the same rule: kStillNeeded (with *blocker) if one of `uses` is verified
// by a key it would revoke; nothing is half-planned on a refusal.
Status plan_revoke(const keys::Store& cur, const key_bundle::Bundle& b, uint8_t key_type, const KeyUse* uses,
                   uint32_t n_uses, keys::Store& next, uint32_t* changed, const KeyUse** blocker = nullptr);

// NVRAM access, so the same update sequence runs in the firmware (mailbox)
// and in host tests (a power-cut model).
class NvramIo {
 public:
  virtual bool read(uint32_t offset, uint8_t* buf, uint32_t len) = 0;
  virtual bool write(uint32_t offset, const uint8_t* buf, uint32_t len) = 0;

 protected:
  ~NvramIo() = default;
};

// Reads both copies (header first, then the records it announces), picks
// the newest valid one and rewrites the other if it is stale or broken.
// `scratch` is 2 * keys::kStoreRegionLen bytes. False: no valid copy.
bool load_and_repair(NvramIo& io, keys::Store& out, keys::LoadResult& r, uint8_t* scratch);

// What commit() got done.
enum class CommitStep { kNothing, kFirstCopyWritten, kBothWritten };
struct CommitResult {
  CommitStep step;
  bool ok;              // both copies written and read back as `next`
  bool primary_first;   // the primary copy was the one written first
  const char* failure;  // static text when !ok
};
// The power-safe update (docs/nvram-layout.md, "Updating"): reads both
// copies again, sets next.generation to the newest valid generation + 1,
// writes the copy that does NOT hold the key set in force (the backup when
// both agree) and reads it back, then the other copy and reads it back.
// So the copy that is in force is never the one being overwritten until a
// newer valid copy exists. `scratch` is 2 * keys::kStoreRegionLen bytes.
// `after_first`, if given, runs once the first copy is written and read back
// (the OS prints it, so a console shows where the point of no return is).
using CommitProgress = void (*)(bool primary_first, uint32_t generation);
CommitResult commit(NvramIo& io, keys::Store& next, uint8_t* scratch, CommitProgress after_first = nullptr);

// True when the two stores hold the same records (generation ignored).
bool same_keys(const keys::Store& a, const keys::Store& b);

}  // namespace trustsim::key_update
