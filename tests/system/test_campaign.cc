// Campaigns end to end: the real trustsim, QEMU and firmware. A power-cut
// sweep over the NVRAM writes of a ROMmon variable update (6 runs) is small
// enough to run several ways and compare.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "../support/test_util.h"

using namespace trustsim::test;  // tests/support/test_util.h

namespace {

const std::string kCampaign = src("scenarios/campaigns/rommon-set-power-cut.yaml");

// The same sweep with a recovery that is wrong on purpose: it insists on
// the old value, so exactly the cut after the last page write fails.
std::string failing_campaign(const TempDir& d) {
  std::string text = read_text(kCampaign);
  text = std::regex_replace(text, std::regex(R"(MODE=\(slow\|\$\{value\}\))"), "MODE=slow");
  text = std::regex_replace(text, std::regex(R"(name: rommon-set-power-cut)"), "name: insists-on-old");
  return write_text(d.file("failing.yaml"), text);
}

nlohmann::json load(const std::string& path) { return nlohmann::json::parse(read_text(path)); }

// point/mode -> verdict and virtual time (what must not depend on how a run was made).
std::map<std::string, std::string> outcomes(const nlohmann::json& rep) {
  std::map<std::string, std::string> m;
  for (const auto& r : rep["runs"])
    m[std::to_string(r["point"].get<int>()) + "/" + r["mode"].get<std::string>()] =
        r["verdict"].get<std::string>() + " " + std::to_string(r["virtual_ns"].get<uint64_t>()) + " " +
        r["invariant"].get<std::string>();
  return m;
}

}  // namespace

TEST(Campaign, ForkAndFreshBootRunsAgreeExactly) {
  TempDir d;
  Result a = run_trustsim("campaign --no-progress --json " + d.file("fork.json") + " --junit " + d.file("fork.xml") +
                          " " + kCampaign);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  EXPECT_NE(a.output.find("2 cut points (nvram 2) x 3 modes (before,after,torn) = 6 runs"), std::string::npos)
      << a.output;
  EXPECT_NE(a.output.find("6 runs, 6 passed, 0 failed"), std::string::npos) << a.output;
  Result b = run_trustsim("campaign --no-progress --no-fork --json " + d.file("nofork.json") + " " + kCampaign);
  ASSERT_EQ(b.exit_code, 0) << b.output;
  nlohmann::json fa = load(d.file("fork.json")), fb = load(d.file("nofork.json"));
  EXPECT_TRUE(fa["fork"].get<bool>());
  EXPECT_FALSE(fb["fork"].get<bool>());
  EXPECT_EQ(fa["runs"].size(), 6u);
  EXPECT_EQ(outcomes(fa), outcomes(fb));
  std::string junit = read_text(d.file("fork.xml"));
  EXPECT_NE(junit.find("<testsuites tests=\"6\" failures=\"0\""), std::string::npos) << junit;
}

