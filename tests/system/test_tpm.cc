// End-to-end Boot Integrity Visibility: a manufactured board, known-good
// values from `trustsim image sign --kgv`, a real boot under QEMU, and the
// captured `show platform integrity sign` / `sudi certificate sign` output
// checked by `trustsim attest verify`, by `openssl verify` and by
// tpm2-tools' `tpm2_checkquote`.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "../support/test_util.h"

using namespace trustsim::test;  // tests/support/test_util.h

namespace {

std::string os_bin() { return std::string(TRUSTSIM_BUILD_ROOT) + "/os-stub/os.bin"; }

// Boots, logs in, and captures the signed integrity and SUDI outputs. The
// patterns stay short: std::regex recurses once per matched character, and a
// 1 KB hex line overflows the runner's stack under ASan.
std::string capture_scenario(uint32_t nonce, const std::string& before_prompt = "") {
  std::string n = std::to_string(nonce);
  return "name: capture\nboard: default\ntimeout: 10 s\nsteps:\n  - power-on\n" + before_prompt +
         "  - expect: \"Router>\"\n  - send: enable\n  - expect: \"Router#\"\n"
         "  - send: show platform sudi certificate sign nonce " +
         n +
         "\n"
         "  - expect: \"Signature:\\n[0-9A-F]{16}\"\n  - expect: \"Router#\"\n"
         "  - send: show platform integrity sign nonce " +
         n +
         "\n"
         "  - expect: \"Signature:\\n[0-9A-F]{16}\"\n  - expect: \"Router#\"\n";
}

struct Board {
  TempDir d;
  std::string dir = d.file("board");
  std::string kgv = d.file("kgv.json");
  std::string log = d.file("console.txt");
  std::string board_file = "default";

  void make() {
    Result r = run_trustsim("board --board-file " + board_file + " new " + dir);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = run_trustsim("image sign " + os_bin() + " --key " + src("keys/dev/production-A.pem") +
                     " --version 17.03.01 --out " + d.file("os.SPA.bin") + " --kgv " + kgv);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  Result run(const std::string& scenario_text) {
    std::string sc = write_text(d.file("capture.yaml"), scenario_text);
    return run_trustsim("run --quiet --board " + dir + " --board-file " + board_file + " --console-log " + log + " " +
                        sc);
  }
  Result verify(uint32_t nonce, const std::string& file = "") {
    return run_trustsim("attest verify --kgv " + kgv + " --nonce " + std::to_string(nonce) + " --root-ca " + dir +
                        "/tpm-sudi-root-ca.pem " + (file.empty() ? log : file));
  }
};

std::vector<std::string> console_lines(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(read_text(path));
  std::string l;
  std::regex stamp(R"(^\[\s*[0-9.]+\] )");
  while (std::getline(in, l)) out.push_back(std::regex_replace(l, stamp, ""));
  return out;
}

}  // namespace

TEST(Tpm, GoodBootVerifiesAndOpensslAndTpm2ToolsAgree) {
  Board b;
  b.make();
  if (::testing::Test::HasFatalFailure()) return;
  Result r = b.run(capture_scenario(12345));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = b.verify(12345);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("VERIFIED: "), std::string::npos) << r.output;

