// The transfer engine end to end with real servers on loopback: tftpd-hpa's
// in.tftpd and a pyftpdlib FTP server, started here on free ports, serve a
// signed OS image that the OS copies into bootflash:, verifies and boots.
// Network faults, server errors and bad URLs must give the IOS error and
// leave bootflash: as it was; the same copy twice gives the same console
// and trace (docs/netxfer.md).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../support/net_servers.h"
#include "../support/test_util.h"

using namespace trustsim::test;  // tests/support/test_util.h

namespace {

std::string os_bin() { return std::string(TRUSTSIM_BUILD_ROOT) + "/os-stub/os.bin"; }

std::string sha256_of(const std::string& path) {
  Result r = sh("sha256sum '" + path + "' | cut -c1-64");
  return r.output.substr(0, 64);
}

// The two servers, a directory they serve, and a signed image in it.
class Net : public ::testing::Test {
 protected:
  TempDir d;
  std::string srv = d.file("srv");
  std::string image = srv + "/net.SPA.bin";
  std::string old_image = d.file("old.SPA.bin");  // another signed image, for "the old file stays"
  std::string sha, old_sha;
  std::unique_ptr<NetServers> servers;
  int tftp_port = 0, ftp_port = 0;

  void SetUp() override {
    ASSERT_EQ(mkdir(srv.c_str(), 0755), 0);
    chmod(d.path.c_str(), 0755);  // in.tftpd drops to an unprivileged user
    Result r = run_trustsim("image sign " + os_bin() + " --key " + src("keys/dev/production-A.pem") +
                            " --version 17.03.02 --out " + image);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = run_trustsim("image sign " + os_bin() + " --key " + src("keys/dev/production-A.pem") +
                     " --version 17.03.01 --out " + old_image);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    chmod(image.c_str(), 0644);
    sha = sha256_of(image);
    old_sha = sha256_of(old_image);
    ASSERT_NE(sha, old_sha);
    servers = std::make_unique<NetServers>(srv, d.path, "net.SPA.bin");
    ASSERT_TRUE(servers->ready) << servers->why;
    tftp_port = servers->tftp_port;
    ftp_port = servers->ftp_port;
  }
  void TearDown() override { servers.reset(); }

  std::string tftp_url(const std::string& path = "net.SPA.bin") const {
    return "tftp://127.0.0.1:" + std::to_string(tftp_port) + "/" + path;
  }
  // The upload tests: the servers store into srv/up; old.bin is the file sent.
  std::string up = srv + "/up";
  void make_up_dir() {
    ASSERT_EQ(mkdir(up.c_str(), 0777), 0);
    chmod(up.c_str(), 0777);  // in.tftpd writes as its unprivileged user
  }
  std::string put_old() const { return "  - flash-put: {from: " + old_image + ", name: old.bin}\n"; }
  std::string ftp_url(const std::string& path = "net.SPA.bin", const std::string& cred = "trustsim:secret@") const {
    return "ftp://" + cred + "127.0.0.1:" + std::to_string(ftp_port) + "/" + path;
  }

