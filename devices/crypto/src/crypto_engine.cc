#include "devices/crypto_engine.h"

#include <openssl/evp.h>

#include <cstring>

#include "devices/openssl_util.h"
#include "devkit/sim_time.h"
#include "trustsim/crypto_regs.h"
#include "trustsim/keys.h"
#include "trustsim/mailbox_abi.h"

namespace trustsim {

CryptoEngine::CryptoEngine(sc_core::sc_module_name name, PowerDomain& power, const CryptoConfig& cfg)
    : Device(name, TS_DEV_CRYPTO, TS_CRYPTO_SIZE, power),
      cfg_(cfg),
      ctx_(EVP_MD_CTX_new()),
      regs_("register", [this](const std::string& w) { guest_error(w); }) {
  using A = RegisterAccess;
  regs_.add({"CTRL", TS_CRYPTO_CTRL, 8, RegAccess::kWriteOnly}, {}, [this](A& a) { start(a); });
  regs_.add({"STATUS", TS_CRYPTO_STATUS, 8, RegAccess::kReadOnly}, {}, {}, [this] { return status_; });
  regs_.add({"DATA", TS_CRYPTO_DATA, 0, RegAccess::kWriteOnly}, {}, [this](A& a) { absorb(a); });
  regs_.add({"DIGEST", TS_CRYPTO_DIGEST, 0, RegAccess::kReadOnly, 0, 0, 0, 64}, [this](A& a) { digest(a); });
  regs_.add({"VERIFY", TS_CRYPTO_VERIFY, sizeof(ts_crypto_verify), RegAccess::kWriteOnly}, {},
            [this](A& a) { verify(a); });
  use_registers(regs_);
}

CryptoEngine::~CryptoEngine() { EVP_MD_CTX_free(ctx_); }

void CryptoEngine::power_lost() {
  algo_ = 0;
  status_ = 0;
}

void CryptoEngine::start(RegisterAccess& a) {
  uint64_t cmd = a.value;
  const EVP_MD* md = cmd == TS_CRYPTO_CMD_SHA256 ? EVP_sha256() : cmd == TS_CRYPTO_CMD_SHA512 ? EVP_sha512() : nullptr;
  if (!md || !EVP_DigestInit_ex(ctx_, md, nullptr)) {
    a.refuse();
    return;
  }
  algo_ = uint32_t(cmd);
  status_ = TS_CRYPTO_OK;
}

void CryptoEngine::absorb(RegisterAccess& a) {
  if (!algo_) {
    status_ = TS_CRYPTO_BAD_REQUEST;
    a.refuse();
    return;
  }
  EVP_DigestUpdate(ctx_, a.data(), a.length());
  uint64_t rate = algo_ == TS_CRYPTO_CMD_SHA256 ? cfg_.sha256_bytes_per_s : cfg_.sha512_bytes_per_s;
  a.delay += serial_time(a.length(), rate);  // bytes at `rate` per second
}

void CryptoEngine::digest(RegisterAccess& a) {
  uint64_t want = algo_ == TS_CRYPTO_CMD_SHA256 ? 32 : 64;
  if (!algo_ || a.length() != want) {
    status_ = TS_CRYPTO_BAD_REQUEST;
    a.refuse();
    return;
  }
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_, a.data(), &n);
  algo_ = 0;
}

void CryptoEngine::verify(RegisterAccess& a) {
  ts_crypto_verify req;
  memcpy(&req, a.data(), sizeof req);
  keys::KeyRecord key;
  a.delay += from_ps(cfg_.rsa_verify_ps);
  if (!keys::decode_record(req.key_record, key)) {
    status_ = TS_CRYPTO_BAD_REQUEST;
    return;
  }
  status_ = ossl::verify_sha512_digest(key, req.digest, req.signature, sizeof req.signature) ? TS_CRYPTO_OK
                                                                                             : TS_CRYPTO_BAD_SIGNATURE;
}

}  // namespace trustsim
