#include "fwlib/secure.h"

#include "fwlib/fw.h"
#include "trustsim/bytes.h"
#include "trustsim/crypto_regs.h"

namespace fw {
namespace keys = trustsim::keys;

namespace {

uint64_t crypto_base() { return dev_base(TS_DEV_CRYPTO); }

uint8_t g_region[keys::kStoreRegionLen];
uint8_t g_region2[keys::kStoreRegionLen];
ts_crypto_verify g_verify;

// Reads one copy: the header first, then only the records it announces.
void read_copy(uint32_t offset, uint8_t* region) {
  memset(region, 0xFF, keys::kStoreRegionLen);
  if (!nvram_read(offset, region, keys::kStoreHeaderLen)) return;
  uint32_t count = trustsim::load_le16(region + 6);
  if (trustsim::load_le32(region) != keys::kStoreMagic || count > keys::kMaxKeys) return;
  if (count) nvram_read(offset + keys::kStoreHeaderLen, region + keys::kStoreHeaderLen, count * keys::kRecordLen);
}

bool write_copy(uint32_t offset, const keys::Store& s) {
  uint32_t n = keys::encode_copy(s, g_region);
  return nvram_write(offset, g_region, n);
}

}  // namespace

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
  read_copy(keys::kPrimaryOffset, g_region);
  read_copy(keys::kBackupOffset, g_region2);
  r = keys::load(g_region, g_region2, out);
  if (!r.any_valid) return false;
  if (r.repair_backup) write_copy(keys::kBackupOffset, out);
  if (r.repair_primary) write_copy(keys::kPrimaryOffset, out);
  return true;
}

bool keystore_save(keys::Store& s) {
  s.generation += 1;
  bool ok = write_copy(keys::kBackupOffset, s);
  return write_copy(keys::kPrimaryOffset, s) && ok;
}

}  // namespace fw
