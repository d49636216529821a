// Scenario files: the steps a run performs and checks (docs/scenarios.md).
#pragma once
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

namespace trustsim {

struct Step {
  enum class Kind {
    kPowerOn, kPowerOff, kPowerCycle, kExpect, kSend, kWait,
    // host-side actions on the powered-off board (backdoor: no timing, no faults)
    kImageSign,        // sign an image and store it on bootflash:
    kFlashCorrupt,     // XOR a byte of a bootflash: file
    kFlashTruncate,    // cut a bootflash: file to a length
    kFlashDelete,      // remove a bootflash: file
    kBootFlashCorrupt, // XOR a byte of the boot SPI flash (ROMmon images)
    kNvramCorrupt,     // XOR a byte of NVRAM
  };
  Kind kind;
  std::string where;     // "file:line", for reports
  std::string text;      // expect: the pattern; send: the line typed
  std::regex pattern;    // expect
  uint64_t timeout_ps = 0;   // expect
  uint64_t duration_ps = 0;  // wait; power-cycle off time
  bool has_duration = false; // power-cycle: false = the board's off time
  bool enter = true;         // send: press Enter (CR) after the text
  bool negate = false;       // expect: the pattern must NOT appear within the timeout
  // host actions
  std::string file;          // bootflash: file name
  std::string key;           // image-sign: key name (production-A, unknown-A, ...) or PEM path
  std::string image_type = "os";
  std::string version;       // image-sign: default the built OS version
  std::string payload;       // image-sign: payload file; default the built OS image
  std::vector<std::string> add_keys, revoke_keys;  // image-sign: key bundle (key names)
  uint64_t offset = 0;       // corrupt: byte offset
  bool from_end = false;     // flash-corrupt: offset counts back from the end (1 = last byte)
  uint64_t xor_mask = 0x01;  // corrupt: bits to flip
  uint64_t length = 0;       // truncate
  std::string describe() const;
};

struct Scenario {
  std::string file;
  std::string name;
  std::string description;
  std::string board;  // board name or path; empty = "default"
  uint64_t default_timeout_ps = 30ull * 1000000000000ull;
  std::vector<Step> steps;
};

// Reads and checks a scenario; throws InputError naming file:line: field.
Scenario load_scenario(const std::string& path);

}  // namespace trustsim
