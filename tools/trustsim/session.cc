#include "session.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "flash_cmds.h"
#include "devkit/input_error.h"
#include "hw-models/run_files.h"
#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "host/manufacture.h"

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
  int rc = std::system(("rm -rf '" + path + "'").c_str());
  (void)rc;
}

LoadOptions ScenarioOptions::load_options() const {
  LoadOptions lo;
  for (const std::string& v : vars) {
    size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0) throw InputError("--var " + v + ": expected NAME=VALUE");
    lo.vars[v.substr(0, eq)] = v.substr(eq + 1);
  }
  lo.has_seed = has_seed;
  lo.seed = seed;
  return lo;
}

void add_scenario_options(CLI::App* app, ScenarioOptions& o, const std::string& seed_help) {
  app->add_option("--seed", o.seed, seed_help)->each([&o](const std::string&) { o.has_seed = true; });
  app->add_option("--var", o.vars, "NAME=VALUE: override a scenario variable (repeatable)")->allow_extra_args(false);
}

std::string scenario_board_file(const std::string& option, const Scenario& sc) {
  return resolve_board_file(!option.empty() ? option : sc.board.empty() ? "default" : sc.board);
}

std::string dev_keys_dir() { return std::string(TRUSTSIM_SOURCE_DIR) + "/keys/dev"; }

void prepare_board(const BoardConfig& cfg, const StatePaths& state, const Artifacts& fw) {
  ManufactureOptions mo;
  mo.keys_dir = dev_keys_dir();
  prepare_state_dir(cfg, state, [&](const StatePaths& dir) { manufacture_board(cfg, dir, fw, mo); });
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
