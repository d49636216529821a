// trustsim: the virtual router board. `trustsim run SCENARIO.yaml` boots the
// board in lock-step with QEMU and runs the scenario (README.md, docs/scenarios.md).
#include <CLI/CLI.hpp>
#include <systemc>

#include <chrono>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "hw-models/board.h"
#include "attest_cmds.h"
#include "tpm_cmds.h"
#include "board_cmds.h"
#include "campaign_cmd.h"
#include "console_cmd.h"
#include "flash_cmds.h"
#include "image_cmds.h"
#include "observers.h"
#include "manufacture/manufacture.h"
#include "hw-models/run_files.h"
#include "hw-models/input_error.h"
#include "hw-models/sim_time.h"
#include "hw-models/state_file.h"
#include "scenario/runner.h"
#include "scenario/scenario.h"

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
  uint64_t seed = 0;
  bool has_seed = false;
  std::vector<std::string> vars;
  ObserverOptions observe;  // --timeline, --vcd, --vcd-signals
};

}  // namespace

std::string trustsim::resolve_board_file(const std::string& name) {
  if (name.find('/') != std::string::npos || (name.size() > 5 && name.substr(name.size() - 5) == ".yaml")) return name;
  const char* env = getenv("TRUSTSIM_BOARDS_DIR");
  std::string dir = env && *env ? env : std::string(TRUSTSIM_SOURCE_DIR) + "/boards";
  return dir + "/" + name + ".yaml";
}

namespace {

// Removes a temporary run directory and everything in it on scope exit.
struct TempDir {
  std::string path;
  TempDir() {
    // tmpfs when there is one: a temporary board writes tens of MiB per run.
    struct stat st;
    std::string base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    std::string tmpl = base + "/trustsim-run-" + std::to_string(getpid()) + "-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a temporary run directory");
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

std::string format_time_ns(uint64_t ns) {
  char b[48];
  snprintf(b, sizeof b, "%llu.%09llu s", (unsigned long long)(ns / 1000000000ull), (unsigned long long)(ns % 1000000000ull));
  return b;
}

int cmd_run(const RunOptions& o) {
  auto wall0 = std::chrono::steady_clock::now();
  sweep_stale_run_files();
  LoadOptions lo;
  for (const std::string& v : o.vars) {
    size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0) throw InputError("--var " + v + ": expected NAME=VALUE");
    lo.vars[v.substr(0, eq)] = v.substr(eq + 1);
  }
  lo.has_seed = o.has_seed;
  lo.seed = o.seed;
  Scenario sc = load_scenario(o.scenario, lo);
  std::string board_file = resolve_board_file(!o.board_file.empty() ? o.board_file : sc.board.empty() ? "default" : sc.board);
  BoardConfig cfg = load_board_config(board_file);
  Artifacts fw = Artifacts::locate();

  TempDir run_dir;
  StatePaths state{o.state_dir.empty() ? run_dir.path + "/board" : o.state_dir};
  ManufactureOptions mo;
  mo.keys_dir = std::string(TRUSTSIM_SOURCE_DIR) + "/keys/dev";
  prepare_state_dir(cfg, state, [&](const StatePaths& dir) { manufacture_board(cfg, dir, fw, mo); });

  DeviceTrace trace;
  trace.open(o.trace_path);
  ConsoleLog console;
  console.open_transcript(o.console_log);
  if (!o.quiet) console.set_echo(stdout);
  RunObservers observers(o.observe, cfg.name, trace, console);

  BridgeOptions bo;
  bo.plugin_path = fw.plugin_so;
  bo.run_dir = run_dir.path;
  bo.gdb = o.gdb;
  bo.gdb_port = o.gdb_port;
  bo.wall_timeout_s = o.wall_timeout_s;
  bo.spin_us = o.spin_us;
  if (o.gdb) {
    fputs(write_gdb_script(run_dir.path + "/gdbinit", fw, o.gdb_port).c_str(), stdout);
    fflush(stdout);
  }

  install_interrupt_handlers();
  Board board("board", cfg, state, bo, trace, console);
  observers.attach(board);
  ScenarioRunner runner("scenario", sc, board, console, HostContext{mo.keys_dir, fw, state});
  printf("trustsim: scenario %s on board %s (%s), state %s, seed %llu\n", sc.file.c_str(), cfg.name.c_str(),
         board_file.c_str(), o.state_dir.empty() ? "temporary" : state.dir.c_str(), (unsigned long long)sc.seed);
  fflush(stdout);
  sc_core::sc_start();
  console.finish();
  observers.finish(now_ns());

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
  printf("PASS %s: %zu steps, virtual time %s, wall %.2f s, %llu guest instructions, %llu device requests, "
         "%llu quantum syncs\n",
         sc.name.c_str(), runner.steps_done(), format_time_ns(vt).c_str(), wall,
         (unsigned long long)board.bridge().guest_insns(), (unsigned long long)board.bridge().doorbells(),
         (unsigned long long)board.bridge().syncs());
  if (sc.has_sweep)
    printf("sweep: %zu cut points in the window, run without a cut (`trustsim campaign %s` cuts at each)\n",
           runner.cut_points().size(), o.scenario.c_str());
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
  run->add_option("--board-file", ro.board_file, "board description: a name in boards/ or a path (default: the scenario's, else 'default')");
  run->add_option("--trace", ro.trace_path, "write the device-operation trace (JSON lines) here");
  run->add_option("--console-log", ro.console_log, "write the timestamped console transcript here");
  run->add_flag("--quiet", ro.quiet, "do not echo the console");
  run->add_option("--seed", ro.seed, "run seed for every random choice (default: the scenario's seed, else 1)")
      ->each([&ro](const std::string&) { ro.has_seed = true; });
  run->add_option("--var", ro.vars, "NAME=VALUE: override a scenario variable (repeatable)")->allow_extra_args(false);
  run->add_flag("--gdb", ro.gdb, "start QEMU halted with its gdbstub on --gdb-port");
  run->add_option("--gdb-port", ro.gdb_port, "TCP port of QEMU's gdbstub")->check(CLI::Range(1, 65535));
  run->add_option("--wall-timeout", ro.wall_timeout_s, "seconds of wall time without guest progress before the run is failed")
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
