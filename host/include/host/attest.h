// Known-good values (KGV) and the host verifier of Boot Integrity
// Visibility output: `trustsim image sign --kgv FILE` and `trustsim attest
// verify`. Formats: docs/attestation.md.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "hw-models/board.h"
#include "hw-models/board_config.h"

namespace trustsim::attest {

struct Stage {
  std::string version;
  std::string sha256;  // 64 upper-case hex digits
};

struct Kgv {
  std::string platform;
  Stage boot0, rommon, os;
  std::string os_file;     // the signed image's file name
  std::string pcr0, pcr8;  // expected, upper-case hex
};

// Boot0 and ROMmon as manufacturing builds them for this board file, the
// given signed OS image; PCRs as measured boot computes them (docs/tpm.md).
Kgv compute_kgv(const BoardConfig& cfg, const Artifacts& fw, const std::string& keys_dir,
                const std::vector<uint8_t>& os_image, const std::string& os_version, const std::string& os_file);
std::string kgv_json(const Kgv& k);
Kgv load_kgv(const std::string& path);  // throws InputError naming the file and field

struct Check {
  std::string name;  // e.g. "PCR8", "signature", "nonce", "SUDI chain"
  bool ok;
  std::string detail;
};

struct Options {
  uint32_t nonce = 0;
  std::string root_ca;   // PEM of the trusted SUDI root CA (needed for a SUDI section)
  std::string sudi_pub;  // PEM public key of the SUDI key (when the output has no SUDI section)
};

// Checks a captured console text (with or without trustsim's timestamp
// prefixes). Throws InputError when the text has no usable `show platform
// integrity sign` output, or is truncated or malformed; otherwise returns
// every check with its verdict.
std::vector<Check> verify(const std::string& text, const Kgv& kgv, const Options& opt);

}  // namespace trustsim::attest
