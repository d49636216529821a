// One QEMU reused across power cycles and software resets (the default)
// against a new QEMU per power-on (TRUSTSIM_QEMU_PER_POWER_ON=1): the same
// scenario must give the same console transcript and the same device trace
// (every virtual timestamp) byte for byte, and the PASS line must show that
// the reuse really happened. docs/architecture.md, "One QEMU per run".
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "../support/test_util.h"

using namespace trustsim::test;  // tests/support/test_util.h

namespace {

struct Outcome {
  Result run;
  std::string console;
  std::string trace;
  long starts = -1;  // from the PASS line
  long reuses = -1;
};

Outcome run_scenario(const TempDir& d, const std::string& tag, const std::string& scenario, bool fresh,
                     const std::string& extra = "") {
  Outcome o;
  std::string trace = d.file(tag + ".jsonl"), console = d.file(tag + ".txt");
  std::string env = fresh ? "TRUSTSIM_QEMU_PER_POWER_ON=1 " : "TRUSTSIM_QEMU_PER_POWER_ON= ";
  o.run = sh(env + TRUSTSIM_EXE + " run --quiet " + extra + " --trace " + trace + " --console-log " + console + " " +
             scenario);
  o.console = read_text(console);
  o.trace = read_text(trace);
  std::smatch m;
  if (std::regex_search(o.run.output, m, std::regex("(\\d+) QEMU starts, (\\d+) QEMU reuses"))) {
    o.starts = std::stol(m[1]);
    o.reuses = std::stol(m[2]);
  }
  return o;
}

// Runs `scenario` both ways and compares; `power_ons` is how many power-ons
// (software resets included) the scenario makes.
void expect_same_both_ways(const std::string& scenario, long power_ons, int want_exit = 0) {
  TempDir d;
  Outcome fresh = run_scenario(d, "fresh", scenario, true);
  Outcome reuse = run_scenario(d, "reuse", scenario, false);
  ASSERT_EQ(fresh.run.exit_code, want_exit) << fresh.run.output;
  ASSERT_EQ(reuse.run.exit_code, want_exit) << reuse.run.output;
  ASSERT_GT(fresh.console.size(), 100u);
  ASSERT_GT(fresh.trace.size(), 1000u);
  EXPECT_TRUE(reuse.console == fresh.console)
      << "console differs with a reused QEMU (first 40 lines of the diff):\n"
      << sh("diff -u '" + d.file("fresh.txt") + "' '" + d.file("reuse.txt") + "' | head -40").output;
  EXPECT_TRUE(reuse.trace == fresh.trace)
      << "device trace differs with a reused QEMU (first 40 lines of the diff):\n"
      << sh("diff -u '" + d.file("fresh.jsonl") + "' '" + d.file("reuse.jsonl") + "' | head -40").output;
  if (want_exit == 0) {
    EXPECT_EQ(fresh.starts, power_ons) << fresh.run.output;
    EXPECT_EQ(fresh.reuses, 0) << fresh.run.output;
    EXPECT_EQ(reuse.starts, 1) << reuse.run.output;
    EXPECT_EQ(reuse.reuses, power_ons - 1) << reuse.run.output;
  }
  EXPECT_EQ(reuse.run.output.find("not reusing QEMU"), std::string::npos) << reuse.run.output;
}

// The traps of NoRamOrTranslationSurvivesAPowerCycle, from the guest's
// prompt to the power-off its CPU exception causes.
const char* kTraps = R"Y(  - send: ram-peek
  - expect: "ram word 0x0\r?\n"
  - expect: "misbehave> "
  - send: code-run
  - expect: "code returned 42"
  - expect: "misbehave> "
  - power-cycle
  - expect: "misbehave> "
  - send: ram-peek
  - expect: "ram word 0x0\r?\n"
  - expect: "misbehave> "
  - send: code-rerun
  - expect: "running the code page again"
  - expect: "CPU exception"
  - wait-power-off: {timeout: 1 s}
)Y";

