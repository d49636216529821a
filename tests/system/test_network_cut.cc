// Network cuts as a campaign dimension (docs/campaigns.md, "Network cuts"):
// scenarios/campaigns/copy-network-cut.yaml against real TFTP and FTP
// servers on loopback (tests/support/net_servers.h). The dry run finds one
// cut point per `every` bytes of each transfer; every run drops its
// transfer exactly there (the recovery insists on the IOS error, so a cut
// that was not applied fails the run), and the board keeps its files whole
// and boots. One shard in 'system', the whole in 'long' (tests/meson.build).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

#include "../support/net_servers.h"
#include "../support/test_util.h"

using namespace trustsim::test;  // tests/support/test_util.h

namespace {

std::string build_file(const std::string& rel) { return std::string(TRUSTSIM_BUILD_ROOT) + "/" + rel; }

class NetworkCut : public ::testing::Test {
 protected:
  static constexpr uint64_t kEvery = 65536;
  TempDir d;
  std::string image;  // the signed OS image both servers offer, and its SHA-256
  std::string sha;
  std::unique_ptr<NetServers> servers;

  void SetUp() override {
    std::string srv = d.file("srv");
    image = srv + "/net.SPA.bin";
    ASSERT_EQ(mkdir(srv.c_str(), 0755), 0);
    chmod(d.path.c_str(), 0755);  // in.tftpd drops to an unprivileged user
    Result r = run_trustsim("image sign " + build_file("os-stub/os.bin") + " --key " +
                            src("keys/dev/production-A.pem") + " --version 17.03.02 --out " + image);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    chmod(image.c_str(), 0644);
    sha = sh("sha256sum '" + image + "' | cut -c1-64").output.substr(0, 64);
    servers = std::make_unique<NetServers>(srv, d.path, "net.SPA.bin");
    ASSERT_TRUE(servers->ready) << servers->why;
  }
  void TearDown() override { servers.reset(); }

  std::string vars() const {
    return " --var tftp=" + std::to_string(servers->tftp_port) + " --var ftp=" + std::to_string(servers->ftp_port) +
           " --var sha256=" + sha + " --var every=" + std::to_string(kEvery) + " ";
  }
  std::string campaign() const { return src("scenarios/campaigns/copy-network-cut.yaml"); }
  // Cut points of one transfer of the whole image: 0, every, 2 x every, ... below its size.
  uint64_t points_per_transfer() const { return (read_text(image).size() + kEvery - 1) / kEvery; }

  // Runs the campaign (`extra`: shard options) and checks its report: every
  // run a network cut of its own, at the offset its point stands for, passed.
  void runs_and_checks(const std::string& extra) {
    std::string json = d.file("report.json");
    Result r = run_trustsim("campaign --no-progress --json " + json + vars() + extra + " " + campaign());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("a drop every 65536 bytes of each transfer"), std::string::npos) << r.output;
    nlohmann::json rep = nlohmann::json::parse(read_text(json));
    uint64_t n = points_per_transfer();
    ASSERT_GE(n, 2u) << "the image is too small for two cuts per transfer";
    EXPECT_EQ(rep["network_cut"]["every"].get<uint64_t>(), kEvery);
    EXPECT_EQ(rep["points"].get<uint64_t>(), 2 * n) << "the download and the upload, each every 65536 bytes";
    EXPECT_EQ(rep["fork"].get<bool>(), false);
    EXPECT_EQ(rep["devices"], nlohmann::json::array({"netxfer"}));
    std::set<std::pair<uint64_t, uint64_t>> cuts;
    std::set<uint64_t> transfers;
    for (const auto& run : rep["runs"]) {
      uint64_t point = run["point"].get<uint64_t>(), drop = run["drop_after"].get<uint64_t>();
      EXPECT_EQ(run["verdict"], "pass") << run.dump();
      EXPECT_EQ(run["device"], "netxfer");
      // Points 1..n cut the download, n+1..2n the upload, each at (k-1) x every.
      EXPECT_EQ(drop, ((point - 1) % n) * kEvery) << run.dump();
      cuts.insert({run["device_op"].get<uint64_t>(), drop});
      transfers.insert(run["device_op"].get<uint64_t>());
    }
    EXPECT_EQ(cuts.size(), rep["runs"].size()) << "two runs cut the same transfer at the same byte";
    EXPECT_EQ(transfers.size(), 2u) << "both the download and the upload were cut";
  }
};

TEST_F(NetworkCut, DryRunListsACutPointPerBlockOfEachTransfer) {
  Result r = run_trustsim("campaign --dry-run" + vars() + campaign());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  uint64_t n = points_per_transfer();
  EXPECT_NE(r.output.find("dry run: " + std::to_string(2 * n) + " cut points x 1 modes"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(std::to_string(kEvery) + " B"), std::string::npos) << r.output;
}

TEST_F(NetworkCut, CampaignShard) { runs_and_checks("--shard 0/2 --jobs 2"); }

TEST_F(NetworkCut, CampaignFull) { runs_and_checks("--jobs 2"); }

// The reproducer of one run: the upload's second cut point, with the console.
TEST_F(NetworkCut, PointReplaysOneCutWithTheIosError) {
  std::string point = std::to_string(points_per_transfer() + 2);
  Result r = run_trustsim("campaign --point " + point + " --mode after" + vars() + campaign());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("PASS copy-network-cut point " + point + " (netxfer#2) drop after 65536 bytes"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("(Connection closed by the server before the end of the file)"), std::string::npos)
      << r.output;
  // A point past the last transfer's: the cut never happens, and the run says so.
  r = run_trustsim("campaign --point " + std::to_string(2 * points_per_transfer() + 1) + " --mode after --quiet" +
                   vars() + campaign());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("was never reached: the window's transfers had " + std::to_string(2 * points_per_transfer()) +
                          " cut points"),
            std::string::npos)
      << r.output;
}

}  // namespace