// Each distinct crash state once (docs/campaigns.md): a cut before an NVRAM
// page write leaves what a cut after the write before it leaves, so with
// dedup some runs reuse a verdict; every verdict (and virtual end time) is
// what running every recovery gives.
TEST(Campaign, DedupRunsEachCrashStateOnceWithTheVerdictsOfRunningEveryRun) {
  TempDir d;
  for (const std::string& f : {kCampaign, failing_campaign(d)}) {
    SCOPED_TRACE(f);
    Result a = run_trustsim("campaign --no-progress --json " + d.file("dedup.json") + " " + f);
    Result b = run_trustsim("campaign --no-progress --no-dedup --json " + d.file("all.json") + " " + f);
    EXPECT_EQ(a.exit_code, b.exit_code) << a.output << b.output;
    nlohmann::json ja = load(d.file("dedup.json")), jb = load(d.file("all.json"));
    EXPECT_EQ(outcomes(ja), outcomes(jb));
    ASSERT_TRUE(ja.value("dedup", false)) << ja.dump();
    EXPECT_FALSE(jb.contains("dedup")) << "a report without dedup keeps its old fields";
    EXPECT_FALSE(jb["runs"][0].contains("reuses"));
    size_t executed = ja["runs_executed"].get<size_t>(), states = ja["distinct_states"].get<size_t>();
    EXPECT_LT(executed, ja["runs"].size()) << "states collapse in this sweep";
    EXPECT_EQ(executed, states);
    std::map<std::string, std::string> state_of;  // executed run -> its state
    for (const auto& r : ja["runs"])
      if (r["reuses"].get<std::string>().empty())
        state_of["point " + std::to_string(r["point"].get<int>()) + " (" + r["device"].get<std::string>() + "#" +
                 std::to_string(r["device_op"].get<int>()) + ") " + r["mode"].get<std::string>()] =
            r["state"].get<std::string>();
    EXPECT_EQ(state_of.size(), executed);
    // The pair known to leave the same NVRAM: a cut before the second page
    // write and a cut after the first.
    for (const auto& r : ja["runs"])
      if (r["point"].get<int>() == 2 && r["mode"].get<std::string>() == "before")
        EXPECT_TRUE(std::regex_match(r["reuses"].get<std::string>(), std::regex("point 1 \\(nvram#\\d+\\) after")))
            << r.dump();
    for (const auto& r : ja["runs"]) {
      std::string reuses = r["reuses"].get<std::string>();
      if (reuses.empty()) continue;
      ASSERT_TRUE(state_of.count(reuses)) << "a reused run names an executed one: " << r.dump();
      EXPECT_EQ(state_of[reuses], r["state"].get<std::string>()) << r.dump();
    }
    std::smatch m;
    EXPECT_TRUE(std::regex_search(a.output, m,
                                  std::regex("2 cut points, (\\d+) distinct crash states, (\\d+) runs executed, "
                                             "(\\d+) reused a verdict")))
        << a.output;
    EXPECT_EQ(b.output.find("distinct crash states"), std::string::npos) << b.output;
  }
}

TEST(Campaign, FailingPointPrintsAReproducerThatReplaysIt) {
  TempDir d;
  std::string f = failing_campaign(d);
  Result a = run_trustsim("campaign --no-progress --json " + d.file("r.json") + " " + f);
  EXPECT_EQ(a.exit_code, 1) << a.output;
  EXPECT_NE(a.output.find("6 runs, 5 passed, 1 failed"), std::string::npos) << a.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      a.output, m, std::regex("FAIL point 2 \\(nvram#\\d+\\) after: (.*)\n    reproduce: trustsim (.*)\n")))
      << a.output;
  std::string invariant = m[1], cmd = m[2];
  EXPECT_NE(invariant.find("recovery step 6"), std::string::npos) << invariant;
  nlohmann::json rep = load(d.file("r.json"));
  EXPECT_EQ(rep["failed"].get<int>(), 1);
  // The reproducer replays exactly that run, in the foreground.
  Result replay = run_trustsim(cmd);
  EXPECT_EQ(replay.exit_code, 1) << replay.output;
  EXPECT_NE(replay.output.find("FAIL insists-on-old point 2"), std::string::npos) << replay.output;
  EXPECT_NE(replay.output.find(invariant), std::string::npos) << replay.output;
  EXPECT_NE(replay.output.find("MODE=fast"), std::string::npos) << "the console is shown:\n" << replay.output;
  // And a passing point replays as a pass.
  Result ok = run_trustsim(std::regex_replace(cmd, std::regex("--mode after"), "--mode before") + " --quiet");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
}

