// The guest going wrong: a test firmware (tests/firmware/misbehave.cc),
// signed as the OS image by the scenario, spins, halts, floods the console,
// sends malformed mailbox requests, writes outside RAM or into the boot ROM.
// Every run must end with a clear verdict (exit code + PASS/FAIL line), the
// board state directory must still load, and no QEMU process, /dev/shm file
// or run directory of that trustsim may survive it.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "../support/test_util.h"

using namespace trustsim::test;  // tests/support/test_util.h

namespace {

struct GuestRun {
  int exit_code = -1;  // -1: killed by this test because it hung
  pid_t pid = 0;
  std::string output;
};

// Runs trustsim with a hard wall limit of its own: a hung run fails the test
// instead of hanging CI.
GuestRun run_trustsim(const std::vector<std::string>& args, const std::string& out_path, int limit_s = 150) {
  GuestRun r;
  r.pid = fork();
  if (r.pid == 0) {
    int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(TRUSTSIM_EXE)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(TRUSTSIM_EXE, argv.data());
    _exit(127);
  }
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(limit_s);
  int st = 0;
  for (;;) {
    pid_t w = waitpid(r.pid, &st, WNOHANG);
    if (w == r.pid) break;
    if (std::chrono::steady_clock::now() > give_up) {
      kill(r.pid, SIGKILL);
      waitpid(r.pid, &st, 0);
      r.output = read_text(out_path);
      return r;  // exit_code -1
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.output = read_text(out_path);
  return r;
}

// What a finished trustsim must not leave behind.
void expect_no_orphans(const std::string& state, pid_t pid) {
  EXPECT_TRUE(processes_mentioning(state).empty() && qemus_of_run(pid).empty()) << "a QEMU of this run survived it";
  for (const char* dir : {"/dev/shm", "/tmp"}) {
    DIR* d = opendir(dir);
    std::string shm = "trustsim-" + std::to_string(pid) + "-", run = "trustsim-run-" + std::to_string(pid) + "-";
    while (dirent* e = d ? readdir(d) : nullptr) {
      std::string n = e->d_name;
      EXPECT_NE(n.rfind(shm, 0), 0u) << dir << "/" << n << " survived the run";
      EXPECT_NE(n.rfind(run, 0), 0u) << dir << "/" << n << " survived the run";
    }
    if (d) closedir(d);
  }
}

// The board directory still loads: its manifest, sizes, key storage,
// variables and bootflash: (inspect), and the file system checks clean.
void expect_board_loads(const std::string& state) {
  // (This file's run_trustsim hides the shared one here.)
  Result r = trustsim::test::run_trustsim("board inspect " + state);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("generation 1, 3 keys"), std::string::npos) << r.output;
  r = trustsim::test::run_trustsim("flash --board " + state + " fsck");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(" 0 errors"), std::string::npos) << r.output;
}

// A scenario that boots the test guest and types `behaviour` at its prompt;
// `rest` are the steps after that (YAML, indented by two).
std::string guest_scenario(const std::string& behaviour, const std::string& rest) {
  return "name: misbehave-" + behaviour +
         "\nsteps:\n"
         "  - image-sign: {key: production-A, name: ts-isr1100-universalk9.17.03.01.SPA.bin, payload: " +
         std::string(TRUSTSIM_MISBEHAVE_BIN) +
         "}\n"
         "  - power-on\n"
         "  - expect: \"misbehave> \"\n"
         "  - send: " +
         behaviour + "\n" + rest;
}

size_t longest_line(const std::string& text) {
  size_t longest = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    longest = std::max(longest, end - start);
    start = end + 1;
  }
  return longest;
}

}  // namespace

