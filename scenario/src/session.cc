#include "scenario/session.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "devkit/input_error.h"
#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "host/board_cache.h"
#include "host/manufacture.h"
#include "hw-models/run_files.h"

#ifndef TRUSTSIM_SOURCE_DIR
#error "TRUSTSIM_SOURCE_DIR must be defined by the build"
#endif

namespace trustsim {

std::string TempDir::make() {
  struct stat st;
  std::string base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
  std::string tmpl = base + "/trustsim-run-" + std::to_string(getpid()) + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a temporary run directory");
  return tmpl;
}

TempDir::TempDir() : path(make()), owner_(getpid()) {}

TempDir::~TempDir() {
  if (getpid() != owner_) return;
  remove_tree(path);
}

std::string dev_keys_dir() { return std::string(TRUSTSIM_SOURCE_DIR) + "/keys/dev"; }

void prepare_board(const BoardConfig& cfg, const StatePaths& state, const Artifacts& fw) {
  ManufactureOptions mo;
  mo.keys_dir = dev_keys_dir();
  prepare_state_dir(cfg, state, [&](const StatePaths& dir) { manufacture_board_cached(cfg, dir, fw, mo); });
}

BridgeOptions make_bridge_options(const Artifacts& fw, const std::string& run_dir, int wall_timeout_s, int spin_us) {
  BridgeOptions bo;
  bo.plugin_path = fw.plugin_so;
  bo.run_dir = run_dir;
  bo.wall_timeout_s = wall_timeout_s;
  bo.spin_us = spin_us;
  return bo;
}

RunSession::RunSession(const std::string& board_name, const std::string& trace_path, const std::string& console_log,
                       const ObserverOptions* observe) {
  trace_.open(trace_path);
  console_.open_transcript(console_log);
  if (observe) observers_.emplace(*observe, board_name, trace_, console_);
}

RunSession::~RunSession() {
  board_.reset();  // before what it reports to
  observers_.reset();
}

Board& RunSession::start(const BoardConfig& cfg, const StatePaths& state, const BridgeOptions& bo) {
  install_interrupt_handlers();
  board_ = std::make_unique<Board>("board", cfg, state, bo, trace_, console_);
  if (observers_) observers_->attach(*board_);
  return *board_;
}

void RunSession::finish() {
  console_.finish();
  if (observers_) observers_->finish(now_ns());
}

}  // namespace trustsim