TEST(Campaign, ShardsCoverEveryRunOnceAndMergeToTheFullReport) {
  TempDir d;
  Result full = run_trustsim("campaign --no-progress --json " + d.file("full.json") + " " + kCampaign);
  ASSERT_EQ(full.exit_code, 0) << full.output;
  std::string shards;
  size_t total = 0;
  uint64_t slot_runs = 0;
  for (int i = 0; i < 4; ++i) {
    std::string out = d.file("shard" + std::to_string(i) + ".json");
    Result s =
        run_trustsim("campaign --no-progress --shard " + std::to_string(i) + "/4 --json " + out + " " + kCampaign);
    ASSERT_EQ(s.exit_code, 0) << s.output;
    nlohmann::json rep = load(out);
    total += rep["runs"].size();
    slot_runs += rep["qemu"]["slot_runs"].get<uint64_t>();
    if (i < 3) shards += " " + out;
  }
  EXPECT_EQ(total, 6u);
  EXPECT_GT(slot_runs, 0u) << "forked runs recover on job-slot QEMUs";
  Result partial = run_trustsim("campaign merge --json " + d.file("m.json") + shards);
  EXPECT_EQ(partial.exit_code, 2) << partial.output;
  EXPECT_NE(partial.output.find("no report for shard(s) 3"), std::string::npos) << partial.output;
  Result merged = run_trustsim("campaign merge --json " + d.file("m.json") + " --junit " + d.file("m.xml") + shards +
                               " " + d.file("shard3.json"));
  ASSERT_EQ(merged.exit_code, 0) << merged.output;
  EXPECT_EQ(outcomes(load(d.file("m.json"))), outcomes(load(d.file("full.json"))));
  EXPECT_EQ(load(d.file("m.json"))["qemu"]["slot_runs"].get<uint64_t>(), slot_runs) << "merge sums the shards";
  Result twice = run_trustsim("campaign merge" + shards + shards);
  EXPECT_EQ(twice.exit_code, 2) << twice.output;
  EXPECT_NE(twice.output.find("given twice"), std::string::npos) << twice.output;
}

TEST(Campaign, SameSeedGivesTheSameCampaign) {
  TempDir d;
  Result a = run_trustsim("campaign --no-progress --seed 77 --json " + d.file("a.json") + " " + kCampaign);
  Result b = run_trustsim("campaign --no-progress --seed 77 -j 1 --json " + d.file("b.json") + " " + kCampaign);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  ASSERT_EQ(b.exit_code, 0) << b.output;
  nlohmann::json ja = load(d.file("a.json")), jb = load(d.file("b.json"));
  EXPECT_EQ(ja["seed"].get<uint64_t>(), 77u);
  EXPECT_EQ(outcomes(ja), outcomes(jb));
  for (size_t i = 0; i < ja["runs"].size(); ++i) EXPECT_EQ(ja["runs"][i]["seed"], jb["runs"][i]["seed"]);
  EXPECT_NE(a.output.find("seed 77"), std::string::npos) << a.output;
  // Each torn run's seed is in the report and in its reproducer.
  EXPECT_NE(ja["runs"][2]["reproduce"].get<std::string>().find("--seed 77 --point 1 --mode torn"), std::string::npos);
}

// point/mode[+second point/mode] -> verdict, virtual time, invariant.
std::map<std::string, std::string> outcomes2(const nlohmann::json& rep) {
  std::map<std::string, std::string> m;
  for (const auto& r : rep["runs"]) {
    std::string k = std::to_string(r["point"].get<int>()) + "/" + r["mode"].get<std::string>();
    if (r.contains("second"))
      k += "+" + std::to_string(r["second"]["point"].get<int>()) + "/" + r["second"]["mode"].get<std::string>();
    m[k] = r["verdict"].get<std::string>() + " " + std::to_string(r["virtual_ns"].get<uint64_t>()) + " " +
           r["invariant"].get<std::string>();
  }
  return m;
}

