// Power cuts inside a key revocation on the full board (real QEMU, OS,
// Boot0 and the NVRAM model): scenarios/revocation/revoke-power-cycle.yaml
// with the power-cycle moved to a series of instants after the OS's start
// marker. Each run must boot to Router> again, and the key set in force must
// be the old one (special key A still verifies) or the new one (A revoked);
// the new one whenever the console showed the first copy written
// ("Backup key storage updated") or the end marker before the cut.
// The default run takes a few cut instants (suite system); with
// TRUSTSIM_FULL_SWEEP=1 it takes one every 10 ms across the whole write
// (suite long). tests/common/test_key_update.cc covers every page write
// exhaustively on the host model.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../support/test_util.h"

using namespace trustsim::test;  // tests/support/test_util.h

namespace {

std::string scenario(unsigned cut_ms) {
  return R"(name: revoke-cut-sweep
board: default
timeout: 20 s
steps:
  - image-sign: {key: production-A, name: ts-isr1100-universalk9.17.03.01.SPA.bin, add-keys: [special-B], revoke-keys: [special-A]}
  - image-sign: {key: special-A, name: dev-a.SSA.bin}
  - power-on
  - expect: "Router>"
  - send: enable
  - send: software authenticity key add special
  - expect: "Proceed with the key storage update\\? \\[confirm\\]"
  - send: ""
  - expect: "KEY_ADDED: Special key version B"
  - send: software authenticity key revoke special
  - expect: "Proceed with the key storage update\\? \\[confirm\\]"
  - send: ""
  - expect: "KEY_STORAGE_WRITE: writing key storage generation 3"
)" + std::string(cut_ms ? "  - wait: " + std::to_string(cut_ms) + " ms\n" : "") +
         R"(  - power-cycle
  - expect: "Router>"
  - send: enable
  - send: show software authenticity file bootflash:dev-a.SSA.bin
  - expect: "Key Version +: A"
  - wait: 300 ms
)";
}

struct Tally {
  unsigned runs = 0, old_set = 0, new_set = 0, nvram_cuts = 0;
};

void one_cut(unsigned cut_ms, const TempDir& d, Tally& t) {
  std::string yaml = d.file("cut-" + std::to_string(cut_ms) + ".yaml");
  std::string con = d.file("cut-" + std::to_string(cut_ms) + ".txt");
  std::string trace = d.file("cut-" + std::to_string(cut_ms) + ".jsonl");
  write_text(yaml, scenario(cut_ms));
  Result r = run_trustsim("run --quiet --console-log " + con + " --trace " + trace + " " + yaml);
  ASSERT_EQ(r.exit_code, 0) << "cut " << cut_ms << " ms after the start marker: the board did not come back\n"
                            << r.output;
  std::string text = read_text(con);
  size_t second_boot = text.rfind("Boot0 Version");
  ASSERT_NE(second_boot, std::string::npos);
  std::string before = text.substr(0, second_boot), after = text.substr(second_boot);
  bool revoked = after.find("dev-a.SSA.bin: signed by a revoked key") != std::string::npos;
  bool other_warning = !revoked && after.find("%Warning: bootflash:dev-a.SSA.bin") != std::string::npos;
  EXPECT_FALSE(other_warning) << "cut " << cut_ms << " ms: neither the old nor the new key set\n" << after;
  bool past_point = before.find("Backup key storage updated (generation 3)") != std::string::npos ||
                    before.find("KEY_REVOKED") != std::string::npos;
  if (past_point) {
    EXPECT_TRUE(revoked) << "cut " << cut_ms << " ms: the first copy was reported written but A still verifies";
  }
  std::string tr = read_text(trace);
  bool cut_a_write = tr.find("\"dev\":\"nvram\",\"op\":\"page-write\"") != std::string::npos &&
                     tr.find("\"status\":\"power-lost\"") != std::string::npos;
  ++t.runs;
  (revoked ? t.new_set : t.old_set)++;
  if (cut_a_write) ++t.nvram_cuts;
}

}  // namespace

TEST(RevocationSweep, EveryCutInsideTheRevokeBootsWithTheOldOrNewKeys) {
  const char* full = getenv("TRUSTSIM_FULL_SWEEP");
  bool all = full && full[0] == '1';
  TempDir d;
  Tally t;
  unsigned step = all ? 10 : 130;
  for (unsigned ms = 0; ms <= 520; ms += step) one_cut(ms, d, t);
  std::printf(
      "full-board revocation sweep: %u cuts (every %u ms over 0..520 ms after the start marker), %u old set, "
      "%u new set, %u cut an NVRAM page write\n",
      t.runs, step, t.old_set, t.new_set, t.nvram_cuts);
  EXPECT_GT(t.old_set, 0u);  // the sweep did cut before the point of no return
  EXPECT_GT(t.new_set, 0u);
  EXPECT_GT(t.nvram_cuts, 0u);
}
