// Views of a run besides the device trace (docs/traces.md): the boot stage
// the board is in, a Chrome/Perfetto trace-event timeline, and a VCD of
// board signals. All of them are fed from what the board sees (device trace
// events, console lines, the address of each doorbell), stamped in virtual
// time, so they are byte-identical on every run of the same scenario.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "devkit/trace.h"

namespace trustsim {

enum class BootStage : uint8_t { kOff = 0, kBoot0 = 1, kRommon = 2, kOs = 3, kOther = 4 };
const char* boot_stage_name(BootStage s);  // "off", "Boot0", "ROMmon", "OS", "other"

// Which stage's code lives at a guest address (docs/firmware.md, memory
// map): the boot ROM is Boot0, the ROMmon window ROMmon, the OS window the
// OS. Anything else is kOther.
BootStage boot_stage_of_address(uint64_t pc);

// Follows the boot stage: Boot0 from each power-on (the reset vector is in
// the boot ROM), then the stage whose code rang each doorbell; off at each
// power-off and reset. Listeners hear each change once.
class BootStageTracker : public TraceSink {
 public:
  void on_event(const TraceEvent& e) override;  // power events
  void on_doorbell(uint64_t t_ns, uint64_t pc);
  BootStage stage() const { return stage_; }
  std::vector<std::function<void(uint64_t t_ns, BootStage s)>> listeners;

 private:
  void change(uint64_t t_ns, BootStage s);
  BootStage stage_ = BootStage::kOff;
};

// Chrome trace-event JSON (the object form, loadable by ui.perfetto.dev and
// chrome://tracing). One process "board"; one track per device for its bus
// transactions and one for its internal operations; tracks for the boot
// stage, the console and power. Times are virtual, in microseconds with ns
// precision.
class TimelineWriter : public TraceSink {
 public:
  TimelineWriter() = default;
  ~TimelineWriter() override;
  TimelineWriter(const TimelineWriter&) = delete;
  TimelineWriter& operator=(const TimelineWriter&) = delete;

  void open(const std::string& path, const std::string& board_name);  // throws InputError
  bool is_open() const { return out_ != nullptr; }
  void on_event(const TraceEvent& e) override;
  void on_console_line(uint64_t t_ns, const std::string& text);
  void on_stage(uint64_t t_ns, BootStage s);
  void finish(uint64_t end_ns);  // closes the open stage span and the JSON; idempotent

 private:
  int track(const std::string& name);
  void emit(const std::string& json);
  FILE* out_ = nullptr;
  bool first_ = true;
  std::map<std::string, int> tracks_;
  int next_tid_ = 10;
  BootStage stage_ = BootStage::kOff;
  uint64_t stage_since_ = 0;
};

// A VCD (IEEE 1364 value change dump, timescale 1 ns) of chosen board
// signals, for GTKWave. Changes are collected during the run and written,
// in time order, by finish().
class VcdWriter : public TraceSink {
 public:
  static const std::vector<std::string>& signal_names();  // every signal, in default order
  VcdWriter() = default;
  ~VcdWriter() override;
  VcdWriter(const VcdWriter&) = delete;
  VcdWriter& operator=(const VcdWriter&) = delete;

  // signals: names from signal_names(); empty = all. Throws InputError for
  // an unknown or repeated name, or a file that cannot be written.
  void open(const std::string& path, const std::vector<std::string>& signals);
  bool is_open() const { return out_ != nullptr; }
  void on_event(const TraceEvent& e) override;
  void on_stage(uint64_t t_ns, BootStage s);
  void finish(uint64_t end_ns);  // idempotent

 private:
  enum Sig {
    kPower,
    kReset,
    kStage,
    kNandBusy,
    kNorBusy,
    kNvramBusy,
    kCryptoBusy,
    kConsoleTx,
    kMailboxBusy,
    kSigCount
  };
  struct Change {
    uint64_t t_ns;
    uint64_t seq;
    int sig;
    int value;  // level signals: the new value; busy signals: +1 / -1
  };
  void level(uint64_t t, int sig, int v) { changes_.push_back({t, seq_++, sig, v}); }
  void busy(uint64_t t, uint64_t dur, int sig);
  FILE* out_ = nullptr;
  std::vector<int> chosen_;  // Sig indexes, in file order
  std::vector<Change> changes_;
  uint64_t seq_ = 0;
};

}  // namespace trustsim
