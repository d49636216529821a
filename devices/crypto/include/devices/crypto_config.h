// The crypto engine's figures as the board file gives them
// (docs/board-file.md, devices.crypto). No SystemC.
#pragma once
#include <cstdint>
#include <iterator>
#include <string>

#include "devkit/device_info.h"

namespace trustsim {

// Its timing figures (docs/timing-sources.md).
inline constexpr TimingFigure kCryptoSha256Rate{
    "sha256_rate", FigureUnit::kRate, 105000000, "SHA-256 throughput of a DATA write",
    "NXP HASHCRYPT engine: sample output of NXP's mbedTLS benchmark example (mcux-sdk-examples)"};
inline constexpr TimingFigure kCryptoSha512Rate{
    "sha512_rate", FigureUnit::kRate, 60000000, "SHA-512 throughput of a DATA write",
    "estimate: HASHCRYPT has no SHA-512; an application-class engine (NXP ELE200 does about 6 MiB/s)"};
inline constexpr TimingFigure kCryptoRsaVerify{
    "rsa_verify_time", FigureUnit::kDuration, 200000000ull, "one RSA-2048 signature check",
    "estimate: top of the 0.05-0.2 ms range of application-class CPUs (timing-figures reference)"};
inline constexpr TimingFigure kCryptoTiming[] = {kCryptoSha256Rate, kCryptoSha512Rate, kCryptoRsaVerify};

struct CryptoConfig {
  uint64_t bus_base = 0;
  std::string part;
  std::string source;  // where the figures come from
  uint64_t sha256_bytes_per_s = kCryptoSha256Rate.value;
  uint64_t sha512_bytes_per_s = kCryptoSha512Rate.value;
  uint64_t rsa_verify_ps = kCryptoRsaVerify.value;
};

// Its entry in the board's device list (devkit/device_info.h).
inline constexpr DeviceInfo kCryptoDevice{"crypto",
                                          "crypto",
                                          true,
                                          false,
                                          "",
                                          "devices/crypto_engine.h",
                                          "docs/crypto-engine.md",
                                          "SHA-256/512 and RSA-2048 verify engine (OpenSSL inside)",
                                          "4 KiB register window",
                                          kCryptoTiming,
                                          std::size(kCryptoTiming)};

}  // namespace trustsim