// The start of a scenario on the test guest (tests/firmware/misbehave.cc),
// signed as the OS: up to its first prompt.
std::string misbehave_scenario(const std::string& name) {
  return "name: " + name + "\nboard: default\ntimeout: 10 s\nsteps:\n" +
         "  - image-sign: {key: production-A, name: ts-isr1100-universalk9.17.03.01.SPA.bin, payload: " +
         TRUSTSIM_MISBEHAVE_BIN + "}\n  - power-on\n  - expect: \"misbehave> \"\n";
}

}  // namespace

// Three power-ons: OS boot, ROMmon, ROMmon.
TEST(QemuReuse, SmokePowerCyclesAreByteIdentical) { expect_same_both_ways(src("scenarios/smoke.yaml"), 3); }

// Power-off and on at the same instant on an idle OS, then with the primary
// ROMmon damaged: the golden ROMmon runs where the primary ran before.
TEST(QemuReuse, GoldenRommonAfterPrimaryAtTheSameAddress) {
  expect_same_both_ways(src("scenarios/faults/power-off-on-idle-os.yaml"), 3);
}

// Cuts on a console match and 20 ms after power-on.
TEST(QemuReuse, PowerCutsOnConsoleAndTime) {
  expect_same_both_ways(src("scenarios/faults/power-loss-on-console-and-time.yaml"), 3);
}

// The OS's reload (a software reset) and configuration that survives it.
TEST(QemuReuse, ReloadIsByteIdentical) { expect_same_both_ways(src("scenarios/os-config.yaml"), 2); }

// Power cuts spread over one boot: in Boot0, while ROMmon loads and checks
// the OS image, and while the OS starts; each followed by a boot to the
// prompt on the same QEMU.
TEST(QemuReuse, PowerCutsDuringRommonAndOsLoading) {
  TempDir d;
  std::string s = "name: cuts-while-loading\nboard: default\ntimeout: 20 s\nsteps:\n";
  const char* cuts[] = {"{on-console: \"System Bootstrap\"}", "{on-console: \"boot: attempting to boot from\"}",
                        "{after: 700 ms}", "{after: 1500 ms}", "{on-console: \"Restricted Rights Legend\"}"};
  for (const char* c : cuts)
    s += std::string("  - fault: {power-loss: ") + c + "}\n  - power-on\n  - wait-power-off: {timeout: 10 s}\n";
  s += "  - power-on\n  - expect: \"Router>\"\n";
  expect_same_both_ways(write_text(d.file("cuts.yaml"), s), 6);
}

// Two OS images with different code run one after the other at the same
// run address (the production image, then the revocation build, then the
// production image again), across software resets: a stale translation of
// the first image's code would change what the second one does.
TEST(QemuReuse, TwoOsImagesAtTheSameAddress) {
  TempDir d;
  std::string s = R"Y(name: two-images
board: default
timeout: 30 s
steps:
  - image-sign: {key: rollover-A, type: revocation, name: rev.SRA.bin, version: 17.03.01-rev, add-keys: [production-B]}
  - power-on
  - expect: "Router>"
  - send: enable
  - expect: "Router#"
  - send: show version
  - expect: "Router#"
  - send: reload
  - expect: "Proceed with reload\\? \\[confirm\\]"
  - send: ""
  - expect: "Preparing to autoboot"
  - send: {text: "\x03", enter: false}
  - expect: "rommon 1 > "
  - send: boot bootflash:rev.SRA.bin
  - expect: "This is a revocation image, signed with the Rollover key version A"
  - expect: "Router>"
  - send: enable
  - expect: "Router#"
  - send: show version
  - expect: "This is a revocation image"
  - expect: "Router#"
  - send: reload
  - expect: "Proceed with reload\\? \\[confirm\\]"
  - send: ""
  - expect: "Router>"
  - send: enable
  - expect: "Router#"
  - send: show version
  - expect: 'System image file is "bootflash:ts-isr1100-universalk9.17.03.01.SPA.bin"'
  - expect: "Router#"
)Y";
  expect_same_both_ways(write_text(d.file("two.yaml"), s), 3);
}

