// trustsim: the virtual router board. `trustsim run SCENARIO.yaml` boots the
// board in lock-step with QEMU and runs the scenario (README.md, docs/scenarios.md).
#include <CLI/CLI.hpp>
#include <systemc>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "attest_cmds.h"
#include "board_cmds.h"
#include "campaign_cmd.h"
#include "console_cmd.h"
#include "devkit/input_error.h"
#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "flash_cmds.h"
#include "host/manufacture.h"
#include "hw-models/board.h"
#include "hw-models/run_files.h"
#include "image_cmds.h"
#include "scenario/campaign_run.h"
#include "scenario/observers.h"
#include "scenario/runner.h"
#include "scenario/scenario.h"
#include "session.h"
#include "tpm_cmds.h"

#ifndef TRUSTSIM_SOURCE_DIR
#error "TRUSTSIM_SOURCE_DIR must be defined by the build"
#endif

namespace {

using namespace trustsim;

constexpr int kExitPass = 0;
constexpr int kExitFail = 1;
constexpr int kExitBadInput = 2;

struct RunOptions {
  std::string scenario;
  std::string state_dir;
  std::string board_file;
  std::string trace_path;
  std::string console_log;
  bool quiet = false;
  bool gdb = false;
  int gdb_port = 1234;
  int wall_timeout_s = 30;
  int spin_us = 50;
  ScenarioOptions scenario_opts;  // --seed, --var
  ObserverOptions observe;        // --timeline, --vcd, --vcd-signals
};

}  // namespace

std::string trustsim::resolve_board_file(const std::string& name) {
  if (name.find('/') != std::string::npos || (name.size() > 5 && name.substr(name.size() - 5) == ".yaml")) return name;
  const char* env = getenv("TRUSTSIM_BOARDS_DIR");
  std::string dir = env && *env ? env : std::string(TRUSTSIM_SOURCE_DIR) + "/boards";
  return dir + "/" + name + ".yaml";
}

namespace {

std::string format_time_ns(uint64_t ns) {
  char b[48];
  snprintf(b, sizeof b, "%llu.%09llu s", (unsigned long long)(ns / 1000000000ull),
           (unsigned long long)(ns % 1000000000ull));
  return b;
}

int cmd_run(const RunOptions& o) {
  auto wall0 = std::chrono::steady_clock::now();
  sweep_stale_run_files();
  Scenario sc = load_scenario(o.scenario, o.scenario_opts.load_options());
  std::string board_file = scenario_board_file(o.board_file, sc);
  BoardConfig cfg = load_board_config(board_file);
  Artifacts fw = Artifacts::locate();

  TempDir run_dir;
  StatePaths state{o.state_dir.empty() ? run_dir.path + "/board" : o.state_dir};
  prepare_board(cfg, state, fw);

  RunSession session(cfg.name, o.trace_path, o.console_log, &o.observe);
  ConsoleLog& console = session.console();
  if (!o.quiet) console.set_echo(stdout);

  BridgeOptions bo = make_bridge_options(fw, run_dir.path, o.wall_timeout_s, o.spin_us);
  bo.gdb = o.gdb;
  bo.gdb_port = o.gdb_port;
  if (o.gdb) {
    fputs(write_gdb_script(run_dir.path + "/gdbinit", fw, o.gdb_port).c_str(), stdout);
    fflush(stdout);
  }

  Board& board = session.start(cfg, state, bo);
  CampaignRun sweep(sc, board, console, CampaignRole{});  // a sweep runs once, without a cut
  ScenarioRunner runner("scenario", sc, board, console, HostContext{dev_keys_dir(), fw, state}, &sweep);
  printf("trustsim: scenario %s on board %s (%s), state %s, seed %llu\n", sc.file.c_str(), cfg.name.c_str(),
         board_file.c_str(), o.state_dir.empty() ? "temporary" : state.dir.c_str(), (unsigned long long)sc.seed);
  fflush(stdout);
  sc_core::sc_start();
  session.finish();

  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  uint64_t vt = now_ns();
  if (!board.bridge().error().empty()) {
    printf("FAIL %s: board error at virtual time %s: %s\n", sc.name.c_str(), format_time_ns(vt).c_str(),
           board.bridge().error().c_str());
    printf("  last console lines:\n%s", console.tail(10).c_str());
    return kExitFail;
  }
  if (!runner.passed()) {
    printf("FAIL %s: %s\n  last console lines:\n%s", sc.name.c_str(),
           runner.finished() ? runner.failure().c_str() : "the simulation stopped before the scenario finished",
           console.tail(10).c_str());
    return kExitFail;
  }
  printf(
      "PASS %s: %zu steps, virtual time %s, wall %.2f s, %llu guest instructions, %llu device requests, "
      "%llu quantum syncs, %llu QEMU starts, %llu QEMU reuses\n",
      sc.name.c_str(), runner.steps_done(), format_time_ns(vt).c_str(), wall,
      (unsigned long long)board.bridge().guest_insns(), (unsigned long long)board.bridge().doorbells(),
      (unsigned long long)board.bridge().syncs(), (unsigned long long)board.bridge().qemu_starts(),
      (unsigned long long)board.bridge().qemu_reuses());
  if (sc.has_sweep)
    printf("sweep: %zu cut points in the window, run without a cut (`trustsim campaign %s` cuts at each)\n",
           sweep.cut_points().size(), o.scenario.c_str());
  return kExitPass;
}

}  // namespace

