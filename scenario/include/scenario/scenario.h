// Scenario files: the steps a run performs and checks (docs/scenarios.md),
// and the sweep that turns a scenario into a fault campaign
// (docs/campaigns.md).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "devices/net_fault.h"
#include "devkit/power_loss.h"
#include "devkit/seeded_rng.h"
#include "flash-sim/nand_fault.h"
#include "scenario/pattern.h"
#include "tpm-sim/tpm_fault.h"

namespace trustsim {

// One struct per step kind; Step::what holds one of them. Faults hold the
// device's own typed fault, parsed once (docs/scenarios.md).

struct PowerOnStep {};
struct PowerOffStep {};
struct PowerCycleStep {
  std::optional<uint64_t> off_ps;  // none: the board's off time
};
struct ExpectStep {
  std::string text;  // the pattern as written
  Pattern pattern;
  uint64_t timeout_ps = 0;
  bool negate = false;  // the pattern must NOT appear within the timeout
};
struct SendStep {
  std::string text;   // the line typed
  bool enter = true;  // press Enter (CR) after the text
};
struct WaitStep {
  uint64_t duration_ps = 0;
};
struct WaitPowerOffStep {  // until the board is off (an armed fault, the guest)
  uint64_t timeout_ps = 0;
};

// Faults armed by a step.
// Power loss at the Nth state-changing operation of a device, counted from
// the step (or from the first console match of `from_console`).
struct PowerLossAtOperation {
  std::string device;             // a cut device (cut_device_names())
  PowerLoss cut;                  // at_operation counts from the step; seed: filled in when armed unless given
  std::string from_console_text;  // empty: count from the step
  Pattern from_console;
};
struct PowerLossAfter {  // a virtual time after the step
  uint64_t after_ps = 0;
};
struct PowerLossOnConsole {  // between operations, when the console matches
  std::string text;
  Pattern pattern;
};
using FaultSpec =
    std::variant<PowerLossAtOperation, PowerLossAfter, PowerLossOnConsole, nand::Fault, tpm::Fault, net::Fault>;
struct FaultStep {
  FaultSpec fault;
  // Torn cuts, random bit flips, a random corrupt byte: the seed given, or
  // derive_seed(run seed, the step's position) when armed.
  std::optional<uint64_t> seed;
};

// Checks of board state through the backdoor.
struct FileCheck {
  std::string file;  // bootflash: file name
  bool exists = true;
  bool either = false;  // `exists: either`: absent passes too; if present, size and sha256 must hold
  std::string sha256;   // empty: not checked
  std::optional<uint64_t> size;
};
struct RomvarCheck {
  std::string name;
  bool exists = true;
  std::string equals;  // empty: only that it is set
};
struct KeysCheck {
  std::vector<std::string> active, revoked, absent;
  bool both_copies = false;  // primary and backup valid and equal
};
struct BootedCheck {
  std::string image;  // bootflash:NAME
  std::string key;    // key name, e.g. production-B
};
struct PcrCheck {
  uint32_t index = 0;     // 0..23
  std::string equals;     // 64 hex digits (upper case); empty: not checked
  bool extended = false;  // not all zero
};
struct AttestCheck {
  uint32_t nonce = 0;                // the nonce the quote must be made for
  std::string kgv;                   // known-good values file (path as resolved at load)
  std::string kgv_image;             // or compute them from this bootflash: file (NAME, no prefix)
  bool verifies = true;              // false = some check must fail
  std::vector<std::string> failing;  // exactly these checks fail (implies verifies=false)
};
using CheckSpec = std::variant<FileCheck, RomvarCheck, KeysCheck, BootedCheck, PcrCheck, AttestCheck>;
struct CheckStep {
  CheckSpec check;
};

// Host-side actions on the powered-off board (backdoor: no timing, no faults).
struct ImageSignStep {  // sign an image and store it on bootflash:
  std::string file;
  std::string key;  // key name (production-A, unknown-A, ...) or PEM path
  std::string image_type = "os";
  std::string version;                             // default: the built OS version
  std::string payload;                             // default: the built image of the type
  std::vector<std::string> add_keys, revoke_keys;  // key bundle (key names)
};
struct FlashPutStep {  // copy a host file onto bootflash:
  std::string from;    // host file
  std::string file;
};
struct FlashCorruptStep {  // XOR a byte of a bootflash: file
  std::string file;
  uint64_t offset = 0;
  bool from_end = false;       // offset counts back from the end (1 = last byte)
  bool seeded_offset = false;  // offset picked by the seed
  std::optional<uint64_t> seed;
  uint8_t xor_mask = 0x01;
};
struct FlashTruncateStep {  // cut a bootflash: file to a length
  std::string file;
  uint64_t length = 0;
};
struct FlashDeleteStep {  // remove a bootflash: file
  std::string file;
};
struct RomNorCorruptStep {  // XOR a byte of the ROM NOR (Boot0's flash with the ROMmon images)
  uint64_t offset = 0;
  uint8_t xor_mask = 0x01;
};
struct NvramCorruptStep {  // XOR a byte of NVRAM
  uint64_t offset = 0;
  uint8_t xor_mask = 0x01;
};

struct Step {
  using What = std::variant<PowerOnStep, PowerOffStep, PowerCycleStep, ExpectStep, SendStep, WaitStep, WaitPowerOffStep,
                            FaultStep, CheckStep, ImageSignStep, FlashPutStep, FlashCorruptStep, FlashTruncateStep,
                            FlashDeleteStep, RomNorCorruptStep, NvramCorruptStep>;
  std::string where;  // "file:line", for reports
  What what;
  template <class T>
  const T* as() const {
    return std::get_if<T>(&what);
  }
  std::string describe() const;
};

// The devices a power cut can be armed on, in scenarios and sweeps.
const std::vector<std::string>& cut_device_names();

// A power-cut sweep: run `steps` once per cut point (every state-changing
// operation of `devices` between the markers) and mode; after each cut, run
// `recovery`, which must pass.
struct Sweep {
  std::string where;
  std::vector<std::string> devices;
  std::vector<PowerLoss::Mode> modes;
  // A network-cut sweep (`network-cut: {every: N}`): instead of the power,
  // the connection of each transfer in the window dies after 0, N, 2N, ...
  // bytes (devices is then {"netxfer"}, modes {after}). 0: a power-cut sweep.
  uint64_t network_every = 0;
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
