// `trustsim console [--board DIR]`: the user's terminal on the simulated
// router's console UART (docs/debugging.md). On a terminal: raw mode,
// keystrokes go to the board, its output comes back, virtual time follows
// wall time while the board idles, Ctrl-] powers off and leaves. From a
// pipe: one line at a time, each typed when the firmware asks for input, in
// pure virtual time (reproducible).
#include "console_cmd.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <systemc>

#include "devkit/input_error.h"
#include "devkit/sim_time.h"
#include "flash_cmds.h"
#include "host/manufacture.h"
#include "hw-models/board.h"
#include "hw-models/run_files.h"
#include "scenario/observers.h"
#include "session.h"

namespace trustsim {
namespace {

constexpr char kCtrlRightBracket = 0x1d;

struct ConsoleOptions {
  std::string state_dir;
  std::string board_file = "default";
  std::string trace_path, console_log;
  ObserverOptions observe;
  int idle_timeout_s = 60;
  int wall_timeout_s = 30;
};

// ---- the terminal: raw mode, restored on every way out ----

struct termios g_saved_tty;
volatile sig_atomic_t g_tty_raw = 0;

void restore_tty() {
  if (g_tty_raw) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_tty);
    g_tty_raw = 0;
  }
}

// Fatal signals: put the terminal back, then die of the signal as usual.
// (SIGINT and SIGTERM end the session cleanly through install_interrupt_handlers.)
void on_fatal_signal(int sig) {
  restore_tty();
  signal(sig, SIG_DFL);
  raise(sig);
}

struct RawTerminal {
  RawTerminal() {
    if (tcgetattr(STDIN_FILENO, &g_saved_tty) != 0) throw InputError("stdin: cannot read the terminal settings");
    struct termios raw = g_saved_tty;
    // Keys go to the board as typed: no line editing, echo, signals or flow
    // control, CR stays CR. Output processing stays on (the firmware sends
    // bare \n).
    raw.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    for (int s : {SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) signal(s, on_fatal_signal);
    atexit(restore_tty);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0)
      throw InputError("stdin: cannot switch the terminal to raw mode");
    g_tty_raw = 1;
  }
  ~RawTerminal() { restore_tty(); }
};

// ---- the session: an SC_THREAD between the user and the console UART ----

class ConsoleSession : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(ConsoleSession);
  ConsoleSession(sc_core::sc_module_name name, Board& board, bool interactive, int idle_timeout_s)
      : sc_module(name),
        board_(board),
        interactive_(interactive),
        idle_timeout_(from_ns(uint64_t(idle_timeout_s) * 1000000000ull)) {
    SC_THREAD(run);
    set_stack_size(1 << 20);
  }
  const std::string& failure() const { return failure_; }
  bool finished() const { return finished_; }

 private:
  void run() {
    board_.power_on();
    if (interactive_)
      run_terminal();
    else
      run_pipe();
    // Power off like pulling the plug, let the bridge see it and the devices
    // settle (every write reached the state files already), then stop.
    board_.power_off();
    wait(sc_core::sc_time(1, sc_core::SC_MS));
    finished_ = true;
    sc_core::sc_stop();
  }

  // Keystrokes at the virtual time they were read; virtual time never runs
  // ahead of wall time (a real board's clock), so the autoboot window is a
  // real second and an idle prompt costs nothing.
  void run_terminal() {
    const sc_core::sc_time tick(1, sc_core::SC_MS);
    auto wall0 = std::chrono::steady_clock::now();
    uint64_t v0 = now_ns();
    for (;;) {
      wait(tick);
      uint64_t virt = now_ns() - v0;
      uint64_t wall = uint64_t(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - wall0).count());
      if (virt > wall) usleep(useconds_t((virt - wall) / 1000));
      if (pending_interrupt()) return;
      pollfd p{STDIN_FILENO, POLLIN, 0};
      if (poll(&p, 1, 0) <= 0) continue;
      char buf[256];
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n == 0) return;  // the terminal went away
      if (n < 0) continue;
      typed_.clear();
      bool leave = false;
      for (ssize_t i = 0; i < n && !leave; ++i) {
        if (buf[i] == kCtrlRightBracket)
          leave = true;
        else
          typed_.push_back(buf[i]);
      }
      if (!typed_.empty()) board_.console().type(typed_);
      if (leave) return;
    }
  }

  // Waits (in virtual time) until the firmware reads the console with
  // nothing left to receive; `untimed`: a read with no timeout (a prompt).
  bool wait_for_reader(bool untimed) {
    sc_core::sc_time deadline = sc_core::sc_time_stamp() + idle_timeout_;
    ConsoleUart& uart = board_.console();
    while (!(uart.waiting_for_input() && (!untimed || !uart.waiting_with_timeout()))) {
      if (sc_core::sc_time_stamp() >= deadline) {
        failure_ = "the board did not ask for console input within " +
                   std::to_string(to_ns(idle_timeout_) / 1000000000ull) + " s of virtual time";
        return false;
      }
      wait(deadline - sc_core::sc_time_stamp(), uart.input_wanted_event());
    }
    return true;
  }

  // Lines from the pipe. A line that starts with a control character (say
  // Ctrl-C) is typed as it is, at the firmware's next console read of any
  // kind; any other line is typed followed by Enter (CR) once the firmware
  // waits at a prompt. Blocking on the pipe stops the board: no virtual
  // time passes, so the session is reproducible.
  void run_pipe() {
    for (;;) {
      if (!read_line()) {
        wait_for_reader(true);  // let the last command finish its output
        return;
      }
      bool control = !line_.empty() && uint8_t(line_[0]) < 0x20 && line_[0] != '\t';
      if (!wait_for_reader(!control)) return;
      size_t quit = line_.find(kCtrlRightBracket);
      if (quit != std::string::npos) {
        if (quit) board_.console().type(line_.substr(0, quit));
        return;
      }
      board_.console().type(control ? line_ : line_ + "\r");
    }
  }

  bool read_line() {
    line_.clear();
    int c;
    bool any = false;
    while ((c = getchar()) != EOF) {
      any = true;
      if (c == '\n') break;
      line_.push_back(char(c));
    }
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    return any;
  }

  Board& board_;
  bool interactive_;
  sc_core::sc_time idle_timeout_;
  std::string line_, typed_, failure_;
  bool finished_ = false;
};

