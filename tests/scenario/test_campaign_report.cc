// Campaign reports: shards cover every item exactly once, merge joins them
// back (and refuses what is not one campaign), JSON round-trips, JUnit
// names each failure with its reproducer.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "devkit/input_error.h"
#include "scenario/campaign.h"

using namespace trustsim;

namespace {

CampaignReport full(uint64_t points) {
  CampaignReport r;
  r.name = "c";
  r.file = "c.yaml";
  r.seed = 3;
  r.devices = {"nvram"};
  r.modes = {PowerLoss::Mode::kBefore, PowerLoss::Mode::kAfter, PowerLoss::Mode::kTorn};
  r.points = points;
  r.reproduce = "trustsim campaign c.yaml --seed 3";
  for (uint64_t p = 1; p <= points; ++p)
    for (PowerLoss::Mode m : r.modes) {
      RunRecord x;
      x.point = p;
      x.device = "nvram";
      x.device_op = p + 10;
      x.mode = m;
      x.seed = p * 7;
      x.passed = !(p == 2 && m == PowerLoss::Mode::kTorn);
      if (!x.passed) x.failure = "recovery step 2 (c.yaml:9, expect /x/ within 1 s): not seen";
      x.virtual_ns = 1000 + p;
      r.runs.push_back(x);
    }
  return r;
}

CampaignReport shard_of(const CampaignReport& all, uint32_t i, uint32_t n) {
  CampaignReport s = all;
  s.shard_index = i;
  s.shard_count = n;
  s.runs.clear();
  for (const RunRecord& x : all.runs) {
    size_t mi = size_t(std::find(all.modes.begin(), all.modes.end(), x.mode) - all.modes.begin());
    if (shard_selects(x.point, mi, all.modes.size(), i, n)) s.runs.push_back(x);
  }
  return s;
}

}  // namespace

TEST(CampaignShards, EveryItemInExactlyOneShard) {
  for (uint32_t n : {1u, 2u, 3u, 4u, 7u, 50u}) {
    for (uint64_t points : {1u, 5u, 33u}) {
      std::multiset<std::pair<uint64_t, size_t>> seen;
      for (uint32_t i = 0; i < n; ++i)
        for (uint64_t p = 1; p <= points; ++p)
          for (size_t m = 0; m < 3; ++m)
            if (shard_selects(p, m, 3, i, n)) seen.insert({p, m});
      EXPECT_EQ(seen.size(), points * 3) << n << " shards";
      for (uint64_t p = 1; p <= points; ++p)
        for (size_t m = 0; m < 3; ++m) EXPECT_EQ(seen.count({p, m}), 1u);
    }
  }
}

TEST(CampaignShards, ParseShard) {
  uint32_t i, n;
  EXPECT_TRUE(parse_shard("0/4", &i, &n));
  EXPECT_EQ(i, 0u);
  EXPECT_EQ(n, 4u);
  EXPECT_TRUE(parse_shard("3/4", &i, &n));
  for (const char* bad : {"4/4", "1/0", "-1/4", "a/b", "1", "/4", "1/", "1/4/5", " 1/4"})
    EXPECT_FALSE(parse_shard(bad, &i, &n)) << bad;
}

TEST(CampaignReportJson, RoundTrips) {
  CampaignReport r = full(4);
  CampaignReport back = report_from_json(report_to_json(r), "r.json");
  EXPECT_EQ(back.name, r.name);
  EXPECT_EQ(back.points, 4u);
  ASSERT_EQ(back.runs.size(), r.runs.size());
  EXPECT_EQ(back.runs[5].failure, r.runs[5].failure);
  EXPECT_EQ(back.runs[5].passed, false);
  EXPECT_EQ(back.failures(), 1u);
  EXPECT_EQ(back.reproducer(back.runs[5]), "trustsim campaign c.yaml --seed 3 --point 2 --mode torn");
}

// A two-cut report: every one-cut run found `rp` recovery points; each has a
// second cut per mode2 (the one at recovery point 2 torn of item 1/after fails).
CampaignReport with_second_cuts(uint64_t points, uint64_t rp) {
  CampaignReport r = full(points);
  r.second = true;
  r.devices2 = {"nvram", "bootflash_nand"};
  r.modes2 = {PowerLoss::Mode::kBefore, PowerLoss::Mode::kTorn};
  std::vector<RunRecord> runs;
  for (RunRecord x : r.runs) {
    x.recovery_points = rp;
    runs.push_back(x);
    for (uint64_t q = 1; q <= rp; ++q)
      for (PowerLoss::Mode m2 : r.modes2) {
        RunRecord y = x;
        y.recovery_points = 0;
        y.point2 = q;
        y.device2 = q % 2 ? "nvram" : "bootflash_nand";
        y.device_op2 = 40 + q;
        y.mode2 = m2;
        y.passed = !(x.point == 1 && x.mode == PowerLoss::Mode::kAfter && q == 2 && m2 == PowerLoss::Mode::kTorn);
        y.failure = y.passed ? "" : "second recovery step 3 (c.yaml:20, expect /x/ within 1 s): not seen";
        runs.push_back(y);
      }
  }
  r.runs = runs;
  return r;
}