int sc_main(int argc, char** argv) {
  // sc_stop() from a scenario is the normal end of a run, not news; the
  // board reports through its own channels, never SC_REPORT_INFO.
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  CLI::App app{"trustsim: a virtual router board for secure-boot and upgrade work"};
  app.require_subcommand(1);
  RunOptions ro;
  CLI::App* run = app.add_subcommand("run", "boot the board and run a scenario");
  run->add_option("scenario", ro.scenario, "scenario file (YAML)")->required();
  run->add_option("--board", ro.state_dir, "board state directory (created if missing; default: a temporary one)");
  run->add_option("--board-file", ro.board_file,
                  "board description: a name in boards/ or a path (default: the scenario's, else 'default')");
  run->add_option("--trace", ro.trace_path, "write the device-operation trace (JSON lines) here");
  run->add_option("--console-log", ro.console_log, "write the timestamped console transcript here");
  run->add_flag("--quiet", ro.quiet, "do not echo the console");
  add_scenario_options(run, ro.scenario_opts,
                       "run seed for every random choice (default: the scenario's seed, else 1)");
  run->add_flag("--gdb", ro.gdb, "start QEMU halted with its gdbstub on --gdb-port");
  run->add_option("--gdb-port", ro.gdb_port, "TCP port of QEMU's gdbstub")->check(CLI::Range(1, 65535));
  run->add_option("--wall-timeout", ro.wall_timeout_s,
                  "seconds of wall time without guest progress before the run is failed")
      ->check(CLI::Range(1, 3600));
  run->add_option("--spin-us", ro.spin_us,
                  "microseconds each side of the QEMU link spins before sleeping (0: always sleep; wall time only)")
      ->check(CLI::Range(0, 100000));
  run->add_option("--timeline", ro.observe.timeline_path,
                  "write a Chrome/Perfetto trace-event timeline (JSON) here (docs/traces.md)");
  run->add_option("--vcd", ro.observe.vcd_path, "write a VCD of board signals here (docs/traces.md)");
  run->add_option("--vcd-signals", ro.observe.vcd_signals,
                  "comma-separated signals for --vcd (default all: power,reset,stage,nand_busy,nor_busy,nvram_busy,"
                  "crypto_busy,console_tx,mbox_busy)");
  std::function<int()> action;
  add_image_commands(app, action);
  add_flash_commands(app, action);
  add_board_commands(app, action);
  add_campaign_commands(app, action);
  add_console_command(app, action);
  add_attest_commands(app, action);
  add_tpm_commands(app, action);

  // CLI11 only says "A subcommand is required" for a mistyped command.
  if (argc > 1 && argv[1][0] != '-') {
    std::string cmd = argv[1], names;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      known = known || sub->get_name() == cmd;
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      fprintf(stderr, "trustsim: error: %s: unknown command (expected one of %s; see --help)\n", cmd.c_str(),
              names.c_str());
      return kExitBadInput;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitBadInput;
  }
  try {
    if (*run) return cmd_run(ro);
    if (action) return action();
  } catch (const InputError& e) {
    fprintf(stderr, "trustsim: error: %s\n", e.what());
    return kExitBadInput;
  } catch (const std::exception& e) {
    fprintf(stderr, "trustsim: error: %s\n", e.what());
    return kExitFail;
  }
  return kExitBadInput;
}

// Our own main, so the SystemC banner can be switched off before the kernel
// prints it (libsystemc's main would print it before sc_main runs).
int main(int argc, char** argv) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