// The traps a reset could leave, made visible by the test guest
// (tests/firmware/misbehave.cc): a RAM word written in one boot must read 0
// in the next (the RAM clear), and a page of code run in one boot and not
// written in the next must not run again from an old translation (the
// flush): it holds zeros, so the CPU takes an exception, which ends the
// boot; the board then boots the guest once more.
TEST(QemuReuse, NoRamOrTranslationSurvivesAPowerCycle) {
  TempDir d;
  std::string s = misbehave_scenario("traps") + kTraps + R"Y(  - power-on
  - expect: "misbehave> "
  - send: ram-peek
  - expect: "ram word 0x0\r?\n"
)Y";
  expect_same_both_ways(write_text(d.file("traps.yaml"), s), 3);
}

// A parked QEMU that dies, or hangs (SIGSTOP: no QMP answer within the
// wall timeout), is replaced by a new one at the next power-on, with the
// reason on stderr: the run's console and trace do not change.
TEST(QemuReuse, ParkedQemuThatDiesOrHangsIsReplaced) {
  TempDir d;
  Outcome fresh = run_scenario(d, "fresh", src("scenarios/smoke.yaml"), true);
  ASSERT_EQ(fresh.run.exit_code, 0) << fresh.run.output;
  for (std::string how : {"kill", "stop"}) {
    Outcome o;
    std::string env = "TRUSTSIM_TEST_PARKED_QEMU=" + how + " TRUSTSIM_QEMU_PER_POWER_ON= ";
    o.run = sh(env + TRUSTSIM_EXE + " run --quiet --wall-timeout 1 --trace " + d.file(how + ".jsonl") +
               " --console-log " + d.file(how + ".txt") + " " + src("scenarios/smoke.yaml"));
    ASSERT_EQ(o.run.exit_code, 0) << how << ": " << o.run.output;
    EXPECT_EQ(read_text(d.file(how + ".txt")), fresh.console) << how;
    EXPECT_EQ(read_text(d.file(how + ".jsonl")), fresh.trace) << how;
    EXPECT_NE(o.run.output.find("3 QEMU starts, 0 QEMU reuses"), std::string::npos) << how << ": " << o.run.output;
    std::regex why(how == "kill"
                       ? "trustsim: not reusing QEMU pid \\d+ \\((QEMU killed by signal Killed while parked|"
                         "system_reset: QMP: QEMU closed the connection)\\); starting a new one"
                       : "trustsim: not reusing QEMU pid \\d+ \\(system_reset: QMP: no answer from QEMU within "
                         "1000 ms\\); starting a new one");
    EXPECT_TRUE(std::regex_search(o.run.output, why)) << how << ": " << o.run.output;
  }
}

// A parked QEMU does not outlive its trustsim: kill trustsim while its
// parked QEMU is stopped (the test hook SIGSTOPs it, so trustsim sits in
// the reset's QMP wait) and the QEMU goes too.
TEST(QemuReuse, ParkedQemuDiesWithItsTrustsim) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setenv("TRUSTSIM_TEST_PARKED_QEMU", "stop", 1);
    unsetenv("TRUSTSIM_QEMU_PER_POWER_ON");
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(TRUSTSIM_EXE, TRUSTSIM_EXE, "run", "--quiet", "--wall-timeout", "60", src("scenarios/smoke.yaml").c_str(),
          (char*)nullptr);
    _exit(127);
  }
  // Wait for the parked, stopped QEMU (state T in /proc/PID/stat).
  std::vector<int> parked;
  for (int i = 0; i < 600 && parked.empty(); ++i) {
    for (int q : qemus_of_run(pid)) {
      std::string stat = read_text("/proc/" + std::to_string(q) + "/stat");
      size_t close = stat.rfind(')');
      if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'T') parked.push_back(q);
    }
    if (parked.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  int st;
  waitpid(pid, &st, 0);
  ASSERT_FALSE(parked.empty()) << "no parked QEMU seen within 12 s";
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = qemus_of_run(pid).empty();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(gone) << "a parked QEMU outlived its SIGKILLed trustsim";
}