TEST(CampaignReportJson, SecondCutsRoundTripAndReproduce) {
  CampaignReport r = with_second_cuts(3, 2);
  CampaignReport back = report_from_json(report_to_json(r), "r.json");
  EXPECT_TRUE(back.second);
  EXPECT_EQ(back.devices2, r.devices2);
  EXPECT_EQ(back.modes2, r.modes2);
  ASSERT_EQ(back.runs.size(), 9u * 5u);
  EXPECT_EQ(back.failures(), 2u);  // 2/torn of full(), and the second cut
  for (size_t i = 0; i < back.runs.size(); ++i) {
    const RunRecord &x = back.runs[i], &y = r.runs[i];
    EXPECT_EQ(x.point2, y.point2);
    EXPECT_EQ(x.device2, y.device2);
    EXPECT_EQ(x.device_op2, y.device_op2);
    EXPECT_EQ(x.mode2, y.mode2);
    EXPECT_EQ(x.recovery_points, y.point2 ? 0u : 2u);
  }
  const RunRecord& f = back.runs[5 + 4];  // item 1/after, second cut 2/torn
  EXPECT_FALSE(f.passed);
  EXPECT_EQ(f.describe(), "point 1 (nvram#11) after, recovery point 2 (bootflash_nand#42) torn");
  EXPECT_EQ(back.reproducer(f), "trustsim campaign c.yaml --seed 3 --point 1 --mode after --point2 2 --mode2 torn");
  std::string junit = report_to_junit(back);
  EXPECT_NE(junit.find("name=\"point 1 (nvram#11) after, recovery point 2 (bootflash_nand#42) torn\""),
            std::string::npos);
}

// A network-cut campaign: its runs carry the byte each transfer drops
// after, through the JSON report, the run-record file and a merge.
TEST(CampaignReportJson, NetworkCutsRoundTripAndMerge) {
  CampaignReport r;
  r.name = "n";
  r.file = "n.yaml";
  r.seed = 1;
  r.devices = {"netxfer"};
  r.modes = {PowerLoss::Mode::kAfter};
  r.network_every = 4096;
  r.points = 4;
  r.reproduce = "trustsim campaign n.yaml --seed 1";
  for (uint64_t p = 1; p <= 4; ++p) {
    RunRecord x;
    x.point = p;
    x.device = "netxfer";
    x.device_op = p <= 2 ? 1 : 2;
    x.mode = PowerLoss::Mode::kAfter;
    x.network = true;
    x.drop_after = (p - 1) % 2 * 4096;
    x.passed = true;
    r.runs.push_back(x);
  }
  CampaignReport back = report_from_json(report_to_json(r), "n.json");
  EXPECT_EQ(back.network_every, 4096u);
  ASSERT_EQ(back.runs.size(), 4u);
  EXPECT_TRUE(back.runs[3].network);
  EXPECT_EQ(back.runs[3].drop_after, 4096u);
  EXPECT_EQ(back.runs[3].describe(), "point 4 (netxfer#2) drop after 4096 bytes");
  EXPECT_EQ(back.reproducer(back.runs[3]), "trustsim campaign n.yaml --seed 1 --point 4 --mode after");
  // A power-cut report says nothing of network cuts.
  EXPECT_EQ(report_to_json(full(1)).find("drop_after"), std::string::npos);
  EXPECT_EQ(report_to_json(full(1)).find("network_cut"), std::string::npos);

  std::string file = ::testing::TempDir() + "/network-records";
  write_run_records(file, r.runs);
  std::vector<RunRecord> recs;
  ASSERT_TRUE(read_run_records(file, recs));
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_TRUE(recs[1].network);
  EXPECT_EQ(recs[1].drop_after, 4096u);
  EXPECT_FALSE(recs[0].drop_after);

  CampaignReport a = r, b = r;
  a.shard_count = b.shard_count = 2;
  b.shard_index = 1;
  a.runs = {r.runs[0], r.runs[2]};
  b.runs = {r.runs[1], r.runs[3]};
  CampaignReport m = merge_reports({a, b}, {"a.json", "b.json"});
  EXPECT_EQ(m.network_every, 4096u);
  EXPECT_EQ(m.runs.size(), 4u);
  b.network_every = 8192;
  EXPECT_THROW(merge_reports({a, b}, {"a.json", "b.json"}), InputError);
}

