// Scenario files: the steps a run performs and checks (docs/scenarios.md),
// and the sweep that turns a scenario into a fault campaign
// (docs/campaigns.md).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "devkit/power_loss.h"
#include "devkit/seeded_rng.h"
#include "devices/net_fault.h"
#include "tpm-sim/tpm_fault.h"
#include "scenario/pattern.h"

namespace trustsim {

struct Step {
  enum class Kind {
    kPowerOn, kPowerOff, kPowerCycle, kExpect, kSend, kWait,
    kWaitPowerOff,     // until the board is off (an armed fault, the guest)
    kFault,            // arm a fault now
    kCheck,            // check board state through the backdoor
    // host-side actions on the powered-off board (backdoor: no timing, no faults)
    kImageSign,        // sign an image and store it on bootflash:
    kFlashPut,         // copy a host file onto bootflash:
    kFlashCorrupt,     // XOR a byte of a bootflash: file
    kFlashTruncate,    // cut a bootflash: file to a length
    kFlashDelete,      // remove a bootflash: file
    kBootFlashCorrupt, // XOR a byte of the boot SPI flash (ROMmon images)
    kNvramCorrupt,     // XOR a byte of NVRAM
  };
  enum class Fault { kPowerLossAtOperation, kPowerLossAfter, kPowerLossOnConsole, kBitFlip, kBitFlips, kStuckBit,
                     kBadBlock, kTpm, kNetwork };
  enum class Check { kFile, kRomvar, kKeys, kBooted, kPcr, kAttest };
  Kind kind;
  std::string where;     // "file:line", for reports
  std::string text;      // expect: the pattern; send: the line typed; fault on-console / from-console: the pattern
  Pattern pattern;       // expect, fault on-console
  uint64_t timeout_ps = 0;   // expect, wait-power-off
  uint64_t duration_ps = 0;  // wait; power-cycle off time; fault after
  bool has_duration = false; // power-cycle: false = the board's off time
  bool enter = true;         // send: press Enter (CR) after the text
  bool negate = false;       // expect: the pattern must NOT appear within the timeout
  // host actions
  std::string file;          // bootflash: file name
  std::string key;           // image-sign: key name (production-A, unknown-A, ...) or PEM path
  std::string image_type = "os";
  std::string version;       // image-sign: default the built OS version
  std::string payload;       // image-sign: payload file; default the built OS image; flash-put: the host file
  std::vector<std::string> add_keys, revoke_keys;  // image-sign: key bundle (key names)
  uint64_t offset = 0;       // corrupt: byte offset
  bool from_end = false;     // flash-corrupt: offset counts back from the end (1 = last byte)
  bool seeded_offset = false; // flash-corrupt: offset picked by the seed
  uint64_t xor_mask = 0x01;  // corrupt: bits to flip
  uint64_t length = 0;       // truncate
  // fault
  Fault fault = Fault::kPowerLossAtOperation;
  std::string device;        // power-loss: nvram, boot_flash or bootflash
  uint64_t at = 1;           // power-loss: the Nth operation counted from this step (or from the from-console match)
  PowerLoss::Mode cut_mode = PowerLoss::Mode::kBefore;
  uint64_t seed = 0;         // torn cuts, bit flips, seeded offsets (derived from the run seed if not given)
  bool has_seed = false;
  uint32_t page = 0, byte = 0, bit = 0, count = 1, block = 0, nth = 1;
  bool value = false;        // stuck-bit
  tpm::Fault tpm_fault;  // tpm: the device's own typed fault
  net::Fault net_fault;  // network: the device's own typed fault (a seeded corrupt-byte gets the step's seed when armed)
  // check
  Check check = Check::kFile;
  bool exists = true;                    // file
  std::string sha256;                    // file
  int64_t size = -1;                     // file
  std::string equals;                    // romvar (absent: exists=false)
  std::vector<std::string> keys_active, keys_revoked, keys_absent;  // keys
  bool both_copies = false;              // keys: primary and backup valid and equal
  std::string booted_image, booted_key;  // booted: bootflash:NAME, key name (e.g. production-B)
  uint32_t pcr = 0;                      // pcr: index 0..7 or 8..23
  std::string pcr_equals;                // pcr: 64 hex digits (upper case)
  bool pcr_extended = false;             // pcr: not all zero
  uint32_t nonce = 0;                    // attest: the nonce the quote must be made for
  std::string kgv;                       // attest: known-good values file (path as resolved at load)
  std::string kgv_image;                 // attest: or compute them from this bootflash: file (NAME, no prefix)
  bool verifies = true;                  // attest: false = some check must fail
  std::vector<std::string> failing;      // attest: exactly these checks fail (implies verifies=false)
  std::string describe() const;
};

// A power-cut sweep: run `steps` once per cut point (every state-changing
// operation of `devices` between the markers) and mode; after each cut, run
// `recovery`, which must pass.
struct Sweep {
  std::string where;
  std::vector<std::string> devices;
  std::vector<PowerLoss::Mode> modes;
  std::string from_text, to_text;  // empty: the window starts / ends with the steps
  Pattern from, to;
  std::vector<Step> steps;
  std::vector<Step> recovery;
  // Optional second cut: every run also cuts again at each operation of
  // `devices2` during its recovery (each mode of `modes2`), then runs
  // `recovery2`, which must pass too.
  bool second = false;
  std::vector<std::string> devices2;
  std::vector<PowerLoss::Mode> modes2;
  std::vector<Step> recovery2;
};

struct Scenario {
  std::string file;
  std::string name;
  std::string description;
  std::string board;  // board name or path; empty = "default"
  uint64_t default_timeout_ps = 30ull * 1000000000000ull;
  uint64_t seed = 1;  // every random choice of the run derives from it
  std::map<std::string, std::string> vars;
  std::vector<Step> steps;
  bool has_sweep = false;
  Sweep sweep;
};

struct LoadOptions {
  std::map<std::string, std::string> vars;  // override the file's `vars`
  bool has_seed = false;                    // override the file's `seed`
  uint64_t seed = 0;
};

// Reads and checks a scenario; throws InputError naming file:line: field.
Scenario load_scenario(const std::string& path, const LoadOptions& opt = {});

// Control characters as C escapes (\r, \n, \xNN), so a pattern in a
// message stays on one line.
std::string printable(const std::string& text);

// The seed a step uses when it names none is derive_seed(run seed, the
// step's position) (devkit/seeded_rng.h), so every random choice changes
// with --seed and only with it.

}  // namespace trustsim