TEST(GuestFaults, SpinningGuestFailsTheExpectInVirtualTime) {
  TempDir d;
  std::string state = d.file("board");
  std::string sc = write_text(d.file("spin.yaml"),
                              guest_scenario("spin", "  - expect: {pattern: \"never printed\", timeout: 300 ms}\n"));
  GuestRun r = run_trustsim({"run", "--quiet", "--board", state, sc}, d.file("out.txt"));
  ASSERT_NE(r.exit_code, -1) << "trustsim hung:\n" << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("FAIL misbehave-spin: step 5 (" + sc + ":7, expect /never printed/ within 300 ms)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("| misbehave> spin"), std::string::npos) << r.output;
  expect_no_orphans(state, r.pid);
  expect_board_loads(state);
}

TEST(GuestFaults, HaltedGuestIsStoppedByTheWallClockWatchdog) {
  TempDir d;
  std::string state = d.file("board");
  // The guest waits for an interrupt that never comes: QEMU executes
  // nothing, virtual time stands still, only wall time passes. 5 s, not
  // less: the same limit applies to QEMU loading the plugin on a busy machine.
  std::string sc = write_text(d.file("halt.yaml"),
                              guest_scenario("halt", "  - expect: {pattern: \"never printed\", timeout: 60 s}\n"));
  GuestRun r = run_trustsim({"run", "--quiet", "--wall-timeout", "5", "--board", state, sc}, d.file("out.txt"));
  ASSERT_NE(r.exit_code, -1) << "trustsim hung:\n" << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(
      std::regex_search(r.output, std::regex(R"(FAIL misbehave-halt: board error at virtual time \d+\.\d{9} s: )"
                                             R"(the guest made no progress for 5 s of wall time)")))
      << r.output;
  EXPECT_NE(r.output.find("| misbehave> halt"), std::string::npos) << r.output;
  expect_no_orphans(state, r.pid);
  expect_board_loads(state);
}

TEST(GuestFaults, ConsoleFloodWithoutNewlinesIsCutIntoBoundedLines) {
  TempDir d;
  std::string state = d.file("board");
  // 115200 baud: about 11.5 KB of console per second of virtual time.
  std::string board = read_text(src("boards/default.yaml"));
  board.replace(board.find("baud: 9600"), strlen("baud: 9600"), "baud: 115200");
  std::string bf = write_text(d.file("fast-console.yaml"), board);
  std::string sc = write_text(d.file("flood.yaml"),
                              guest_scenario("flood", "  - expect: {pattern: \"never printed\", timeout: 2 s}\n"));
  std::string log = d.file("console.txt");
  GuestRun r = run_trustsim({"run", "--board", state, "--board-file", bf, "--console-log", log, sc}, d.file("out.txt"));
  ASSERT_NE(r.exit_code, -1) << "trustsim hung:\n" << r.output.substr(0, 4000);
  EXPECT_EQ(r.exit_code, 1) << r.output.substr(0, 4000);
  EXPECT_NE(r.output.find("FAIL misbehave-flood: step 5"), std::string::npos) << r.output.substr(0, 4000);
  std::string transcript = read_text(log);
  EXPECT_GT(transcript.size(), 16000u) << "the guest should have flooded the console";
  EXPECT_NE(transcript.find("FFFF [line cut at 4096 bytes; continued on the next line]"), std::string::npos);
  // Timestamp + 4096 bytes + the marker; the echo on stdout is cut the same way.
  EXPECT_LE(longest_line(transcript), 4096u + 100u);
  EXPECT_LE(longest_line(r.output), 4096u + 100u);
  // The failure report shows each line shortened.
  size_t report = r.output.find("FAIL misbehave-flood");
  ASSERT_NE(report, std::string::npos);
  EXPECT_LE(longest_line(r.output.substr(report)), 300u) << r.output.substr(report);
  EXPECT_NE(r.output.find("more bytes)", report), std::string::npos) << r.output.substr(report);
  expect_no_orphans(state, r.pid);
  expect_board_loads(state);
}

TEST(GuestFaults, ConsoleFloodOfLinesEndsWithAVerdict) {
  TempDir d;
  std::string state = d.file("board");
  std::string sc = write_text(
      d.file("lines.yaml"), guest_scenario("flood-lines", "  - expect: {pattern: \"never printed\", timeout: 2 s}\n"));
  GuestRun r = run_trustsim({"run", "--quiet", "--board", state, sc}, d.file("out.txt"));
  ASSERT_NE(r.exit_code, -1) << "trustsim hung:\n" << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("FAIL misbehave-flood-lines: step 5"), std::string::npos) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(\| flood line \d+)"))) << r.output;
  expect_no_orphans(state, r.pid);
  expect_board_loads(state);
}

