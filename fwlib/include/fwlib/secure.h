// Firmware side of the verified boot chain: the crypto engine as the
// verification policy's crypto provider, and key storage in NVRAM.
#pragma once
#include "trustsim/key_bundle.h"
#include "trustsim/keys.h"
#include "trustsim/verify.h"

namespace fw {

class EngineCrypto : public trustsim::verify::CryptoOps {
 public:
  bool sha512(const uint8_t* data, uint64_t len, uint8_t* out) override;
  bool rsa_verify(const trustsim::keys::KeyRecord& key, const uint8_t* digest64, const uint8_t* sig) override;
};

// NVRAM through the mailbox, for the shared key storage code.
class MailboxNvram : public trustsim::key_update::NvramIo {
 public:
  bool read(uint32_t offset, uint8_t* buf, uint32_t len) override;
  bool write(uint32_t offset, const uint8_t* buf, uint32_t len) override;
};

// Reads primary and backup key storage and repairs the stale or broken
// copy. Returns false when neither copy is valid.
bool keystore_load(trustsim::keys::Store& out, trustsim::keys::LoadResult& result);
// Writes generation+1: first the copy not in force (the backup on a healthy
// board), read back, then the other, read back, so a power cut at any NVRAM
// page leaves the old or the new key set (key_update::commit,
// docs/nvram-layout.md).
trustsim::key_update::CommitResult keystore_commit(trustsim::keys::Store& next,
                                                   trustsim::key_update::CommitProgress progress = nullptr);

}  // namespace fw