  // Runs a scenario: `steps` after power-on and enable.
  Result run_steps(const std::string& steps, const std::string& before = "", const std::string& extra = "") {
    std::string sc = "name: netxfer-test\nboard: default\ntimeout: 60 s\nsteps:\n" + before +
                     "  - power-on\n  - expect: \"Router>\"\n  - send: enable\n  - expect: \"Router#\"\n" + steps;
    write_text(d.file("test.yaml"), sc);
    return run_trustsim("run --quiet --console-log " + d.file("console.txt") + " --trace " + d.file("trace.jsonl") +
                        " " + extra + " " + d.file("test.yaml"));
  }
};

// YAML for: send `cmd`, answer the destination prompt, and (if the file is
// there already) confirm the overwrite.
std::string copy_steps(const std::string& cmd, const std::string& name, bool exists) {
  std::string s = "  - send: \"" + cmd + "\"\n  - expect: \"Destination filename \\\\[" + name + "\\\\]\\\\? \"\n" +
                  "  - send: \"\"\n";
  if (exists) s += "  - expect: \"Do you want to over write\\\\? \\\\[confirm\\\\]\"\n  - send: \"\"\n";
  return s;
}
std::string expect(const std::string& regex) { return "  - expect: \"" + regex + "\"\n"; }
std::string check_file(const std::string& name, const std::string& sha) {
  return "  - check: {file: " + name + ", sha256: \"" + sha + "\"}\n";
}
std::string check_absent(const std::string& name) { return "  - check: {file: " + name + ", exists: false}\n"; }
std::string prompt() { return expect("\\n(Router#)"); }
std::string re(std::string s) {  // a literal for a YAML double-quoted regex
  std::string out;
  for (char c : s) {
    if (std::string(".()[]?*+|^$\\{}").find(c) != std::string::npos) out += "\\\\";
    out += c;
  }
  return out;
}

TEST_F(Net, TftpCopyVerifiesAndBoots) {
  Result r = run_trustsim("run --quiet --var port=" + std::to_string(tftp_port) + " --var sha256=" + sha + " " +
                          src("scenarios/netxfer/tftp-copy-boot.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(Net, FtpCopyWithCredentialsVerifies) {
  Result r = run_trustsim("run --quiet --var port=" + std::to_string(ftp_port) + " --var sha256=" + sha + " " +
                          src("scenarios/netxfer/ftp-copy.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST_F(Net, CopyIsByteIdenticalAcrossRuns) {
  std::string steps = copy_steps("copy " + tftp_url() + " bootflash:", "net.SPA.bin", false) +
                      expect("bytes copied in") + prompt() +
                      copy_steps("copy " + ftp_url() + " bootflash:f.bin", "f.bin", false) + expect("bytes copied in") +
                      prompt() + check_file("f.bin", sha);
  Result a = run_steps(steps);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  std::string console1 = read_text(d.file("console.txt")), trace1 = read_text(d.file("trace.jsonl"));
  Result b = run_steps(steps);
  ASSERT_EQ(b.exit_code, 0) << b.output;
  EXPECT_EQ(console1, read_text(d.file("console.txt")));
  EXPECT_EQ(trace1, read_text(d.file("trace.jsonl")));
  // One transfer event each, with every byte of the image.
  std::string size = std::to_string(read_text(image).size());
  EXPECT_NE(trace1.find("\"op\":\"tftp-get\",\"addr\":0,\"len\":" + size), std::string::npos) << trace1.substr(0, 2000);
  EXPECT_NE(trace1.find("\"op\":\"ftp-get\",\"addr\":0,\"len\":" + size), std::string::npos);
  EXPECT_NE(trace1.find("ftp://trustsim:*@127.0.0.1"), std::string::npos);  // the password is not in the trace
  EXPECT_EQ(trace1.find("secret"), std::string::npos);
  EXPECT_NE(console1.find("[OK - " + size + " bytes]"), std::string::npos);
}

// A file many times the OS's 64 KiB DMA buffer arrives whole, by both
// protocols, and the bytes/sec figure follows the link model: FTP streams,
// TFTP pays a round trip per 512-byte block.
TEST_F(Net, LargeFileArrivesWholeInManyChunks) {
  std::string big = srv + "/big.bin";
  ASSERT_EQ(sh("head -c 3000000 /dev/urandom > '" + big + "' && chmod 644 '" + big + "'").exit_code, 0);
  std::string big_sha = sha256_of(big);
  std::string steps = copy_steps("copy " + ftp_url("big.bin") + " bootflash:", "big.bin", false) +
                      expect("\\\\[OK - 3000000/4096 bytes\\\\]\\n\\n3000000 bytes copied in") + prompt() +
                      check_file("big.bin", big_sha) +
                      copy_steps("copy " + tftp_url("big.bin") + " bootflash:big2.bin", "big2.bin", false) +
                      expect("\\\\[OK - 3000000 bytes\\\\]\\n3000000 bytes copied in") + prompt() +
                      check_file("big2.bin", big_sha);
  Result r = run_steps(steps);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  std::string console = read_text(d.file("console.txt"));
  // 3000000 / 5120 = 585.9: 586 '!' on each copy.
  EXPECT_NE(console.find("..." + std::string(586, '!') + "\n"), std::string::npos);
  EXPECT_NE(console.find(": " + std::string(586, '!') + "\n"), std::string::npos);
  std::string trace = read_text(d.file("trace.jsonl"));
  EXPECT_NE(trace.find("\"op\":\"ftp-get\",\"addr\":0,\"len\":3000000"), std::string::npos);
  EXPECT_NE(trace.find("\"op\":\"tftp-get\",\"addr\":0,\"len\":3000000"), std::string::npos);
}

// Each fault on a copy over an existing file: the IOS error, and the old
// file is still there, byte for byte. A new name is not created.
TEST_F(Net, NetworkFaultsGiveIosErrorsAndKeepTheOldFile) {
  std::string put = "  - flash-put: {from: " + old_image + ", name: net.SPA.bin}\n";
  std::string t = tftp_url(), f = ftp_url();
  std::string shown_f = "ftp://127.0.0.1:" + std::to_string(ftp_port) + "/net.SPA.bin";
  std::string steps;
  steps += "  - fault: {network: {refuse: true}}\n" + copy_steps("copy " + t + " bootflash:", "net.SPA.bin", true) +
           expect("%Error opening " + re(t) + " \\\\(Connection refused\\\\)") + prompt() +
           check_file("net.SPA.bin", old_sha);
  steps += "  - fault: {network: {stall: true}}\n" + copy_steps("copy " + t + " bootflash:", "net.SPA.bin", true) +
           expect("%Error reading " + re(t) + " \\\\(Timed out\\\\)") + prompt() + check_file("net.SPA.bin", old_sha);
  steps += "  - fault: {network: {drop-after: 30000}}\n" +
           copy_steps("copy " + t + " bootflash:", "net.SPA.bin", true) +
           expect(": !!!!!\\n%Error reading " + re(t) + " \\\\(Timed out\\\\)") + prompt() +
           check_file("net.SPA.bin", old_sha);
  steps += "  - fault: {network: {drop-after: 70000}}\n" +
           copy_steps("copy " + f + " bootflash:", "net.SPA.bin", true) +
           expect("%Error reading " + re(shown_f) +
                  " \\\\(Connection closed by the server before the end of the file\\\\)") +
           prompt() + check_file("net.SPA.bin", old_sha);
  // A new name: nothing is left behind.
  steps += "  - fault: {network: {drop-after: 1000}}\n" +
           copy_steps("copy " + f + " bootflash:new.bin", "new.bin", false) + expect("%Error reading") + prompt() +
           check_absent("new.bin");
  // A flipped byte: the copy succeeds, the signature does not.
  steps += "  - fault: {network: {corrupt-byte: 5000}}\n" +
           copy_steps("copy " + t + " bootflash:bad.bin", "bad.bin", false) + expect("bytes copied in") + prompt() +
           "  - send: verify bootflash:bad.bin\n" +
           expect("%Error: digital signature verification failed for bootflash:bad.bin") + prompt();
  // The faults were one-shot: the next copy is whole.
  steps += copy_steps("copy " + t + " bootflash:", "net.SPA.bin", true) + expect("bytes copied in") + prompt() +
           check_file("net.SPA.bin", sha);
  Result r = run_steps(steps, put);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  std::string trace = read_text(d.file("trace.jsonl"));
  for (const char* s : {"\"status\":\"refused\"", "fault=stall", "fault=drop-after@30000", "\"status\":\"truncated\"",
                        "fault=corrupt-byte@5000"})
    EXPECT_NE(trace.find(s), std::string::npos) << s;
}

// Power fails while the download is being written: the next boot finds the
// old file, byte for byte, and the engine traced the transfer as cut.
TEST_F(Net, PowerCutMidDownloadKeepsTheOldFile) {
  std::string put = "  - flash-put: {from: " + old_image + ", name: net.SPA.bin}\n";
  std::string steps = copy_steps("copy " + tftp_url() + " bootflash:", "net.SPA.bin", true) +
                      "  - fault: {power-loss: {device: bootflash_nand, at: 5, mode: torn}}\n" +
                      expect("Accessing tftp://") + "  - wait-power-off\n  - power-on\n" + expect("Router>") +
                      check_file("net.SPA.bin", old_sha) + "  - send: enable\n" + prompt() +
                      "  - send: verify bootflash:net.SPA.bin\n" +
                      expect("Digital signature successfully verified in file bootflash:net.SPA.bin") + prompt();
  Result r = run_steps(steps, put);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  std::string trace = read_text(d.file("trace.jsonl"));
  EXPECT_NE(trace.find("\"op\":\"tftp-get\""), std::string::npos);
  size_t get = trace.find("\"op\":\"tftp-get\"");
  std::string line = get == std::string::npos ? "" : trace.substr(get, trace.find('\n', get) - get);
  EXPECT_NE(line.find("\"status\":\"power-lost\",\"detail\":\"tftp://"), std::string::npos)
      << "the cut transfer: " << line;
}

// The corrupted image is refused at boot too, and the board falls back.
TEST_F(Net, CorruptedDownloadFailsAtBoot) {
  std::string steps =
      "  - fault: {network: {corrupt-byte: random, seed: 7}}\n" +
      copy_steps("copy " + tftp_url() + " bootflash:", "net.SPA.bin", false) + expect("bytes copied in") + prompt() +
      "  - send: configure terminal\n  - send: no boot system\n  - send: boot system flash bootflash:net.SPA.bin\n" +
      "  - send: boot system flash bootflash:ts-isr1100-universalk9.17.03.01.SPA.bin\n" +
      "  - send: end\n  - send: write memory\n" + expect("\\\\[OK\\\\]") + "  - send: reload\n" +
      expect("Proceed with reload\\\\? \\\\[confirm\\\\]") + "  - send: \"\"\n" +
      expect("Verification FAILED for bootflash:net.SPA.bin") +
      expect("boot: attempting to boot from \\\\[bootflash:ts-isr1100-universalk9.17.03.01.SPA.bin\\\\]") +
      expect("Router>");
  Result r = run_steps(steps);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
}

TEST_F(Net, ServerErrorsGiveIosErrors) {
  std::string dead_tcp = "ftp://127.0.0.1:" + std::to_string(free_port(SOCK_STREAM)) + "/net.SPA.bin";
  std::string dead_udp = "tftp://127.0.0.1:" + std::to_string(free_port(SOCK_DGRAM)) + "/net.SPA.bin";
  std::string steps;
  auto row = [&](const std::string& url, const std::string& shown, const std::string& name, const std::string& error) {
    steps += copy_steps("copy " + url + " bootflash:" + name, name, false) +
             expect("%Error opening " + re(shown) + " \\\\(" + error + "\\\\)") + prompt() + check_absent(name);
  };
  row(tftp_url("missing.bin"), tftp_url("missing.bin"), "a.bin", "No such file or directory");
  row(ftp_url("missing.bin"), ftp_url("missing.bin", ""), "b.bin", "No such file or directory");
  row(ftp_url("net.SPA.bin", "trustsim:wrong@"), ftp_url("net.SPA.bin", ""), "c.bin", "Permission denied");
  row(dead_tcp, dead_tcp, "d.bin", "Connection refused");
  row("tftp://nosuchhost.invalid/x.bin", "tftp://nosuchhost.invalid/x.bin", "e.bin", "Unknown host");
  // The prompted form.
  steps += "  - send: \"copy tftp: bootflash:\"\n" + expect("Address or name of remote host \\\\[\\\\]\\\\? ") +
           "  - send: \"127.0.0.1:" + std::to_string(tftp_port) + "\"\n" + expect("Source filename \\\\[\\\\]\\\\? ") +
           "  - send: missing.bin\n" + expect("Destination filename \\\\[missing.bin\\\\]\\\\? ") + "  - send: \"\"\n" +
           expect("%Error opening " + re(tftp_url("missing.bin")) + " \\\\(No such file or directory\\\\)") + prompt();
  // TFTP to a port nothing serves: ICMP port unreachable or silence; either way an error, no file.
  steps += copy_steps("copy " + dead_udp + " bootflash:f.bin", "f.bin", false) +
           expect("%Error (opening|reading) " + re(dead_udp) + " \\\\((Connection refused|Timed out)\\\\)") + prompt() +
           check_absent("f.bin");
  Result r = run_steps(steps);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
}

// Bad URLs in the bad-input style: one clear error each, never a crash, the
// CLI carries on.
TEST_F(Net, BadUrlsGetAParsingErrorAndTheCliCarriesOn) {
  struct Row {
    std::string cmd, error;
  };
  std::string p = std::to_string(tftp_port);
  std::vector<Row> rows = {
      {"copy tftp://127.0.0.1:99999/x.bin bootflash:", "%Error parsing tftp://127.0.0.1:99999/ \\\\(bad port\\\\)"},
      {"copy tftp://127.0.0.1:0/x.bin bootflash:", "%Error parsing tftp://127.0.0.1:0/ \\\\(bad port\\\\)"},
      {"copy tftp://127.0.0.1:/x.bin bootflash:", "%Error parsing tftp://127.0.0.1:/ \\\\(bad port\\\\)"},
      {"copy tftp://127.0.0.1:ab/x.bin bootflash:", "%Error parsing tftp://127.0.0.1:ab/ \\\\(bad port\\\\)"},
      {"copy tftp://:69/x.bin bootflash:", "%Error parsing tftp://:69/ \\\\(missing host\\\\)"},
      {"copy tftp://127.0.0.1:" + p + " bootflash:",
       "%Error parsing tftp://127.0.0.1:" + p + "/ \\\\(missing file name\\\\)"},
      {"copy tftp://127.0.0.1/a%20b bootflash:",
       "%Error parsing tftp://127.0.0.1/a%20b \\\\(bad character in the file name\\\\)"},
      {"copy tftp://ho_st/x.bin bootflash:", "%Error parsing tftp://ho_st/ \\\\(bad character in the host name\\\\)"},
      {"copy tftp://u:p@127.0.0.1/x.bin bootflash:",
       "%Error parsing tftp://u:p@127.0.0.1/x.bin \\\\(tftp: takes no user name or password\\\\)"},
      {"copy http://u:p@127.0.0.1/x.bin bootflash:",
       "%Error parsing http://u:p@127.0.0.1/x.bin \\\\(http: takes no user name or password\\\\)"},
      {"copy tftp://127.0.0.1/x.bin tftp://127.0.0.1/y.bin",
       "%Error: tftp://127.0.0.1/x.bin is not on bootflash: \\\\(uploads come from bootflash:\\\\)"},
      {"copy tftp://127.0.0.1/x.bin nvram:x", "%Error: nvram:x is not on bootflash:"},
      {"copy tftp:/x.bin bootflash:", "% Invalid input detected at '\\\\^' marker\\\\."},
  };
  std::string steps;
  for (const Row& r : rows) steps += "  - send: \"" + r.cmd + "\"\n" + expect(r.error) + prompt();
  // The prompted form with nothing typed.
  steps += "  - send: \"copy tftp: bootflash:\"\n" + expect("Address or name of remote host \\\\[\\\\]\\\\? ") +
           "  - send: \"\"\n" + expect("Source filename \\\\[\\\\]\\\\? ") + "  - send: \"\"\n" +
           expect("%Error parsing tftp: \\\\(missing host\\\\)") + prompt();
  // Nothing was written: the factory image is still the only file.
  steps += "  - send: dir\n" +
           expect("Directory of bootflash:/\\n\\n[^\\n]*ts-isr1100-universalk9[^\\n]*\\n\\n[0-9]+ bytes total") +
           prompt();
  Result r = run_steps(steps);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
}

// file prompt on downloads: noisy also asks for the remote host and file
// (the URL's as the defaults), quiet asks nothing and replaces an existing
// file after the warning (docs/os-image.md, "file prompt").
TEST_F(Net, FilePromptGovernsTheDownloadDialog) {
  std::string hostport = "127.0.0.1:" + std::to_string(tftp_port);
  auto config = [&](const std::string& line) { return "  - send: \"" + line + "\"\n"; };
  std::string steps = config("configure terminal") + config("file prompt noisy") + config("end") + prompt() +
                      config("copy " + tftp_url() + " bootflash:n.bin") +
                      expect("Address or name of remote host \\\\[" + re(hostport) + "\\\\]\\\\? ") + config("") +
                      expect("Source filename \\\\[net\\\\.SPA\\\\.bin\\\\]\\\\? ") + config("") +
                      expect("Destination filename \\\\[n\\\\.bin\\\\]\\\\? ") + config("") +
                      expect("bytes copied in") + prompt() + check_file("n.bin", sha) + config("configure terminal") +
                      config("file prompt quiet") + config("end") + prompt() +
                      config("copy " + tftp_url() + " bootflash:n.bin") +
                      expect(
                          "bootflash:n\\\\.bin\\r?\\n%Warning: There is a file already existing with this "
                          "name\\r?\\nAccessing tftp://") +
                      expect("bytes copied in") + prompt() + check_file("n.bin", sha);
  Result r = run_steps(steps);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
}

// The FTP login follows the guide's order, proved from what the server
// received (tests/support/ftp_login_log.py records every USER/PASS pair):
// user from the URL, else ip ftp username, else anonymous; password from
// the URL, else ip ftp password, else USER@HOSTNAME[.DOMAIN].
TEST_F(Net, FtpLoginFollowsTheGuidesOrder) {
  int port = free_port(SOCK_STREAM);
  std::string log = d.file("logins.txt");
  pid_t ftpd = spawn_logged({"/usr/bin/python3", src("tests/support/ftp_login_log.py"), std::to_string(port), srv, log},
                            d.file("ftp-login-log.log"));
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = ftp_logs_in(port, "probe", "probe");
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(up) << read_text(d.file("ftp-login-log.log"));
  std::string host = "127.0.0.1:" + std::to_string(port) + "/net.SPA.bin";
  std::string r1 = expect("\\n(R1#)");
  auto copy = [&](const std::string& cred, const std::string& name) {
    return copy_steps("copy ftp://" + cred + host + " bootflash:" + name, name, false) + expect("bytes copied in") + r1;
  };
  auto config = [&](const std::string& line) { return "  - send: \"" + line + "\"\n"; };
  auto upload = [&](const std::string& cred) {
    return config("copy bootflash:g.bin ftp://" + cred + "127.0.0.1:" + std::to_string(port) + "/up.bin") +
           expect("Destination filename \\\\[up\\\\.bin\\\\]\\\\? ") + config("") + expect("\\\\[yes/no\\\\] ") +
           config("yes") + expect("%Error writing [^\\n]* \\\\(Permission denied\\\\)") + r1;
  };
  std::string steps =
      config("configure terminal") + config("hostname R1") + config("ip domain name example.net") + config("end") + r1 +
      copy("", "a.bin") +          // anonymous / anonymous@R1.example.net
      copy("bob@", "b.bin") +      // bob / bob@R1.example.net
      copy("bob:pw1@", "c.bin") +  // bob / pw1
      config("configure terminal") + config("ip ftp password pw2") + config("end") + r1 +
      copy("", "d.bin") +       // anonymous / pw2 (a password alone is used)
      copy("dave@", "e.bin") +  // dave / pw2
      config("configure terminal") + config("ip ftp username carol") + config("end") + r1 +
      copy("", "f.bin") +  // carol / pw2
      // Saved like the other lines, and shown in the running configuration.
      config("write memory") + expect("\\\\[OK\\\\]") + r1 + config("show startup-config") +
      expect("\\nip domain name example\\\\.net\\nip ftp username carol\\nip ftp password pw2\\n") + r1 +
      config("configure terminal") + config("no ip ftp password") + config("no ip domain name") + config("end") + r1 +
      config("show running-config") + expect("\\nip ftp username carol\\n!\\n") + r1 +
      copy("", "g.bin") +  // carol / carol@R1 (no domain: no dot)
      // Uploads log in by the same rules (this server is read-only, so the
      // STOR is refused after the login it recorded).
      upload("ed@") +  // ed / ed@R1
      upload("") +     // carol / carol@R1
      config("configure terminal") + config("ip domain name bad..name") +
      expect("%Error: the domain name may hold letters, digits, - and single dots between labels only") +
      config("end") + r1;
  Result r = run_steps(steps);
  stop_group(ftpd);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  std::string logins = read_text(log);
  EXPECT_EQ(logins,
            "probe probe\n"
            "anonymous anonymous@R1.example.net\n"
            "bob bob@R1.example.net\n"
            "bob pw1\n"
            "anonymous pw2\n"
            "dave pw2\n"
            "carol pw2\n"
            "carol carol@R1\n"
            "ed ed@R1\n"
            "carol carol@R1\n");
}

// Uploads (docs/netxfer.md, "Uploads"): the guide's dialog, and the file the
// servers stored is the bootflash: file byte for byte, by both protocols and
// in the prompted form.
class Upload : public Net {
 protected:
  void SetUp() override {
    Net::SetUp();
    make_up_dir();
  }
};

std::string upload_steps(const std::string& cmd, const std::string& path, const std::string& answer = "yes") {
  return "  - send: \"" + cmd + "\"\n" + expect("Destination filename \\\\[" + re(path) + "\\\\]\\\\? ") +
         "  - send: \"\"\n" +
         expect("Verifying checksum for 'old\\\\.bin' \\\\(file # [0-9]+\\\\)\\\\.\\\\.\\\\. OK\\n") +
         expect("Copy 'old\\\\.bin' from Flash to server\\n  as '" + re(path) + "'\\\\? \\\\[yes/no\\\\] ") +
         "  - send: \"" + answer + "\"\n";
}

TEST_F(Upload, TftpAndFtpUploadsArriveWhole) {
  std::string size = std::to_string(read_text(old_image).size());
  std::string done = expect("\\n(Upload to server done\\n" + size + " bytes copied in [0-9.]+ secs)") + prompt();
  std::string steps =
      upload_steps("copy bootflash:old.bin " + tftp_url("up/t.bin"), "up/t.bin") + expect("writing up/t\\\\.bin !+") +
      done + upload_steps("copy bootflash:old.bin " + ftp_url("up/f.bin"), "up/f.bin") + done +
      // The prompted form, the FTP login from the configuration.
      "  - send: configure terminal\n  - send: ip ftp username trustsim\n  - send: ip ftp password secret\n" +
      "  - send: end\n" + prompt() + "  - send: \"copy bootflash:old.bin ftp:\"\n" +
      expect("Address or name of remote host \\\\[\\\\]\\\\? ") + "  - send: \"127.0.0.1:" + std::to_string(ftp_port) +
      "\"\n" + expect("Destination filename \\\\[old\\\\.bin\\\\]\\\\? ") + "  - send: up/p.bin\n" +
      expect("Copy 'old\\\\.bin' from Flash to server\\n  as 'up/p\\\\.bin'\\\\? \\\\[yes/no\\\\] ") +
      "  - send: \"yes\"\n" + done +
      // "no" sends nothing.
      upload_steps("copy bootflash:old.bin " + tftp_url("up/no.bin"), "up/no.bin", "no") + expect("%Upload cancelled") +
      prompt() + check_file("old.bin", old_sha);
  Result r = run_steps(steps, put_old());
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  for (const char* f : {"/t.bin", "/f.bin", "/p.bin"}) EXPECT_EQ(sha256_of(up + f), old_sha) << f;
  EXPECT_EQ(access((up + "/no.bin").c_str(), F_OK), -1);
  std::string trace = read_text(d.file("trace.jsonl"));
  EXPECT_NE(trace.find("\"op\":\"tftp-put\",\"addr\":0,\"len\":" + size), std::string::npos) << trace.substr(0, 3000);
  EXPECT_NE(trace.find("\"op\":\"ftp-put\",\"addr\":0,\"len\":" + size), std::string::npos);
  EXPECT_EQ(trace.find("secret"), std::string::npos);
}

// file prompt quiet asks nothing; noisy also asks the source and the host.
TEST_F(Upload, FilePromptGovernsTheUploadDialog) {
  auto line = [](const std::string& l) { return "  - send: \"" + l + "\"\n"; };
  std::string hostport = "127.0.0.1:" + std::to_string(tftp_port);
  std::string steps =
      line("configure terminal") + line("file prompt quiet") + line("end") + prompt() +
      line("copy bootflash:old.bin " + tftp_url("up/q.bin")) +
      expect("tftp[^\\n]*\\nVerifying checksum for 'old\\\\.bin' [^\\n]*OK\\nwriting up/q\\\\.bin !+\\n") +
      expect("Upload to server done") + prompt() + line("configure terminal") + line("file prompt noisy") +
      line("end") + prompt() + line("copy bootflash:old.bin " + tftp_url("up/n.bin")) +
      expect("Source filename \\\\[old\\\\.bin\\\\]\\\\? ") + line("") +
      expect("Address or name of remote host \\\\[" + re(hostport) + "\\\\]\\\\? ") + line("") +
      expect("Destination filename \\\\[up/n\\\\.bin\\\\]\\\\? ") + line("") + expect("\\\\[yes/no\\\\] ") +
      line("yes") + expect("Upload to server done") + prompt();
  Result r = run_steps(steps, put_old());
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  EXPECT_EQ(sha256_of(up + "/q.bin"), old_sha);
  EXPECT_EQ(sha256_of(up + "/n.bin"), old_sha);
}

// Every failure: the IOS error, the CLI carries on, bootflash: untouched.
TEST_F(Upload, FailuresGiveIosErrorsAndLoseNothing) {
  std::string dead_tcp = "ftp://127.0.0.1:" + std::to_string(free_port(SOCK_STREAM)) + "/up/x.bin";
  std::string shown_f = "ftp://127.0.0.1:" + std::to_string(ftp_port) + "/up/d.bin";
  std::string steps;
  auto row = [&](const std::string& url, const std::string& path, const std::string& error) {
    steps +=
        upload_steps("copy bootflash:old.bin " + url, path) + expect(error) + prompt() + check_file("old.bin", old_sha);
  };
  row("tftp://nosuchhost.invalid/up/x.bin", "up/x.bin",
      "\\n%Error opening tftp://nosuchhost\\\\.invalid/up/x\\\\.bin \\\\(Unknown host\\\\)");
  row(dead_tcp, "up/x.bin", "\\n%Error writing " + re(dead_tcp) + " \\\\(Connection refused\\\\)");
  row(ftp_url("up/x.bin", "trustsim:wrong@"), "up/x.bin", "%Error writing [^\\n]* \\\\(Permission denied\\\\)");
  // The server cannot store it there (no such directory: CWD answers 550).
  row(ftp_url("nodir/x.bin"), "nodir/x.bin", "%Error writing [^\\n]* \\\\(Permission denied\\\\)");
  steps += "  - fault: {network: {refuse: true}}\n";
  row(tftp_url("up/r.bin"), "up/r.bin", "%Error opening " + re(tftp_url("up/r.bin")) + " \\\\(Connection refused\\\\)");
  steps += "  - fault: {network: {drop-after: 30000}}\n";
  row(ftp_url("up/d.bin"), "up/d.bin",
      "!!!!!\\n%Error writing " + re(shown_f) +
          " \\\\(Connection closed by the server before the end of the file\\\\)");
  steps += "  - fault: {network: {stall: true}}\n";
  row(tftp_url("up/s.bin"), "up/s.bin", "%Error writing " + re(tftp_url("up/s.bin")) + " \\\\(Timed out\\\\)");
  // A missing source file: nothing is sent.
  steps += "  - send: \"copy bootflash:nope.bin " + tftp_url("up/n.bin") + "\"\n" +
           expect("Destination filename \\\\[up/n\\\\.bin\\\\]\\\\? ") + "  - send: \"\"\n" +
           expect("%Error opening bootflash:/nope\\\\.bin \\\\(No such file or directory\\\\)") + prompt();
  steps += "  - send: \"copy nvram:x " + tftp_url("up/n.bin") + "\"\n" +
           expect("%Error: nvram:x is not on bootflash: \\\\(uploads come from bootflash:\\\\)") + prompt();
  // The faults were one-shot: the next upload arrives whole.
  steps += upload_steps("copy bootflash:old.bin " + tftp_url("up/ok.bin"), "up/ok.bin") +
           expect("Upload to server done") + prompt();
  Result r = run_steps(steps, put_old());
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  EXPECT_EQ(sha256_of(up + "/ok.bin"), old_sha);
  for (const char* f : {"/r.bin", "/s.bin", "/n.bin", "/x.bin", "/../x.bin"})
    EXPECT_EQ(access((up + f).c_str(), F_OK), -1) << f;
  // The dropped connection left the first 30000 bytes at most.
  struct stat st {};
  if (stat((up + "/d.bin").c_str(), &st) == 0) {
    EXPECT_LE(st.st_size, 30000);
  }
  std::string trace = read_text(d.file("trace.jsonl"));
  for (const char* s : {"fault=drop-after@30000", "fault=stall", "fault=refuse", "\"status\":\"unknown-host\""})
    EXPECT_NE(trace.find(s), std::string::npos) << s;
}

}  // namespace

// Ctrl-C while a server that never answers holds the download: libcurl
// gives up at once, and the run fails as interrupted instead of going on
// with the error the firmware printed (which a scenario may well accept).
TEST(NetInterrupt, CtrlCDuringASlowFetchFailsTheRun) {
  TempDir d;
  int sink = socket(AF_INET, SOCK_DGRAM, 0);  // a UDP port that takes the TFTP request and never answers
  ASSERT_GE(sink, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(sink, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(sink, reinterpret_cast<sockaddr*>(&a), &len), 0);
  std::string f = write_text(d.file("slow.yaml"),
                             "name: slow-fetch\ntimeout: 60 s\nsteps:\n  - power-on\n  - expect: \"Router>\"\n"
                             "  - send: enable\n  - expect: \"Router#\"\n"
                             "  - send: copy tftp://127.0.0.1:" +
                                 std::to_string(ntohs(a.sin_port)) +
                                 "/x.bin bootflash:x.bin\n  - expect: \"Destination filename\"\n  - send: \"\"\n"
                                 "  - expect: \"Router#\"\n");
  // The boot takes about a second of wall time; the fetch then waits for
  // libcurl's 10 s timeout, which the interrupt must cut short.
  Result r = sh("(" + std::string(TRUSTSIM_EXE) + " run --quiet " + f +
                " & p=$!; sleep 4; kill -INT $p; wait $p; echo rc=$?)");
  close(sink);
  EXPECT_NE(r.output.find("rc=1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("interrupted by Interrupt"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("PASS"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Timed out"), std::string::npos) << "the fetch ran to libcurl's timeout:\n" << r.output;
}

namespace {

// HTTP and HTTPS downloads (docs/netxfer.md, "HTTP and HTTPS"): the server's
// certificate is checked against exactly the trustpoints' CA certificates,
// which the OS keeps in its configuration.
class Https : public Net {
 protected:
  std::unique_ptr<WebServers> web;
  void SetUp() override {
    Net::SetUp();
    web = std::make_unique<WebServers>(srv, d.file("pki"));
    ASSERT_TRUE(web->ready) << web->why;
  }
  void TearDown() override {
    web.reset();
    Net::TearDown();
  }
  std::string https_url(int port, const std::string& path = "net.SPA.bin") const {
    return "https://127.0.0.1:" + std::to_string(port) + "/" + path;
  }
  // Configures trustpoint NAME and pastes the trusted CA's certificate.
  std::string authenticate(const std::string& name) const {
    std::string s = "  - send: configure terminal\n  - send: crypto pki trustpoint " + name + "\n" +
                    expect("Router\\\\(ca-trustpoint\\\\)#") +
                    "  - send: enrollment terminal\n  - send: revocation-check none\n  - send: exit\n" +
                    expect("Router\\\\(config\\\\)#") + "  - send: crypto ca authenticate " + name + "\n" +
                    expect("Paste the CA certificate");
    std::string pem = web->ca_pem();
    for (size_t p = 0, e; p < pem.size(); p = e + 1) {
      e = pem.find('\n', p);
      if (e == std::string::npos) e = pem.size();
      s += "  - send: \"" + pem.substr(p, e - p) + "\"\n";
    }
    return s + "  - send: \"\"\n" + expect("Fingerprint SHA512:") +
           expect("% Do you accept this certificate\\\\? \\\\[yes/no\\\\]: ") + "  - send: \"yes\"\n" +
           expect("% Certificate successfully imported") + "  - send: end\n" + prompt();
  }
};

TEST_F(Https, TrustedServerDownloadsAndTheTrustpointIsSaved) {
  std::string size = std::to_string(read_text(image).size());
  std::string steps =
      authenticate("T1") + copy_steps("copy " + https_url(web->good_port) + " bootflash:h.bin", "h.bin", false) +
      expect("Accessing " + re(https_url(web->good_port)) + "\\\\.\\\\.\\\\.!+\\n\\\\[OK - " + size +
             "/4096 bytes\\\\]") +
      prompt() + check_file("h.bin", sha) +
      copy_steps("copy http://127.0.0.1:" + std::to_string(web->http_port) + "/net.SPA.bin bootflash:p.bin", "p.bin",
                 false) +
      expect("bytes copied in") + prompt() + check_file("p.bin", sha) +
      // Saved in the configuration, and trusted again after a power cycle.
      "  - send: write memory\n" + prompt() + "  - send: show running-config\n" +
      expect("crypto pki trustpoint T1\\n enrollment terminal\\n revocation-check none\\n") +
      expect("crypto pki certificate ca T1 [A-Za-z0-9+/=]{64}\\n") + prompt() +
      "  - power-cycle\n  - expect: \"Router>\"\n  - send: enable\n" + prompt() +
      copy_steps("copy " + https_url(web->good_port) + " bootflash:h2.bin", "h2.bin", false) +
      expect("bytes copied in") + prompt() + check_file("h2.bin", sha);
  Result r = run_steps(steps);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  std::string trace = read_text(d.file("trace.jsonl"));
  EXPECT_NE(trace.find("\"op\":\"https-get\",\"addr\":0,\"len\":" + size), std::string::npos) << trace.substr(0, 2000);
  EXPECT_NE(trace.find("\"op\":\"http-get\",\"addr\":0,\"len\":" + size), std::string::npos);
}

TEST_F(Https, UntrustedExpiredAndUnparseableCertificatesAreRefused) {
  auto refused = [&](int port, const std::string& name, const std::string& why) {
    return copy_steps("copy " + https_url(port) + " bootflash:" + name, name, false) + "  - expect: \"%Error opening " +
           re(https_url(port)) + " \\\\(" + why + "\\\\)\"\n" + prompt() + check_absent(name);
  };
  std::string steps =
      // No trustpoint yet: nothing is trusted.
      refused(web->good_port, "a.bin", "the server's certificate is not signed by a trusted CA") + authenticate("T1") +
      refused(web->untrusted_port, "u.bin", "the server's certificate is not signed by a trusted CA") +
      refused(web->expired_port, "e.bin", "the server's certificate has expired") +
      copy_steps("copy " + https_url(web->good_port, "nosuch.bin") + " bootflash:", "nosuch.bin", false) +
      expect("%Error opening [^\\n]* \\\\(No such file or directory: HTTP 404 Not Found\\\\)") + prompt() +
      // A paste that is not a certificate changes nothing.
      "  - send: configure terminal\n  - send: crypto pki trustpoint T2\n  - send: enrollment terminal\n" +
      "  - send: exit\n  - send: crypto ca authenticate T2\n  - send: \"not*base64\"\n  - send: \"\"\n" +
      expect("% The certificate does not parse \\\\(not base 64\\\\); trustpoint T2 unchanged") +
      // The saved form holding a DER SEQUENCE that is no certificate: the engine cannot use it.
      "  - send: no crypto pki trustpoint T1\n  - send: crypto pki certificate ca T2 MAMCAQE=\n  - send: end\n" +
      prompt() + refused(web->good_port, "c.bin", "a trustpoint's CA certificate does not parse");
  Result r = run_steps(steps);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  std::string trace = read_text(d.file("trace.jsonl"));
  for (const char* s : {"\"status\":\"untrusted\"", "\"status\":\"cert-expired\"", "\"status\":\"ca-invalid\""})
    EXPECT_NE(trace.find(s), std::string::npos) << s;
}

// Network faults on an HTTPS download, as on FTP: the IOS error, the old
// file kept; a flipped byte gets through TLS (the fault is the engine's) and
// fails the signature.
TEST_F(Https, NetworkFaultsOnHttpsKeepTheOldFile) {
  std::string put = "  - flash-put: {from: " + old_image + ", name: net.SPA.bin}\n";
  std::string u = https_url(web->good_port);
  auto faulty = [&](const std::string& fault, const std::string& error) {
    return "  - fault: {network: {" + fault + "}}\n" + copy_steps("copy " + u + " bootflash:", "net.SPA.bin", true) +
           expect(error) + prompt() + check_file("net.SPA.bin", old_sha);
  };
  std::string steps = authenticate("T1") +
                      faulty("refuse: true", "%Error opening " + re(u) + " \\\\(Connection refused\\\\)") +
                      faulty("stall: true", "%Error reading " + re(u) + " \\\\(Timed out\\\\)") +
                      faulty("drop-after: 70000", "!!!!!\\n%Error reading " + re(u) +
                                                      " \\\\(Connection closed by the server before the end of "
                                                      "the file\\\\)") +
                      "  - fault: {network: {corrupt-byte: 5000}}\n" +
                      copy_steps("copy " + u + " bootflash:bad.bin", "bad.bin", false) + expect("bytes copied in") +
                      prompt() + "  - send: verify bootflash:bad.bin\n" +
                      expect("%Error: digital signature verification failed for bootflash:bad.bin") + prompt() +
                      copy_steps("copy " + u + " bootflash:", "net.SPA.bin", true) + expect("bytes copied in") +
                      prompt() + check_file("net.SPA.bin", sha);
  Result r = run_steps(steps, put);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  std::string trace = read_text(d.file("trace.jsonl"));
  for (const char* s : {"fault=refuse", "fault=stall", "fault=drop-after@70000", "fault=corrupt-byte@5000"})
    EXPECT_NE(trace.find(s), std::string::npos) << s;
}

// Uploads by HTTP and HTTPS PUT (docs/netxfer.md, "Uploads"): the same
// dialog as TFTP and FTP, the server (tests/support/net_servers.h) really
// stores the body, and the file it stored is the bootflash: file byte for
// byte; an HTTPS server is checked against the trustpoints as for a
// download.
class HttpUpload : public Https {
 protected:
  void SetUp() override {
    Https::SetUp();
    make_up_dir();
  }
  std::string http_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(web->http_port) + "/" + path;
  }
};

TEST_F(HttpUpload, HttpAndHttpsUploadsArriveWhole) {
  std::string size = std::to_string(read_text(old_image).size());
  std::string done = expect("\\n(Upload to server done\\n" + size + " bytes copied in [0-9.]+ secs)") + prompt();
  std::string steps = authenticate("T1") + upload_steps("copy bootflash:old.bin " + http_url("up/h.bin"), "up/h.bin") +
                      expect("writing up/h\\\\.bin !+") + done +
                      upload_steps("copy bootflash:old.bin " + https_url(web->good_port, "up/s.bin"), "up/s.bin") +
                      expect("writing up/s\\\\.bin !+") + done +
                      // The prompted form.
                      "  - send: \"copy bootflash:old.bin https:\"\n" +
                      expect("Address or name of remote host \\\\[\\\\]\\\\? ") +
                      "  - send: \"127.0.0.1:" + std::to_string(web->good_port) + "\"\n" +
                      expect("Destination filename \\\\[old\\\\.bin\\\\]\\\\? ") + "  - send: up/p.bin\n" +
                      expect("\\\\[yes/no\\\\] ") + "  - send: \"yes\"\n" + done + check_file("old.bin", old_sha);
  Result r = run_steps(steps, put_old());
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  for (const char* f : {"/h.bin", "/s.bin", "/p.bin"}) EXPECT_EQ(sha256_of(up + f), old_sha) << f;
  std::string trace = read_text(d.file("trace.jsonl"));
  EXPECT_NE(trace.find("\"op\":\"http-put\",\"addr\":0,\"len\":" + size), std::string::npos) << trace.substr(0, 3000);
  EXPECT_NE(trace.find("\"op\":\"https-put\",\"addr\":0,\"len\":" + size), std::string::npos);
}

// scenarios/upgrade/upload.yaml against the three servers: each received
// the bootflash: file byte for byte, the refused and denied uploads stored
// nothing, and the dropped one at most its first 30000 bytes.
TEST_F(HttpUpload, UploadScenarioDeliversTheSameBytes) {
  std::string b64 = web->ca_base64();
  ASSERT_GT(b64.size(), 100u);
  Result r = run_trustsim(
      "run --quiet --console-log " + d.file("console.txt") + " --var tftp=" + std::to_string(tftp_port) +
      " --var ftp=" + std::to_string(ftp_port) + " --var https=" + std::to_string(web->good_port) +
      " --var ca1=" + b64.substr(0, b64.size() / 2) + " --var ca2=" + b64.substr(b64.size() / 2) +
      " --var file=" + old_image + " --var sha256=" + old_sha + " " + src("scenarios/upgrade/upload.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  for (const char* f : {"/t.bin", "/f.bin", "/p.bin", "/s.bin", "/q.bin"}) EXPECT_EQ(sha256_of(up + f), old_sha) << f;
  for (const char* f : {"/denied.bin", "/refused.bin", "/refused.bin.part"})
    EXPECT_EQ(access((up + f).c_str(), F_OK), -1) << f;
  struct stat st {};
  if (stat((up + "/dropped.bin").c_str(), &st) == 0) {
    EXPECT_LE(st.st_size, 30000);
  }
}

// Every network fault on every protocol, both ways (docs/netxfer.md,
// "Faults"): refuse, stall, drop-after and corrupt-byte on TFTP, FTP, HTTP
// and HTTPS downloads and uploads, one row each. A download over an
// existing file that fails keeps the old file; a corrupted one arrives and
// fails verify. An upload that fails leaves at most the first bytes of a
// dropped connection on the server; a corrupted one arrives differing from
// the bootflash: file in exactly the chosen byte. bootflash: is untouched
// by every upload, the trace names each fault on its protocol, and a second
// run gives the same console and trace.
TEST_F(HttpUpload, EveryFaultOnEveryProtocolBothWays) {
  struct Proto {
    std::string name;
    std::function<std::string(const std::string&)> url, shown;
  };
  std::string fp = "ftp://127.0.0.1:" + std::to_string(ftp_port) + "/";
  std::vector<Proto> protos = {
      {"tftp", [&](const std::string& p) { return tftp_url(p); }, [&](const std::string& p) { return tftp_url(p); }},
      {"ftp", [&](const std::string& p) { return ftp_url(p); }, [&](const std::string& p) { return fp + p; }},
      {"http", [&](const std::string& p) { return http_url(p); }, [&](const std::string& p) { return http_url(p); }},
      {"https", [&](const std::string& p) { return https_url(web->good_port, p); },
       [&](const std::string& p) { return https_url(web->good_port, p); }},
  };
  const std::string closed = "Connection closed by the server before the end of the file";
  struct Fault {
    std::string yaml, traced;
  };
  const std::vector<Fault> faults = {{"refuse: true", "fault=refuse"},
                                     {"stall: true", "fault=stall"},
                                     {"drop-after: 30000", "fault=drop-after@30000"},
                                     {"corrupt-byte: 5000", "fault=corrupt-byte@5000"}};
  std::string steps = authenticate("T1");
  for (const Proto& p : protos) {
    std::string url = p.url("net.SPA.bin"), shown = re(p.shown("net.SPA.bin"));
    std::string dropped = p.name == "tftp" ? "Timed out" : closed;
    const std::string errors[] = {"%Error opening " + shown + " \\\\(Connection refused\\\\)",
                                  "%Error reading " + shown + " \\\\(Timed out\\\\)",
                                  "!!!!!\\n%Error reading " + shown + " \\\\(" + dropped + "\\\\)"};
    for (size_t f = 0; f < 3; ++f)
      steps += "  # download, " + p.name + ", " + faults[f].yaml + "\n  - fault: {network: {" + faults[f].yaml +
               "}}\n" + copy_steps("copy " + url + " bootflash:", "net.SPA.bin", true) + expect(errors[f]) + prompt() +
               check_file("net.SPA.bin", old_sha);
    std::string bad = "bad-" + p.name + ".bin";
    steps += "  # download, " + p.name + ", corrupt-byte\n  - fault: {network: {" + faults[3].yaml + "}}\n" +
             copy_steps("copy " + url + " bootflash:" + bad, bad, false) + expect("bytes copied in") + prompt() +
             "  - send: verify bootflash:" + bad + "\n" +
             expect("%Error: digital signature verification failed for bootflash:" + re(bad)) + prompt();
    for (size_t f = 0; f < 4; ++f) {
      std::string path = "up/" + p.name + "-" + std::to_string(f) + ".bin";
      std::string sh_up = re(p.shown(path));
      const std::string outcome[] = {"\\n%Error opening " + sh_up + " \\\\(Connection refused\\\\)",
                                     "\\n%Error writing " + sh_up + " \\\\(Timed out\\\\)",
                                     "!!!!!\\n%Error writing " + sh_up + " \\\\(" + dropped + "\\\\)",
                                     "\\nUpload to server done\\n"};
      steps += "  # upload, " + p.name + ", " + faults[f].yaml + "\n  - fault: {network: {" + faults[f].yaml + "}}\n" +
               upload_steps("copy bootflash:old.bin " + p.url(path), path) + expect(outcome[f]) + prompt() +
               check_file("old.bin", old_sha);
    }
  }
  // A fault is used up by its transfer: the next download is whole.
  steps += copy_steps("copy " + tftp_url() + " bootflash:", "net.SPA.bin", true) + expect("bytes copied in") +
           prompt() + check_file("net.SPA.bin", sha);
  // Stalls and TFTP drops each wait the 10 s TIMEOUT of board time.
  write_text(d.file("faults.yaml"),
             "name: every-fault\nboard: default\ntimeout: 600 s\nsteps:\n" + put_old() +
                 "  - flash-put: {from: " + old_image + ", name: net.SPA.bin}\n" +
                 "  - power-on\n  - expect: \"Router>\"\n  - send: enable\n  - expect: \"Router#\"\n" + steps);
  auto run = [&] {
    return run_trustsim("run --quiet --console-log " + d.file("console.txt") + " --trace " + d.file("trace.jsonl") +
                        " " + d.file("faults.yaml"));
  };
  Result r = run();
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  // Faults are deterministic too: a second run, against emptied servers,
  // gives the same console and trace byte for byte.
  std::string console1 = read_text(d.file("console.txt")), trace1 = read_text(d.file("trace.jsonl"));
  ASSERT_EQ(sh("rm -f '" + up + "'/*").exit_code, 0);
  r = run();
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  EXPECT_EQ(console1, read_text(d.file("console.txt")));
  EXPECT_EQ(trace1, read_text(d.file("trace.jsonl")));
  std::string sent = read_text(old_image);
  for (const Proto& p : protos) {
    std::string base = up + "/" + p.name + "-";
    for (int f : {0, 1}) EXPECT_EQ(access((base + std::to_string(f) + ".bin").c_str(), F_OK), -1) << p.name << f;
    struct stat st {};
    if (stat((base + "2.bin").c_str(), &st) == 0) EXPECT_LE(st.st_size, 30000) << p.name << " dropped upload";
    std::string got = read_text(base + "3.bin");
    ASSERT_EQ(got.size(), sent.size()) << p.name << " corrupted upload";
    size_t differ = 0;
    for (size_t i = 0; i < got.size(); ++i)
      if (got[i] != sent[i]) {
        ++differ;
        EXPECT_EQ(i, 5000u) << p.name;
        EXPECT_EQ(uint8_t(got[i] ^ sent[i]), 0xFFu) << p.name;
      }
    EXPECT_EQ(differ, 1u) << p.name;
  }
  // Each fault is traced on its own protocol and direction.
  std::string trace = read_text(d.file("trace.jsonl"));
  for (const Proto& p : protos)
    for (const char* dir : {"-get", "-put"})
      for (const Fault& f : faults) {
        bool found = false;
        for (size_t at = 0; !found && at < trace.size();) {
          size_t end = trace.find('\n', at);
          if (end == std::string::npos) end = trace.size();
          std::string line = trace.substr(at, end - at);
          found = line.find("\"op\":\"" + p.name + dir + "\"") != std::string::npos &&
                  line.find(f.traced) != std::string::npos;
          at = end + 1;
        }
        EXPECT_TRUE(found) << p.name << dir << " " << f.traced;
      }
}

// A server that refuses names its status; an untrusted, expired or missing
// certificate and a dropped connection give the download's words; the
// server stores nothing and bootflash: is untouched.
TEST_F(HttpUpload, FailuresNameTheStatusAndLoseNothing) {
  std::string steps;
  auto row = [&](const std::string& url, const std::string& path, const std::string& error) {
    steps +=
        upload_steps("copy bootflash:old.bin " + url, path) + expect(error) + prompt() + check_file("old.bin", old_sha);
  };
  std::string g = https_url(web->good_port, "up/a.bin");
  row(g, "up/a.bin",
      "\\n%Error opening " + re(g) + " \\\\(the server's certificate is not signed by a trusted CA\\\\)");
  steps += authenticate("T1");
  std::string u = https_url(web->untrusted_port, "up/u.bin"), e = https_url(web->expired_port, "up/e.bin");
  row(u, "up/u.bin",
      "!\\n%Error writing " + re(u) + " \\\\(the server's certificate is not signed by a trusted CA\\\\)");
  row(e, "up/e.bin", "!\\n%Error writing " + re(e) + " \\\\(the server's certificate has expired\\\\)");
  for (const char* code : {"403", "405", "500"}) {
    std::string path = std::string("status-") + code + "/x.bin";
    std::string why = std::string(code) == "403"   ? "Permission denied: HTTP 403 Forbidden"
                      : std::string(code) == "405" ? "I/O error: HTTP 405 Method Not Allowed"
                                                   : "I/O error: HTTP 500 Internal Server Error";
    row(http_url(path), path, "%Error writing " + re(http_url(path)) + " \\\\(" + why + "\\\\)");
  }
  std::string s403 = https_url(web->good_port, "status-403/x.bin");
  row(s403, "status-403/x.bin", "%Error writing " + re(s403) + " \\\\(Permission denied: HTTP 403 Forbidden\\\\)");
  std::string nodir = http_url("nodir/x.bin");
  row(nodir, "nodir/x.bin", "%Error writing " + re(nodir) + " \\\\(Permission denied: HTTP 403 Forbidden\\\\)");
  steps += "  - fault: {network: {drop-after: 30000}}\n";
  std::string dr = https_url(web->good_port, "up/d.bin");
  row(dr, "up/d.bin",
      "!!!!!\\n%Error writing " + re(dr) + " \\\\(Connection closed by the server before the end of the file\\\\)");
  steps += "  - fault: {network: {refuse: true}}\n";
  std::string rf = http_url("up/r.bin");
  row(rf, "up/r.bin", "%Error opening " + re(rf) + " \\\\(Connection refused\\\\)");
  // The faults were one-shot: the next upload arrives whole.
  steps += upload_steps("copy bootflash:old.bin " + https_url(web->good_port, "up/ok.bin"), "up/ok.bin") +
           expect("Upload to server done") + prompt();
  Result r = run_steps(steps, put_old());
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  EXPECT_EQ(sha256_of(up + "/ok.bin"), old_sha);
  for (const char* f : {"/a.bin", "/u.bin", "/e.bin", "/d.bin", "/r.bin", "/d.bin.part"})
    EXPECT_EQ(access((up + f).c_str(), F_OK), -1) << f;
  std::string trace = read_text(d.file("trace.jsonl"));
  for (const char* t : {"\"op\":\"https-put\"", "\"status\":\"untrusted\"", "\"status\":\"cert-expired\"", "http=405",
                        "http=500", "fault=drop-after@30000", "fault=refuse"})
    EXPECT_NE(trace.find(t), std::string::npos) << t;
}

// Bad input of every kind the issue names (malformed URL, unknown host,
// wrong credentials, a server gone mid-transfer, a full disk, a
// certificate that does not parse, a time that does not exist) on each
// command that takes it -- copy both ways, the AUM, reload at/in, crypto
// ca authenticate -- where the other tests do not cover it yet: the exact
// IOS-style error, the CLI carries on, and nothing is lost. "Nothing is
// lost" is checked against a twin of the board that ran no bad input: the
// NVRAM image is byte for byte the twin's, and bootflash: holds the same
// files with the same digests.
TEST_F(Https, BadInputOfEveryKindLosesNothing) {
  std::string board = d.file("board"), twin = d.file("twin");
  std::string big = srv + "/big.bin";
  ASSERT_EQ(sh("head -c 3000000 /dev/urandom > '" + big + "' && chmod 644 '" + big + "'").exit_code, 0);
  // The board: old.bin, trustpoint T1 saved in the startup-config.
  Result r = run_steps(authenticate("T1") + "  - send: write memory\n" + expect("\\\\[OK\\\\]") + prompt() +
                           "  - send: dir\n" + expect("bytes total \\\\(([0-9]+) bytes free\\\\)") + prompt(),
                       "  - flash-put: {from: " + old_image + ", name: old.bin}\n", "--board " + board);
  ASSERT_EQ(r.exit_code, 0) << r.output << read_text(d.file("console.txt"));
  // A full disk: fillers of at most 32 MiB each (a file's size is bounded)
  // leave about 2 MiB, less than big.bin.
  std::string console = read_text(d.file("console.txt"));
  size_t at = console.rfind(" bytes free)");
  ASSERT_NE(at, std::string::npos);
  size_t from = console.rfind('(', at) + 1;
  uint64_t left = std::stoull(console.substr(from, at - from)) - (2u << 20);
  std::vector<std::string> fillers;
  for (int i = 0; left; ++i) {
    uint64_t n = std::min<uint64_t>(left, 32u << 20);
    std::string f = d.file("filler" + std::to_string(i));
    ASSERT_EQ(sh("head -c " + std::to_string(n) + " /dev/zero > '" + f + "'").exit_code, 0);
    r = run_trustsim("flash --board " + board + " put " + f + " filler" + std::to_string(i));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    fillers.push_back("filler" + std::to_string(i));
    left -= n;
  }
  ASSERT_EQ(sh("cp -a '" + board + "' '" + twin + "'").exit_code, 0);

  struct Row {
    std::string what, pre, cmd;
    std::vector<std::string> answers;  // to the questions, in order
    std::string error;                 // a regex for the YAML double-quoted form
  };
  std::string ftp_shown = "ftp://127.0.0.1:" + std::to_string(ftp_port);
  std::string tftp_img = tftp_url(), http = "http://127.0.0.1:" + std::to_string(web->http_port);
  const std::string yes_up = "yes";
  std::vector<Row> rows = {
      {"download to a full disk",
       "",
       "copy " + ftp_url("big.bin") + " bootflash:big.bin",
       {""},
       "%Error copying " + re(ftp_shown + "/big.bin") + " to bootflash:/big\\\\.bin \\\\(No space left on device\\\\)"},
      {"upload, malformed URL (port)",
       "",
       "copy bootflash:old.bin tftp://127.0.0.1:99999/x.bin",
       {""},
       "%Error parsing tftp://127\\\\.0\\\\.0\\\\.1:99999/ \\\\(bad port\\\\)"},
      {"upload, malformed URL (credentials on https)",
       "",
       "copy bootflash:old.bin https://u:p@127.0.0.1/x.bin",
       {""},
       "%Error parsing https://u:p@127\\\\.0\\\\.0\\\\.1/x\\\\.bin \\\\(https: takes no user name or password\\\\)"},
      {"upload, unknown host (http)",
       "",
       "copy bootflash:old.bin http://nosuchhost.invalid/x.bin",
       {"", yes_up},
       "%Error opening http://nosuchhost\\\\.invalid/x\\\\.bin \\\\(Unknown host\\\\)"},
      {"AUM, malformed URL",
       "",
       "upgrade automatic getversion tftp://:69/x.bin",
       {},
       "%Error parsing tftp://:69/ \\\\(missing host\\\\)\\n[^\\n]*%AUM-3-UPGRADE_FAILED: download of x\\\\.bin "
       "failed"},
      {"AUM, unknown host",
       "",
       "upgrade automatic getversion tftp://nosuchhost.invalid/net.SPA.bin",
       {},
       "%Error opening tftp://nosuchhost\\\\.invalid/net\\\\.SPA\\\\.bin \\\\(Unknown host\\\\)\\n[^\\n]*"
       "%AUM-3-UPGRADE_FAILED: download of net\\\\.SPA\\\\.bin failed"},
      {"AUM, wrong credentials",
       "",
       "upgrade automatic getversion " + ftp_url("net.SPA.bin", "trustsim:wrong@"),
       {},
       "%AUM-3-UPGRADE_FAILED: not authorised to download net\\\\.SPA\\\\.bin \\\\(the server refused the login\\\\)"},
      {"AUM, server gone mid-transfer",
       "  - fault: {network: {drop-after: 30000}}\n",
       "upgrade automatic getversion " + ftp_url(),
       {},
       "%Error reading " + re(ftp_shown + "/net.SPA.bin") +
           " \\\\(Connection closed by the server before the end of the file\\\\)\\n[^\\n]*"
           "%AUM-3-UPGRADE_FAILED: download of net\\\\.SPA\\\\.bin failed"},
      {"AUM, a time that does not exist",
       "",
       "upgrade automatic getversion " + tftp_img + " at 24:00",
       {},
       "% Invalid input detected at '\\\\^' marker\\\\."},
      {"reload at a date that does not exist", "", "reload at 10:00 29 feb", {}, "%Error: Feb 29 is not a date"},
      {"reload further ahead than IOS allows",
       "",
       "reload at 10:00 1 jan",
       {},
       "%Error: a reload can be scheduled at most 24 days ahead"},
      {"crypto ca authenticate, not a certificate",
       "  - send: configure terminal\n",
       "crypto ca authenticate T1",
       {"MAMCAQE=", ""},
       "% The certificate does not parse \\\\(not an X\\\\.509 certificate\\\\); trustpoint T1 unchanged"},
      {"crypto ca authenticate, not DER",
       "",
       "crypto ca authenticate T1",
       {"AgEB", ""},
       "% The certificate does not parse \\\\(not a DER SEQUENCE\\\\); trustpoint T1 unchanged"},
      {"crypto ca authenticate, no such trustpoint",
       "",
       "crypto ca authenticate NOPE",
       {},
       "% Trustpoint NOPE does not exist: create it with crypto pki trustpoint"},
  };
  std::string steps;
  for (const Row& row : rows) {
    steps += "  # " + row.what + "\n" + row.pre + "  - send: \"" + row.cmd + "\"\n";
    for (const std::string& a : row.answers) steps += "  - send: \"" + a + "\"\n";
    steps += expect(row.error);
    steps += row.cmd.rfind("crypto", 0) == 0 ? expect("\\n(Router\\\\(config\\\\)#)") : prompt();
  }
  steps += "  - send: end\n" + prompt() + "  - send: show reload\n" + expect("No reload is scheduled") + prompt() +
           check_file("old.bin", old_sha) + check_absent("big.bin") + check_absent("net.SPA.bin");
  // The answers are typed ahead of their questions; the console echoes
  // them in order, so each row's error still comes before the next row.
  r = run_steps(steps, "", "--board " + board);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  r = run_steps("  - send: dir\n" + prompt(), "", "--board " + twin);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_EQ(sha256_of(board + "/nvram.bin").size(), 64u);
  EXPECT_EQ(sha256_of(board + "/nvram.bin"), sha256_of(twin + "/nvram.bin")) << "NVRAM changed";
  auto files = [&](const std::string& b) {
    Result ls = run_trustsim("flash --board " + b + " ls");
    std::string out = ls.output;
    std::vector<std::string> names = fillers;
    names.push_back("old.bin");
    names.push_back("ts-isr1100-universalk9.17.03.01.SPA.bin");
    for (const std::string& f : names) {
      Result got = run_trustsim("flash --board " + b + " get " + f + " " + d.file("got-" + f));
      EXPECT_EQ(got.exit_code, 0) << got.output;
      out += f + " " + sha256_of(d.file("got-" + f)) + "\n";
    }
    return out;
  };
  EXPECT_EQ(files(board), files(twin));
}

}  // namespace

namespace {

// Host names (docs/netxfer.md, "Names"): resolved through `ip name-server`
// only -- a real dnsmasq on loopback, on the port the board file's
// devices.netxfer.dns_port names -- never through the host's resolver.
class Dns : public Net {
 protected:
  std::unique_ptr<DnsServer> dns;
  std::string board = d.file("board.yaml");
  void SetUp() override {
    Net::SetUp();
    dns = std::make_unique<DnsServer>(std::vector<std::string>{"files.example,127.0.0.1"}, d.file("dnsmasq.log"));
    ASSERT_TRUE(dns->ready) << read_text(d.file("dnsmasq.log"));
    ASSERT_TRUE(dns->board_file(board));
  }
  void TearDown() override {
    dns.reset();
    Net::TearDown();
  }
};

TEST_F(Dns, NamesResolveThroughTheConfiguredNameServerOnly) {
  std::string by_name = "tftp://files.example:" + std::to_string(tftp_port) + "/net.SPA.bin";
  std::string unknown = "tftp://nothere.example:" + std::to_string(tftp_port) + "/net.SPA.bin";
  std::string steps =
      // No name server yet: a name does not resolve (not even through the host).
      copy_steps("copy " + by_name + " bootflash:a.bin", "a.bin", false) +
      expect("%Error opening " + re(by_name) + " \\\\(Unknown host\\\\)") + prompt() + check_absent("a.bin") +
      "  - send: configure terminal\n  - send: ip name-server 1.2.3\n" +
      expect("%Error: the name server must be an IPv4 address A\\\\.B\\\\.C\\\\.D") +
      "  - send: ip name-server 127.0.0.1\n  - send: end\n" + prompt() +
      copy_steps("copy " + by_name + " bootflash:n.bin", "n.bin", false) + expect("bytes copied in") + prompt() +
      check_file("n.bin", sha) + copy_steps("copy " + unknown + " bootflash:u.bin", "u.bin", false) +
      expect("%Error opening " + re(unknown) + " \\\\(Unknown host\\\\)") + prompt() + check_absent("u.bin") +
      // Uploads resolve the same way; the name server is saved.
      "  - send: \"copy bootflash:n.bin ftp://trustsim:secret@files.example:" + std::to_string(ftp_port) +
      "/up.bin\"\n" + expect("Destination filename") + "  - send: \"\"\n" + expect("\\\\[yes/no\\\\] ") +
      "  - send: \"yes\"\n" + expect("Upload to server done") + prompt() + "  - send: write memory\n" + prompt() +
      "  - send: show running-config\n" + expect("\\nip name-server 127\\\\.0\\\\.0\\\\.1\\n") + prompt() +
      // ping: the name resolved, five echos answered, 1 ms round trips from the board file (the
      // first also carries the 1 ms name lookup).
      "  - send: ping files.example\n" + expect("Type escape sequence to abort\\\\.\\n") +
      expect("Sending 5, 100-byte ICMP Echos to 127\\\\.0\\\\.0\\\\.1, timeout is 2 seconds:\\n!!!!!\\n") +
      expect("Success rate is 100 percent \\\\(5/5\\\\), round-trip min/avg/max = 1/1/2 ms") + prompt() +
      "  - send: ping nothere.example\n" + expect("% Unrecognized host or address, or protocol not running\\\\.") +
      prompt();
  Result r = run_steps(steps, "", "--board-file " + board);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << read_text(d.file("console.txt"));
  EXPECT_EQ(sha256_of(srv + "/up.bin"), sha);
  std::string trace = read_text(d.file("trace.jsonl"));
  EXPECT_NE(trace.find("resolved=127.0.0.1"), std::string::npos) << trace.substr(0, 2000);
  EXPECT_NE(trace.find("(no name server configured)"), std::string::npos);
  EXPECT_NE(trace.find("(nothere.example has no address at name server 127.0.0.1)"), std::string::npos);
}

}  // namespace
