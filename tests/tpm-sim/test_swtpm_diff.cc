// Differential test: the same TPM 2.0 command sequence sent to tpm-sim's
// engine and to Debian's swtpm (a separate process, raw commands on its
// data socket) gives the same PCR values and the same response codes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "../support/test_util.h"
#include "tpm-sim/tpm_engine.h"
#include "trustsim/tpm2.h"

using namespace trustsim;

namespace {

class Swtpm {
 public:
  explicit Swtpm(const std::string& dir) {
    std::string sock = dir + "/data.sock";
    pid_ = fork();
    if (pid_ == 0) {
      std::string server = "type=unixio,path=" + sock;
      std::string ctrl = "type=unixio,path=" + dir + "/ctrl.sock";
      std::string state = "dir=" + dir;
      execlp("swtpm", "swtpm", "socket", "--tpm2", "--server", server.c_str(), "--ctrl", ctrl.c_str(), "--tpmstate",
             state.c_str(), "--flags", "not-need-init", static_cast<char*>(nullptr));
      _exit(127);
    }
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
    for (int i = 0; i < 200 && fd_ < 0; ++i) {  // up to 2 s for swtpm to listen
      int fd = socket(AF_UNIX, SOCK_STREAM, 0);
      if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0)
        fd_ = fd;
      else {
        close(fd);
        usleep(10000);
      }
    }
  }
  ~Swtpm() {
    if (fd_ >= 0) close(fd_);
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool up() const { return fd_ >= 0; }
  std::vector<uint8_t> execute(const uint8_t* cmd, size_t len) {
    if (write(fd_, cmd, len) != ssize_t(len)) return {};
    std::vector<uint8_t> r(10);
    if (!read_all(r.data(), 10)) return {};
    tpm2::Header h{};
    tpm2::parse_header(r.data(), 10, &h);
    if (h.size < 10 || h.size > 4096) return {};
    r.resize(h.size);
    if (!read_all(r.data() + 10, h.size - 10)) return {};
    return r;
  }

 private:
  bool read_all(uint8_t* p, size_t n) {
    while (n) {
      ssize_t k = read(fd_, p, n);
      if (k <= 0) return false;
      p += k;
      n -= size_t(k);
    }
    return true;
  }
  pid_t pid_ = -1;
  int fd_ = -1;
};

uint32_t rc_of(const std::vector<uint8_t>& r) {
  tpm2::Header h{};
  return tpm2::parse_header(r.data(), r.size(), &h) ? h.code : 0xFFFFFFFFu;
}

}  // namespace

TEST(SwtpmDifferential, SameCommandSequenceGivesTheSamePcrs) {
  test::TempDir dir;
  Swtpm sw(dir.path);
  ASSERT_TRUE(sw.up()) << "swtpm did not start (Debian package swtpm, see scripts/bootstrap.sh)";
  TpmEngine& e = TpmEngine::instance();
  e.attach(dir.file("tpm-sim-nv.bin"), "diff");
  ASSERT_TRUE(e.power_on());

  static uint8_t cmd[4096];
  std::vector<std::vector<uint8_t>> sequence;
  auto add = [&](size_t n) { sequence.emplace_back(cmd, cmd + n); };
  add(tpm2::cmd_startup(cmd, sizeof cmd, tpm2::kSuClear));
  // A measured boot's extends, plus other PCRs and a repeated digest.
  for (unsigned i = 0; i < 12; ++i) {
    uint8_t d[32];
    for (int k = 0; k < 32; ++k) d[k] = uint8_t(i * 37 + k);
    unsigned pcr = i < 4 ? 0 : i < 6 ? 8 : i;  // PCR0 x4, PCR8 x2, PCR6..11 once
    add(tpm2::cmd_pcr_extend(cmd, sizeof cmd, pcr, d));
  }
  uint8_t d[32] = {};
  add(tpm2::cmd_pcr_extend(cmd, sizeof cmd, 23, d));
  add(tpm2::cmd_pcr_extend(cmd, sizeof cmd, 24, d));  // no such PCR: both must refuse it alike
  add(tpm2::cmd_pcr_read(cmd, sizeof cmd, tpm2::pcr_bit(0) | tpm2::pcr_bit(8) | tpm2::pcr_bit(6) | tpm2::pcr_bit(7)));
  add(tpm2::cmd_pcr_read(cmd, sizeof cmd,
                         tpm2::pcr_bit(9) | tpm2::pcr_bit(10) | tpm2::pcr_bit(11) | tpm2::pcr_bit(23)));

  std::vector<std::vector<uint8_t>> pcrs_sim, pcrs_sw;
  for (const auto& c : sequence) {
    std::vector<uint8_t> a = e.execute(c.data(), c.size());
    std::vector<uint8_t> b = sw.execute(c.data(), c.size());
    uint32_t cc = tpm2::command_code(c.data(), c.size());
    ASSERT_FALSE(b.empty()) << "swtpm gave no response to " << tpm2::command_name(cc);
    EXPECT_EQ(rc_of(a), rc_of(b)) << tpm2::command_name(cc);
    if (cc == tpm2::kCcPcrRead) {
      for (auto [resp, out] :
           {std::pair<std::vector<uint8_t>*, std::vector<std::vector<uint8_t>>*>{&a, &pcrs_sim}, {&b, &pcrs_sw}}) {
        tpm2::Response r;
        ASSERT_TRUE(tpm2::parse_response(resp->data(), resp->size(), 0, &r));
        tpm2::PcrValues v{};
        ASSERT_TRUE(tpm2::parse_pcr_read(r, &v));
        for (uint32_t i = 0; i < v.count; ++i) out->emplace_back(v.digest[i], v.digest[i] + 32);
      }
    }
  }
  e.detach();
  ASSERT_EQ(pcrs_sim.size(), 8u);
  EXPECT_EQ(pcrs_sim, pcrs_sw);
  // And the values are not trivially equal (both zero).
  EXPECT_NE(pcrs_sim[0], std::vector<uint8_t>(32, 0));
}
