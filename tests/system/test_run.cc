// End-to-end: the real trustsim binary, real QEMU, real firmware.
// argv: none; the paths come from the build (TRUSTSIM_EXE, TRUSTSIM_SOURCE_DIR).
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <fcntl.h>

#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include "../support/test_util.h"

using namespace trustsim::test;  // tests/support/test_util.h

namespace {

std::vector<uint64_t> field_values(const std::string& trace, const std::string& match, const std::string& field) {
  std::vector<uint64_t> out;
  std::regex re("\"" + field + "\":(\\d+)");
  size_t pos = 0;
  while (pos < trace.size()) {
    size_t end = trace.find('\n', pos);
    std::string line = trace.substr(pos, end - pos);
    std::smatch m;
    if (line.find(match) != std::string::npos && std::regex_search(line, m, re)) out.push_back(std::stoull(m[1]));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return out;
}

const char* kSetVar = R"(name: set-one-variable
steps:
  - power-on
  - expect: "Preparing to autoboot"
  - send: {text: "\x03", enter: false}
  - expect: "rommon 1 > "
  - send: TIMING=x
  - expect: "rommon 2 > "
)";

}  // namespace

TEST(Run, SmokeScenarioIsByteIdenticalAcrossRuns) {
  TempDir d;
  std::string a_trace = d.file("a.jsonl"), b_trace = d.file("b.jsonl");
  std::string a_con = d.file("a.txt"), b_con = d.file("b.txt");
  Result a =
      run_trustsim("run --quiet --trace " + a_trace + " --console-log " + a_con + " " + src("scenarios/smoke.yaml"));
  Result b =
      run_trustsim("run --quiet --trace " + b_trace + " --console-log " + b_con + " " + src("scenarios/smoke.yaml"));
  ASSERT_EQ(a.exit_code, 0) << a.output;
  ASSERT_EQ(b.exit_code, 0) << b.output;
  std::string ta = read_text(a_trace), ca = read_text(a_con);
  EXPECT_GT(ta.size(), 1000u);
  EXPECT_NE(ca.find("System Bootstrap, Version"), std::string::npos);
  EXPECT_NE(ca.find("SMOKE_TEST=survives-power-loss"), std::string::npos);
  EXPECT_EQ(ta, read_text(b_trace)) << "device trace differs between two runs";
  EXPECT_EQ(ca, read_text(b_con)) << "console transcript differs between two runs";
}

