#include "trustsim/verify.h"

namespace trustsim::verify {

const char* verdict_text(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "signature valid";
    case Verdict::kBadHeader:
      return "bad image header";
    case Verdict::kTruncated:
      return "image truncated";
    case Verdict::kNotSigned:
      return "image is not signed";
    case Verdict::kBadEnvelope:
      return "bad signature envelope";
    case Verdict::kDigestMismatch:
      return "image digest mismatch (modified after signing)";
    case Verdict::kUnknownKey:
      return "signed by an unknown key";
    case Verdict::kRevokedKey:
      return "signed by a revoked key";
    case Verdict::kWrongKeyType:
      return "key type or version does not match the trusted key";
    case Verdict::kBadSignature:
      return "RSA signature verification failed";
    case Verdict::kKeyNotForType:
      return "signed with a key type not allowed for this image type";
    case Verdict::kCryptoError:
      return "crypto engine error";
  }
  return "?";
}

bool key_may_sign(uint32_t image_type, uint8_t key_type) {
  bool rollover = key_type == uint8_t(keys::KeyType::kRollover);
  switch (image::Type(image_type)) {
    case image::Type::kRevocation:
      return rollover;  // only the rollover key adds production keys
    case image::Type::kRommon:
      return true;  // rollover too: a ROMmon that survives any production revocation
    case image::Type::kOs:
      return !rollover;  // a rollover-signed OS would be a full image outside key revocation
  }
  return false;
}

const char* signed_kind(uint8_t key_type) {
  switch (keys::KeyType(key_type)) {
    case keys::KeyType::kProduction:
      return "RELEASE";
    case keys::KeyType::kSpecial:
      return "DEVELOPMENT";
    case keys::KeyType::kRollover:
      return "REVOCATION";
  }
  return "UNKNOWN";
}

void verify_image(const uint8_t* file, uint64_t len, const keys::Store& trusted, CryptoOps& crypto, Result& r) {
  r.verdict = Verdict::kBadHeader;
  r.detail = nullptr;
  r.have_header = r.have_envelope = false;
  r.key = nullptr;
  image::Error e = image::parse_header(file, len, r.header);
  if (e != image::Error::kOk) {
    r.verdict = e == image::Error::kTruncatedHeader ? Verdict::kTruncated : Verdict::kBadHeader;
    r.detail = e == image::Error::kTruncatedHeader ? "shorter than an image header" : image::error_text(e);
    return;
  }
  r.have_header = true;
  uint64_t payload_max = len - image::kHeaderSize;
  if (r.header.payload_len > payload_max) {
    r.verdict = Verdict::kTruncated;
    r.detail = "payload shorter than its header says";
    return;
  }
  uint64_t body = image::kHeaderSize + r.header.payload_len;
  if (r.header.envelope_len == 0) {
    r.verdict = Verdict::kNotSigned;
    return;
  }
  if (r.header.envelope_len > len - body) {
    r.verdict = Verdict::kTruncated;
    r.detail = "signature envelope missing or cut short";
    return;
  }
  keys::EnvelopeError ee = keys::decode_envelope(file + body, r.header.envelope_len, r.envelope);
  if (ee != keys::EnvelopeError::kOk) {
    r.verdict = Verdict::kBadEnvelope;
    r.detail = keys::envelope_error_text(ee);
    return;
  }
  r.have_envelope = true;
  uint8_t digest[64];
  if (!crypto.sha512(file, body, digest)) {
    r.verdict = Verdict::kCryptoError;
    return;
  }
  if (__builtin_memcmp(digest, r.envelope.image_digest, 64) != 0) {
    r.verdict = Verdict::kDigestMismatch;
    return;
  }
  r.key = keys::find_by_id(trusted, r.envelope.key_id);
  if (!r.key) {
    r.verdict = Verdict::kUnknownKey;
    return;
  }
  if (r.key->type != r.envelope.key_type || r.key->version != r.envelope.key_version) {
    r.verdict = Verdict::kWrongKeyType;
    return;
  }
  if (r.key->flags & keys::kFlagRevoked) {
    r.verdict = Verdict::kRevokedKey;
    return;
  }
  if (!key_may_sign(r.header.image_type, r.key->type)) {
    r.verdict = Verdict::kKeyNotForType;
    return;
  }
  if (!crypto.sha512(file + body, keys::kEnvelopeSignedLen, digest)) {
    r.verdict = Verdict::kCryptoError;
    return;
  }
  r.verdict = crypto.rsa_verify(*r.key, digest, r.envelope.signature) ? Verdict::kOk : Verdict::kBadSignature;
}

}  // namespace trustsim::verify
