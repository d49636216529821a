// TPM manufacturing: the endorsement key, the SUDI key and the SUDI
// certificate chain (root CA -> SUDI CA -> device certificate with the
// board's serial number), written into the TPM's NV state and exported as
// PEM files next to it. docs/tpm.md, docs/manufacturing.md.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "hw-models/board.h"
#include "hw-models/board_config.h"

namespace trustsim {

// Default serial number of a board: "TSB" + 8 hex digits of SHA-256(name).
std::string default_serial(const BoardConfig& cfg);

// Exported files in a board state directory.
struct TpmExports {
  static std::string ek_pub(const StatePaths& p) { return p.dir + "/tpm-ek-pub.pem"; }
  static std::string sudi_pub(const StatePaths& p) { return p.dir + "/tpm-sudi-pub.pem"; }
  static std::string sudi_chain(const StatePaths& p) { return p.dir + "/tpm-sudi-chain.pem"; }   // root, CA, device
  static std::string sudi_root(const StatePaths& p) { return p.dir + "/tpm-sudi-root-ca.pem"; }  // the trust anchor
};

// Runs libtpms on dir.tpm_nv(): Startup, EK and SUDI primaries made
// persistent, the three certificates in NV indices, Shutdown. Throws
// InputError on a bad key file or a TPM error (naming the command).
void provision_tpm(const BoardConfig& cfg, const StatePaths& dir, const std::string& keys_dir,
                   const std::string& serial);

// One command through the engine; throws naming the command if rc != 0.
std::vector<uint8_t> tpm_host_command(const uint8_t* cmd, size_t len, const char* what);

}  // namespace trustsim