namespace {

// Everything a campaign report says about its runs that must not depend on
// how QEMU was handled: per run its cut, verdict, failure text, virtual
// time and crash-state key; the distinct-state count; and with one job the
// runs executed and which verdict each reused.
std::string campaign_facts(const std::string& json_path, bool one_job) {
  nlohmann::json rep = nlohmann::json::parse(read_text(json_path));
  std::vector<std::string> rows;
  for (auto r : rep["runs"]) {
    r.erase("wall_s");
    if (!one_job) r.erase("reuses");
    rows.push_back(r.dump());
  }
  std::sort(rows.begin(), rows.end());
  std::string out = "distinct_states " + rep["distinct_states"].dump() + "\n";
  if (one_job) out += "runs_executed " + rep["runs_executed"].dump() + "\n";
  for (const std::string& row : rows) out += row + "\n";
  return out;
}

// A campaign run through `exec` so its pid is known; `slot_starts` and
// `slot_runs` from its summary (-1 when absent).
struct CampaignOutcome {
  Result r;
  long pid = -1, slot_starts = -1, slot_runs = -1;
};
CampaignOutcome run_campaign(const std::string& env, const std::string& args) {
  CampaignOutcome o;
  o.r = sh("echo campaign-pid $$; " + env + " exec " + TRUSTSIM_EXE + " campaign --no-progress " + args);
  std::smatch m;
  if (std::regex_search(o.r.output, m, std::regex("campaign-pid (\\d+)"))) o.pid = std::stol(m[1]);
  if (std::regex_search(o.r.output, m,
                        std::regex("(\\d+) job-slot QEMU starts, (\\d+) forked runs recovered on a job slot's QEMU"))) {
    o.slot_starts = std::stol(m[1]);
    o.slot_runs = std::stol(m[2]);
  }
  return o;
}

void expect_campaign_same_both_ways(const std::string& scenario, const std::string& options, bool one_job) {
  TempDir d;
  std::string facts[2];
  bool forked = options.find("--no-fork") == std::string::npos;
  int jobs = options.find("--jobs 2") != std::string::npos ? 2 : 1;
  for (int fresh = 0; fresh < 2; ++fresh) {
    std::string json = d.file(fresh ? "fresh.json" : "reuse.json");
    CampaignOutcome o = run_campaign(fresh ? "TRUSTSIM_QEMU_PER_POWER_ON=1" : "TRUSTSIM_QEMU_PER_POWER_ON=",
                                     options + " --json " + json + " " + scenario);
    const Result& r = o.r;
    ASSERT_EQ(r.exit_code, 0) << (fresh ? "per power-on: " : "reuse: ") << r.output;
    EXPECT_EQ(r.output.find("not reusing QEMU"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("no QEMU for a campaign job slot"), std::string::npos) << r.output;
    facts[fresh] = campaign_facts(json, one_job);
    // Forked runs recover on their job slot's parked QEMU: at most one QEMU
    // started per slot (none with a QEMU per power-on), every forked run on one.
    if (forked) {
      size_t runs = nlohmann::json::parse(read_text(json))["runs"].size();
      if (fresh) {
        EXPECT_EQ(o.slot_starts, 0) << r.output;
        EXPECT_EQ(o.slot_runs, 0) << r.output;
      } else {
        EXPECT_GE(o.slot_starts, 1) << r.output;
        EXPECT_LE(o.slot_starts, jobs) << r.output;
        EXPECT_GT(o.slot_runs, 0) << r.output;
        EXPECT_LE(o.slot_runs, long(runs)) << r.output;
      }
    }
    ASSERT_GT(o.pid, 0) << r.output;
    EXPECT_TRUE(qemus_of_run(int(o.pid)).empty()) << "a QEMU outlived its campaign: " << r.output;
  }
  EXPECT_GT(facts[0].size(), 200u);
  EXPECT_EQ(facts[0], facts[1]) << scenario << " " << options;
}

}  // namespace

// Campaigns: forked runs (whose later power-ons reuse their QEMU), a fresh
// boot per run (two power-ons in one process), second cuts, one and two
// jobs, with and without dedup: the same report either way.
TEST(QemuReuse, RommonCampaignReportsAreIdentical) {
  std::string f = src("scenarios/campaigns/rommon-set-power-cut.yaml");
  expect_campaign_same_both_ways(f, "--jobs 1", true);
  expect_campaign_same_both_ways(f, "--jobs 2 --no-dedup", false);
  expect_campaign_same_both_ways(f, "--jobs 2 --no-fork", false);
}

TEST(QemuReuse, DoubleCutCampaignReportsAreIdentical) {
  std::string f = src("scenarios/campaigns/rommon-set-double-cut.yaml");
  expect_campaign_same_both_ways(f, "--jobs 1 --no-dedup", true);
  expect_campaign_same_both_ways(f, "--jobs 2", false);
}

// Each one-cut run forks its second cuts one at a time and they recover on
// one slot QEMU the one-cut run started: QEMU starts are counted by a
// wrapper first on PATH. 6 one-cut runs and 24 second cuts: at most the
// walker's (one to find the cut points, one to walk, one per job slot) and
// one per one-cut run; a QEMU per second cut would make 28.
TEST(QemuReuse, SecondCutsRecoverOnTheirOneCutRunsSlotQemu) {
  TempDir d;
  std::string real = sh("command -v qemu-system-aarch64").output;
  real.erase(real.find_last_not_of("\n") + 1);
  ASSERT_FALSE(real.empty());
  mkdir(d.file("bin").c_str(), 0755);
  std::string wrapper = d.file("bin/qemu-system-aarch64");
  write_text(wrapper, "#!/bin/sh\necho start >> " + d.file("starts") + "\nexec " + real + " \"$@\"\n");
  chmod(wrapper.c_str(), 0755);
  std::string f = src("scenarios/campaigns/rommon-set-double-cut.yaml");
  CampaignOutcome o = run_campaign("PATH=" + d.file("bin") + ":$PATH TRUSTSIM_QEMU_PER_POWER_ON=",
                                   "--jobs 2 --no-dedup --json " + d.file("r.json") + " " + f);
  ASSERT_EQ(o.r.exit_code, 0) << o.r.output;
  EXPECT_EQ(o.r.output.find("not reusing QEMU"), std::string::npos) << o.r.output;
  auto runs = nlohmann::json::parse(read_text(d.file("r.json")))["runs"];
  size_t seconds = 0;
  for (const auto& r : runs) seconds += r.contains("second");
  ASSERT_EQ(runs.size(), 30u);
  ASSERT_EQ(seconds, 24u);
  std::string starts = read_text(d.file("starts"));
  size_t n = size_t(std::count(starts.begin(), starts.end(), '\n'));
  EXPECT_GE(n, 2u + 6u) << starts;
  EXPECT_LE(n, 2u + 2u + 6u) << "second cuts started their own QEMUs";
  ASSERT_GT(o.pid, 0);
  EXPECT_TRUE(qemus_of_run(int(o.pid)).empty()) << "a QEMU outlived its campaign: " << o.r.output;
}

TEST(QemuReuse, OsBootCampaignReportsAreIdentical) {
  TempDir d;
  std::string payload(6000, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = char((i * 7) & 0xFF);
  write_text(d.file("small.bin"), payload);
  std::string f =
      "--var payload=" + d.file("small.bin") + " " + src("scenarios/campaigns/bootflash-copy-power-cut.yaml");
  expect_campaign_same_both_ways(f, "--jobs 1", true);
  expect_campaign_same_both_ways(f, "--jobs 2 --no-dedup", false);
  expect_campaign_same_both_ways(f, "--jobs 2 --no-fork --no-dedup", false);
}

// A forked run killed while recovering on its job slot's QEMU (test hook:
// the 2nd run SIGKILLs itself right after adopting it) fails as crashed;
// the walker replaces that slot's QEMU, so every other run's record is the
// same as without the kill, and no QEMU outlives the campaign.
TEST(QemuReuse, RunKilledOnItsSlotQemuDoesNotPoisonTheSlot) {
  TempDir d;
  std::string f = src("scenarios/campaigns/rommon-set-power-cut.yaml");
  for (std::string jobs : {"1", "2"}) {
    std::string args = "--jobs " + jobs + " --no-dedup --json ";
    CampaignOutcome plain = run_campaign("TRUSTSIM_QEMU_PER_POWER_ON=", args + d.file("plain.json") + " " + f);
    ASSERT_EQ(plain.r.exit_code, 0) << plain.r.output;
    CampaignOutcome killed = run_campaign("TRUSTSIM_QEMU_PER_POWER_ON= TRUSTSIM_TEST_KILL_SLOT_RUN=2",
                                          args + d.file("killed.json") + " " + f);
    EXPECT_NE(killed.r.exit_code, 0) << killed.r.output;
    // The slot's next run found a clean parked QEMU, not the killed run's
    // half-run one (whose reset would time out and fall back to a new QEMU).
    EXPECT_EQ(killed.r.output.find("not reusing QEMU"), std::string::npos) << killed.r.output;
    ASSERT_GT(killed.pid, 0) << killed.r.output;
    EXPECT_TRUE(qemus_of_run(int(killed.pid)).empty()) << "a QEMU outlived its campaign";
    // With one job, one more slot QEMU than without the kill: the killed
    // run's was replaced for the next run (with two, the next runs may all
    // find the other slot free first).
    if (jobs == "1") EXPECT_EQ(killed.slot_starts, plain.slot_starts + 1) << killed.r.output;
    EXPECT_GE(killed.slot_starts, plain.slot_starts) << killed.r.output;
    auto p = nlohmann::json::parse(read_text(d.file("plain.json")))["runs"];
    auto k = nlohmann::json::parse(read_text(d.file("killed.json")))["runs"];
    ASSERT_EQ(p.size(), k.size());
    size_t crashed = 0;
    for (size_t i = 0; i < p.size(); ++i) {
      p[i].erase("wall_s");
      k[i].erase("wall_s");
      if (k[i]["verdict"] != "pass") {
        ++crashed;
        EXPECT_NE(k[i].dump().find("the run crashed: Killed"), std::string::npos) << k[i];
        continue;
      }
      EXPECT_EQ(p[i], k[i]) << "jobs " << jobs;
    }
    EXPECT_EQ(crashed, 1u) << killed.r.output;
  }
}

// A scenario that fails (an expectation not met after a power cycle) fails
// the same way with a reused QEMU.
TEST(QemuReuse, FailingScenarioFailsTheSameWay) {
  TempDir d;
  std::string s =
      "name: fails\nboard: default\ntimeout: 5 s\nsteps:\n  - power-on\n  - expect: \"Preparing to autoboot\"\n"
      "  - power-cycle\n  - expect: {pattern: \"no such text\", timeout: 2 s}\n";
  expect_same_both_ways(write_text(d.file("fails.yaml"), s), 2, 1);
}

// ---- keep mode (docs/cosim-protocol.md, "Keeping translations")

// Code put into RAM by DMA over code the guest ran earlier in the same
// power-on: the new code runs (the plugin's DMA check flushes). Before the
// check, QEMU ran its old translation and printed 42 again.
TEST(QemuReuse, DmaOverCodeRunsTheNewCode) {
  TempDir d;
  std::string s = misbehave_scenario("dma-over-code") + R"Y(  - send: code-run
  - expect: "code returned 42"
  - expect: "misbehave> "
  - send: code-dma 7
  - expect: "code returned 7"
  - expect: "misbehave> "
  - send: code-dma 9
  - expect: "code returned 9"
  - expect: "misbehave> "
)Y";
  expect_same_both_ways(write_text(d.file("dma.yaml"), s), 1);
}

namespace {

// A one-point NVRAM sweep on the misbehave guest whose recovery is RECOVERY.
std::string misbehave_campaign(const TempDir& d, const std::string& name, const std::string& recovery) {
  std::string s = misbehave_scenario(name) + R"Y(  - sweep:
      devices: [nvram]
      steps:
        - send: code-dma 5
        - expect: "code returned 5"
        - expect: "misbehave> "
      recovery:
)Y" + recovery;
  return write_text(d.file(name + ".yaml"), s);
}

struct KeepCounts {
  long flushes = -1, redone = -1;
};
KeepCounts keep_counts(const std::string& output) {
  KeepCounts k;
  std::smatch m;
  if (std::regex_search(output, m,
                        std::regex("(\\d+) translation flushes after a DMA write over kept code, (\\d+) runs redone "
                                   "after a stale translation"))) {
    k.flushes = std::stol(m[1]);
    k.redone = std::stol(m[2]);
  }
  return k;
}

// Runs `scenario` with keep mode, without it, and with a QEMU per power-on:
// the same report facts each way; returns the keep-mode counts.
KeepCounts expect_keep_same_as_fresh(const std::string& scenario, const std::string& options) {
  TempDir d;
  const char* envs[] = {"TRUSTSIM_QEMU_PER_POWER_ON= TRUSTSIM_KEEP_TRANSLATIONS=1",
                        "TRUSTSIM_QEMU_PER_POWER_ON= TRUSTSIM_KEEP_TRANSLATIONS=0", "TRUSTSIM_QEMU_PER_POWER_ON=1"};
  std::string facts[3];
  KeepCounts keep;
  for (int i = 0; i < 3; ++i) {
    std::string json = d.file("way" + std::to_string(i) + ".json");
    CampaignOutcome o = run_campaign(envs[i], options + " --json " + json + " " + scenario);
    EXPECT_EQ(o.r.exit_code, 0) << envs[i] << ": " << o.r.output;
    facts[i] = campaign_facts(json, options.find("--jobs 1") != std::string::npos);
    if (i == 0) {
      keep = keep_counts(o.r.output);
      // The JSON report carries the same figures as the summary lines.
      nlohmann::json q = nlohmann::json::parse(read_text(json))["qemu"];
      EXPECT_EQ(q["dma_flushes"].get<long>(), std::max(keep.flushes, 0L)) << o.r.output;
      EXPECT_EQ(q["redone"].get<long>(), std::max(keep.redone, 0L)) << o.r.output;
      if (o.slot_starts >= 0) EXPECT_EQ(q["slot_starts"].get<long>(), o.slot_starts) << o.r.output;
      if (o.slot_runs >= 0) EXPECT_EQ(q["slot_runs"].get<long>(), o.slot_runs) << o.r.output;
    }
    if (i > 0) EXPECT_EQ(keep_counts(o.r.output).redone, -1) << envs[i] << ": " << o.r.output;
    EXPECT_GT(o.pid, 0) << o.r.output;
    EXPECT_TRUE(qemus_of_run(int(o.pid)).empty()) << "a QEMU outlived its campaign: " << o.r.output;
  }
  EXPECT_NE(facts[0].find("\"verdict\":\"pass\""), std::string::npos) << facts[0];
  EXPECT_EQ(facts[0], facts[1]) << options;
  EXPECT_EQ(facts[0], facts[2]) << options;
  return keep;
}

}  // namespace

