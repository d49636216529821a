#include "fwlib/secure.h"

#include "fwlib/fw.h"
#include "trustsim/bytes.h"
#include "trustsim/crypto_regs.h"

namespace fw {
namespace keys = trustsim::keys;

namespace {

uint64_t crypto_base() { return dev_base(TS_DEV_CRYPTO); }

uint8_t g_scratch[2 * keys::kStoreRegionLen];
ts_crypto_verify g_verify;

}  // namespace

bool MailboxNvram::read(uint32_t offset, uint8_t* buf, uint32_t len) { return nvram_read(offset, buf, len); }
bool MailboxNvram::write(uint32_t offset, const uint8_t* buf, uint32_t len) { return nvram_write(offset, buf, len); }

bool EngineCrypto::sha512(const uint8_t* data, uint64_t len, uint8_t* out) {
  uint64_t base = crypto_base();
  if (!base) return false;
  reg_write64(base + TS_CRYPTO_CTRL, TS_CRYPTO_CMD_SHA512);
  const uint64_t chunk = 16ull << 20;
  for (uint64_t done = 0; done < len; done += chunk) {
    uint64_t n = len - done < chunk ? len - done : chunk;
    if (mbox_write(base + TS_CRYPTO_DATA, data + done, n).status != TS_MBOX_OK) return false;
  }
  return mbox_read(base + TS_CRYPTO_DIGEST, out, 64).status == TS_MBOX_OK;
}

bool EngineCrypto::rsa_verify(const keys::KeyRecord& key, const uint8_t* digest64, const uint8_t* sig) {
  uint64_t base = crypto_base();
  if (!base) return false;
  keys::encode_record(key, g_verify.key_record);
  memcpy(g_verify.digest, digest64, 64);
  memcpy(g_verify.signature, sig, 256);
  if (mbox_write(base + TS_CRYPTO_VERIFY, &g_verify, sizeof g_verify).status != TS_MBOX_OK) return false;
  return reg_read64(base + TS_CRYPTO_STATUS) == TS_CRYPTO_OK;
}

bool keystore_load(keys::Store& out, keys::LoadResult& r) {
  MailboxNvram io;
  return trustsim::key_update::load_and_repair(io, out, r, g_scratch);
}

trustsim::key_update::CommitResult keystore_commit(keys::Store& next, trustsim::key_update::CommitProgress progress) {
  MailboxNvram io;
  return trustsim::key_update::commit(io, next, g_scratch, progress);
}

}  // namespace fw
