// End-to-end observability and debugging: the timeline and the VCD of a run,
// gdb driving a --gdb run, `trustsim console` from a pipe and from a
// terminal, and `trustsim board inspect`. Real trustsim, QEMU and firmware.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/test_util.h"

using namespace trustsim::test;  // tests/support/test_util.h

namespace {

size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// ---- a small VCD reader: enough to check what GTKWave needs ----

struct Vcd {
  std::string timescale;
  std::map<std::string, std::string> id_to_name;  // id -> signal name
  std::map<std::string, int> width;               // name -> bits
  // name -> (time, value) in file order, the $dumpvars values at time 0 first
  std::map<std::string, std::vector<std::pair<uint64_t, std::string>>> changes;
  uint64_t last_time = 0;
  std::string error;  // empty if the file is well formed
};

Vcd parse_vcd(const std::string& text) {
  Vcd v;
  std::istringstream in(text);
  std::string tok;
  bool defs = true;
  uint64_t now = 0;
  bool have_time = false;
  auto fail = [&](const std::string& e) {
    if (v.error.empty()) v.error = e;
  };
  while (in >> tok) {
    if (defs) {
      if (tok == "$timescale") {
        std::string t;
        while (in >> t && t != "$end") v.timescale += t;
      } else if (tok == "$var") {
        std::string type, w, id, name, end;
        in >> type >> w >> id >> name >> end;
        if (end != "$end") fail("bad $var for " + name);
        v.id_to_name[id] = name;
        v.width[name] = std::stoi(w);
      } else if (tok == "$enddefinitions") {
        in >> tok;
        defs = false;
      } else if (tok[0] == '$') {
        while (tok != "$end" && in >> tok) {
        }
      }
      continue;
    }
    if (tok == "$dumpvars" || tok == "$end") continue;
    if (tok[0] == '#') {
      uint64_t t = std::stoull(tok.substr(1));
      if (have_time && t <= now) fail("time " + tok + " does not increase");
      now = t;
      have_time = true;
      v.last_time = t;
      continue;
    }
    std::string value, id;
    if (tok[0] == 'b') {
      value = tok.substr(1);
      in >> id;
    } else if (tok[0] == '0' || tok[0] == '1' || tok[0] == 'x' || tok[0] == 'z') {
      value = tok.substr(0, 1);
      id = tok.substr(1);
    } else {
      fail("unexpected token " + tok);
      continue;
    }
    if (!have_time) fail("value change before the first #time");
    auto it = v.id_to_name.find(id);
    if (it == v.id_to_name.end()) {
      fail("value change for undeclared id " + id);
      continue;
    }
    if (int(value.size()) > v.width[it->second]) fail("value " + value + " too wide for " + it->second);
    v.changes[it->second].push_back({now, value});
  }
  if (defs) fail("no $enddefinitions");
  return v;
}

std::vector<std::string> stage_spans(const nlohmann::json& tl) {
  std::vector<std::string> out;
  for (const auto& e : tl["traceEvents"])
    if (e.value("cat", "") == "stage") out.push_back(e["name"]);
  return out;
}

}  // namespace