// The traps in a campaign: each forked run's recovery runs code it wrote
// with CPU stores, power-cycles on its slot's QEMU, and runs the page again
// without writing it. A kept translation of the old code must not run: the
// plugin's exec check stops before it, the run is redone in a fresh
// process, and the verdicts match a QEMU that never kept anything.
TEST(QemuReuse, StaleKeptTranslationRedoesTheRun) {
  TempDir d;
  // The recovery: power-on and the traps, as steps of the sweep.
  std::string recovery = std::regex_replace("  - power-on\n  - expect: \"misbehave> \"\n" + std::string(kTraps),
                                            std::regex("(^|\n)  - "), "$1        - ");
  std::string f = misbehave_campaign(d, "trap", recovery);
  KeepCounts k = expect_keep_same_as_fresh(f, "--jobs 2 --no-dedup");
  EXPECT_EQ(k.redone, 3) << "every run (1 point x 3 modes) meets its own stale code";
  k = expect_keep_same_as_fresh(f, "--jobs 1");
  EXPECT_GE(k.redone, 1);
}

// Two different pieces of code put by DMA at one address on one slot QEMU,
// across runs and across a power cycle inside a run: the plugin's DMA
// check flushes each time the bytes change (counted in the report), so no
// run has to be redone.
TEST(QemuReuse, DmaOverKeptCodeFlushesInsteadOfRedoing) {
  TempDir d;
  std::string f = misbehave_campaign(d, "dma", R"Y(        - power-on
        - expect: "misbehave> "
        - send: code-dma 7
        - expect: "code returned 7"
        - expect: "misbehave> "
        - power-cycle
        - expect: "misbehave> "
        - send: code-dma 9
        - expect: "code returned 9"
        - expect: "misbehave> "
)Y");
  KeepCounts k = expect_keep_same_as_fresh(f, "--jobs 1 --no-dedup");
  // One job: the 3 runs share one QEMU; 7 over 9 from the run before (not
  // in the first run) and 9 over 7 after the power cycle.
  EXPECT_EQ(k.flushes, 5);
  EXPECT_EQ(k.redone, 0);
}

