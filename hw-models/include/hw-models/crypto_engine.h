// Crypto engine: SHA-256/SHA-512 over guest memory moved by DMA, and
// RSA-2048 PKCS#1 v1.5 signature verification; OpenSSL computes, the board
// file's figures (throughput, verify latency) decide how long it takes.
// Register map: common/include/trustsim/crypto_regs.h. Not modelled: key
// slots, AES, random numbers, DMA descriptor chains, concurrency (one hash
// at a time, like a single-channel engine).
#pragma once
#include "hw-models/board_config.h"
#include "devkit/device.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace trustsim {

class CryptoEngine : public Device {
 public:
  CryptoEngine(sc_core::sc_module_name name, PowerDomain& power, const BoardConfig::Crypto& cfg);
  ~CryptoEngine() override;
  void power_lost() override;

 protected:
  void transport(tlm::tlm_generic_payload& gp, sc_core::sc_time& delay) override;
  bool in_range(uint64_t offset, uint64_t len) const override;

 private:
  BoardConfig::Crypto cfg_;
  EVP_MD_CTX* ctx_ = nullptr;
  uint32_t algo_ = 0;  // TS_CRYPTO_CMD_* of the running hash, 0 = none
  uint64_t status_ = 0;
};

}  // namespace trustsim