// Smoke's console transcript and device trace against the committed golden
// copy in tests/system/golden/ (the trace gzipped: one line per mailbox
// request). The determinism test above shows two runs agree; this one shows
// a change of the code did not change what the board does. A difference
// fails with a unified diff. When behaviour changes on purpose, regenerate
// the copy and commit it with a message that says why (docs/traces.md,
// "Golden copy"):
//   TRUSTSIM_UPDATE_GOLDEN=1 meson test -C build system.SmokeMatchesTheGoldenConsoleAndTrace
TEST(Run, SmokeMatchesTheGoldenConsoleAndTrace) {
  TempDir d;
  std::string trace = d.file("smoke.jsonl"), console = d.file("smoke.txt");
  Result r =
      run_trustsim("run --quiet --trace " + trace + " --console-log " + console + " " + src("scenarios/smoke.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string golden_console = src("tests/system/golden/smoke.console.txt");
  std::string golden_trace = src("tests/system/golden/smoke.trace.jsonl.gz");
  if (const char* u = getenv("TRUSTSIM_UPDATE_GOLDEN"); u && *u && std::string(u) != "0") {
    Result c =
        sh("cp '" + console + "' '" + golden_console + "' && gzip -n -9 -c '" + trace + "' > '" + golden_trace + "'");
    ASSERT_EQ(c.exit_code, 0) << c.output;
    std::printf("golden copy updated: %s, %s\n", golden_console.c_str(), golden_trace.c_str());
    return;
  }
  // The golden trace, unpacked next to the new one so diff can name both.
  Result unpack = sh("gzip -dc '" + golden_trace + "' > '" + d.file("golden.jsonl") + "'");
  ASSERT_EQ(unpack.exit_code, 0) << "cannot read the golden trace " << golden_trace << ": " << unpack.output;
  std::string want_console = read_text(golden_console), want_trace = read_text(d.file("golden.jsonl"));
  ASSERT_GT(want_console.size(), 1000u) << "no golden console transcript at " << golden_console;
  ASSERT_GT(want_trace.size(), 1000u) << "no golden trace in " << golden_trace;
  const std::string how =
      "\nIf the change is deliberate: TRUSTSIM_UPDATE_GOLDEN=1 meson test -C build "
      "system.SmokeMatchesTheGoldenConsoleAndTrace, and say why in the commit.";
  EXPECT_TRUE(read_text(console) == want_console)
      << "console transcript differs from " << golden_console << " (first 60 lines of the diff):\n"
      << sh("diff -u '" + golden_console + "' '" + console + "' | head -60").output << how;
  EXPECT_TRUE(read_text(trace) == want_trace)
      << "device trace differs from " << golden_trace << " (first 60 lines of the diff):\n"
      << sh("diff -u '" + d.file("golden.jsonl") + "' '" + trace + "' | head -60").output << how;
}

TEST(Run, NvramVariableWriteTakesTheBoardPageWriteTime) {
  TempDir d;
  std::string board = read_text(src("boards/default.yaml"));
  size_t pos = board.find("page_write_time: 5 ms");
  ASSERT_NE(pos, std::string::npos);
  std::string slow = board;
  slow.replace(pos, strlen("page_write_time: 5 ms"), "page_write_time: 25 ms");
  write_text(d.file("fast.yaml"), board);
  write_text(d.file("slow.yaml"), slow);
  write_text(d.file("set.yaml"), kSetVar);

  auto run = [&](const std::string& b) {
    std::string trace = d.file(b + ".jsonl");
    Result r = run_trustsim("run --quiet --board-file " + d.file(b + ".yaml") + " --trace " + trace + " " +
                            d.file("set.yaml"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return read_text(trace);
  };
  std::string fast = run("fast"), slow_trace = run("slow");
  std::vector<uint64_t> fast_pages = field_values(fast, "\"op\":\"page-write\"", "latency_ns");
  std::vector<uint64_t> slow_pages = field_values(slow_trace, "\"op\":\"page-write\"", "latency_ns");
  std::vector<uint64_t> lens = field_values(fast, "\"op\":\"page-write\"", "len");
  ASSERT_GE(fast_pages.size(), 1u) << "setting a variable writes NVRAM pages";
  ASSERT_EQ(slow_pages.size(), fast_pages.size());
  ASSERT_EQ(lens.size(), fast_pages.size());
  // Each page write is its I2C transfer plus tWR: the transfer is the same on both boards.
  for (size_t i = 0; i < fast_pages.size(); ++i) {
    uint64_t transfer_ns = (3 + lens[i]) * 9 * 1000000000ull / 400000;
    EXPECT_EQ(fast_pages[i], transfer_ns + 5000000u) << "page write " << i;
    EXPECT_EQ(slow_pages[i], transfer_ns + 25000000u) << "page write " << i;
  }
  // The firmware's NVRAM write request (as the guest sees it) grows by exactly the difference.
  std::vector<uint64_t> fast_w = field_values(fast, "\"dev\":\"nvram\",\"op\":\"write\"", "latency_ns");
  std::vector<uint64_t> slow_w = field_values(slow_trace, "\"dev\":\"nvram\",\"op\":\"write\"", "latency_ns");
  ASSERT_EQ(fast_w.size(), 1u);
  ASSERT_EQ(slow_w.size(), 1u);
  EXPECT_EQ(slow_w[0] - fast_w[0], 20000000u * fast_pages.size());
}

// Device requests of a ROMmon-level boot (power on, stop at the prompt, set a
// variable): Boot0's TPM Startup and two PCR extends wait on the TPM's event
// line (docs/mailbox-abi.md, "Event waits") instead of polling STS with an
// UPTIME_NS read and a 1 ms SLEEP_NS between reads. Polling cost three
// requests per millisecond of the ~50 ms of TPM command time alone (277
// requests in all on main, 99 now). The bound leaves room for
// other firmware changes but not for any polling loop of the TPM driver.
TEST(Run, RommonLevelBootWaitsOnEventsInsteadOfPolling) {
  TempDir d;
  write_text(d.file("set.yaml"), kSetVar);
  std::string trace_path = d.file("set.jsonl");
  Result r = run_trustsim("run --trace " + trace_path + " " + d.file("set.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("(\\d+) device requests"))) << r.output;
  EXPECT_LT(std::stoull(m[1]), 130u) << r.output;
  std::string trace = read_text(trace_path);
  size_t power = 0;
  for (size_t at = trace.find("\"dev\":\"power\""); at != std::string::npos;
       at = trace.find("\"dev\":\"power\"", at + 1))
    ++power;
  // 6 now: the power-on, four event waits (TPM init, three commands) and the
  // reset cause; ROMmon's autoboot window added three UPTIME_NS reads.
  EXPECT_LE(power, 8u) << "uptime reads and sleeps in a loop are back";
  // Console lines printed one after another go out in one TX write: 34
  // console writes on main, 18 now (each typed character still costs its
  // echo write; without the batching it is 26).
  size_t console = 0;
  const std::string tx = "\"dev\":\"console\",\"op\":\"write\"";
  for (size_t at = trace.find(tx); at != std::string::npos; at = trace.find(tx, at + 1)) ++console;
  EXPECT_LE(console, 22u) << "a TX write per line is back";
  // Each TPM command's response is read the instant the command completes:
  // its first STS read after tpmGo that is not the one right after tpmGo
  // comes at done time (command start + its latency), not at a 1 ms poll.
  std::vector<uint64_t> starts = field_values(trace, "\"dev\":\"tpm\",\"op\":\"command\"", "t_ns");
  std::vector<uint64_t> lat = field_values(trace, "\"dev\":\"tpm\",\"op\":\"command\"", "latency_ns");
  std::vector<uint64_t> waits = field_values(trace, "\"dev\":\"power\",\"op\":\"write\"", "t_ns");
  std::vector<uint64_t> wait_lat = field_values(trace, "\"dev\":\"power\",\"op\":\"write\"", "latency_ns");
  ASSERT_EQ(starts.size(), 3u) << "Startup and two PCR extends";
  ASSERT_EQ(lat.size(), 3u);
  for (size_t i = 0; i < starts.size(); ++i) {
    uint64_t done = starts[i] + lat[i];
    bool woke_at_done = false;
    for (size_t w = 0; w < waits.size() && w < wait_lat.size(); ++w)
      if (waits[w] > starts[i] && waits[w] + wait_lat[w] + 2 >= done && waits[w] + wait_lat[w] <= done + 2)
        woke_at_done = true;  // the trace rounds each figure down to whole ns
    EXPECT_TRUE(woke_at_done) << "TPM command " << i << " done at " << done << " ns";
  }
}

// Factory-bad blocks where the mount's read-ahead stops (one alone, three
// in a row across a read-ahead boundary, the last block): the boot still
// reaches the prompt, each bad block's page 0 is read (the window stops
// there and the marker says bad) and no other page of it is.
TEST(Run, MountScanSkipsFactoryBadBlocksAndBoots) {
  TempDir d;
  std::string board = read_text(src("boards/default.yaml"));
  size_t pos = board.find("    blocks: 1024\n");
  ASSERT_NE(pos, std::string::npos);
  board.insert(pos + strlen("    blocks: 1024\n"), "    factory_bad_blocks: [5, 31, 32, 33, 1023]\n");
  write_text(d.file("bad.yaml"), board);
  write_text(d.file("boot.yaml"), "name: boot\nsteps:\n  - power-on\n  - expect: \"Router>\"\n");
  std::string trace = d.file("boot.jsonl");
  Result r =
      run_trustsim("run --quiet --board-file " + d.file("bad.yaml") + " --trace " + trace + " " + d.file("boot.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::vector<uint64_t> pages = field_values(read_text(trace), "\"op\":\"read-page\"", "addr");
  ASSERT_GT(pages.size(), 1000u) << "the mount reads every block's first pages";
  for (uint64_t bad : {5u, 31u, 32u, 33u, 1023u}) {
    EXPECT_EQ(std::count(pages.begin(), pages.end(), bad * 64), 1) << "page 0 of bad block " << bad;
    for (uint64_t p : pages) EXPECT_FALSE(p > bad * 64 && p < bad * 64 + 64) << "page " << p << " of bad block " << bad;
  }
}

TEST(Run, BoardStateDirectoryKeepsVariablesBetweenRuns) {
  TempDir d;
  std::string state = d.file("board");
  write_text(d.file("set.yaml"), R"(name: set
steps:
  - power-on
  - expect: "Preparing to autoboot"
  - send: {text: "\x03", enter: false}
  - expect: "rommon 1 > "
  - send: KEPT=yes
  - expect: "rommon 2 > "
)");
  write_text(d.file("check.yaml"), R"(name: check
steps:
  - power-on
  - expect: "Preparing to autoboot"
  - send: {text: "\x03", enter: false}
  - expect: "rommon 1 > "
  - send: set
  - expect: "KEPT=yes"
)");
  Result a = run_trustsim("run --quiet --board " + state + " " + d.file("set.yaml"));
  ASSERT_EQ(a.exit_code, 0) << a.output;
  EXPECT_TRUE(read_text(state + "/board-state.yaml").find("ts-isr1100") != std::string::npos);
  Result b = run_trustsim("run --quiet --board " + state + " " + d.file("check.yaml"));
  EXPECT_EQ(b.exit_code, 0) << b.output;
  // And a fresh board does not have it.
  Result c = run_trustsim("run --quiet " + d.file("check.yaml"));
  EXPECT_EQ(c.exit_code, 1) << c.output;
}

TEST(Run, FailedExpectationNamesStepAndShowsConsole) {
  TempDir d;
  std::string p = write_text(d.file("f.yaml"), R"(name: never
steps:
  - power-on
  - expect: {pattern: "this text never appears", timeout: 200 ms}
)");
  Result r = run_trustsim("run " + p);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("FAIL never: step 2 (" + p + ":4, expect /this text never appears/ within 200 ms)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("last console lines"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("| Boot0 Version"), std::string::npos) << r.output;
}

TEST(Run, BadScenarioExitsTwoNamingFileLineField) {
  TempDir d;
  std::string p = write_text(d.file("bad.yaml"), "name: bad\nsteps:\n  - power-on\n  - expect: {patern: x}\n");
  Result r = run_trustsim("run " + p);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(p + ":4: steps[1].expect.patern: unknown key"), std::string::npos) << r.output;
}

TEST(Run, BadBoardFileExitsTwoNamingFileLineField) {
  TempDir d;
  std::string board = read_text(src("boards/default.yaml"));
  board.replace(board.find("baud: 9600"), strlen("baud: 9600"), "baud: fast");
  std::string b = write_text(d.file("b.yaml"), board);
  Result r = run_trustsim("run --board-file " + b + " " + src("scenarios/smoke.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(
      std::regex_search(r.output, std::regex(b + R"(:\d+: devices\.console\.baud: expected a non-negative integer)")))
      << r.output;
}

TEST(Run, ForeignNonEmptyDirectoryIsNotUsedAsBoardState) {
  TempDir d;
  write_text(d.file("precious.txt"), "keep me");
  Result r = run_trustsim("run --board " + d.path + " " + src("scenarios/smoke.yaml"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not a trustsim board state directory"), std::string::npos) << r.output;
  EXPECT_EQ(read_text(d.file("precious.txt")), "keep me");
}

TEST(Run, MissingScenarioFileExitsTwo) {
  Result r = run_trustsim("run /nonexistent/scenario.yaml");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/scenario.yaml: cannot open file"), std::string::npos) << r.output;
}

TEST(Run, KilledRunLeavesLoadableBoardAndNoOrphans) {
  TempDir d;
  std::string state = d.file("board");
  std::string writer =
      "name: writer\nsteps:\n  - power-on\n  - expect: \"Preparing to autoboot\"\n  - send: {text: \"\\x03\", enter: "
      "false}\n  - expect: \"rommon 1 > \"\n";
  for (int i = 0; i < 40; ++i)
    writer +=
        "  - send: V" + std::to_string(i) + "=value-" + std::to_string(i) + "\n  - expect: \"rommon \\\\d+ > \"\n";
  write_text(d.file("writer.yaml"), writer);
  write_text(d.file("check.yaml"),
             "name: check\nsteps:\n  - power-on\n  - expect: \"Preparing to autoboot\"\n  - send: {text: \"\\x03\", "
             "enter: false}\n  - expect: \"rommon 1 > \"\n  - send: set\n  - expect: \"rommon 2 > \"\n");
  // Kill at a spread of wall-clock moments: before, during and after boot and NVRAM writes.
  for (int delay_ms : {5, 40, 90, 150, 220, 300, 420}) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execl(TRUSTSIM_EXE, TRUSTSIM_EXE, "run", "--quiet", "--board", state.c_str(), d.file("writer.yaml").c_str(),
            (char*)nullptr);
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    // QEMU must die with its trustsim.
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = processes_mentioning(state).empty() && qemus_of_run(pid).empty();
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(gone) << "QEMU outlived a SIGKILLed trustsim (kill after " << delay_ms << " ms)";
    // The board directory still loads and boots (or was never created).
    Result r = run_trustsim("run --quiet --board " + state + " " + d.file("check.yaml"));
    EXPECT_EQ(r.exit_code, 0) << "after kill at " << delay_ms << " ms: " << r.output;
    // The next run swept what the killed one left in /dev/shm.
    DIR* shm = opendir("/dev/shm");
    std::string prefix = "trustsim-" + std::to_string(pid) + "-";
    while (dirent* e = shm ? readdir(shm) : nullptr)
      EXPECT_NE(std::string(e->d_name).rfind(prefix, 0), 0u) << e->d_name;
    if (shm) closedir(shm);
  }
}

namespace {

// Makes a board directory with one run, then lets the test damage it.
std::string fresh_board(TempDir& d) {
  std::string state = d.file("board");
  write_text(d.file("boot.yaml"),
             "name: boot\nsteps:\n  - power-on\n  - expect: \"Preparing to autoboot\"\n  - send: {text: \"\\x03\", "
             "enter: false}\n  - expect: \"rommon 1 > \"\n");
  Result r = run_trustsim("run --quiet --board " + state + " " + d.file("boot.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return state;
}

void flip_byte(const std::string& path, long offset) {
  FILE* f = fopen(path.c_str(), "r+b");
  ASSERT_NE(f, nullptr) << path;
  fseek(f, offset, SEEK_SET);
  int c = fgetc(f);
  fseek(f, offset, SEEK_SET);
  fputc(c ^ 0x01, f);
  fclose(f);
}

}  // namespace

TEST(Run, CorruptPrimaryRommonBootsTheGoldenOne) {
  TempDir d;
  std::string state = fresh_board(d);
  flip_byte(state + "/boot-flash.bin", 4000);  // inside the primary ROMmon's payload
  write_text(d.file("golden.yaml"), R"Y(name: golden
steps:
  - power-on
  - expect: "Boot0: primary ROMmon failed verification: image digest mismatch"
  - expect: "Boot0: golden ROMmon 17.3\\(1r\\) verified \\(Rollover key A\\), starting"
  - expect: "Current image running: Boot ROM1 \\(golden\\)"
  - expect: "Router>"
)Y");
  Result r = run_trustsim("run --quiet --board " + state + " " + d.file("golden.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(Run, BothRommonsCorruptHaltsWithReason) {
  TempDir d;
  std::string state = fresh_board(d);
  flip_byte(state + "/boot-flash.bin", 4000);
  flip_byte(state + "/boot-flash.bin", 8 * 1024 * 1024 + 100);  // golden header (16 MiB flash)
  write_text(d.file("halt.yaml"), R"Y(name: halt
steps:
  - power-on
  - expect: "Boot0: golden ROMmon failed verification: header checksum mismatch"
  - expect: "Boot0: no bootable ROMmon; halted."
  - expect: {pattern: "System Bootstrap", timeout: 3 s}
)Y");
  Result r = run_trustsim("run --board " + state + " " + d.file("halt.yaml"));
  EXPECT_EQ(r.exit_code, 1) << r.output;  // the last step must fail: no ROMmon may run
  EXPECT_NE(r.output.find("step 4"), std::string::npos) << r.output;
}

TEST(Run, DamagedKeyStorageCopyIsRepairedAtBoot) {
  TempDir d;
  std::string state = fresh_board(d);
  flip_byte(state + "/nvram.bin", 0x1000 + 100);  // primary key storage
  write_text(d.file("repair.yaml"), R"Y(name: repair
steps:
  - power-on
  - expect: "Boot0: key storage primary copy repaired from the backup copy"
  - expect: "Router>"
  - power-cycle
  - expect: "Boot0: primary ROMmon 17.3\\(1r\\) verified"
)Y");
  Result r = run_trustsim("run --quiet --board " + state + " " + d.file("repair.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // After the repair the second boot says nothing about key storage.
  Result again = run_trustsim("run --board " + state + " " + d.file("boot.yaml"));
  EXPECT_EQ(again.output.find("repaired"), std::string::npos) << again.output;
}

TEST(Run, BoardAndFlashToolsWorkOnAStateDirectory) {
  TempDir d;
  std::string b = d.file("board");
  Result r = run_trustsim("board new " + b);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_trustsim("board inspect " + b);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("generation 1, 3 keys"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("BOOT=bootflash:ts-isr1100-universalk9.17.03.01.SPA.bin,1;"), std::string::npos) << r.output;
  r = run_trustsim("board new " + b);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("already a board state directory"), std::string::npos) << r.output;

  std::string note = write_text(d.file("note.txt"), "hello from the host\n");
  r = run_trustsim("flash --board " + b + " put " + note + " note.txt");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run_trustsim("flash --board " + b + " ls");
  EXPECT_NE(r.output.find("note.txt"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ts-isr1100-universalk9.17.03.01.SPA.bin"), std::string::npos) << r.output;
  r = run_trustsim("flash --board " + b + " get note.txt " + d.file("back.txt"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_text(d.file("back.txt")), "hello from the host\n");
  r = run_trustsim("flash --board " + b + " fsck");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("0 errors"), std::string::npos) << r.output;
  r = run_trustsim("flash --board " + b + " rm note.txt");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run_trustsim("flash --board " + b + " rm note.txt");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("bootflash:note.txt:"), std::string::npos) << r.output;
  r = run_trustsim("flash --board " + b + " put " + note + " bad/name");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_trustsim("flash --board " + b + " mkfs");
  EXPECT_EQ(r.exit_code, 2) << "mkfs without --yes must refuse: " << r.output;

  r = run_trustsim("board inspect " + d.file("nothing-here"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_EQ(access(d.file("nothing-here").c_str(), F_OK), -1) << "inspect must not create a directory";
}

// The manufactured-board cache (docs/manufacturing.md): a board copied
// from it has the bytes of a board made without it; every input is in the
// key; a damaged entry is made again; it keeps kBoardCacheEntries boards.
TEST(Run, BoardCacheGivesTheSameBytesAndCanBeTurnedOff) {
  TempDir d;
  std::string cache = d.file("cache");
  auto board_new = [&](const std::string& where, const std::string& dir, const std::string& more = "") {
    Result r = sh("TRUSTSIM_BOARD_CACHE=" + where + " " + TRUSTSIM_EXE + " board new " + dir + more);
    EXPECT_EQ(r.exit_code, 0) << r.output;
  };
  auto entries = [&] {
    std::vector<std::string> out;
    if (DIR* dd = opendir(cache.c_str())) {
      while (dirent* e = readdir(dd))
        if (std::string(e->d_name).size() == 64) out.push_back(cache + "/" + e->d_name);
      closedir(dd);
    }
    return out;
  };
  auto same = [&](const std::string& a, const std::string& b) {
    Result r = sh("diff -r " + a + " " + b);
    EXPECT_EQ(r.exit_code, 0) << a << " and " << b << " differ:\n" << r.output;
  };
  board_new("off", d.file("made"));
  EXPECT_TRUE(entries().empty()) << "off means no cache";
  board_new(cache, d.file("first"));  // made, then stored
  ASSERT_EQ(entries().size(), 1u);
  board_new(cache, d.file("copied"));
  EXPECT_EQ(entries().size(), 1u) << "the same inputs use the same entry";
  same(d.file("made"), d.file("first"));
  same(d.file("made"), d.file("copied"));

  // Any file of the keys directory is an input, used or not.
  std::string keys = d.file("keys");
  ASSERT_EQ(sh("cp -r " + std::string(TRUSTSIM_SOURCE_DIR) + "/keys/dev " + keys).exit_code, 0);
  write_text(keys + "/extra.txt", "not a key\n");
  board_new(cache, d.file("other-keys"), " --keys " + keys);
  EXPECT_EQ(entries().size(), 2u) << "a changed keys directory must not reuse the board";
  same(d.file("made"), d.file("other-keys"));

  // An entry that lost a file is not used: the board is made again.
  for (const std::string& e : entries()) unlink((e + "/nvram.bin").c_str());
  board_new(cache, d.file("after-damage"));
  same(d.file("made"), d.file("after-damage"));

  // A serial is an input; the cache keeps the most recently used 8 boards.
  for (int i = 0; i < 8; ++i)
    board_new(cache, d.file("serial-" + std::to_string(i)), " --serial TSB0000000" + std::to_string(i));
  EXPECT_EQ(entries().size(), 8u);
  Result r = sh("cmp -s " + d.file("serial-0") + "/tpm-sudi-chain.pem " + d.file("serial-1") + "/tpm-sudi-chain.pem");
  EXPECT_NE(r.exit_code, 0) << "two serials, two SUDI certificates";
}

TEST(Run, ImageToolsSignInspectAndRejectTampering) {
  TempDir d;
  std::string payload = write_text(d.file("os.bin"), std::string(5000, 'x'));
  std::string key = src("keys/dev/production-A.pem");
  Result r = run_trustsim("image sign " + payload + " --key " + key + " --version 1.2.3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string signed_path = d.file("os.SPA.bin");
  r = run_trustsim("image inspect " + signed_path + " --key " + key);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Verification                  : signature valid"), std::string::npos) << r.output;
  r = run_trustsim("image inspect " + signed_path + " --key " + src("keys/dev/production-B.pem"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("signed by an unknown key"), std::string::npos) << r.output;
  flip_byte(signed_path, 300);
  r = run_trustsim("image inspect " + signed_path + " --key " + key);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("image digest mismatch"), std::string::npos) << r.output;
  r = run_trustsim("image sign " + payload + " --key " + d.file("missing.pem") +
                   " --key-name production-A --version 1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("missing.pem: cannot open key file"), std::string::npos) << r.output;
}

// trustsim image sign --type revocation: the revocation build of the OS plus
// a one-key bundle, signed with the rollover key; inspect verifies it with
// the rollover key and shows the bundle.
TEST(Run, ImageSignBuildsTheRevocationImageFromTheRevocationBuild) {
  TempDir d;
  std::string out = d.file("rev.SRA.bin");
  Result r = run_trustsim("image sign --type revocation --key " + src("keys/dev/rollover-A.pem") +
                          " --version 17.03.01-rev --add-key " + src("keys/dev/production-B.pem") + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("REVOCATION image"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("signed with Rollover key version A"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("key bundle: 1 key(s) to add, 0 to revoke"), std::string::npos) << r.output;
  // The payload starts with the revocation build (build/os-stub/revocation.bin).
  std::string build_root = std::string(TRUSTSIM_EXE).substr(0, std::string(TRUSTSIM_EXE).rfind("/tools/trustsim/"));
  std::string rev_bin = read_text(build_root + "/os-stub/revocation.bin");
  std::string image = read_text(out);
  ASSERT_GT(rev_bin.size(), 1000u);
  ASSERT_GT(image.size(), 256 + rev_bin.size());
  EXPECT_EQ(image.compare(256, rev_bin.size(), rev_bin), 0);
  r = run_trustsim("image inspect " + out + " --key " + src("keys/dev/rollover-A.pem"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Image Content             : REVOCATION"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Add                       : Production key version B"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Verification                  : signature valid"), std::string::npos) << r.output;
}

TEST(Run, QemuDyingMidRunEndsTheRunWithAClearVerdict) {
  TempDir d;
  std::string state = d.file("board");
  write_text(d.file("long.yaml"), "name: long\nsteps:\n  - power-on\n  - expect: \"Router>\"\n");
  std::string out = d.file("out.txt");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(TRUSTSIM_EXE, TRUSTSIM_EXE, "run", "--board", state.c_str(), d.file("long.yaml").c_str(), (char*)nullptr);
    _exit(127);
  }
  // Kill QEMU as soon as it runs (found by the run directory on its command line).
  std::vector<int> qemu;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);  // sanitized builds start slowly
  while (qemu.empty() && std::chrono::steady_clock::now() < give_up) {
    qemu = qemus_of_run(pid);
    if (qemu.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(qemu.size(), 1u) << read_text(out);
  // A whole run takes ~0.3 s of wall time on a fast machine, so a kill after a
  // fixed sleep can land after the run has finished. Freeze trustsim first:
  // QEMU then dies while the run is certainly still going, wherever it was.
  kill(pid, SIGSTOP);
  kill(qemu[0], SIGKILL);
  kill(pid, SIGCONT);
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 1);
  std::string text = read_text(out);
  EXPECT_NE(text.find("FAIL long: board error at virtual time"), std::string::npos) << text;
  EXPECT_NE(text.find("QEMU killed by signal Killed"), std::string::npos) << text;
  EXPECT_NE(text.find("QEMU log ("), std::string::npos) << text;
  EXPECT_TRUE(processes_mentioning(state).empty() && qemus_of_run(pid).empty());
  // The board still boots afterwards.
  Result again = run_trustsim("run --quiet --board " + state + " " + src("scenarios/verified-boot/signed-boot.yaml"));
  EXPECT_EQ(again.exit_code, 0) << again.output;
}

namespace {

std::string build_root() {
  const char* env = getenv("TRUSTSIM_BUILD_ROOT");
  if (env && *env) return env;
  std::string exe = TRUSTSIM_EXE;
  return exe.substr(0, exe.rfind("/tools/trustsim/"));
}

uint64_t guest_instructions(const std::string& output) {
  std::smatch m;
  if (!std::regex_search(output, m, std::regex("(\\d+) guest instructions"))) return 0;
  return std::stoull(m[1]);
}

}  // namespace

// ROMmon reads a bootflash: image so that its payload lands at its load
// address and verifies it there (docs/firmware.md, ROMmon boot step 5): no
// copy with CPU stores. A copy of a 6 MiB payload costs the guest about
// 2 M instructions (measured: a 6 MiB image took 1.95 M more than the
// default 180 KB one with the copy, 0.43 M more without it).
TEST(Run, BootflashImageIsVerifiedWhereItRunsWithoutACopy) {
  TempDir d;
  std::string os = read_text(build_root() + "/os-stub/os.bin");
  ASSERT_GT(os.size(), 1000u);
  std::string big = os;
  big.resize(6u << 20);
  for (size_t i = os.size(); i < big.size(); ++i) big[i] = char((i * 131) & 0xFF);
  write_text(d.file("os6m.bin"), big);
  const std::string boot = "  - power-on\n  - expect: \"Router>\"\n";
  write_text(d.file("small.yaml"), "name: small\ntimeout: 30 s\nsteps:\n" + boot);
  write_text(d.file("big.yaml"),
             "name: big\ntimeout: 30 s\nsteps:\n  - image-sign: {key: production-A, name: "
             "ts-isr1100-universalk9.17.03.01.SPA.bin, payload: " +
                 d.file("os6m.bin") + "}\n" + boot);
  Result small = run_trustsim("run " + d.file("small.yaml"));
  ASSERT_EQ(small.exit_code, 0) << small.output;
  Result large = run_trustsim("run " + d.file("big.yaml"));
  ASSERT_EQ(large.exit_code, 0) << large.output;
  uint64_t a = guest_instructions(small.output), b = guest_instructions(large.output);
  ASSERT_GT(a, 0u) << small.output;
  ASSERT_GT(b, a) << large.output;
  EXPECT_LT(b - a, 1000000u) << "the payload was copied with CPU stores";
}

// An image whose load address is outside the OS window is not read in place
// (its header would not sit where an OS may load): it goes to the staging
// buffer, fails the window check with its message, and ROMmon, whose own
// code is at that address, keeps running.
TEST(Run, ImageLoadingOverRommonIsRefusedAndRommonKeepsRunning) {
  TempDir d;
  Result r = run_trustsim("image sign " + build_root() + "/os-stub/os.bin --key " + src("keys/dev/production-A.pem") +
                          " --version 17.03.01 --load 0x40200000 --out " + d.file("low.bin"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  write_text(d.file("low.yaml"), "name: low\ntimeout: 10 s\nsteps:\n  - flash-put: {from: " + d.file("low.bin") +
                                     ", name: low.bin}\n"
                                     "  - power-on\n  - expect: \"Preparing to autoboot\"\n"
                                     "  - send: {text: \"\\x03\", enter: false}\n  - expect: \"rommon 1 > \"\n"
                                     "  - send: \"boot bootflash:low.bin\"\n"
                                     "  - expect: \"low.bin loads at 0x40200000, outside the OS window\"\n"
                                     "  - expect: \"rommon 2 > \"\n  - send: MODE=x\n  - expect: \"rommon 3 > \"\n"
                                     "  - send: set\n  - expect: \"MODE=x\"\n");
  r = run_trustsim("run " + d.file("low.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// Boot0 reads ROMmon so that its payload lands at its load address and
// verifies it there (docs/firmware.md, Boot0 step 7). The copy with CPU
// stores it replaced cost about 15,000 guest instructions (to the ROMmon
// prompt and `set`: 127,765 with it, 112,561 without) and, in a campaign,
// made QEMU translate all of ROMmon again at every power-on.
TEST(Run, Boot0VerifiesRommonWhereItRuns) {
  TempDir d;
  write_text(d.file("set.yaml"), kSetVar);
  Result r = run_trustsim("run " + d.file("set.yaml"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  uint64_t n = guest_instructions(r.output);
  ASSERT_GT(n, 0u) << r.output;
  EXPECT_LT(n, 120000u) << "does Boot0 copy ROMmon with CPU stores again? " << r.output;
}