  // Split the capture the way docs/tpm.md specifies and hand it to the stock tools.
  std::vector<std::string> lines = console_lines(b.log);
  std::vector<std::string> pems;
  std::string cur;
  std::string quote_hex;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] == "-----BEGIN CERTIFICATE-----") cur.clear();
    cur += lines[i] + "\n";
    if (lines[i] == "-----END CERTIFICATE-----") pems.push_back(cur);
    if (lines[i] == "Signature version: 1" && i > 0 && lines[i - 1].rfind("PCR8: ", 0) == 0 && i + 2 < lines.size())
      quote_hex = lines[i + 2];
  }
  ASSERT_EQ(pems.size(), 3u);
  ASSERT_FALSE(quote_hex.empty());
  write_text(b.d.file("root.pem"), pems[0]);
  write_text(b.d.file("ca.pem"), pems[1]);
  write_text(b.d.file("dev.pem"), pems[2]);
  r = sh("openssl verify -CAfile " + b.d.file("root.pem") + " -untrusted " + b.d.file("ca.pem") + " " +
         b.d.file("dev.pem"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(": OK"), std::string::npos) << r.output;

  std::vector<uint8_t> blob;
  for (size_t i = 0; i + 1 < quote_hex.size(); i += 2)
    blob.push_back(uint8_t(std::stoi(quote_hex.substr(i, 2), nullptr, 16)));
  size_t alen = size_t(blob[0]) << 8 | blob[1];
  ASSERT_LT(2 + alen, blob.size());
  std::ofstream(b.d.file("quote.msg"), std::ios::binary)
      .write(reinterpret_cast<const char*>(blob.data() + 2), long(alen));
  std::ofstream(b.d.file("quote.sig"), std::ios::binary)
      .write(reinterpret_cast<const char*>(blob.data() + 2 + alen), long(blob.size() - 2 - alen));
  // The exported SUDI public key (board state) is the device certificate's key.
  r = sh("openssl x509 -in " + b.d.file("dev.pem") + " -pubkey -noout > " + b.d.file("pub.pem"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_text(b.d.file("pub.pem")), read_text(b.dir + "/tpm-sudi-pub.pem"));
  std::string checkquote = "tpm2_checkquote -u " + b.dir + "/tpm-sudi-pub.pem -m " + b.d.file("quote.msg") + " -s " +
                           b.d.file("quote.sig") + " -g sha256 -q ";
  r = sh(checkquote + "00003039");  // 12345
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = sh(checkquote + "00003038");  // another nonce must fail
  EXPECT_NE(r.exit_code, 0) << r.output;
}

TEST(Tpm, ReplayedNonceFailsNamingTheNonce) {
  Board b;
  b.make();
  if (::testing::Test::HasFatalFailure()) return;
  Result r = b.run(capture_scenario(777));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = b.verify(778);  // the verifier asked for a fresh nonce; the device answered an old one
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("FAIL nonce"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("made for nonce 777, not 778"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("NOT VERIFIED: nonce, SUDI signature"), std::string::npos) << r.output;
}

TEST(Tpm, OsImageModifiedAfterSigningChangesPcr8AndFailsTheVerifier) {
  Board b;
  // A board file identical to the default one plus the test-only switch.
  b.board_file = write_text(b.d.file("skip.yaml"),
                            read_text(src("boards/default.yaml")) + "\ntest_options:\n  skip_os_verification: true\n");
  b.make();
  if (::testing::Test::HasFatalFailure()) return;
  const std::string name = "ts-isr1100-universalk9.17.03.01.SPA.bin";
  std::string img = b.d.file("img.bin");
  Result r = run_trustsim("flash --board " + b.dir + " --board-file " + b.board_file + " get " + name + " " + img);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  {
    std::fstream f(img, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    char c;
    f.read(&c, 1);
    f.seekp(4096);
    c = char(c ^ 0x01);  // one bit of the payload
    f.write(&c, 1);
  }
  r = run_trustsim("flash --board " + b.dir + " --board-file " + b.board_file + " put " + img + " " + name);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = b.run(capture_scenario(4242, "  - expect: \"Verification FAILED\"\n  - expect: \"UNVERIFIED\"\n"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = b.verify(4242);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("FAIL OS Hash"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("FAIL PCR8"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ok   PCR0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ok   signature"), std::string::npos) << r.output;  // the TPM honestly signed the bad PCR8
  EXPECT_NE(r.output.find("NOT VERIFIED: OS Hash, PCR8"), std::string::npos) << r.output;
}

TEST(Tpm, PowerCutMidBootGivesFreshPcrsOnTheNextBoot) {
  Board b;
  b.make();
  if (::testing::Test::HasFatalFailure()) return;
  // Cut the power after Boot0 and ROMmon extended PCR0 but before the OS
  // image was measured; a TPM that kept its PCRs would show PCR0 extended twice.
  Result r =
      b.run(capture_scenario(99, "  - expect: \"Preparing to autoboot\"\n  - power-cycle: {off_time: 100 ms}\n"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string log = read_text(b.log);
  size_t boots = 0;
  for (size_t p = log.find("Boot0 Version"); p != std::string::npos; p = log.find("Boot0 Version", p + 1)) ++boots;
  EXPECT_EQ(boots, 2u) << log;
  r = b.verify(99);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ok   PCR0"), std::string::npos) << r.output;
}

TEST(Tpm, TruncatedOrBadInputGetsAClearError) {
  Board b;
  b.make();
  if (::testing::Test::HasFatalFailure()) return;
  Result r = b.run(capture_scenario(5));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string full = read_text(b.log);
  size_t cut = full.rfind("PCR0: ");
  ASSERT_NE(cut, std::string::npos);
  std::string t = write_text(b.d.file("cut.txt"), full.substr(0, cut));
  r = b.verify(5, t);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("truncated: the output ends before the 'PCR0:' line"), std::string::npos) << r.output;
  size_t sig = full.rfind("Signature:\n");
  ASSERT_NE(sig, std::string::npos);
  size_t hex_start = full.find("] ", sig + 11);  // the hex line's timestamp prefix
  ASSERT_NE(hex_start, std::string::npos);
  hex_start += 2;
  size_t hex_len = full.find('\n', hex_start) - hex_start;
  ASSERT_GT(hex_len, 400u);
  // Cut 100 bytes (200 hex digits) off the end of the signature.
  t = write_text(b.d.file("cut2.txt"), full.substr(0, hex_start + hex_len - 200) + "\n");
  r = b.verify(5, t);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("Signature: truncated"), std::string::npos) << r.output;
  t = write_text(b.d.file("none.txt"), "Router#show version\n");
  r = b.verify(5, t);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no `show platform integrity` output found"), std::string::npos) << r.output;
  r = run_trustsim("attest verify --kgv " + t + " --nonce 5 " + b.log);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not JSON"), std::string::npos) << r.output;
}

TEST(Tpm, ScenarioAttestCheckVerifiesAKgvFileAndNamesWhatIsWrong) {
  Board b;
  b.make();
  if (::testing::Test::HasFatalFailure()) return;
  const std::string boot = "name: attest-check\ntimeout: 20 s\nsteps:\n  - power-on\n  - expect: \"Router>\"\n";
  // The KGV file from `image sign --kgv` (the same image the board was
  // manufactured with) verifies the capture, SUDI chain included.
  Result r = b.run(capture_scenario(99) + "  - check: {attest: {nonce: 99, kgv: " + b.kgv + "}}\n" +
                   "  - check: {attest: {nonce: 99, kgv: " + b.kgv + ", verifies: false}}\n");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("step 12 ("), std::string::npos) << "the first check (step 11) passes:\n" << r.output;
  EXPECT_NE(r.output.find("attestation verifies, but it must not"), std::string::npos) << r.output;
  struct Case {
    std::string step, message;
  } cases[] = {
      {"  - check: {attest: {nonce: 1, image: \"bootflash:ts-isr1100-universalk9.17.03.01.SPA.bin\"}}\n",
       "console output: no `show platform integrity` output found"},
      {"  - check: {attest: {nonce: 1, kgv: " + b.d.file("missing.json") + "}}\n", "missing.json"},
      {"  - check: {attest: {nonce: 1, image: \"bootflash:nope.bin\"}}\n",
       "bootflash:nope.bin does not exist: no known-good values to compare with"},
  };
  for (const Case& c : cases) {
    r = b.run(boot + c.step);
    EXPECT_EQ(r.exit_code, 1) << c.step << r.output;
    EXPECT_NE(r.output.find("step 3 ("), std::string::npos) << c.step << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.step << r.output;
  }
}

namespace {

// The default board file with its devices.tpm section replaced.
std::string board_with_tpm(const TempDir& d, const std::string& name, const std::string& tpm_extra,
                           bool no_tpm = false) {
  std::string text = read_text(src("boards/default.yaml"));
  size_t at = text.find("\n  tpm:\n");
  EXPECT_NE(at, std::string::npos);
  if (no_tpm) {
    text = text.substr(0, at + 1);  // devices.tpm is the file's last section
  } else {
    text += tpm_extra;
  }
  return write_text(d.file(name), text);
}

const char* kShowAll = R"(name: tpm-fault
timeout: 30 s
steps:
  - power-on
  - expect: "Router>"
  - send: enable
  - expect: "Router#"
  - send: show platform integrity
  - expect: "Router#"
  - send: show platform integrity sign nonce 3
  - expect: "Router#"
  - send: show platform sudi certificate sign nonce 3
  - expect: "Router#"
)";

}  // namespace

TEST(Tpm, FaultOnQuoteGivesErrorRetrievingIntegrityData) {
  Board b;
  b.board_file = board_with_tpm(b.d, "quote-fault.yaml", "    fault: {command: Quote, response_code: 0x101}\n");
  b.make();
  if (::testing::Test::HasFatalFailure()) return;
  Result r = b.run(kShowAll);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string log = read_text(b.log);
  // Unsigned: everything there. Signed: the quote fails, the fields before it stand.
  EXPECT_NE(log.find("PCR8: "), std::string::npos) << log;
  std::regex signed_fail(
      R"(show platform integrity sign nonce 3\n(.*\n){8}.*PCR8: [0-9A-F]{64}\n.*% Error retrieving integrity data\n)");
  EXPECT_TRUE(std::regex_search(log, signed_fail)) << log;
  EXPECT_NE(log.find("-----END CERTIFICATE-----"), std::string::npos) << log;  // Sign is not faulted
}

TEST(Tpm, BusyTpmGivesPleaseTryAfterFewSecondsAndAnUnmeasuredBoot) {
  Board b;
  b.board_file = board_with_tpm(b.d, "busy.yaml", "    fault: {stay_busy: true}\n");
  b.make();
  if (::testing::Test::HasFatalFailure()) return;
  Result r = b.run(kShowAll);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string log = read_text(b.log);
  EXPECT_NE(log.find("Boot0: TPM: TPM command timed out"), std::string::npos) << log;
  EXPECT_NE(log.find("boot continues unmeasured"), std::string::npos) << log;
  // The driver sleeps on the TPM's event line, which a command that never
  // completes does not raise: the wait still lasts the whole PTP TIMEOUT_B
  // (2 s after Startup's tpmGo, itself after the 88 ms init), no less.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex(R"(\[\s*(\d+\.\d+)\] Boot0: TPM: TPM command timed out)"))) << log;
  double at = std::stod(m[1]);
  EXPECT_GE(at, 2.088) << log;
  EXPECT_LT(at, 2.2) << log;
  size_t n = 0;
  for (size_t p = log.find("% Please Try After Few Seconds"); p != std::string::npos;
       p = log.find("% Please Try After Few Seconds", p + 1))
    ++n;
  EXPECT_EQ(n, 3u) << log;
  EXPECT_EQ(log.find("PCR0: "), std::string::npos) << log;
}

TEST(Tpm, BoardWithoutTpmReportsErrorRetrieving) {
  Board b;
  b.board_file = board_with_tpm(b.d, "no-tpm.yaml", "", true);
  b.make();
  if (::testing::Test::HasFatalFailure()) return;
  Result r = b.run(kShowAll);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string log = read_text(b.log);
  EXPECT_NE(log.find("% Error retrieving integrity data"), std::string::npos) << log;
  EXPECT_NE(log.find("% Error retrieving SUDI certificate"), std::string::npos) << log;
  EXPECT_EQ(log.find("PCR0: "), std::string::npos) << log;
  EXPECT_EQ(log.find("Boot0: TPM"), std::string::npos) << log;  // no TPM is not an error at boot
}

TEST(Tpm, TornNvWriteResetsTheBoardAndLeavesTheTpmInFailureMode) {
  Board b;
  b.board_file = board_with_tpm(b.d, "torn.yaml", "    fault: {torn_nv_write: 100}\n");
  b.make();
  if (::testing::Test::HasFatalFailure()) return;
  Result r = b.run(kShowAll);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string log = read_text(b.log);
  // Startup's NV write is torn, the board resets, and the TPM cannot load its state.
  size_t boots = 0;
  for (size_t p = log.find("Boot0 Version"); p != std::string::npos; p = log.find("Boot0 Version", p + 1)) ++boots;
  EXPECT_EQ(boots, 2u) << log;
  EXPECT_NE(log.find("Boot0: TPM: TPM returned an error (rc 0x101); boot continues unmeasured"), std::string::npos)
      << log;
  EXPECT_NE(log.find("% Error retrieving integrity data"), std::string::npos) << log;
  EXPECT_NE(log.find("% Error retrieving SUDI certificate"), std::string::npos) << log;
  // The torn file stays torn: the board state keeps what was written.
  EXPECT_LT(read_text(b.dir + "/tpm-nv.bin").size(), 200u);
}

TEST(Tpm, SignedOutputAndTraceAreByteIdenticalAcrossRuns) {
  // Temporary boards: manufacturing (keys, certificates) runs in each run,
  // then quotes and signatures; libtpms' clock and RNG must not leak in.
  TempDir d;
  std::string out[2], trace[2];
  for (int i = 0; i < 2; ++i) {
    std::string con = d.file("con" + std::to_string(i)), tr = d.file("tr" + std::to_string(i));
    Result r =
        run_trustsim("run --quiet --console-log " + con + " --trace " + tr + " " + src("scenarios/tpm/integrity.yaml"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    out[i] = read_text(con);
    trace[i] = read_text(tr);
  }
  EXPECT_NE(out[0].find("Signature:\n"), std::string::npos);
  EXPECT_EQ(out[0], out[1]);
  EXPECT_EQ(trace[0], trace[1]);
}
