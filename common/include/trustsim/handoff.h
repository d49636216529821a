// What each boot stage tells the next: a block at a fixed RAM address that
// Boot0 fills for ROMmon, and ROMmon extends for the OS image (used by
// `show software authenticity running` and `show platform integrity`).
// Format: docs/firmware.md. Volatile: gone at every power cycle.
#pragma once
#include <stdint.h>

namespace trustsim::handoff {

constexpr uint64_t kAddress = 0x40180000;  // after Boot0's RAM, before ROMmon
constexpr uint32_t kMagic = 0x46484354u;   // "TCHF"
// ROMmon's mounted bootflash: volume, a bfs::Handover (trustsim/bfs.h), for
// the OS to take over instead of mounting again (docs/firmware.md).
constexpr uint64_t kBootflashAddress = 0x40400000;
constexpr uint64_t kBootflashMaxSize = 0x40000;  // 256 KiB

struct StageInfo {
  char version[64];
  uint8_t digest[64];  // SHA-512 of the stage's image (header + payload)
  uint8_t key_type;    // keys::KeyType that verified it (0 = none)
  char key_version;
  uint8_t reserved[6];
  char signer_common_name[32];
  char signer_org_unit[32];
  char signer_org_name[32];
  char cert_serial[16];
};

struct Block {
  uint32_t magic;
  uint32_t rommon_slot;             // 0 = primary, 1 = golden
  uint32_t primary_failed_verdict;  // verify::Verdict of the primary when the golden one booted
  uint32_t reserved;
  StageInfo boot0;
  StageInfo rommon;
  StageInfo os;
  char os_path[128];  // "bootflash:NAME" the OS image was loaded from
  // Measured boot (docs/tpm.md): SHA-256 of each stage's bytes as extended
  // into the TPM (Boot0 and ROMmon into PCR0, the OS image into PCR8).
  uint32_t measure_flags;  // kMeasured* bits: which measurements reached the TPM
  uint32_t tpm_error;      // fw::TpmStatus of the first failed TPM step, 0 = none
  uint8_t boot0_sha256[32];
  uint8_t rommon_sha256[32];
  uint8_t os_sha256[32];
};

constexpr uint32_t kMeasuredBoot0 = 1;
constexpr uint32_t kMeasuredRommon = 2;
constexpr uint32_t kMeasuredOs = 4;
constexpr uint32_t kOsVerifySkipped = 0x100;  // test option: the OS image booted without a good signature

}  // namespace trustsim::handoff
