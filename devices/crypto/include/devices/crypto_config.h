// The crypto engine's figures as the board file gives them
// (docs/board-file.md, devices.crypto). No SystemC.
#pragma once
#include <cstdint>
#include <string>

#include "devkit/device_info.h"

namespace trustsim {

struct CryptoConfig {
  uint64_t bus_base = 0;
  std::string part;
  std::string source;  // where the figures come from
  uint64_t sha256_bytes_per_s = 0;
  uint64_t sha512_bytes_per_s = 0;
  uint64_t rsa_verify_ps = 0;
};

// Its entry in the board's device list (devkit/device_info.h).
inline constexpr DeviceInfo kCryptoDevice{"crypto",
                                          "crypto",
                                          true,
                                          false,
                                          "",
                                          "devices/crypto_engine.h",
                                          "docs/crypto-engine.md",
                                          "SHA-256/512 and RSA-2048 verify engine (OpenSSL inside)"};

}  // namespace trustsim