// The production key procedure boots the OS image and the revocation image
// in turn on one slot QEMU. They run at different addresses
// (docs/firmware.md, memory map), so each DMA load finds the translations of
// the same image there and nothing is flushed. With both at one address the
// plugin flushed twice per run (OS over revocation, revocation over OS),
// and a run cost three times the CPU (docs/performance.md).
TEST(QemuReuse, RevocationImageAndOsImageKeepEachOthersTranslations) {
  TempDir d;
  std::string json = d.file("step1.json");
  CampaignOutcome o = run_campaign("TRUSTSIM_QEMU_PER_POWER_ON= TRUSTSIM_KEEP_TRANSLATIONS=1",
                                   "--jobs 1 --no-dedup --shard 0/38 --json " + json + " " +
                                       src("scenarios/campaigns/revoke-production-step1-power-cut.yaml"));
  ASSERT_EQ(o.r.exit_code, 0) << o.r.output;
  nlohmann::json rep = nlohmann::json::parse(read_text(json));
  EXPECT_EQ(rep["runs"].size(), 3u) << o.r.output;
  EXPECT_EQ(rep["qemu"]["slot_runs"].get<long>(), 3) << "every run on the slot's QEMU: " << o.r.output;
  EXPECT_EQ(rep["qemu"]["dma_flushes"].get<long>(), 0) << o.r.output;
  EXPECT_EQ(rep["qemu"]["redone"].get<long>(), 0) << o.r.output;
}