TEST(Campaign, SecondCutsCoverEveryRecoveryPointForkedFreshAndSharded) {
  TempDir d;
  const std::string f = src("scenarios/campaigns/rommon-set-double-cut.yaml");
  Result a = run_trustsim("campaign --no-progress --json " + d.file("fork.json") + " " + f);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  nlohmann::json fa = load(d.file("fork.json"));
  // 2 window points x 3 modes; each recovery rewrites the variable in 2 page
  // writes, each cut before or torn: 6 + 6 x 2 x 2 runs.
  EXPECT_NE(a.output.find("30 runs, 30 passed, 0 failed"), std::string::npos) << a.output;
  size_t seconds = 0;
  for (const auto& r : fa["runs"]) {
    if (r.contains("second")) {
      ++seconds;
      EXPECT_NE(r["reproduce"].get<std::string>().find(" --point2 "), std::string::npos);
    } else {
      EXPECT_EQ(r["recovery_points"].get<int>(), 2) << r.dump();
    }
  }
  EXPECT_EQ(seconds, 24u);
  Result b = run_trustsim("campaign --no-progress --no-fork --json " + d.file("nofork.json") + " " + f);
  ASSERT_EQ(b.exit_code, 0) << b.output;
  EXPECT_EQ(outcomes2(fa), outcomes2(load(d.file("nofork.json"))));
  // Shards take whole items (a one-cut run and its second cuts) and merge back.
  std::string shards;
  for (int i = 0; i < 4; ++i) {
    std::string out = d.file("s" + std::to_string(i) + ".json");
    Result s = run_trustsim("campaign --no-progress --shard " + std::to_string(i) + "/4 --json " + out + " " + f);
    ASSERT_EQ(s.exit_code, 0) << s.output;
    shards += " " + out;
  }
  Result m = run_trustsim("campaign merge --json " + d.file("m.json") + shards);
  ASSERT_EQ(m.exit_code, 0) << m.output;
  EXPECT_EQ(outcomes2(load(d.file("m.json"))), outcomes2(fa));
  // A shard report that lost a second-cut run is refused, naming it.
  nlohmann::json s0 = load(d.file("s0.json"));
  auto& runs = s0["runs"];
  for (size_t i = 0; i < runs.size(); ++i)
    if (runs[i].contains("second")) {
      runs.erase(i);
      break;
    }
  write_text(d.file("s0.json"), s0.dump());
  Result lost = run_trustsim("campaign merge" + shards);
  EXPECT_EQ(lost.exit_code, 2) << lost.output;
  EXPECT_NE(lost.output.find("1 of 30 runs are missing"), std::string::npos) << lost.output;
}

TEST(Campaign, FailingSecondCutPrintsAReproducerThatReplaysIt) {
  TempDir d;
  // The second recovery forgets that the recovery's own write may have
  // landed: a second cut just after its last page write fails.
  std::string text = read_text(src("scenarios/campaigns/rommon-set-double-cut.yaml"));
  text = std::regex_replace(text, std::regex(R"(MODE=\(slow\|fast\|again\))"), "MODE=(slow|fast)");
  text = std::regex_replace(text, std::regex(R"(\.\./include/)"), src("scenarios/include/"));
  text = std::regex_replace(text, std::regex(R"(modes: \[before, torn\])"), "modes: [after]");
  std::string f = write_text(d.file("forgets.yaml"), text);
  Result a = run_trustsim("campaign --no-progress " + f);
  EXPECT_EQ(a.exit_code, 1) << a.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(a.output, m,
                                std::regex("FAIL (point \\d+ \\(nvram#\\d+\\) \\w+, recovery point 2 \\(nvram#\\d+\\) "
                                           "after): (.*)\n    reproduce: trustsim (.*)\n")))
      << a.output;
  EXPECT_EQ(a.output.find("FAIL point 1 (nvram#3) before:"), std::string::npos) << "one-cut runs pass:\n" << a.output;
  std::string what = m[1], invariant = m[2], cmd = m[3];
  EXPECT_NE(invariant.find("second recovery step"), std::string::npos) << invariant;
  Result replay = run_trustsim(cmd + " --quiet");
  EXPECT_EQ(replay.exit_code, 1) << replay.output;
  EXPECT_NE(replay.output.find("FAIL rommon-set-double-cut " + what + ": " + invariant), std::string::npos)
      << replay.output;
  // --point2 without a second-cut sweep, or without --point, is refused.
  Result bad = run_trustsim("campaign --point 1 --mode before --point2 1 --mode2 torn " + kCampaign);
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--point2: the sweep has no second-cut"), std::string::npos) << bad.output;
  Result mode2 = run_trustsim("campaign --point 1 --mode before --point2 1 --mode2 after " +
                              src("scenarios/campaigns/rommon-set-double-cut.yaml"));
  EXPECT_EQ(mode2.exit_code, 2) << mode2.output;
  EXPECT_NE(mode2.output.find("--mode2 after: the second cut's modes are before,torn"), std::string::npos)
      << mode2.output;
}

