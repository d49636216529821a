// Signed images on the host: building them (trustsim image sign, board
// manufacturing, scenarios that play an attacker) and checking them the way
// the boot chain does (trustsim image inspect, tests). Container format:
// docs/image-format.md.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "devices/openssl_util.h"
#include "trustsim/image.h"
#include "trustsim/key_bundle.h"
#include "trustsim/keys.h"
#include "trustsim/verify.h"

namespace trustsim::signing {

struct SignerInfo {
  std::string common_name = "TrustsimSystems";
  std::string org_unit = "TS-IOS-XE";
  std::string org_name = "TrustsimSystems";
  std::string cert_serial;  // default: derived from the key id
};

struct ImageSpec {
  image::Type type = image::Type::kOs;
  std::string version;
  std::string platform = "TS-ISR1100";
  uint32_t platform_id = 0x1100;
  uint64_t load_addr = 0;
  uint64_t entry = 0;  // 0 = load_addr
};

// Header + payload + 512-byte signature envelope.
std::vector<uint8_t> build_signed_image(const ImageSpec& spec, const std::vector<uint8_t>& payload,
                                        const ossl::Pkey& key, keys::KeyType key_type, char key_version,
                                        const SignerInfo& signer = SignerInfo());

// ".SPA", ".SSA", ".SRA" (rollover-signed revocation images: our extension).
std::string signed_suffix(keys::KeyType type, char version);

// Parses "production-A" / "special-B" / "rollover-A" (also from a file name
// like keys/dev/production-A.pem, or with a label in front:
// "untrusted-production-A"). Returns false when it is not one.
bool parse_key_name(const std::string& text, keys::KeyType* type, char* version);

// A key bundle (docs/keys-and-signing.md) naming keys by private-key PEM
// files whose names give type and version (keys/dev/production-B.pem). The
// bytes go at the end of an image's payload. Throws InputError for a name
// that does not parse, an unreadable key, or more than 8 entries.
std::vector<uint8_t> build_key_bundle(const std::vector<std::string>& add_pems,
                                      const std::vector<std::string>& revoke_pems);

// A CryptoOps backed by OpenSSL, for host-side verification.
class OpensslCrypto : public verify::CryptoOps {
 public:
  bool sha512(const uint8_t* data, uint64_t len, uint8_t* out) override;
  bool rsa_verify(const keys::KeyRecord& key, const uint8_t* digest64, const uint8_t* sig) override;
};

// Checks an image against a set of trusted keys (a board's key storage, or
// one public key given on the command line), by the boot chain's own rules.
verify::Result inspect(const std::vector<uint8_t>& file, const keys::Store& trusted);

}  // namespace trustsim::signing