TEST(GuestFaults, MalformedMailboxRequestsGetErrorStatusesAndTheBoardCarriesOn) {
  TempDir d;
  std::string state = d.file("board");
  std::string rest;
  for (const char* line :
       {"bad-magic: status 5 \\\\(malformed request\\\\)", "unknown-op: status 5", "flags-set: status 5",
        "zero-length: status 5", "too-long: status 5", "dma-below-ram: status 4 \\\\(DMA outside RAM\\\\)",
        "dma-past-ram: status 4", "dma-wraps: status 4", "dma-into-mailbox: status 4", "dma-overlaps-mailbox: status 4",
        "unmapped-bus-address: status 1 \\\\(address error\\\\)", "past-device-end: status 1",
        "console-bad-register: status 1 \\\\(address error\\\\)", "good: status 0 \\\\(ok\\\\)"})
    rest += "  - expect: \"badreq " + std::string(line) + "\"\n";
  // The board still answers, and boots again after a power cycle.
  rest += "  - expect: \"badreq done\"\n  - expect: \"misbehave> \"\n  - power-cycle\n  - expect: \"misbehave> \"\n";
  std::string sc = write_text(d.file("badreq.yaml"), guest_scenario("badreq", rest));
  std::string trace = d.file("trace.jsonl");
  GuestRun r = run_trustsim({"run", "--quiet", "--board", state, "--trace", trace, sc}, d.file("out.txt"));
  ASSERT_NE(r.exit_code, -1) << "trustsim hung:\n" << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("PASS misbehave-badreq"), std::string::npos) << r.output;
  // Each refusal is in the device trace too.
  std::string t = read_text(trace);
  EXPECT_NE(t.find("\"status\":\"bad-request\""), std::string::npos);
  EXPECT_NE(t.find("\"status\":\"dma-error\""), std::string::npos);
  EXPECT_NE(t.find("\"status\":\"address-error\""), std::string::npos);
  // The console's register table reports the misuse itself.
  EXPECT_NE(t.find("\"dev\":\"console\",\"op\":\"guest-error\""), std::string::npos) << t;
  EXPECT_NE(t.find("access to unknown register offset 0x300"), std::string::npos) << t;
  expect_no_orphans(state, r.pid);
  expect_board_loads(state);
}

TEST(GuestFaults, WriteOutsideRamEndsWithTheCpuExceptionInTheReport) {
  TempDir d;
  std::string state = d.file("board");
  std::string sc =
      write_text(d.file("wild.yaml"), guest_scenario("wild-write",
                                                     "  - expect: \"writing to 0x58000000\"\n"
                                                     "  - expect: {pattern: \"wild-write returned\", timeout: 1 s}\n"));
  GuestRun r = run_trustsim({"run", "--quiet", "--board", state, sc}, d.file("out.txt"));
  ASSERT_NE(r.exit_code, -1) << "trustsim hung:\n" << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("FAIL misbehave-wild-write: step 6"), std::string::npos) << r.output;
  // The firmware's exception handler reports the data abort and powers off.
  EXPECT_TRUE(
      std::regex_search(r.output, std::regex(R"(\| \*\*\* CPU exception 4: ESR=0x96\w+ ELR=0x41\w+ FAR=0x58000000)")))
      << r.output;
  expect_no_orphans(state, r.pid);
  expect_board_loads(state);
}

TEST(GuestFaults, WriteIntoTheBootRomChangesNothing) {
  TempDir d;
  std::string state = d.file("board");
  std::string sc = write_text(d.file("rom.yaml"), guest_scenario("rom-write",
                                                                 "  - expect: \"rom-write returned\"\n"
                                                                 "  - expect: \"misbehave> \"\n"));
  // Make the board first, so its boot ROM can be compared.
  GuestRun first = run_trustsim({"board", "new", state}, d.file("new.txt"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  std::string rom = read_text(state + "/bootrom.bin");
  GuestRun r = run_trustsim({"run", "--quiet", "--board", state, sc}, d.file("out.txt"));
  ASSERT_NE(r.exit_code, -1) << "trustsim hung:\n" << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("PASS misbehave-rom-write"), std::string::npos) << r.output;
  EXPECT_TRUE(read_text(state + "/bootrom.bin") == rom) << "the guest changed the boot ROM file";
  expect_no_orphans(state, r.pid);
  expect_board_loads(state);
}

TEST(GuestFaults, QemuExitingOnItsOwnEndsTheRunWithAClearVerdict) {
  TempDir d;
  std::string state = d.file("board");
  // PSCI SYSTEM_OFF: QEMU shuts itself down with status 0, without a word to the plugin.
  std::string sc = write_text(d.file("psci.yaml"),
                              guest_scenario("psci-off", "  - expect: {pattern: \"never printed\", timeout: 1 s}\n"));
  GuestRun r = run_trustsim({"run", "--quiet", "--board", state, sc}, d.file("out.txt"));
  ASSERT_NE(r.exit_code, -1) << "trustsim hung:\n" << r.output;
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(
      std::regex_search(r.output, std::regex(R"(FAIL misbehave-psci-off: board error at virtual time \d+\.\d{9} s: )"
                                             R"(QEMU exited with status 0 in the middle of the run)")))
      << r.output;
  EXPECT_NE(r.output.find("| calling PSCI SYSTEM_OFF"), std::string::npos) << r.output;
  expect_no_orphans(state, r.pid);
  expect_board_loads(state);
}