TEST(Campaign, ARecoveryThatSwitchesThePowerOffRunsToItsEnd) {
  // Once the cut has fired, losing power is the recovery's own business: a
  // power-off step (to change state through the backdoor) must not end the
  // recovery early and pass it unseen, as it once did.
  TempDir d;
  std::string text = read_text(kCampaign);
  text = std::regex_replace(text, std::regex(R"(      recovery:\n        - power-on\n)"),
                            "      recovery:\n        - power-on\n        - wait: 50 ms\n        - power-off\n"
                            "        - check: {romvar: MODE, equals: nonsense}\n        - power-on\n");
  ASSERT_NE(text.find("nonsense"), std::string::npos) << text;
  std::string f = write_text(d.file("poweroff.yaml"), text);
  Result a = run_trustsim("campaign --no-progress " + f);
  EXPECT_EQ(a.exit_code, 1) << a.output;
  EXPECT_NE(a.output.find("6 runs, 0 passed, 6 failed"), std::string::npos) << a.output;
  EXPECT_NE(a.output.find("recovery step 4 (" + f), std::string::npos) << a.output;
  EXPECT_NE(a.output.find("expected \"nonsense\""), std::string::npos) << a.output;
}

TEST(Campaign, BadCampaignInputExitsTwoWithTheReason) {
  TempDir d;
  struct Case {
    std::string args, message;
  } cases[] = {
      {src("scenarios/smoke.yaml"), "no sweep step, so nothing to sweep"},
      {"--shard 4/4 " + kCampaign, "--shard 4/4: expected I/N with 0 <= I < N"},
      {"--mode torn " + kCampaign, "--mode goes with --point"},
      {"--point 1 --mode sideways " + kCampaign, "--mode sideways: expected before, after or torn"},
      {"--var nothing=1 " + kCampaign, "--var nothing: the scenario defines no such variable (it defines: value)"},
      {d.file("missing.yaml"), "missing.yaml"},
  };
  for (const Case& c : cases) {
    Result r = run_trustsim("campaign --no-progress " + c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
  }
  write_text(d.file("bad.json"), "{\"format\": \"trustsim-campaign-1\", \"campaign\": 3}");
  Result r = run_trustsim("campaign merge " + d.file("bad.json"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("bad.json: not a trustsim campaign report"), std::string::npos) << r.output;
}

TEST(Campaign, SlurmClusterThatNeverComesUpFailsFastWithDaemonLogs) {
  // A slurmd that dies at start (a stand-in earlier on PATH): the private
  // cluster never comes up, and the script must say so at once (30 s at
  // most) with the daemons' own words, not hang until the test's timeout.
  TempDir d;
  sh("mkdir -p " + d.file("bin"));
  write_text(d.file("bin/slurmd"), "#!/bin/sh\necho 'slurmd stand-in: cannot start on this node' >&2\nexit 1\n");
  sh("chmod +x " + d.file("bin/slurmd"));
  auto start = std::chrono::steady_clock::now();
  Result r = sh("PATH=" + d.file("bin") + ":$PATH bash " + src("tests/system/slurm_cluster.sh") + " echo never-run");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_LT(secs, 40.0) << r.output;
  EXPECT_NE(r.output.find("slurm_cluster.sh: slurmd exited before the private cluster came up"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("slurmd stand-in: cannot start on this node"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("never-run"), std::string::npos) << r.output;
}

TEST(Campaign, SlurmScriptRunsShardsAndMerges) {
  // A private slurmctld + slurmd on 127.0.0.1 (tests/system/slurm_cluster.sh)
  // runs deploy/slurm/run-campaign.sh: a 4-task array job, then the merge.
  TempDir d;
  std::string env = "TRUSTSIM=" + std::string(TRUSTSIM_EXE) + " bash " + src("tests/system/slurm_cluster.sh") + " " +
                    src("deploy/slurm/run-campaign.sh") + " --wait ";
  Result ok = sh(env + kCampaign + " 4 " + d.file("ok"));
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("(array 0-3)"), std::string::npos) << ok.output;
  nlohmann::json rep = load(d.file("ok/campaign.json"));
  EXPECT_EQ(rep["merged_shards"], nlohmann::json::parse("[0,1,2,3]"));
  EXPECT_EQ(rep["runs"].size(), 6u);
  EXPECT_EQ(rep["failed"].get<int>(), 0);
  EXPECT_EQ(outcomes(rep).size(), 6u) << "every point x mode exactly once";
  for (int i = 0; i < 4; ++i) EXPECT_EQ(load(d.file("ok/shard-" + std::to_string(i) + ".json"))["shard"]["index"], i);
  // Failures found on the cluster come back as the merge's verdict.
  Result bad = sh(env + failing_campaign(d) + " 2 " + d.file("bad"));
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_EQ(load(d.file("bad/campaign.json"))["failed"].get<int>(), 1);
  // Bad arguments are refused before anything is submitted.
  Result args = sh(env + kCampaign + " zero " + d.file("x"));
  EXPECT_EQ(args.exit_code, 2) << args.output;
  EXPECT_NE(args.output.find("SHARDS must be a positive number"), std::string::npos) << args.output;
}

TEST(Faults, NandFaultStepsFireWithSeedsThatReproduce) {
  TempDir d;
  std::string f = write_text(d.file("nand.yaml"), R"(name: nand-faults
timeout: 10 s
steps:
  # pages of block 1000, which the factory image leaves erased
  - fault: {bit-flip: {page: 64000, byte: 12, bit: 3}}
  - fault: {bit-flips: {page: 64001, count: 3}}
  - fault: {stuck-bit: {page: 64002, byte: 1, bit: 0, value: 1}}
  - fault: {bad-block: {block: 900, erase: 1}}
  - power-on
  - expect: "Router>"
)");
  auto faults = [&](const std::string& seed, const std::string& trace) {
    Result r = run_trustsim("run --quiet --seed " + seed + " --trace " + trace + " " + f);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("seed " + seed), std::string::npos) << r.output;
    std::string out;
    std::istringstream in(read_text(trace));
    for (std::string line; std::getline(in, line);)
      if (line.find("\"op\":\"fault\"") != std::string::npos) out += line + "\n";
    return out;
  };
  std::string a = faults("5", d.file("a.jsonl")), b = faults("5", d.file("b.jsonl")),
              c = faults("6", d.file("c.jsonl"));
  EXPECT_NE(a.find("bit-flip page 64000 byte 12 bit 3"), std::string::npos) << a;
  EXPECT_NE(a.find("random-bit-flips page 64001 count 3 seed="), std::string::npos) << a;
  EXPECT_NE(a.find("stuck-bit page 64002 byte 1 bit 0 at 1"), std::string::npos) << a;
  EXPECT_EQ(a, b) << "the same seed flips the same bits";
  EXPECT_NE(a, c) << "another seed flips other bits";
  // Power-loss forms that need no device: the NVRAM one is in
  // scenarios/faults/nvram-cut-at-operation.yaml, on-console and after in
  // scenarios/faults/power-loss-on-console-and-time.yaml.
}
