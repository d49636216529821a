// Firmware side of the verified boot chain: the crypto engine as the
// verification policy's crypto provider, and key storage in NVRAM.
#pragma once
#include "trustsim/keys.h"
#include "trustsim/verify.h"

namespace fw {

class EngineCrypto : public trustsim::verify::CryptoOps {
 public:
  bool sha512(const uint8_t* data, uint64_t len, uint8_t* out) override;
  bool rsa_verify(const trustsim::keys::KeyRecord& key, const uint8_t* digest64, const uint8_t* sig) override;
};

// Reads primary and backup key storage and repairs the stale or broken
// copy. Returns false when neither copy is valid.
bool keystore_load(trustsim::keys::Store& out, trustsim::keys::LoadResult& result);
// Writes generation+1: backup first, then primary, so a power cut at any
// byte leaves one valid copy. Returns false if either write failed.
bool keystore_save(trustsim::keys::Store& s);

}  // namespace fw
