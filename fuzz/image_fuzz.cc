// libFuzzer target: the image container and signature envelope parsers and
// the verification policy, fed arbitrary files. Crypto is replaced by a
// deterministic stand-in so the fuzzer can reach every branch (a real
// SHA-512 would stop it at the digest comparison).
#include <stddef.h>
#include <stdint.h>

#include "trustsim/image.h"
#include "trustsim/key_bundle.h"
#include "trustsim/keys.h"
#include "trustsim/verify.h"

namespace {

class FakeCrypto : public trustsim::verify::CryptoOps {
 public:
  bool sha512(const uint8_t* data, uint64_t len, uint8_t* out) override {
    // Copies the first bytes: a file can "match" its own digest on purpose.
    for (int i = 0; i < 64; ++i) out[i] = len ? data[i % len] : 0;
    return true;
  }
  bool rsa_verify(const trustsim::keys::KeyRecord& key, const uint8_t* digest, const uint8_t* sig) override {
    return key.modulus[0] == digest[0] && sig[0] == digest[1];
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace img = trustsim::image;
  img::Header h;
  if (img::parse_header(data, size, h) == img::Error::kOk && size >= img::kHeaderSize)
    img::check_payload(h, data + img::kHeaderSize, size - img::kHeaderSize);
  trustsim::keys::Envelope env;
  trustsim::keys::decode_envelope(data, size, env);

  // A trusted store whose key id is taken from the input, so lookups can hit.
  static trustsim::keys::Store trusted;
  trusted.count = 1;
  trusted.keys[0].type = 2;
  trusted.keys[0].version = 'A';
  trusted.keys[0].flags = size > 3 ? (data[3] & 1) : 0;
  for (uint32_t i = 0; i < trustsim::keys::kKeyIdLen; ++i)
    trusted.keys[0].key_id[i] = size > i ? data[size - 1 - i] : 0;
  FakeCrypto crypto;
  trustsim::verify::Result r;
  trustsim::verify::verify_image(data, size, trusted, crypto, r);

  // Key bundle at the end of the payload, and the plans the OS makes from it.
  if (r.have_header) {
    uint64_t avail = size - img::kHeaderSize;
    uint64_t plen = r.header.payload_len < avail ? r.header.payload_len : avail;
    static trustsim::key_bundle::Bundle bundle;
    static trustsim::keys::Store next;
    if (trustsim::key_bundle::find(data + img::kHeaderSize, plen, bundle) == trustsim::key_bundle::Error::kOk) {
      uint32_t changed;
      const trustsim::key_update::KeyUse uses[] = {{2, 'B', "the running image"}, {1, 'A', "the golden ROMmon"}};
      for (uint8_t type = 1; type <= 3; ++type) {
        trustsim::key_update::plan_add(trusted, bundle, type, next, &changed);
        trustsim::key_update::plan_revoke(trusted, bundle, type, uses, 2, next, &changed);
      }
    }
  }
  return 0;
}
