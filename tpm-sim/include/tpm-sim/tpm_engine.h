// The TPM 2.0 itself: libtpms, in-process. libtpms keeps one TPM per
// process in global state, so this is a process-wide singleton that one
// owner at a time attaches to a non-volatile state file (the board state's
// tpm-nv.bin, or manufacturing's). While libtpms runs, it sees a virtual
// clock (board time) and a deterministic random-number generator seeded per
// board, so a scenario's TPM output (keys, quotes, signatures) is the same
// on every run. docs/tpm.md.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace trustsim {

class TpmEngine {
 public:
  static TpmEngine& instance();

  // Takes the engine for `nv_path` (created on the first NV write if it does
  // not exist). Throws std::logic_error if someone else holds it, InputError
  // if the file is unreadable or malformed.
  void attach(const std::string& nv_path, const std::string& rng_seed);
  // Powers off (no Shutdown) and lets go.
  void detach();
  // A forked campaign run: keep the engine's state as it is in memory, and
  // write NV to `nv_path` from now on (a copy of the current state now).
  void move_nv_to(const std::string& nv_path);
  bool attached() const { return attached_; }

  // TPMLIB_MainInit: loads the permanent state. False if libtpms refused.
  bool power_on();
  // A power cut: TPMLIB_Terminate without TPM2_Shutdown; volatile state gone.
  void power_off();
  bool powered() const { return powered_; }

  // Runs one command; the response (an error response if libtpms failed).
  std::vector<uint8_t> execute(const uint8_t* cmd, size_t len, uint32_t locality = 0);

  // What libtpms reads as the time while it runs (ns).
  void set_clock_ns(uint64_t ns) { clock_ns_ = ns; }
  uint64_t clock_ns() const { return clock_ns_; }

  // Fault: the next NV write stores only the first `keep` bytes (a torn write).
  void arm_torn_nv_write(size_t keep) { torn_keep_ = keep, torn_armed_ = true; }
  // True once after the armed torn write happened (the device then cuts power).
  bool take_torn_event() {
    bool t = torn_happened_;
    torn_happened_ = false;
    return t;
  }

  // libtpms callbacks (public for the C trampolines).
  uint32_t load(unsigned char** data, uint32_t* length, const char* name);
  uint32_t store(const unsigned char* data, uint32_t length, const char* name);
  uint32_t remove(const char* name);
  uint32_t locality() const { return locality_; }

  // State file format helpers (also used by `trustsim board inspect`).
  static std::map<std::string, std::vector<uint8_t>> read_state_file(const std::string& path);

 private:
  TpmEngine() = default;
  void save();
  void rng_bytes(uint8_t* out, size_t n);
  friend struct EngineScope;
  friend int det_rand_bytes(unsigned char* buf, int num);

  bool attached_ = false;
  bool powered_ = false;
  bool callbacks_registered_ = false;
  std::string path_;
  std::map<std::string, std::vector<uint8_t>> blobs_;
  uint64_t clock_ns_ = 0;
  uint32_t locality_ = 0;
  uint8_t rng_key_[32] = {};
  uint64_t rng_counter_ = 0;
  bool torn_armed_ = false;
  bool torn_happened_ = false;
  size_t torn_keep_ = 0;
};

// True while libtpms runs under the engine (the clock and RNG hooks act only then).
bool tpm_engine_active();
uint64_t tpm_engine_clock_ns();

}  // namespace trustsim
