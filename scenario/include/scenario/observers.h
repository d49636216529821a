// What `trustsim run` and `trustsim console` attach to a board besides the
// device trace: the boot-stage tracker, the timeline and the VCD
// (docs/traces.md), and the gdb script for --gdb (docs/debugging.md).
#pragma once
#include <string>
#include <vector>

#include "hw-models/board.h"
#include "hw-models/observe.h"

namespace trustsim {

struct ObserverOptions {
  std::string timeline_path;
  std::string vcd_path;
  std::string vcd_signals;  // comma-separated; empty = all
};

class RunObservers {
 public:
  // Opens the output files (InputError if one cannot be written or a signal
  // name is unknown) before the board exists, so bad options cost nothing.
  RunObservers(const ObserverOptions& o, const std::string& board_name, DeviceTrace& trace, ConsoleLog& console);
  void attach(Board& board);  // the doorbell addresses
  void finish(uint64_t end_ns);
  ~RunObservers();

 private:
  ConsoleLog& console_;
  BootStageTracker stages_;
  TimelineWriter timeline_;
  VcdWriter vcd_;
};

// Comma-separated list -> names; empty items are an error (InputError).
std::vector<std::string> split_signal_list(const std::string& list);

// ELF64 symbol files for gdb: the address of a file's .text section
// (InputError if it is not an ELF64 file with one).
uint64_t elf_text_address(const std::string& path);

// Writes a gdb command file that loads the symbols of Boot0, ROMmon and the
// OS image at their link addresses and connects to QEMU's gdbstub; returns
// the lines to print for the user.
std::string write_gdb_script(const std::string& path, const Artifacts& fw, int port);

}  // namespace trustsim
