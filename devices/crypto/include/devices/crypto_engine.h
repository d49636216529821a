// Crypto engine: SHA-256/SHA-512 over guest memory moved by DMA, and
// RSA-2048 PKCS#1 v1.5 signature verification; OpenSSL computes, the board
// file's figures (throughput, verify latency) decide how long it takes.
// Register map: common/include/trustsim/crypto_regs.h, as a register table
// (devkit/register_table.h): misuse is an address error. Not modelled: key
// slots, AES, random numbers, DMA descriptor chains, concurrency (one hash
// at a time, like a single-channel engine).
#pragma once
#include "devices/crypto_config.h"
#include "devkit/device.h"
#include "devkit/register_table.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace trustsim {

class CryptoEngine : public Device {
 public:
  CryptoEngine(sc_core::sc_module_name name, PowerDomain& power, const CryptoConfig& cfg);
  ~CryptoEngine() override;
  void power_lost() override;
  const RegisterTable& registers() const { return regs_; }

 private:
  void start(RegisterAccess& a);
  void absorb(RegisterAccess& a);
  void digest(RegisterAccess& a);
  void verify(RegisterAccess& a);
  CryptoConfig cfg_;
  EVP_MD_CTX* ctx_ = nullptr;
  uint32_t algo_ = 0;  // TS_CRYPTO_CMD_* of the running hash, 0 = none
  uint64_t status_ = 0;
  RegisterTable regs_;
};

}  // namespace trustsim