int run_console(const ConsoleOptions& o) {
  sweep_stale_run_files();
  BoardConfig cfg = load_board_config(resolve_board_file(o.board_file));
  Artifacts fw = Artifacts::locate();
  TempDir run_dir;
  StatePaths state{o.state_dir.empty() ? run_dir.path + "/board" : o.state_dir};
  prepare_board(cfg, state, fw);

  RunSession run(cfg.name, o.trace_path, o.console_log, &o.observe);
  bool interactive = isatty(STDIN_FILENO);
  static char last_byte = '\n';
  run.console().on_raw_byte = [](char c) {
    last_byte = c;
    fputc(c, stdout);
    if (c == '\n' || g_tty_raw) fflush(stdout);
  };

  Board& board = run.start(cfg, state, make_bridge_options(fw, run_dir.path, o.wall_timeout_s));
  ConsoleSession session("console_session", board, interactive, o.idle_timeout_s);
  fprintf(stderr, "trustsim: console of board %s, state %s. %s\n", cfg.name.c_str(),
          o.state_dir.empty() ? "temporary (use --board DIR to keep it)" : state.dir.c_str(),
          interactive ? "Ctrl-] powers off and leaves." : "Reading lines from stdin.");
  std::unique_ptr<RawTerminal> raw;
  if (interactive) raw = std::make_unique<RawTerminal>();
  sc_core::sc_start();
  raw.reset();
  run.finish();
  fflush(stdout);
  if (last_byte != '\n') fputs(interactive ? "\r\n" : "\n", stderr);  // after an unfinished prompt
  if (!board.bridge().error().empty()) {
    fprintf(stderr, "trustsim: board error at virtual time %llu ns: %s\n", (unsigned long long)now_ns(),
            board.bridge().error().c_str());
    return 1;
  }
  if (!session.failure().empty()) {
    fprintf(stderr, "trustsim: %s; powered off\n", session.failure().c_str());
    return 1;
  }
  if (int sig = pending_interrupt()) {
    fprintf(stderr, "trustsim: interrupted by %s; board powered off\n", strsignal(sig));
    return 1;
  }
  fprintf(stderr, "trustsim: board powered off at virtual time %llu ns%s%s\n", (unsigned long long)now_ns(),
          o.state_dir.empty() ? "" : "; state kept in ", o.state_dir.c_str());
  return 0;
}

}  // namespace

void add_console_command(CLI::App& app, std::function<int()>& action) {
  auto o = std::make_shared<ConsoleOptions>();
  CLI::App* c = app.add_subcommand("console", "interactive terminal on the board's console (Ctrl-] leaves)");
  c->add_option("--board", o->state_dir, "board state directory (created if missing; default: a temporary one)");
  c->add_option("--board-file", o->board_file, "board description: a name in boards/ or a path");
  c->add_option("--trace", o->trace_path, "write the device-operation trace (JSON lines) here");
  c->add_option("--console-log", o->console_log, "write the timestamped console transcript here");
  c->add_option("--timeline", o->observe.timeline_path, "write a Chrome/Perfetto trace-event timeline here");
  c->add_option("--vcd", o->observe.vcd_path, "write a VCD of board signals here");
  c->add_option("--vcd-signals", o->observe.vcd_signals, "comma-separated signals for --vcd (default all)");
  c->add_option("--idle-timeout", o->idle_timeout_s,
                "piped input: seconds of virtual time to wait for the board to ask for the next line")
      ->check(CLI::Range(1, 86400));
  c->add_option("--wall-timeout", o->wall_timeout_s,
                "seconds of wall time without guest progress before the session is failed")
      ->check(CLI::Range(1, 3600));
  c->callback([&action, o] { action = [o] { return run_console(*o); }; });
}

}  // namespace trustsim
