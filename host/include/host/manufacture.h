// Manufacturing a board: what the factory puts in a new board's flash and
// NVRAM. Boot0 in the boot ROM; ROMmon signed with the production key as
// primary copy (and the rollover key as golden copy) in the boot SPI flash; key storage (primary and
// backup) with the rollover, production and special keys. docs/manufacturing.md.
#pragma once
#include <string>
#include <vector>

#include "devices/openssl_util.h"

#include "hw-models/board.h"
#include "hw-models/board_config.h"
#include "trustsim/keys.h"

namespace trustsim {

struct ManufactureOptions {
  std::string keys_dir;  // default: <source>/keys/dev
  std::string serial;    // board serial number (SUDI certificate); default: default_serial()
};

// Writes the contents of a new board state directory into `dir`.
void manufacture_board(const BoardConfig& cfg, const StatePaths& dir, const Artifacts& fw,
                       const ManufactureOptions& opt);

// A ROMmon image as manufacturing puts it in the boot flash, signed with
// `key` as version A of `key_type` (deterministic): the primary copy with
// production key A, the golden copy with rollover key A. And its version string.
std::vector<uint8_t> signed_rommon(const BoardConfig& cfg, const Artifacts& fw, const ossl::Pkey& key,
                                   keys::KeyType key_type);
std::string rommon_version(const Artifacts& fw);

// "ts-isr1100-universalk9.17.03.01.SPA.bin"
std::string os_image_name(const BoardConfig& cfg, const std::string& version, keys::KeyType type, char key_version);

}  // namespace trustsim
