// Image verification policy, once for every stage and tool: Boot0 (ROMmon),
// ROMmon (OS images), the OS (show software authenticity file) and the host
// (trustsim image inspect) all call verify_image(); only the crypto differs
// (the crypto engine through the mailbox, or OpenSSL on the host).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "trustsim/image.h"
#include "trustsim/keys.h"

namespace trustsim::verify {

class CryptoOps {
 public:
  // SHA-512 over `len` bytes at `data` into out[64]; false on failure.
  virtual bool sha512(const uint8_t* data, uint64_t len, uint8_t* out) = 0;
  // RSA-2048 PKCS#1 v1.5 verification of sig[256] over a SHA-512 digest.
  virtual bool rsa_verify(const keys::KeyRecord& key, const uint8_t* digest64, const uint8_t* sig) = 0;

 protected:
  ~CryptoOps() = default;
};

enum class Verdict {
  kOk,
  kBadHeader,       // the header failed to parse (detail says why)
  kTruncated,       // file shorter than header + payload + envelope
  kNotSigned,       // envelope_len is 0
  kBadEnvelope,     // the envelope failed to parse (detail says why)
  kDigestMismatch,  // header or payload changed after signing
  kUnknownKey,      // no trusted key has the envelope's key id
  kRevokedKey,
  kWrongKeyType,  // the key record's type/version disagree with the envelope
  kBadSignature,
  kKeyNotForType,  // e.g. an OS image signed with the rollover key
  kCryptoError,    // the crypto provider failed
};

// Which key types may sign which image types (docs/keys-and-signing.md):
// revocation images only the rollover key; ROMmon images any key type (the
// guide's "ROMmon can boot any image signed using a rollover key", applied
// by Boot0 to a rollover-signed golden ROMmon); OS images a production or
// special key.
bool key_may_sign(uint32_t image_type, uint8_t key_type);
const char* verdict_text(Verdict v);

// The word the "RSA Signed <KIND> Image Signature Verification ..." lines
// use for the signing key's type: RELEASE (production), DEVELOPMENT
// (special), REVOCATION (rollover).
const char* signed_kind(uint8_t key_type);

struct Result {
  Verdict verdict;
  const char* detail;  // static text, or nullptr
  image::Header header;
  keys::Envelope envelope;
  bool have_header;
  bool have_envelope;
  const keys::KeyRecord* key;  // the trusted key that matched, if any
};

// `len` is the file length; the image is expected at file[0].
void verify_image(const uint8_t* file, uint64_t len, const keys::Store& trusted, CryptoOps& crypto, Result& out);

}  // namespace trustsim::verify
