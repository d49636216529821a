// What a scenario run, a campaign run and `trustsim console` share to put
// one board on the simulation: a temporary run directory, the QEMU link
// options, the manufactured state directory, and a RunSession holding the
// device trace, the console log, the observers and the Board itself.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hw-models/board.h"
#include "scenario/observers.h"

namespace trustsim {

// A fresh directory under /dev/shm (a temporary board writes tens of MiB per
// run) or else /tmp, named trustsim-run-PID-XXXXXX; removed with everything
// in it when it goes out of scope in the process that made it (never by a
// forked copy of that process).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string path;

 private:
  static std::string make();
  pid_t owner_;
};

// The development keys every simulated board is manufactured with.
std::string dev_keys_dir();

// Manufactures the board into `state` if it is empty or missing, else
// checks that it is a state directory of this board (prepare_state_dir).
void prepare_board(const BoardConfig& cfg, const StatePaths& state, const Artifacts& fw);

// The QEMU link of a board run in `run_dir` (the other fields: defaults).
BridgeOptions make_bridge_options(const Artifacts& fw, const std::string& run_dir, int wall_timeout_s,
                                  int spin_us = BridgeOptions().spin_us);

// One board on the simulation and what watches it. Construction opens the
// output files (InputError if one cannot be written) before any board
// exists; start() installs the interrupt handlers and elaborates the Board;
// after sc_start(), finish() flushes the console and the observers.
class RunSession {
 public:
  // `observe` null: no observers at all (not even the boot-stage tracker).
  RunSession(const std::string& board_name, const std::string& trace_path, const std::string& console_log,
             const ObserverOptions* observe);
  ~RunSession();

  DeviceTrace& trace() { return trace_; }
  ConsoleLog& console() { return console_; }
  Board& start(const BoardConfig& cfg, const StatePaths& state, const BridgeOptions& bo);
  Board& board() { return *board_; }
  void finish();

 private:
  DeviceTrace trace_;
  ConsoleLog console_;
  std::optional<RunObservers> observers_;
  std::unique_ptr<Board> board_;
};

}  // namespace trustsim
