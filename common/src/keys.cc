#include "trustsim/keys.h"

#include "trustsim/bytes.h"
#include "trustsim/crc32.h"

namespace trustsim::keys {
namespace {

bool valid_type(uint8_t t) { return t >= 1 && t <= 3; }
bool valid_version(char v) { return v >= 'A' && v <= 'Z'; }
bool newer(uint32_t a, uint32_t b) { return int32_t(a - b) > 0; }

bool string_ok(const uint8_t* p, size_t cap) {
  size_t n = 0;
  while (n < cap && p[n]) {
    if (p[n] < 0x20 || p[n] > 0x7E) return false;
    ++n;
  }
  for (size_t i = n; i < cap; ++i)
    if (p[i]) return false;
  return n < cap;
}

void put_string(uint8_t* out, const char* s, size_t cap) {
  size_t n = bounded_strlen(s, cap - 1);
  __builtin_memcpy(out, s, n);
}

uint32_t copy_crc(const uint8_t* region, uint32_t count) {
  uint8_t header[kStoreHeaderLen];
  __builtin_memcpy(header, region, kStoreHeaderLen);
  store_le32(header + 12, 0);
  return crc32(region + kStoreHeaderLen, count * kRecordLen, crc32(header, kStoreHeaderLen));
}

}  // namespace

const char* key_type_name(uint8_t t) {
  switch (KeyType(t)) {
    case KeyType::kRollover:
      return "Rollover";
    case KeyType::kProduction:
      return "Production";
    case KeyType::kSpecial:
      return "Special";
  }
  return "Unknown";
}

void encode_record(const KeyRecord& k, uint8_t* out) {
  __builtin_memset(out, 0, kRecordLen);
  out[0] = k.type;
  out[1] = uint8_t(k.version);
  out[2] = k.flags;
  store_le32(out + 4, k.exponent);
  __builtin_memcpy(out + 8, k.key_id, kKeyIdLen);
  __builtin_memcpy(out + 40, k.modulus, kModulusLen);
}

bool decode_record(const uint8_t* in, KeyRecord& k) {
  k.type = in[0];
  k.version = char(in[1]);
  k.flags = in[2];
  k.exponent = load_le32(in + 4);
  __builtin_memcpy(k.key_id, in + 8, kKeyIdLen);
  __builtin_memcpy(k.modulus, in + 40, kModulusLen);
  return valid_type(k.type) && valid_version(k.version) && (k.flags & ~kFlagRevoked) == 0 && in[3] == 0 &&
         k.exponent != 0;
}

const char* copy_state_text(CopyState s) {
  switch (s) {
    case CopyState::kValid:
      return "valid";
    case CopyState::kErased:
      return "erased";
    case CopyState::kBadMagic:
      return "bad magic";
    case CopyState::kBadVersion:
      return "unknown version";
    case CopyState::kBadCount:
      return "bad key count";
    case CopyState::kBadCrc:
      return "checksum mismatch";
    case CopyState::kBadRecord:
      return "malformed key record";
  }
  return "?";
}

CopyState decode_copy(const uint8_t* region, size_t len, Store& out) {
  if (len < kStoreRegionLen) return CopyState::kBadCount;
  uint32_t magic = load_le32(region);
  if (magic != kStoreMagic) {
    bool erased = true;
    for (uint32_t i = 0; i < kStoreHeaderLen; ++i) erased &= region[i] == 0xFF || region[i] == 0;
    return erased ? CopyState::kErased : CopyState::kBadMagic;
  }
  if (load_le16(region + 4) != kStoreVersion) return CopyState::kBadVersion;
  uint32_t count = load_le16(region + 6);
  if (count > kMaxKeys) return CopyState::kBadCount;
  if (copy_crc(region, count) != load_le32(region + 12)) return CopyState::kBadCrc;
  out.generation = load_le32(region + 8);
  out.count = count;
  for (uint32_t i = 0; i < count; ++i)
    if (!decode_record(region + kStoreHeaderLen + i * kRecordLen, out.keys[i])) return CopyState::kBadRecord;
  return CopyState::kValid;
}

uint32_t encode_copy(const Store& s, uint8_t* region) {
  __builtin_memset(region, 0xFF, kStoreRegionLen);
  store_le32(region, kStoreMagic);
  store_le16(region + 4, kStoreVersion);
  store_le16(region + 6, uint16_t(s.count));
  store_le32(region + 8, s.generation);
  for (uint32_t i = 0; i < s.count; ++i) encode_record(s.keys[i], region + kStoreHeaderLen + i * kRecordLen);
  store_le32(region + 12, copy_crc(region, s.count));
  return kStoreHeaderLen + s.count * kRecordLen;
}

LoadResult load(const uint8_t* primary, const uint8_t* backup, Store& out) {
  Store p, b;  // ~4 KiB each; every stage has stack to spare
  LoadResult r{};
  r.primary = decode_copy(primary, kStoreRegionLen, p);
  r.backup = decode_copy(backup, kStoreRegionLen, b);
  bool pv = r.primary == CopyState::kValid, bv = r.backup == CopyState::kValid;
  r.any_valid = pv || bv;
  if (!r.any_valid) {
    out.generation = 0;
    out.count = 0;
    return r;
  }
  if (pv && (!bv || !newer(b.generation, p.generation))) {
    out = p;
    r.repair_backup = !bv || b.generation != p.generation;
  } else {
    out = b;
    r.from_backup = true;
    r.repair_primary = true;
  }
  return r;
}

EditStatus add_key(Store& s, const KeyRecord& k) {
  for (uint32_t i = 0; i < s.count; ++i)
    if (s.keys[i].type == k.type && s.keys[i].version == k.version) return EditStatus::kDuplicate;
  if (s.count >= kMaxKeys) return EditStatus::kFull;
  s.keys[s.count++] = k;
  return EditStatus::kOk;
}

EditStatus revoke(Store& s, uint8_t type, char version) {
  for (uint32_t i = 0; i < s.count; ++i)
    if (s.keys[i].type == type && s.keys[i].version == version) {
      s.keys[i].flags |= kFlagRevoked;
      return EditStatus::kOk;
    }
  return EditStatus::kNotFound;
}

const KeyRecord* find_by_id(const Store& s, const uint8_t* key_id) {
  for (uint32_t i = 0; i < s.count; ++i)
    if (__builtin_memcmp(s.keys[i].key_id, key_id, kKeyIdLen) == 0) return &s.keys[i];
  return nullptr;
}

const char* envelope_error_text(EnvelopeError e) {
  switch (e) {
    case EnvelopeError::kOk:
      return "ok";
    case EnvelopeError::kTruncated:
      return "signature envelope truncated";
    case EnvelopeError::kBadMagic:
      return "no signature envelope (bad magic)";
    case EnvelopeError::kBadVersion:
      return "unsupported signature envelope version";
    case EnvelopeError::kBadKeyType:
      return "signature envelope names an unknown key type or version";
    case EnvelopeError::kBadAlgorithm:
      return "unsupported hash or signature algorithm";
    case EnvelopeError::kBadString:
      return "malformed signer information";
  }
  return "?";
}

EnvelopeError decode_envelope(const uint8_t* in, size_t len, Envelope& e) {
  if (len < kEnvelopeLen) return EnvelopeError::kTruncated;
  if (load_le32(in) != kEnvelopeMagic) return EnvelopeError::kBadMagic;
  if (load_le16(in + 4) != 1 || load_le16(in + 6) != kEnvelopeLen) return EnvelopeError::kBadVersion;
  e.key_type = in[8];
  e.key_version = char(in[9]);
  e.hash_alg = in[10];
  e.sig_alg = in[11];
  if (!valid_type(e.key_type) || !valid_version(e.key_version)) return EnvelopeError::kBadKeyType;
  if (e.hash_alg != kHashSha512 || e.sig_alg != kSigRsa2048Pkcs1) return EnvelopeError::kBadAlgorithm;
  if (!string_ok(in + 16, 32) || !string_ok(in + 48, 32) || !string_ok(in + 80, 32) || !string_ok(in + 112, 16))
    return EnvelopeError::kBadString;
  __builtin_memcpy(e.common_name, in + 16, 32);
  __builtin_memcpy(e.org_unit, in + 48, 32);
  __builtin_memcpy(e.org_name, in + 80, 32);
  __builtin_memcpy(e.cert_serial, in + 112, 16);
  __builtin_memcpy(e.key_id, in + 128, kKeyIdLen);
  __builtin_memcpy(e.image_digest, in + 160, 64);
  __builtin_memcpy(e.signature, in + 256, 256);
  return EnvelopeError::kOk;
}

void encode_envelope(const Envelope& e, uint8_t* out) {
  __builtin_memset(out, 0, kEnvelopeLen);
  store_le32(out, kEnvelopeMagic);
  store_le16(out + 4, 1);
  store_le16(out + 6, kEnvelopeLen);
  out[8] = e.key_type;
  out[9] = uint8_t(e.key_version);
  out[10] = e.hash_alg;
  out[11] = e.sig_alg;
  put_string(out + 16, e.common_name, 32);
  put_string(out + 48, e.org_unit, 32);
  put_string(out + 80, e.org_name, 32);
  put_string(out + 112, e.cert_serial, 16);
  __builtin_memcpy(out + 128, e.key_id, kKeyIdLen);
  __builtin_memcpy(out + 160, e.image_digest, 64);
  __builtin_memcpy(out + 256, e.signature, 256);
}

}  // namespace trustsim::keys
