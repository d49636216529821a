#include "hw-models/crypto_engine.h"

#include <openssl/evp.h>

#include <cstring>

#include "hw-models/openssl_util.h"
#include "devkit/sim_time.h"
#include "trustsim/crypto_regs.h"
#include "trustsim/keys.h"
#include "trustsim/mailbox_abi.h"

namespace trustsim {

CryptoEngine::CryptoEngine(sc_core::sc_module_name name, PowerDomain& power, const BoardConfig::Crypto& cfg)
    : Device(name, TS_DEV_CRYPTO, TS_CRYPTO_SIZE, power), cfg_(cfg), ctx_(EVP_MD_CTX_new()) {}

CryptoEngine::~CryptoEngine() { EVP_MD_CTX_free(ctx_); }

bool CryptoEngine::in_range(uint64_t offset, uint64_t len) const {
  return offset == TS_CRYPTO_DATA || Device::in_range(offset, len);  // DATA is a port: any length
}

void CryptoEngine::power_lost() {
  algo_ = 0;
  status_ = 0;
}

void CryptoEngine::transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) {
  uint64_t off = gp.get_address();
  uint64_t len = gp.get_data_length();
  uint8_t* data = gp.get_data_ptr();
  gp.set_response_status(tlm::TLM_OK_RESPONSE);
  if (off == TS_CRYPTO_CTRL && gp.is_write() && len == 8) {
    uint64_t cmd;
    memcpy(&cmd, data, 8);
    const EVP_MD* md = cmd == TS_CRYPTO_CMD_SHA256 ? EVP_sha256() : cmd == TS_CRYPTO_CMD_SHA512 ? EVP_sha512() : nullptr;
    if (!md || !EVP_DigestInit_ex(ctx_, md, nullptr)) {
      gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
      return;
    }
    algo_ = uint32_t(cmd);
    status_ = TS_CRYPTO_OK;
    return;
  }
  if (off == TS_CRYPTO_STATUS && gp.is_read() && len == 8) {
    memcpy(data, &status_, 8);
    return;
  }
  if (off == TS_CRYPTO_DATA && gp.is_write()) {
    if (!algo_) {
      status_ = TS_CRYPTO_BAD_REQUEST;
      gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
      return;
    }
    EVP_DigestUpdate(ctx_, data, len);
    uint64_t rate = algo_ == TS_CRYPTO_CMD_SHA256 ? cfg_.sha256_bytes_per_s : cfg_.sha512_bytes_per_s;
    delay += serial_time(len, rate);  // bytes at `rate` per second
    return;
  }
  if (off == TS_CRYPTO_DIGEST && gp.is_read()) {
    uint64_t want = algo_ == TS_CRYPTO_CMD_SHA256 ? 32 : 64;
    if (!algo_ || len != want) {
      status_ = TS_CRYPTO_BAD_REQUEST;
      gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
      return;
    }
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, data, &n);
    algo_ = 0;
    return;
  }
  if (off == TS_CRYPTO_VERIFY && gp.is_write() && len == sizeof(ts_crypto_verify)) {
    ts_crypto_verify req;
    memcpy(&req, data, sizeof req);
    keys::KeyRecord key;
    delay += from_ps(cfg_.rsa_verify_ps);
    if (!keys::decode_record(req.key_record, key)) {
      status_ = TS_CRYPTO_BAD_REQUEST;
      return;
    }
    status_ = ossl::verify_sha512_digest(key, req.digest, req.signature, sizeof req.signature) ? TS_CRYPTO_OK
                                                                                             : TS_CRYPTO_BAD_SIGNATURE;
    return;
  }
  gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
}

}  // namespace trustsim