// Two runs of the smoke scenario give byte-identical timelines and VCDs; the
// timeline is valid trace-event JSON with the boot stages in order, the
// console lines and nested device spans; the VCD is well formed and follows
// the power events of the device trace.
TEST(Observe, TimelineAndVcdOfTheSmokeRun) {
  TempDir d;
  auto run = [&](const std::string& tag) {
    Result r = run_trustsim("run --quiet --trace " + d.file(tag + ".jsonl") + " --console-log " + d.file(tag + ".txt") +
                            " --timeline " + d.file(tag + ".json") + " --vcd " + d.file(tag + ".vcd") + " " +
                            src("scenarios/smoke.yaml"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
  };
  run("a");
  run("b");
  std::string tl_text = read_text(d.file("a.json")), vcd_text = read_text(d.file("a.vcd"));
  EXPECT_EQ(tl_text, read_text(d.file("b.json"))) << "timeline differs between two runs";
  EXPECT_EQ(vcd_text, read_text(d.file("b.vcd"))) << "VCD differs between two runs";
  EXPECT_EQ(read_text(d.file("a.jsonl")), read_text(d.file("b.jsonl")));

  // Timeline.
  nlohmann::json tl = nlohmann::json::parse(tl_text);  // throws (fails the test) if malformed
  ASSERT_TRUE(tl["traceEvents"].is_array());
  EXPECT_EQ(tl["displayTimeUnit"], "ns");
  // smoke: boot to the OS; power-cycle into ROMmon; power-cycle into ROMmon again.
  EXPECT_EQ(stage_spans(tl), (std::vector<std::string>{"Boot0", "ROMmon", "OS", "Boot0", "ROMmon", "Boot0", "ROMmon"}));
  std::string console = read_text(d.file("a.txt"));
  size_t console_events = 0, power_on = 0, power_off = 0, spans = 0;
  std::map<int, std::string> track_names;
  std::map<int, std::vector<std::pair<double, double>>> per_track;  // tid -> [start, end)
  for (const auto& e : tl["traceEvents"]) {
    ASSERT_TRUE(e.contains("ph") && e.contains("pid") && e.contains("name")) << e.dump();
    std::string ph = e["ph"];
    if (ph == "M") {
      if (e["name"] == "thread_name") track_names[e["tid"]] = e["args"]["name"];
      continue;
    }
    ASSERT_TRUE(e["ts"].is_number()) << e.dump();
    if (e.value("cat", "") == "console-line") {
      ++console_events;
      std::string text = e["args"]["text"];
      EXPECT_NE(console.find(text), std::string::npos) << text;
    }
    if (e.value("cat", "") == "power" && e["name"] == "power-on") ++power_on;
    if (e.value("cat", "") == "power" && e["name"] == "power-off") ++power_off;
    if (ph == "X") {
      ASSERT_TRUE(e["dur"].is_number()) << e.dump();
      ++spans;
      per_track[e["tid"]].push_back({e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>()});
    }
  }
  EXPECT_EQ(console_events, size_t(count_of(console, "\n")));
  EXPECT_EQ(power_on, 3u);
  EXPECT_EQ(power_off, 2u);
  EXPECT_GT(spans, 1000u);
  for (const char* t : {"boot stage", "power rail", "power", "console lines", "console", "nvram", "nvram (device)",
                        "crypto", "bootflash_nand", "bootflash_nand (device)", "rom_nor"}) {
    bool found = false;
    for (auto& kv : track_names) found |= kv.second == t;
    EXPECT_TRUE(found) << "no track " << t;
  }
  // Spans on one track never partly overlap (Perfetto needs them nested or disjoint).
  for (auto& kv : per_track) {
    std::vector<std::pair<double, double>> s = kv.second;
    std::stable_sort(s.begin(), s.end(),
                     [](auto& a, auto& b) { return a.first < b.first || (a.first == b.first && a.second > b.second); });
    std::vector<double> open_ends;
    for (auto& iv : s) {
      while (!open_ends.empty() && open_ends.back() <= iv.first + 1e-9) open_ends.pop_back();
      if (!open_ends.empty()) {
        EXPECT_LE(iv.second, open_ends.back() + 1e-9) << "partial overlap on " << track_names[kv.first];
      }
      open_ends.push_back(iv.second);
    }
  }

  // VCD.
  Vcd v = parse_vcd(vcd_text);
  ASSERT_EQ(v.error, "");
  EXPECT_EQ(v.timescale, "1ns");
  for (const char* s :
       {"power", "reset", "stage", "nand_busy", "nor_busy", "nvram_busy", "crypto_busy", "console_tx", "mbox_busy"})
    EXPECT_TRUE(v.width.count(s)) << "no signal " << s;
  // power follows the trace's power events exactly.
  std::vector<std::pair<uint64_t, std::string>> expect_power = {{0, "0"}};
  std::regex power_re("\"t_ns\":(\\d+),\"dev\":\"power\",\"op\":\"(power-on|power-off)\"");
  std::string trace = read_text(d.file("a.jsonl"));
  for (std::sregex_iterator it(trace.begin(), trace.end(), power_re), end; it != end; ++it) {
    uint64_t t = std::stoull((*it)[1]);
    std::string val = (*it)[2] == "power-on" ? "1" : "0";
    if (t == 0)
      expect_power[0].second = val;
    else
      expect_power.push_back({t, val});
  }
  EXPECT_EQ(v.changes["power"], expect_power);
  EXPECT_EQ(v.changes["reset"].front().second, "0");  // power-on at time 0 releases reset
  // stage: 1 Boot0, 2 ROMmon, 3 OS, 0 off; the same order as the timeline's spans.
  std::vector<std::string> stages;
  for (auto& c : v.changes["stage"]) stages.push_back(c.second);
  EXPECT_EQ(stages, (std::vector<std::string>{"001", "010", "011", "000", "001", "010", "000", "001", "010"}));
  for (const char* s : {"nand_busy", "nvram_busy", "crypto_busy", "console_tx", "mbox_busy"})
    EXPECT_GE(v.changes[s].size(), 3u) << s << " never toggles";
  // The smoke run never programs or erases the boot SPI NOR: BUSY stays low.
  EXPECT_EQ(v.changes["nor_busy"], (std::vector<std::pair<uint64_t, std::string>>{{0, "0"}}));
  EXPECT_GE(v.last_time, expect_power.back().first);

  // A real viewer's converter accepts it (gtkwave's vcd2fst, when installed).
  if (system("command -v vcd2fst >/dev/null 2>&1") == 0) {
    Result c = sh("vcd2fst " + d.file("a.vcd") + " " + d.file("a.fst"));
    EXPECT_EQ(c.exit_code, 0) << c.output;
    Result back = sh("fst2vcd " + d.file("a.fst") + " > " + d.file("back.vcd"));
    EXPECT_EQ(back.exit_code, 0) << back.output;
    Vcd bv = parse_vcd(read_text(d.file("back.vcd")));
    EXPECT_EQ(bv.changes["power"].size(), v.changes["power"].size());
  } else {
    printf("vcd2fst not installed: skipped the gtkwave round trip\n");
  }
}

TEST(Observe, VcdSignalSelectionAndBadNames) {
  TempDir d;
  write_text(d.file("short.yaml"), "name: short\nsteps:\n  - power-on\n  - expect: \"rommon|Router>\"\n");
  Result r =
      run_trustsim("run --quiet --vcd " + d.file("s.vcd") + " --vcd-signals stage,power " + d.file("short.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Vcd v = parse_vcd(read_text(d.file("s.vcd")));
  ASSERT_EQ(v.error, "");
  EXPECT_EQ(v.width.size(), 2u);
  EXPECT_TRUE(v.width.count("stage") && v.width.count("power"));
  std::string text = read_text(d.file("s.vcd"));
  EXPECT_LT(text.find(" stage "), text.find(" power ")) << "signals keep the order given";

  Result bad =
      run_trustsim("run --quiet --vcd " + d.file("x.vcd") + " --vcd-signals power,vdd " + d.file("short.yaml"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("unknown signal 'vdd'"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("nand_busy"), std::string::npos) << "the error lists the known signals: " << bad.output;
  Result twice =
      run_trustsim("run --quiet --vcd " + d.file("x.vcd") + " --vcd-signals power,power " + d.file("short.yaml"));
  EXPECT_EQ(twice.exit_code, 2) << twice.output;
  Result novcd = run_trustsim("run --quiet --vcd-signals power " + d.file("short.yaml"));
  EXPECT_EQ(novcd.exit_code, 2) << novcd.output;
  EXPECT_NE(novcd.output.find("needs --vcd"), std::string::npos) << novcd.output;
  Result unwritable = run_trustsim("run --quiet --timeline /nonexistent-dir/t.json " + d.file("short.yaml"));
  EXPECT_EQ(unwritable.exit_code, 2) << unwritable.output;
  EXPECT_NE(unwritable.output.find("/nonexistent-dir/t.json"), std::string::npos) << unwritable.output;
}

namespace {

// A child process with its stdout+stderr in a file.
struct Child {
  pid_t pid = -1;
  std::string out_path;
  Child(const std::vector<std::string>& argv, const std::string& out) : out_path(out) {
    pid = fork();
    if (pid == 0) {
      int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      int nul = open("/dev/null", O_RDONLY);
      dup2(nul, 0);
      std::vector<char*> a;
      for (const std::string& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
  }
  // Waits up to `seconds` for the output to match; returns the match group 1 (or "").
  bool wait_for(const std::regex& re, int seconds, std::string* group = nullptr) {
    for (int i = 0; i < seconds * 10; ++i) {
      std::string text = read_text(out_path);
      std::smatch m;
      if (std::regex_search(text, m, re)) {
        if (group) *group = m.size() > 1 ? m[1].str() : "";
        return true;
      }
      usleep(100000);
    }
    return false;
  }
  int wait_exit(int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      int st;
      if (waitpid(pid, &st, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      usleep(100000);
    }
    return -1;
  }
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      wait_exit(20);
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  }
};

int free_tcp_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

const char* kBootToOs = R"(name: boot-to-os
steps:
  - power-on
  - expect: "Router>"
  - send: enable
  - expect: "Router#"
  - send: show version
  - expect: "Configuration register is 0x2102"
)";

}  // namespace

// gdb-multiarch drives a --gdb run: the printed script loads the three
// stages' symbols; a breakpoint on a ROMmon function (by name) is hit with
// the right argument and backtrace; after continuing, the scenario passes
// and its console and device trace equal a run without gdb, to the
// nanosecond: board time stood still while the guest was stopped.
TEST(Observe, GdbBreakpointInRommonKeepsTimeInStep) {
  if (system("command -v gdb-multiarch >/dev/null 2>&1") != 0)
    GTEST_FAIL() << "gdb-multiarch is not installed (scripts/bootstrap.sh)";
  TempDir d;
  write_text(d.file("os.yaml"), kBootToOs);
  int port = free_tcp_port();
  Child run({TRUSTSIM_EXE, "run", "--quiet", "--gdb", "--gdb-port", std::to_string(port), "--console-log",
             d.file("gdb.txt"), "--trace", d.file("gdb.jsonl"), d.file("os.yaml")},
            d.file("run.out"));
  std::string script;
  ASSERT_TRUE(run.wait_for(std::regex("gdb-multiarch -x (\\S+)"), 60, &script)) << read_text(d.file("run.out"));
  std::string printed = read_text(d.file("run.out"));
  // The printed command and the script name all four symbol files.
  for (const char* f : {"boot0.elf", "rommon.elf", "os.elf", "revocation.elf"}) {
    EXPECT_NE(printed.find(f), std::string::npos) << printed;
    EXPECT_NE(read_text(script).find(f), std::string::npos) << read_text(script);
  }
  EXPECT_NE(read_text(script).find("add-symbol-file"), std::string::npos);
  EXPECT_NE(read_text(script).find(" 0x40200000"), std::string::npos) << "ROMmon .text at its link address";
  EXPECT_NE(read_text(script).find(" 0x41000000"), std::string::npos) << "OS .text at its link address";
  EXPECT_NE(read_text(script).find(" 0x43000000"), std::string::npos) << "revocation image .text at its own";

  Result g = sh("timeout 300 gdb-multiarch -batch -nx -x " + script +
                " -ex 'break rommon::boot_image' -ex continue -ex bt -ex 'print path' -ex 'shell sleep 2'"
                " -ex 'print/x $pc' -ex 'break os::cmd_show_version' -ex continue -ex 'print/x $pc'"
                " -ex continue");
  int rc = run.wait_exit(120);
  std::string out = read_text(d.file("run.out"));
  EXPECT_EQ(rc, 0) << out << "\n--- gdb:\n" << g.output;
  EXPECT_NE(out.find("PASS boot-to-os"), std::string::npos) << out;
  EXPECT_NE(g.output.find("Breakpoint 1, rommon::boot_image"), std::string::npos) << g.output;
  EXPECT_NE(g.output.find("rommon::autoboot"), std::string::npos) << "backtrace through autoboot:\n" << g.output;
  EXPECT_TRUE(
      std::regex_search(g.output, std::regex("\\$1 = 0x[0-9a-f]+ \"bootflash:ts-isr1100-universalk9[^\"]*\\.bin\"")))
      << g.output;
  EXPECT_TRUE(std::regex_search(g.output, std::regex("\\$2 = 0x402[0-9a-f]{5}"))) << "pc in the ROMmon window:\n"
                                                                                  << g.output;
  // The OS symbols are right too: a breakpoint by name has a location in
  // the OS image and one in the revocation image; the OS image's is hit.
  EXPECT_NE(g.output.find("os::cmd_show_version. (2 locations)"), std::string::npos) << g.output;
  EXPECT_NE(g.output.find("Breakpoint 2.1, os::cmd_show_version"), std::string::npos) << g.output;
  EXPECT_TRUE(std::regex_search(g.output, std::regex("\\$3 = 0x410[0-9a-f]{5}"))) << "pc in the OS window:\n"
                                                                                  << g.output;

  Result plain = run_trustsim("run --quiet --console-log " + d.file("plain.txt") + " --trace " + d.file("plain.jsonl") +
                              " " + d.file("os.yaml"));
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_EQ(read_text(d.file("gdb.txt")), read_text(d.file("plain.txt"))) << "console timestamps moved under gdb";
  EXPECT_EQ(read_text(d.file("gdb.jsonl")), read_text(d.file("plain.jsonl"))) << "device trace moved under gdb";
}

// Piped input: lines typed at prompts (Ctrl-C lines at any read, so the
// autoboot window can be interrupted), a variable set in one session is
// there in the next and in `board inspect`, the same input on a fresh board
// gives the same transcript to the nanosecond, and a board that never asks
// for input fails the session instead of hanging.
TEST(Observe, ConsolePipeKeepsStateAndIsReproducible) {
  TempDir d;
  std::string exe = TRUSTSIM_EXE, board = d.file("board");
  Result s1 = sh("printf '\\003\\nOBS_VAR=kept\\n' | " + exe + " console --board " + board);
  ASSERT_EQ(s1.exit_code, 0) << s1.output;
  EXPECT_NE(s1.output.find("autoboot: interrupted by Ctrl-C"), std::string::npos) << s1.output;
  EXPECT_NE(s1.output.find("rommon 2 > "), std::string::npos) << s1.output;
  EXPECT_NE(s1.output.find("powered off"), std::string::npos) << s1.output;

  Result s2 = sh("printf '\\003\\nset\\n' | " + exe + " console --board " + board);
  ASSERT_EQ(s2.exit_code, 0) << s2.output;
  EXPECT_NE(s2.output.find("OBS_VAR=kept"), std::string::npos) << "variable lost between sessions:\n" << s2.output;
  Result ins = run_trustsim("board inspect " + board);
  EXPECT_NE(ins.output.find("OBS_VAR=kept"), std::string::npos) << ins.output;

  // Plain lines wait for a prompt: they skip the autoboot window and reach the OS.
  auto os_session = [&](const std::string& tag) {
    Result r = sh("printf 'enable\\nshow version\\n' | " + exe + " console --console-log " + d.file(tag));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("Configuration register is 0x2102"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("Router#"), std::string::npos) << r.output;
  };
  os_session("a.txt");
  os_session("b.txt");
  EXPECT_GT(read_text(d.file("a.txt")).size(), 500u);
  EXPECT_EQ(read_text(d.file("a.txt")), read_text(d.file("b.txt"))) << "piped sessions are not reproducible";

  Result slow = sh("printf 'enable\\n' | " + exe + " console --idle-timeout 1");
  EXPECT_EQ(slow.exit_code, 1) << slow.output;
  EXPECT_NE(slow.output.find("did not ask for console input within 1 s"), std::string::npos) << slow.output;
}

// On a terminal (a pty here): raw mode while the session runs (Ctrl-C goes
// to the board, no local echo), Ctrl-] powers off and leaves with exit 0,
// the terminal settings are restored, and the state is kept.
TEST(Observe, ConsoleOnATerminalIsRawAndRestoresIt) {
  TempDir d;
  std::string board = d.file("board");
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(TRUSTSIM_EXE, TRUSTSIM_EXE, "console", "--board", board.c_str(), (char*)nullptr);
    _exit(127);
  }
  std::string seen;
  auto wait_for = [&](const std::string& what, int seconds) {
    for (int i = 0; i < seconds * 20; ++i) {
      if (seen.find(what) != std::string::npos) return true;
      pollfd p{master, POLLIN, 0};
      if (poll(&p, 1, 50) > 0) {
        char buf[4096];
        ssize_t n = read(master, buf, sizeof buf);
        if (n > 0) seen.append(buf, size_t(n));
      }
    }
    return seen.find(what) != std::string::npos;
  };
  auto drain = [&] {  // read what is there, so the child never blocks on output
    for (;;) {
      pollfd p{master, POLLIN, 0};
      char buf[4096];
      ssize_t n = poll(&p, 1, 100) > 0 ? read(master, buf, sizeof buf) : 0;
      if (n <= 0) return;
      seen.append(buf, size_t(n));
    }
  };
  // Ctrl-C typed early waits in the UART until ROMmon's autoboot window reads it.
  ASSERT_TRUE(wait_for("System Bootstrap", 90)) << seen;
  struct termios during;
  tcgetattr(master, &during);
  EXPECT_FALSE(during.c_lflag & ICANON) << "not in raw mode";
  EXPECT_FALSE(during.c_lflag & ECHO) << "local echo still on";
  EXPECT_FALSE(during.c_lflag & ISIG) << "Ctrl-C would be a signal, not a byte";
  ASSERT_EQ(write(master, "\x03", 1), 1);
  ASSERT_TRUE(wait_for("autoboot: interrupted by Ctrl-C", 60)) << seen;
  ASSERT_TRUE(wait_for("rommon 1 > ", 30)) << seen;
  ASSERT_EQ(write(master, "TTY_VAR=1\r", 10), 10);
  ASSERT_TRUE(wait_for("rommon 2 > ", 30)) << seen;
  EXPECT_NE(seen.find("TTY_VAR=1"), std::string::npos) << "the board echoes what was typed";
  ASSERT_EQ(write(master, "\x1d", 1), 1);
  int st = 0;
  bool exited = false;
  for (int i = 0; i < 600 && !exited; ++i) {
    drain();
    exited = waitpid(pid, &st, WNOHANG) == pid;
    if (!exited) usleep(100000);
  }
  drain();
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
  ASSERT_TRUE(exited) << "Ctrl-] did not end the session:\n" << seen;
  ASSERT_TRUE(WIFEXITED(st)) << seen;
  EXPECT_EQ(WEXITSTATUS(st), 0) << seen;
  EXPECT_NE(seen.find("powered off"), std::string::npos) << seen;
  struct termios after;
  tcgetattr(master, &after);
  // A new pty starts cooked (ICANON, ECHO, ISIG, ICRNL, IXON); the session must leave it so.
  EXPECT_EQ(after.c_lflag & (ICANON | ECHO | ISIG), tcflag_t(ICANON | ECHO | ISIG)) << "terminal not restored";
  EXPECT_EQ(after.c_iflag & (ICRNL | IXON), tcflag_t(ICRNL | IXON)) << "terminal not restored";
  close(master);
  Result ins = run_trustsim("board inspect " + board);
  EXPECT_NE(ins.output.find("TTY_VAR=1"), std::string::npos) << ins.output;
}

// board inspect: every section, from a board a scenario changed.
TEST(Observe, BoardInspectShowsEverySection) {
  TempDir d;
  std::string board = d.file("board");
  write_text(d.file("set.yaml"), R"(name: set
steps:
  - power-on
  - expect: "Preparing to autoboot"
  - send: {text: "\x03", enter: false}
  - expect: "rommon 1 > "
  - send: INSPECT_ME=yes
  - expect: "rommon 2 > "
)");
  Result r = run_trustsim("run --quiet --board " + board + " " + d.file("set.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Result ins = run_trustsim("board inspect " + board);
  ASSERT_EQ(ins.exit_code, 0) << ins.output;
  for (const char* s :
       {"Key storage", "primary copy: valid", "Production", "Boot flash", "ROMmon variables", "INSPECT_ME=yes",
        "BOOT=bootflash:", "bootflash:", "ts-isr1100-universalk9.17.03.01.SPA.bin", "bytes free", "TPM"})
    EXPECT_NE(ins.output.find(s), std::string::npos) << "missing '" << s << "':\n" << ins.output;
  Result missing = run_trustsim("board inspect " + d.file("nothing"));
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("not a board state directory"), std::string::npos) << missing.output;
}
