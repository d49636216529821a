// Public-key records and the key storage kept twice in NVRAM (primary and
// backup), plus the signature envelope that follows an image's payload.
// Formats: docs/image-format.md and docs/nvram-layout.md. Freestanding.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace trustsim::keys {

enum class KeyType : uint8_t { kRollover = 1, kProduction = 2, kSpecial = 3 };
const char* key_type_name(uint8_t t);  // "Rollover", "Production", "Special"

constexpr uint32_t kModulusLen = 256;  // RSA-2048, big-endian
constexpr uint32_t kKeyIdLen = 32;     // SHA-256 of the modulus
constexpr uint32_t kRecordLen = 296;
constexpr uint8_t kFlagRevoked = 0x01;

struct KeyRecord {
  uint8_t type;   // KeyType
  char version;   // 'A'..'Z'
  uint8_t flags;  // kFlagRevoked
  uint32_t exponent;
  uint8_t key_id[kKeyIdLen];
  uint8_t modulus[kModulusLen];
};

void encode_record(const KeyRecord& k, uint8_t* out);  // kRecordLen bytes
bool decode_record(const uint8_t* in, KeyRecord& k);   // false: bad type/version

// ---- Key storage: one copy per 4 KiB NVRAM region ----
constexpr uint32_t kStoreMagic = 0x534B5354u;  // "TSKS"
constexpr uint16_t kStoreVersion = 1;
constexpr uint32_t kStoreHeaderLen = 16;
constexpr uint32_t kStoreRegionLen = 4096;
constexpr uint32_t kMaxKeys = (kStoreRegionLen - kStoreHeaderLen) / kRecordLen;  // 13
constexpr uint32_t kPrimaryOffset = 0x1000;                                      // NVRAM offsets
constexpr uint32_t kBackupOffset = 0x2000;

struct Store {
  uint32_t generation;
  uint32_t count;
  KeyRecord keys[kMaxKeys];
};

enum class CopyState { kValid, kErased, kBadMagic, kBadVersion, kBadCount, kBadCrc, kBadRecord };
const char* copy_state_text(CopyState s);

// Checks one copy (kStoreRegionLen bytes) and decodes it if valid.
CopyState decode_copy(const uint8_t* region, size_t len, Store& out);
// Encodes `s` into a region image; returns the bytes worth writing.
uint32_t encode_copy(const Store& s, uint8_t* region);

// Which copies a reader found, and what it should rewrite.
struct LoadResult {
  CopyState primary;
  CopyState backup;
  bool from_backup;     // the newest valid copy was the backup
  bool repair_primary;  // primary missing, bad or older: rewrite it from `store`
  bool repair_backup;
  bool any_valid;
};
// Picks the valid copy with the highest generation (serial-number order).
LoadResult load(const uint8_t* primary, const uint8_t* backup, Store& out);

// Editing (in RAM; the caller writes both copies with the same new
// generation, first the one not in force, so a power cut leaves one valid
// copy: docs/nvram-layout.md, "Updating").
enum class EditStatus { kOk, kFull, kDuplicate, kNotFound };
EditStatus add_key(Store& s, const KeyRecord& k);
EditStatus revoke(Store& s, uint8_t type, char version);
// The key record with this key id (revoked or not: the caller decides), else nullptr.
const KeyRecord* find_by_id(const Store& s, const uint8_t* key_id);

// ---- Signature envelope (follows the payload, image header envelope_len) ----
constexpr uint32_t kEnvelopeMagic = 0x47535354u;  // "TSSG"
constexpr uint32_t kEnvelopeLen = 512;
constexpr uint32_t kEnvelopeSignedLen = 256;  // the signature covers bytes 0..255
constexpr uint8_t kHashSha512 = 2;
constexpr uint8_t kSigRsa2048Pkcs1 = 1;

struct Envelope {
  uint8_t key_type;
  char key_version;
  uint8_t hash_alg;
  uint8_t sig_alg;
  char common_name[32];
  char org_unit[32];
  char org_name[32];
  char cert_serial[16];
  uint8_t key_id[kKeyIdLen];
  uint8_t image_digest[64];  // SHA-512 over header || payload
  uint8_t signature[256];    // RSA-2048 PKCS#1 v1.5, SHA-512 over envelope bytes 0..255
};

enum class EnvelopeError { kOk, kTruncated, kBadMagic, kBadVersion, kBadKeyType, kBadAlgorithm, kBadString };
const char* envelope_error_text(EnvelopeError e);
EnvelopeError decode_envelope(const uint8_t* in, size_t len, Envelope& out);
void encode_envelope(const Envelope& e, uint8_t* out);  // kEnvelopeLen bytes

}  // namespace trustsim::keys