TEST(CampaignMerge, SecondCutsMergeAndMissingOnesAreNamed) {
  CampaignReport all = with_second_cuts(4, 3);
  std::vector<CampaignReport> shards;
  std::vector<std::string> paths;
  for (uint32_t i = 0; i < 3; ++i) {
    shards.push_back(report_from_json(report_to_json(shard_of(all, i, 3)), "s" + std::to_string(i)));
    paths.push_back("s" + std::to_string(i) + ".json");
  }
  CampaignReport m = merge_reports(shards, paths);
  ASSERT_EQ(m.runs.size(), all.runs.size());
  for (size_t k = 0; k < m.runs.size(); ++k) EXPECT_EQ(m.runs[k].describe(), all.runs[k].describe()) << k;
  // Drop one second cut from a shard: merge names the item and the cut.
  auto& runs = shards[1].runs;
  auto it = std::find_if(runs.begin(), runs.end(), [](const RunRecord& x) { return x.point2 == 3; });
  ASSERT_NE(it, runs.end());
  std::string name =
      std::to_string(it->point) + "/" + power_loss_mode_name(it->mode) + "+3/" + power_loss_mode_name(it->mode2);
  runs.erase(it);
  try {
    merge_reports(shards, paths);
    FAIL() << "a missing second cut was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("1 of " + std::to_string(all.runs.size()) + " runs are missing"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
  }
  // A second cut the campaign does not have is refused.
  shards = {report_from_json(report_to_json(shard_of(all, 0, 3)), "a")};
  shards[0].runs[1].mode2 = PowerLoss::Mode::kAfter;
  try {
    merge_reports({shards[0], report_from_json(report_to_json(shard_of(all, 1, 3)), "b"),
                   report_from_json(report_to_json(shard_of(all, 2, 3)), "c")},
                  {"a", "b", "c"});
    FAIL() << "an unknown second-cut mode was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("the campaign has no such second cut"), std::string::npos) << e.what();
  }
}

TEST(CampaignReportJson, BadReportsNameTheProblem) {
  for (const char* text : {"", "{", "[]", "{\"format\": \"other\"}", "{\"format\": \"trustsim-campaign-1\"}"}) {
    try {
      report_from_json(text, "x.json");
      FAIL() << "accepted: " << text;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("x.json: not a trustsim campaign report: ", 0), 0u) << e.what();
    }
  }
}

TEST(CampaignMerge, ShardsMergeBackToTheFullReport) {
  CampaignReport all = full(5);
  std::vector<CampaignReport> shards;
  std::vector<std::string> paths;
  for (uint32_t i = 0; i < 4; ++i) {
    // Through JSON, as the shards' files would be.
    shards.push_back(report_from_json(report_to_json(shard_of(all, i, 4)), "s" + std::to_string(i)));
    paths.push_back("s" + std::to_string(i) + ".json");
  }
  CampaignReport m =
      merge_reports({shards[2], shards[0], shards[3], shards[1]}, {paths[2], paths[0], paths[3], paths[1]});
  ASSERT_EQ(m.runs.size(), all.runs.size());
  for (size_t k = 0; k < m.runs.size(); ++k) {
    EXPECT_EQ(m.runs[k].point, all.runs[k].point);
    EXPECT_EQ(m.runs[k].mode, all.runs[k].mode);
    EXPECT_EQ(m.runs[k].passed, all.runs[k].passed);
  }
  EXPECT_EQ(m.merged_shards, (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(m.failures(), 1u);
}

TEST(CampaignMerge, MissingDuplicateAndForeignShardsAreRefused) {
  CampaignReport all = full(5);
  CampaignReport s0 = shard_of(all, 0, 2), s1 = shard_of(all, 1, 2);
  auto msg = [](const std::vector<CampaignReport>& r, const std::vector<std::string>& p) {
    try {
      merge_reports(r, p);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(msg({s0}, {"a"}).find("runs are missing"), std::string::npos);
  EXPECT_NE(msg({s0}, {"a"}).find("no report for shard(s) 1"), std::string::npos);
  EXPECT_NE(msg({s0, s0}, {"a", "b"}).find("is given twice"), std::string::npos);
  CampaignReport other = s1;
  other.seed = 4;
  EXPECT_NE(msg({s0, other}, {"a", "b"}).find("the seed differs"), std::string::npos);
  CampaignReport dup = s1;
  dup.runs.push_back(s0.runs[0]);
  EXPECT_NE(msg({s0, dup}, {"a", "b"}).find("was also run in a"), std::string::npos);
  EXPECT_NE(msg({dup}, {"b"}).find("does not belong to shard 1/2"), std::string::npos);
  EXPECT_NE(msg({}, {}).find("no reports"), std::string::npos);
}

TEST(CampaignJunit, FailuresCarryTheReproducer) {
  std::string x = report_to_junit(full(3));
  EXPECT_NE(x.find("<testsuites tests=\"9\" failures=\"1\""), std::string::npos) << x;
  EXPECT_NE(x.find("name=\"point 2 (nvram#12) torn\""), std::string::npos) << x;
  EXPECT_NE(x.find("reproduce: trustsim campaign c.yaml --seed 3 --point 2 --mode torn"), std::string::npos) << x;
}
