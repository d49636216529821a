// The Auto-Upgrade Manager end to end (docs/aum.md) with real servers on
// loopback (in.tftpd and pyftpdlib, tests/support/net_servers.h): its
// configuration, an upgrade that reloads into the new image, runversion
// and abortversion, the disk clean-up, each failure reason the guide names
// on the console and in show logging, the interactive mode, and
// nvram:invalid-config.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "../support/net_servers.h"
#include "../support/test_util.h"

using namespace trustsim::test;  // tests/support/test_util.h

namespace {

std::string build_file(const std::string& rel) { return std::string(TRUSTSIM_BUILD_ROOT) + "/" + rel; }

std::string sha256_of(const std::string& path) {
  Result r = sh("sha256sum '" + path + "' | cut -c1-64");
  return r.output.substr(0, 64);
}

std::string expect(const std::string& regex) { return "  - expect: \"" + regex + "\"\n"; }
std::string send(const std::string& line) { return "  - send: \"" + line + "\"\n"; }
// The next prompt. Not anchored to a line start: the expect before it may
// have consumed the newline.
std::string prompt() { return expect("(Router#)"); }
std::string config(const std::string& lines) {  // lines separated by '\n'
  std::string s = send("configure terminal");
  size_t pos = 0;
  while (pos < lines.size()) {
    size_t end = lines.find('\n', pos);
    if (end == std::string::npos) end = lines.size();
    s += send(lines.substr(pos, end - pos));
    pos = end + 1;
  }
  return s + send("end") + prompt();
}
std::string check_absent(const std::string& name) { return "  - check: {file: " + name + ", exists: false}\n"; }
std::string re(std::string s) {  // a literal for a YAML double-quoted regex
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (std::string(".()[]?*+|^$\\{}").find(c) != std::string::npos) out += "\\\\";
    out += c;
  }
  return out;
}

class Aum : public ::testing::Test {
 protected:
  TempDir d;
  std::string srv = d.file("srv");
  std::string image = srv + "/net.SPA.bin";
  std::string sha;
  std::unique_ptr<NetServers> servers;
  int tftp_port = 0, ftp_port = 0;

  void SetUp() override {
    ASSERT_EQ(mkdir(srv.c_str(), 0755), 0);
    chmod(d.path.c_str(), 0755);  // in.tftpd drops to an unprivileged user
    sign("os-stub/os.bin", "--version 17.03.02", "net.SPA.bin");
    sign("os-stub/os.bin", "--version 17.03.02 --platform TS-OTHER --platform-id 8704", "other.SPA.bin");
    sign("rommon-sim/rommon.bin", "--type rommon --version '17.3(2r)'", "rommon.SPA.bin");
    sha = sha256_of(image);
    servers = std::make_unique<NetServers>(srv, d.path, "net.SPA.bin");
    ASSERT_TRUE(servers->ready) << servers->why;
    tftp_port = servers->tftp_port;
    ftp_port = servers->ftp_port;
  }
  void TearDown() override { servers.reset(); }

  void sign(const std::string& payload, const std::string& opts, const std::string& name) {
    Result r = run_trustsim("image sign " + build_file(payload) + " --key " + src("keys/dev/production-A.pem") + " " +
                            opts + " --out " + srv + "/" + name);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    chmod((srv + "/" + name).c_str(), 0644);
  }

  std::string tftp_url(const std::string& path = "net.SPA.bin") const {
    return "tftp://127.0.0.1:" + std::to_string(tftp_port) + "/" + path;
  }
  std::string ftp_url(const std::string& path = "net.SPA.bin", const std::string& cred = "trustsim:secret@") const {
    return "ftp://" + cred + "127.0.0.1:" + std::to_string(ftp_port) + "/" + path;
  }

  // Runs a scenario: `steps` after power-on and enable (the board state in
  // d/board, so a second run continues from the first).
  Result run_steps(const std::string& steps, const std::string& before = "", const std::string& timeout = "60 s") {
    std::string sc = "name: aum-test\nboard: default\ntimeout: " + timeout + "\nsteps:\n" + before +
                     "  - power-on\n  - expect: \"Router>\"\n  - send: enable\n  - expect: \"Router#\"\n" + steps;
    write_text(d.file("test.yaml"), sc);
    return run_trustsim("run --quiet --console-log " + d.file("console.txt") + " " + d.file("test.yaml"));
  }
  std::string console() { return read_text(d.file("console.txt")); }
  // Files for a bootflash: one allocation unit short of the new image:
  // crashinfo_1 and core.1 take what the image needs each, data_1 and
  // data_2 (outside every clean-up category; one file may not hold it all)
  // the rest, so only deleting crashinfo_1 makes room. Measures the free
  // space and the allocation unit (what a file just too large for a
  // metadata record takes) of a new board. Returns the --var options
  // data1, data2, crash and core of the scenarios that put them, or "".
  std::string fill_vars() {
    auto free_after = [&](const std::string& before) {
      Result r = run_steps(send("dir") + prompt(), before);
      EXPECT_EQ(r.exit_code, 0) << r.output;
      std::smatch m;
      std::string c = console();
      return std::regex_search(c, m, std::regex("\\((\\d+) bytes free\\)")) ? std::stoll(m[1]) : -1LL;
    };
    std::string probe = d.file("probe");
    if (sh("head -c 4000 /dev/zero > '" + probe + "'").exit_code != 0) return "";
    long long free0 = free_after(""), unit = free0 - free_after("  - flash-put: {from: " + probe + ", name: p}\n");
    long long img = (long long)read_text(image).size();
    if (free0 <= 0 || unit <= 4000) return "";
    long long need = (img + unit - 1) / unit * unit;
    long long units = (free0 - 2 * need - (need - unit)) / unit;
    if (units < 4) return "";
    std::string crash = d.file("crashinfo_1"), keep = d.file("core_keep"), fill1 = d.file("fill1"),
                fill2 = d.file("fill2");
    const std::pair<std::string, long long> files[] = {
        {crash, img}, {keep, img}, {fill1, units / 2 * unit}, {fill2, (units - units / 2) * unit}};
    for (const auto& [path, size] : files)
      if (sh("head -c " + std::to_string(size) + " /dev/zero > '" + path + "'").exit_code != 0) return "";
    return " --var data1=" + fill1 + " --var data2=" + fill2 + " --var crash=" + crash + " --var core=" + keep;
  }
  // Runs the power-cut campaign FILE over the nearly full bootflash: of
  // fill_vars(); `shard` is "" or "--shard I/N ".
  void fill_campaign(const std::string& file, const std::string& shard) {
    std::string fill = fill_vars();
    ASSERT_FALSE(fill.empty());
    Result r = run_trustsim("campaign --no-progress " + shard + "--var port=" + std::to_string(tftp_port) + fill + " " +
                            src(file));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::cout << r.output.substr(r.output.size() > 600 ? r.output.size() - 600 : 0);  // the summary, for the log
  }
  // Runs `trustsim COMMAND FILE` (a file of the source tree) and expects it to pass.
  void passes(const std::string& command, const std::string& file) {
    Result r = run_trustsim(command + " " + src(file));
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
};

// The lines of l. 1000-1010, saved, shown, replayed at boot and undone.
TEST_F(Aum, ConfigurationIsSavedShownAndUndone) {
  std::string ida = "https://ida.example.net/cgi-bin/new-ida/locator/locator.pl";
  std::string lines =
      "autoupgrade disk-cleanup crashinfo\nautoupgrade disk-cleanup image\nautoupgrade ida url " + ida +
      "\nautoupgrade status email recipient tree@abc.com\nautoupgrade status email smtp-server smtpserver.abc.com";
  std::string block = re(lines) + "\\n!\\n";
  std::string steps = config(lines);
  steps += send("configure terminal") + send("autoupgrade status email recipient no-at-sign") +
           expect("%Error: no-at-sign is not a mail address") + send("autoupgrade status email smtp-server a_b:99999") +
           expect("%Error: a_b:99999 is not a server name \\\\(HOST or HOST:PORT\\\\)") +
           send("autoupgrade ida url tftp://127.0.0.1/x") +
           expect("%Error: the IDA URL must be an http: or https: URL, not tftp://127.0.0.1/x") +
           send("autoupgrade ida url https://h/" + std::string(152, 'a')) +
           expect("%Error: the IDA URL is longer than 159 characters") +
           send("autoupgrade status email recipient " + std::string(90, 'b') + "@abc.com") +
           expect("%Error: the recipient address is longer than 95 characters") + send("end") + prompt();
  steps += send("show running-config") + expect(block) + prompt();
  steps += send("show autoupgrade configuration") +
           expect(
               "Auto-Upgrade Manager configuration\\n  Disk clean-up         : crashinfo image\\n"
               "  IDA URL               : " +
               re(ida) +
               "\\n  Status mail recipient : tree@abc\\\\.com\\n"
               "  Status mail server    : smtpserver\\\\.abc\\\\.com\\n  Debugging             : off\\n") +
           prompt();
  steps += send("write memory") + expect("\\\\[OK\\\\]") + prompt() + send("reload") +
           expect("Proceed with reload\\\\? \\\\[confirm\\\\]") + send("") + expect("Router>") + send("enable") +
           prompt();
  steps += send("show running-config") + expect(block) + prompt();  // replayed from startup-config
  steps += config("no autoupgrade disk-cleanup image\nno autoupgrade status email recipient\nno autoupgrade ida url");
  steps += send("show autoupgrade configuration") +
           expect("  Disk clean-up         : crashinfo\\n  IDA URL               : " +
                  re("https://www.cisco.com/cgi-bin/new-ida/locator/locator.pl") +
                  " \\\\(default\\\\)\\n  Status mail recipient : not configured\\n") +
           prompt();
  steps += send("debug autoupgrade") + expect("Auto-Upgrade Manager debugging is on") + prompt() +
           send("show autoupgrade configuration") + expect("Debugging             : on") + prompt() +
           send("undebug all") + prompt() + send("show autoupgrade configuration") +
           expect("Debugging             : off") + prompt();
  // Only the SMTP server is left: the block has that one line.
  steps += config("no autoupgrade disk-cleanup") + send("show running-config") +
           expect("!\\nautoupgrade status email smtp-server smtpserver\\\\.abc\\\\.com\\n!\\n") + prompt();
  Result r = run_steps(steps);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << console();
}

// The scenario files of scenarios/upgrade/, run against the servers of
// SetUp: an FTP upgrade that reloads into the new image, an aborted and
// rescheduled upgrade, and each failure reason.
TEST_F(Aum, FtpUpgradeReloadsIntoTheNewImage) {
  passes("run --quiet --var port=" + std::to_string(ftp_port) + " --var sha256=" + sha,
         "scenarios/upgrade/aum-ftp-upgrade.yaml");
}

TEST_F(Aum, AbortedAndRescheduled) {
  passes("run --quiet --var port=" + std::to_string(tftp_port), "scenarios/upgrade/aum-abort-reschedule.yaml");
}

TEST_F(Aum, FailuresGiveTheReasonAndChangeNothing) {
  passes("run --quiet --var tftp=" + std::to_string(tftp_port) + " --var ftp=" + std::to_string(ftp_port) +
             " --console-log " + d.file("console.txt"),
         "scenarios/upgrade/aum-failures.yaml");
  // The typed command's echo carries the password; nothing the board prints does.
  std::string c = console();
  EXPECT_NE(c.find("trustsim:wrong"), std::string::npos);
  EXPECT_EQ(c.find("trustsim:wrong"), c.rfind("trustsim:wrong")) << "credentials printed by the board";
}

// bootflash: nearly full: disk-management no fails with "not enough
// space"; confirm asks before each deletion (a no keeps the file); auto
// deletes what the policy allows and never the running image.
TEST_F(Aum, DiskCleanupFollowsThePolicy) {
  std::string fill = fill_vars();
  ASSERT_FALSE(fill.empty());
  passes("run --quiet --var port=" + std::to_string(tftp_port) + fill + " --var sha256=" + sha,
         "scenarios/upgrade/aum-disk-cleanup.yaml");
}

// bootflash: cannot hold both images and only erasing the running image
// makes room: refused from FTP (ROMmon could not boot it), done from TFTP
// with the boot list saved first, and ROMmon boots the image from the
// server when bootflash: lacks it.
TEST_F(Aum, NoRoomForBothImagesErasesTheRunningImageSafely) {
  std::string fill = fill_vars();
  ASSERT_FALSE(fill.empty());
  passes("run --quiet --var port=" + std::to_string(tftp_port) + " --var ftp=" + std::to_string(ftp_port) +
             " --var sha256=" + sha + fill,
         "scenarios/upgrade/aum-no-room-for-both.yaml");
}

// upgrade automatic with no arguments asks the questions of the capture.
TEST_F(Aum, InteractiveModeAsksTheCapturesQuestions) {
  std::string steps =
      send("upgrade automatic") +
      expect("Welcome to the Cisco Auto Upgrade Manager\\\\. To upgrade your device, please answer the following\\n") +
      expect("Download from Cisco server\\\\? \\\\[yes\\\\]: ") + send("no") + expect("Image location:") +
      send(tftp_url()) +
      expect("\\\\[OK - [0-9]+ bytes\\\\]\\nImage Found: net\\\\.SPA\\\\.bin \\\\([0-9]+ bytes\\\\)\\n") +
      expect("Memory Available: 128Mb Main Memory \\\\(RAM\\\\) - [0-9]+ bytes of flash space\\n") +
      expect("New image will be downloaded to bootflash:net\\\\.SPA\\\\.bin\\n") +
      expect("Reload and upgrade the device immediately after image download is complete\\\\? \\\\[yes\\\\]: ") +
      send("no") + expect("Time to reload the box \\\\[Manual\\\\]\\\\? ") + send("") +
      expect("Proceed with device image upgrade from\\n\\\\[" + re(tftp_url()) +
             "\\\\] to\\n\\\\[bootflash:net\\\\.SPA\\\\.bin\\\\]\\\\? \\\\[yes\\\\]: ") +
      send("") + expect("Image Verification: PASS\\n") +
      expect("Use 'upgrade automatic runversion' command to reload manually\\\\.\\n") + prompt() +
      "  - check: {file: net.SPA.bin, sha256: \"" + sha + "\"}\n";
  // A time that does not exist changes nothing.
  steps += send("delete /force bootflash:net.SPA.bin") + prompt() + send("upgrade automatic") +
           expect("\\\\[yes\\\\]: ") + send("no") + expect("Image location:") + send(tftp_url()) +
           expect("complete\\\\? \\\\[yes\\\\]: ") + send("no") + expect("\\\\[Manual\\\\]\\\\? ") + send("25:00") +
           expect("%Error: 25:00 is not a time of day \\\\(hh:mm\\\\) or Manual; nothing was changed\\n") + prompt() +
           check_absent("net.SPA.bin");
  Result r = run_steps(steps);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << console();
}

// A startup-config with lines this image's parser refuses (written into
// the board's NVRAM as another image's write memory would have): they are
// reported at boot, stored in nvram:invalid-config and shown by more and
// show autoupgrade configuration unknown; the accepted lines take effect.
// After a clean boot the file is empty.
TEST_F(Aum, InvalidConfigLinesAreReportedAndStored) {
  std::string board = d.file("board");
  Result r = run_trustsim("board new " + board);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string cfg =
      "!\\nversion 17.06.01\\n!\\nboot system bootflash:ts-isr1100-universalk9.17.03.01.SPA.bin\\n!\\n"
      "voice-card 0\\nautoupgrade disk-cleanup core\\ntransport output lat pad telnet rlogin\\n!\\nend\\n";
  r = sh("/usr/bin/python3 -c \"import struct,zlib,sys; t=b'" + cfg +
         "'; f=open(sys.argv[1],'r+b'); f.seek(0x3000); "
         "f.write(struct.pack('<IIII',0x58545354,len(t),7,zlib.crc32(t))+t)\" '" +
         board + "/nvram.bin'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string steps =
      expect("%PARSER-4-BADCFG: 2 startup-config lines not accepted by this image; saved in nvram:invalid-config\\n");
  std::string after =
      send("more nvram:invalid-config") +
      expect("more nvram:invalid-config\\r?\\nvoice-card 0\\ntransport output lat pad telnet rlogin\\n") + prompt() +
      send("show autoupgrade configuration unknown") +
      expect(
          "! Config Lines not understood by the current image:\\nvoice-card 0\\n"
          "transport output lat pad telnet rlogin\\nTotal 2 Invalid Config Lines\\n") +
      prompt() + send("show running-config") + expect("autoupgrade disk-cleanup core\\n!\\n") + prompt();
  // Saved without them, the next boot refuses nothing and the file is empty.
  after += send("write memory") + expect("\\\\[OK\\\\]") + prompt() + send("reload") +
           expect("Proceed with reload\\\\? \\\\[confirm\\\\]") + send("") + expect("Router>") + send("enable") +
           prompt() + send("more nvram:invalid-config") + expect("more nvram:invalid-config\\r?\\n(Router#)") +
           send("show autoupgrade configuration unknown") + expect("Total 0 Invalid Config Lines\\n") + prompt();
  std::string sc = "name: aum-invalid-config\nboard: default\ntimeout: 60 s\nsteps:\n  - power-on\n" + steps +
                   "  - expect: \"Router>\"\n  - send: enable\n  - expect: \"Router#\"\n" + after;
  write_text(d.file("invalid.yaml"), sc);
  r = run_trustsim("run --quiet --board " + board + " --console-log " + d.file("console.txt") + " " +
                   d.file("invalid.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << console();
  EXPECT_EQ(console().find("PARSER-4-BADCFG"), console().rfind("PARSER-4-BADCFG")) << "reported on the second boot";
}

// The status mail, received by a real SMTP server (aiosmtpd, Debian
// python3-aiosmtpd) on loopback: one when the image is ready, one when an
// upgrade fails, each with the subject and the result; a server that is
// not there is logged, and the upgrade goes on.
TEST_F(Aum, StatusMailReachesTheSmtpServer) {
  MailServer smtp(d.file("maildir"), d.file("smtpd.log"));
  ASSERT_TRUE(smtp.ready) << "aiosmtpd did not listen within 10 s: " << read_text(smtp.log);
  int smtp_port = smtp.port;
  int dead = free_port(SOCK_STREAM);
  std::string steps =
      config(
          "ip domain name lab.example\nautoupgrade status email recipient ops@example.net\n"
          "autoupgrade status email smtp-server 127.0.0.1:" +
          std::to_string(smtp_port)) +
      send("upgrade automatic getversion " + tftp_url()) + expect("Image Verification: PASS\\n") +
      expect("%AUM-6-STATUS_MAIL: status mail sent to ops@example\\\\.net\\n") + prompt() +
      send("upgrade automatic getversion " + tftp_url("rommon.SPA.bin")) +
      expect("%AUM-3-UPGRADE_FAILED: rommon\\\\.SPA\\\\.bin is not valid") +
      expect("%AUM-6-STATUS_MAIL: status mail sent to ops@example\\\\.net\\n") + prompt() +
      config("autoupgrade status email smtp-server 127.0.0.1:" + std::to_string(dead)) +
      send("upgrade automatic getversion " + tftp_url("other.SPA.bin")) +
      expect("%AUM-4-STATUS_MAIL_FAILED: status mail to ops@example\\\\.net not sent \\\\(Connection refused\\\\)\\n") +
      prompt() + send("show logging") + expect("%AUM-6-STATUS_MAIL") + expect("%AUM-4-STATUS_MAIL_FAILED") + prompt();
  Result r = run_trustsim("run --quiet --trace " + d.file("trace.jsonl") + " --console-log " + d.file("console.txt") +
                          " " + [&] {
                            write_text(d.file("mail.yaml"),
                                       "name: aum-mail\nboard: default\ntimeout: 60 s\nsteps:\n  - power-on\n"
                                       "  - expect: \"Router>\"\n  - send: enable\n  - expect: \"Router#\"\n" +
                                           steps);
                            return d.file("mail.yaml");
                          }());
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << console();
  std::vector<std::string> mails = smtp.mails();
  std::string all;
  ASSERT_EQ(mails.size(), 2u) << read_text(smtp.log);
  for (const std::string& m : mails) all += m + "\n----\n";
  auto has = [&](const std::string& s) { return all.find(s) != std::string::npos; };
  EXPECT_TRUE(has("Subject: Auto-Upgrade Manager on Router: image ready")) << all;
  EXPECT_TRUE(has("bootflash:net.SPA.bin downloaded and validated; reload: manual (upgrade automatic runversion)"))
      << all;
  EXPECT_TRUE(has("Subject: Auto-Upgrade Manager on Router: upgrade failed")) << all;
  EXPECT_TRUE(has("rommon.SPA.bin is not valid for this platform (a ROMMON image, not an OS image)")) << all;
  EXPECT_TRUE(has("X-MailFrom: Router@lab.example")) << all;
  EXPECT_TRUE(has("X-RcptTo: ops@example.net")) << all;
  EXPECT_TRUE(has("Running image: bootflash:ts-isr1100-universalk9.17.03.01.SPA.bin")) << all;
  std::string trace = read_text(d.file("trace.jsonl"));
  EXPECT_NE(trace.find("\"op\":\"smtp-send\""), std::string::npos);
  EXPECT_NE(trace.find("\"status\":\"refused\",\"detail\":\"smtp://127.0.0.1:" + std::to_string(dead)),
            std::string::npos)
      << trace.substr(0, 3000);
}

// A mail server that is gone mid-conversation (it takes the connection and
// hangs up before its greeting) while an upgrade succeeds: the failed mail
// is on the console and in show logging, and nothing of the upgrade is
// lost -- the image, the boot list and the scheduled reload all stand.
TEST_F(Aum, MailServerGoneMidMailLosesNothing) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(ls, 0);
  sockaddr_in a = loopback(0);
  ASSERT_EQ(bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(ls, 4), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len), 0);
  std::atomic<int> hung_up{0};
  std::thread server([&] {
    while (wait_readable(ls, 30000)) {
      int c = accept(ls, nullptr, nullptr);
      if (c < 0) break;
      close(c);
      if (++hung_up == 1) break;
    }
  });
  const std::string boot_list = "bootflash:net.SPA.bin,1;bootflash:ts-isr1100-universalk9.17.03.01.SPA.bin,1;";
  std::string steps =
      config("autoupgrade status email recipient ops@example.net\nautoupgrade status email smtp-server 127.0.0.1:" +
             std::to_string(ntohs(a.sin_port))) +
      send("upgrade automatic getversion " + tftp_url() + " in 0:30") +
      expect("%AUM-6-IMAGE_READY: bootflash:net\\\\.SPA\\\\.bin downloaded and validated\\n") +
      expect(
          "%AUM-4-STATUS_MAIL_FAILED: status mail to ops@example\\\\.net not sent \\\\(Connection closed by the server "
          "before the end of the file\\\\)\\n") +
      expect("Reload scheduled for 00:30:") + prompt() + "  - check: {file: net.SPA.bin, sha256: \"" + sha + "\"}\n" +
      "  - check: {romvar: BOOT, equals: \"" + boot_list + "\"}\n" + send("show reload") +
      expect("Reload reason: Auto upgrade\\n") + prompt() + send("show logging") + expect("%AUM-6-IMAGE_READY") +
      expect("%AUM-4-STATUS_MAIL_FAILED") + expect("%SYS-5-SCHEDULED_RELOAD") + prompt();
  Result r = run_steps(steps);
  shutdown(ls, SHUT_RDWR);
  server.join();
  close(ls);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << console();
  EXPECT_EQ(hung_up.load(), 1) << "the mail never reached the server that hangs up";
}

// The power-cut campaign over an upgrade (scenarios/campaigns/
// aum-upgrade-power-cut.yaml) against the TFTP server of SetUp: one shard
// in 'system', the whole in 'long' (tests/meson.build).
TEST_F(Aum, PowerCutCampaignShard) {
  passes("campaign --no-progress --shard 0/43 --var port=" + std::to_string(tftp_port),
         "scenarios/campaigns/aum-upgrade-power-cut.yaml");
}

TEST_F(Aum, PowerCutCampaignFull) {
  passes("campaign --no-progress --var port=" + std::to_string(tftp_port),
         "scenarios/campaigns/aum-upgrade-power-cut.yaml");
}

// The power-cut campaign over an upgrade that has to clean up first
// (scenarios/campaigns/aum-cleanup-power-cut.yaml): one shard in 'system',
// the whole in 'long'.
TEST_F(Aum, CleanupPowerCutCampaignShard) {
  fill_campaign("scenarios/campaigns/aum-cleanup-power-cut.yaml", "--shard 0/43 ");
}

TEST_F(Aum, CleanupPowerCutCampaignFull) { fill_campaign("scenarios/campaigns/aum-cleanup-power-cut.yaml", ""); }

// The power-cut campaign over the erase-the-running-image fallback
// (scenarios/campaigns/aum-erase-running-power-cut.yaml): one shard in
// 'system', the whole in 'long'.
TEST_F(Aum, EraseRunningPowerCutCampaignShard) {
  fill_campaign("scenarios/campaigns/aum-erase-running-power-cut.yaml", "--shard 0/40 ");
}

TEST_F(Aum, EraseRunningPowerCutCampaignFull) {
  fill_campaign("scenarios/campaigns/aum-erase-running-power-cut.yaml", "");
}

}  // namespace

namespace {

// The IDA exchange and https: image URLs (docs/aum.md, "The IDA
// exchange"): the test IDA (tests/support/ida_server.py) and HTTPS file
// servers on loopback, with certificates of the test CA (WebServers); the
// board trusts that CA through trustpoint IDA.
class AumIda : public Aum {
 protected:
  std::unique_ptr<WebServers> web;
  std::unique_ptr<IdaServer> ida, bad_ida;
  std::string ca_vars;  // --var ca1=... --var ca2=...: the CA certificate in two parts
  std::string ida_config;

  void SetUp() override {
    Aum::SetUp();
    web = std::make_unique<WebServers>(srv, d.file("pki"));
    ASSERT_TRUE(web->ready) << web->why;
    std::string https = "https://127.0.0.1:";
    ida_config =
        "{\"user\": \"trustsim\", \"password\": \"s3cr&t=p@ss\", \"platform\": \"TS-ISR1100\",\n"
        " \"images\": {\"net.SPA.bin\": \"" +
        https + std::to_string(web->good_port) + "/net.SPA.bin\", \"far.bin\": \"" + https +
        std::to_string(web->untrusted_port) + "/net.SPA.bin\", \"ftp.bin\": \"" + ftp_url() +
        "\", \"gopher.bin\": \"gopher://127.0.0.1/net.SPA.bin\"},\n"
        " \"raw\": {\"garbage.bin\": \"<html>\\nWelcome\\t\\u0001 to the portal\\n\"}}\n";
    ida = std::make_unique<IdaServer>(*web, "good", ida_config, d.file("ida.log"));
    ASSERT_TRUE(ida->ready) << read_text(d.file("ida.log.out"));
    bad_ida = std::make_unique<IdaServer>(*web, "untrusted", ida_config, d.file("bad-ida.log"));
    ASSERT_TRUE(bad_ida->ready) << read_text(d.file("bad-ida.log.out"));
    std::string b64 = web->ca_base64();
    ASSERT_GT(b64.size(), 100u);
    ca_vars = " --var ca1=" + b64.substr(0, b64.size() / 2) + " --var ca2=" + b64.substr(b64.size() / 2);
  }
  // Configuration lines: trustpoint IDA holding the test CA (saved form).
  std::string trust_lines() const {
    std::string b64 = web->ca_base64();
    return "crypto pki trustpoint IDA\nenrollment terminal\nexit\ncrypto pki certificate ca IDA " +
           b64.substr(0, b64.size() / 2) + "\ncrypto pki certificate ca IDA " + b64.substr(b64.size() / 2);
  }
  // Runs `steps` after power-on and enable with `extra` options; the console in console.txt.
  Result run_board(const std::string& name, const std::string& steps, const std::string& extra) {
    write_text(d.file(name + ".yaml"), "name: " + name + "\nboard: default\ntimeout: 60 s\nsteps:\n  - power-on\n" +
                                           "  - expect: \"Router>\"\n  - send: enable\n  - expect: \"Router#\"\n" +
                                           steps);
    return run_trustsim("run --quiet " + extra + " --console-log " + d.file("console.txt") + " " +
                        d.file(name + ".yaml"));
  }
  void TearDown() override {
    bad_ida.reset();
    ida.reset();
    web.reset();
    Aum::TearDown();
  }
};

// The interactive Cisco-server path (cancelled), then getversion cisco ...
// now reloading into the image the IDA located. The IDA's request log
// proves what the board sent: the user name, the password (escaped in the
// query, whole after decoding), the image and the platform; the trace
// never shows the password.
TEST_F(AumIda, UpgradeThroughTheIdaReloadsIntoTheNewImage) {
  auto run = [&](const std::string& tag) {
    passes("run --quiet --trace " + d.file("trace" + tag + ".jsonl") + " --console-log " +
               d.file("console" + tag + ".txt") + " --var ida=" + std::to_string(ida->port) +
               " --var web=" + std::to_string(web->good_port) + ca_vars + " --var sha256=" + sha,
           "scenarios/upgrade/aum-ida-upgrade.yaml");
  };
  run("");
  std::string log = ida->requests();
  std::string one =
      "{\"path\": \"/cgi-bin/new-ida/locator/locator.pl\", \"query\": "
      "\"user=trustsim&password=s3cr%26t%3Dp%40ss&image=net.SPA.bin&platform=TS-ISR1100\", \"fields\": {\"user\": "
      "\"trustsim\", \"password\": \"s3cr&t=p@ss\", \"image\": \"net.SPA.bin\", \"platform\": \"TS-ISR1100\"}}\n";
  EXPECT_EQ(log, one + one);  // the interactive question and the command
  std::string trace = read_text(d.file("trace.jsonl"));
  EXPECT_NE(trace.find("locator.pl?user=trustsim&password=*&image=net.SPA.bin&platform=TS-ISR1100"), std::string::npos)
      << trace.substr(0, 3000);
  EXPECT_EQ(trace.find("s3cr"), std::string::npos) << "the password is in the trace";
  // The same servers again: the same console, trace and board times to the byte.
  run("2");
  EXPECT_EQ(read_text(d.file("console2.txt")), read_text(d.file("console.txt")));
  EXPECT_TRUE(read_text(d.file("trace2.jsonl")) == trace) << "the trace differs between two runs";
}

TEST_F(AumIda, RefusalsGiveTheReasonAndChangeNothing) {
  passes("run --quiet --var ida=" + std::to_string(ida->port) + " --var bad_ida=" + std::to_string(bad_ida->port) +
             " --var untrusted=" + std::to_string(web->untrusted_port) + " --var ftp=" + std::to_string(ftp_port) +
             ca_vars + " --console-log " + d.file("console.txt"),
         "scenarios/upgrade/aum-ida-failures.yaml");
  // The untrusted IDA was never asked: the handshake failed first.
  EXPECT_EQ(bad_ida->requests(), "");
  EXPECT_NE(ida->requests().find("\"password\": \"wrong\""), std::string::npos) << ida->requests();
  EXPECT_EQ(console().find("trustsim:secret"), std::string::npos) << "the IDA-given FTP password was printed";
}

// Certificate dates are judged by the board's RTC, not the host's clock: on
// a board whose clock says 2051 (power.rtc_base), a certificate valid in
// 2050-2051 is accepted (the host, years earlier, would find it not valid
// yet), one that ended in 2050 is refused as expired (the host would find
// it valid), and one starting in mid-2051 as not valid yet.
TEST_F(AumIda, CertificateDatesAreJudgedByTheBoardClock) {
  Result now = sh("date -u -d '-1 day' +%Y%m%d%H%M%SZ");
  ASSERT_EQ(now.exit_code, 0);
  std::string yesterday = now.output.substr(0, 15);
  int ok = web->add_https("board-ok", "-startdate 20500101000000Z -enddate 20520101000000Z");
  int expired = web->add_https("board-expired", "-startdate " + yesterday + " -enddate 20500601000000Z");
  int future = web->add_https("board-future", "-startdate 20510601000000Z -enddate 20520101000000Z");
  ASSERT_TRUE(ok && expired && future) << web->why;
  std::string board = d.file("board.yaml");
  std::string text = read_text(src("boards/default.yaml"));
  size_t at = text.find("rtc_base: 1795910400");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 20, "rtc_base: 2556144000");  // 2051-01-01 00:00:00 UTC
  write_text(board, text);
  auto url = [](int port) { return "https://127.0.0.1:" + std::to_string(port) + "/net.SPA.bin"; };
  auto refused = [&](int port, const std::string& why) {
    return send("upgrade automatic getversion " + url(port)) +
           expect("%Error opening " + re(url(port)) + " \\\\(" + why + "\\\\)\\n") +
           expect("%AUM-3-UPGRADE_FAILED: download of net\\\\.SPA\\\\.bin failed \\\\(" + why + "\\\\)\\n") + prompt() +
           check_absent("net.SPA.bin");
  };
  // Uploads judge the server's dates by the same clock, also before any
  // download has set it (the engine's clock would read 1970 otherwise).
  const std::string running = "ts-isr1100-universalk9.17.03.01.SPA.bin";
  auto upload = [&](int port, const std::string& outcome) {
    std::string to = "https://127.0.0.1:" + std::to_string(port) + "/up.bin";
    return send("copy bootflash:" + running + " " + to) + expect("Destination filename \\\\[up\\\\.bin\\\\]\\\\? ") +
           send("") + expect("\\\\[yes/no\\\\] ") + send("yes") + expect(outcome) + prompt();
  };
  std::string steps =
      config(trust_lines()) + upload(ok, "Upload to server done\\n") +
      upload(future, "%Error writing https://[^ ]+ \\\\(the server's certificate is not valid yet\\\\)\\n") +
      refused(expired, "the server's certificate has expired") +
      refused(future, "the server's certificate is not valid yet") + send("upgrade automatic getversion " + url(ok)) +
      expect("Image Verification: PASS\\n") + prompt() + "  - check: {file: net.SPA.bin, sha256: \"" + sha + "\"}\n";
  Result r = run_board("aum-board-clock", steps, "--board-file " + board + " --trace " + d.file("trace.jsonl"));
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << console();
  std::string trace = read_text(d.file("trace.jsonl"));
  EXPECT_NE(trace.find("\"status\":\"cert-expired\""), std::string::npos);
  EXPECT_NE(trace.find("\"status\":\"cert-not-yet-valid\""), std::string::npos);
}

// Network faults on the IDA request (docs/aum.md, "The IDA exchange"): a
// refused, stalled or dropped request names its reason on the console and
// ends the upgrade; a corrupted answer is not understood. Nothing is
// written, and each fault is used up: the next request upgrades.
TEST_F(AumIda, NetworkFaultsOnTheIdaRequestEndTheUpgradeCleanly) {
  std::string ida_url = "https://127.0.0.1:" + std::to_string(ida->port) + "/ida";
  std::string ask = send("upgrade automatic getversion cisco username trustsim password s3cr&t=p@ss image net.SPA.bin");
  std::string steps = config(trust_lines() + "\nautoupgrade ida url " + ida_url);
  struct Row {
    std::string fault, error;
  };
  const std::string closed = "Connection closed by the server before the end of the file";
  const std::vector<Row> rows = {
      {"refuse: true", "%Error opening " + re(ida_url) + " \\\\(Connection refused\\\\)\\n"},
      {"stall: true", "%Error reading " + re(ida_url) + " \\\\(Timed out\\\\)\\n"},
      {"drop-after: 5", "%Error reading " + re(ida_url) + " \\\\(" + closed + "\\\\)\\n"},
  };
  for (const Row& row : rows) {
    std::string why = row.error.substr(row.error.find("\\\\(") + 3);
    why = why.substr(0, why.rfind("\\\\)"));
    steps +=
        "  - fault: {network: {" + row.fault + "}}\n" + ask + expect(row.error) +
        expect("%AUM-3-UPGRADE_FAILED: the IDA could not be asked for net\\\\.SPA\\\\.bin \\\\(" + why + "\\\\)\\n") +
        prompt() + check_absent("net.SPA.bin");
  }
  // The answer's first byte flipped: 'O' (0x4f) becomes 0xb0.
  steps += "  - fault: {network: {corrupt-byte: 0}}\n" + ask +
           expect(
               "%AUM-3-UPGRADE_FAILED: the IDA's answer for net\\\\.SPA\\\\.bin is not understood \\\\(it begins "
               "\\\".xb0K https://127\\\\.0\\\\.0\\\\.1:") +
           prompt() + check_absent("net.SPA.bin") + send("show logging") + expect("could not be asked") +
           expect("is not understood") + prompt();
  steps += ask + expect("Image Verification: PASS\\n") + prompt() + "  - check: {file: net.SPA.bin, sha256: \"" + sha +
           "\"}\n";
  Result r = run_board("aum-ida-faults", steps, "--trace " + d.file("trace.jsonl"));
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << console();
  std::string trace = read_text(d.file("trace.jsonl"));
  for (const char* s : {"fault=refuse", "fault=stall", "fault=drop-after@5", "fault=corrupt-byte@0"})
    EXPECT_NE(trace.find(s), std::string::npos) << s;
}

// The guide's prerequisite for a download from Cisco: the IDA named by a
// host name, resolved through ip name-server (dnsmasq on loopback, never the
// host's resolver; without a name server the IDA cannot be asked), and its
// certificate checked for that name.
TEST_F(AumIda, IdaByNameResolvesThroughTheNameServer) {
  ASSERT_TRUE(web->make_cert("ida-dns", "-startdate 20200101000000Z -enddate 21000101000000Z", "DNS:ida.example"))
      << web->why;
  IdaServer named(*web, "ida-dns", ida_config, d.file("named-ida.log"));
  ASSERT_TRUE(named.ready) << read_text(d.file("named-ida.log.out"));
  DnsServer dns({"ida.example,127.0.0.1"}, d.file("dnsmasq.log"));
  ASSERT_TRUE(dns.ready) << read_text(dns.log);
  std::string board = d.file("board.yaml");
  ASSERT_TRUE(dns.board_file(board));
  std::string ida_url = "https://ida.example:" + std::to_string(named.port) + "/locator.pl";
  std::string get = send("upgrade automatic getversion cisco username trustsim password s3cr&t=p@ss image net.SPA.bin");
  std::string steps = config(trust_lines() + "\nautoupgrade ida url " + ida_url) + get +
                      expect("%Error opening " + re(ida_url) + " \\\\(Unknown host\\\\)\\n") +
                      expect(
                          "%AUM-3-UPGRADE_FAILED: the IDA could not be asked for net\\\\.SPA\\\\.bin \\\\(Unknown "
                          "host\\\\)\\n") +
                      prompt() + config("ip name-server 127.0.0.1") + get + expect("Image Verification: PASS\\n") +
                      expect("Use 'upgrade automatic runversion' command to reload manually\\\\.\\n") + prompt();
  Result r = run_board("aum-ida-name", steps, "--board-file " + board + " --trace " + d.file("trace.jsonl"));
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << console();
  std::string log = named.requests();
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
  std::string trace = read_text(d.file("trace.jsonl"));
  EXPECT_NE(trace.find("https://ida.example:" + std::to_string(named.port) +
                       "/locator.pl?user=trustsim&password=*&image=net.SPA.bin&platform=TS-ISR1100 resolved=127.0.0.1"),
            std::string::npos)
      << trace.substr(0, 3000);
}

}  // namespace

// A board with no bootflash: device boots its OS from a TFTP server at the
// ROMmon prompt; every command that needs bootflash: then says it is not
// available and changes nothing, and the OS keeps running.
TEST_F(Aum, WithoutBootflashEveryFileCommandSaysItIsNotAvailable) {
  std::string board = d.file("no-nand.yaml");
  std::string text = read_text(src("boards/default.yaml")), out;
  bool skip = false;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at + 1);
    at = end == std::string::npos ? text.size() : end + 1;
    if (line.rfind("  bootflash_nand:", 0) == 0)
      skip = true;
    else if (skip && line.rfind("    ", 0) != 0 && line != "\n")
      skip = false;
    if (!skip) out += line;
  }
  ASSERT_EQ(out.find("bootflash_nand"), std::string::npos);
  write_text(board, out);
  const std::string na = "%Error: bootflash: is not available \\\\(not mounted\\\\)\\n";
  std::string steps = "  - power-on\n" + expect("BOOT variable is empty; staying in ROM Monitor") +
                      expect("rommon 1 > ") + send("boot " + tftp_url()) +
                      expect("%BOOTFLASH: no bootflash: device on this board\\n") + expect("Router>") + send("enable") +
                      prompt();
  const std::vector<std::string> commands = {std::string("dir bootflash:"),
                                             "delete /force bootflash:x.bin",
                                             "verify bootflash:x.bin",
                                             "show software authenticity file bootflash:x.bin",
                                             "copy " + tftp_url() + " bootflash:x.bin",
                                             "copy bootflash:x.bin " + tftp_url("up.bin"),
                                             "upgrade rom-monitor filename bootflash:x.bin all",
                                             "upgrade automatic getversion " + tftp_url()};
  for (const std::string& cmd : commands) steps += send(cmd) + expect(na) + prompt();
  steps += send("show version") + expect("System image file is \\\"" + re(tftp_url()) + "\\\"") + prompt();
  write_text(d.file("no-nand-run.yaml"), "name: no-nand\nboard: default\ntimeout: 60 s\nsteps:\n" + steps);
  Result r = run_trustsim("run --quiet --board-file " + board + " --console-log " + d.file("console.txt") + " " +
                          d.file("no-nand-run.yaml"));
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- console:\n" << console();
  EXPECT_EQ(access((srv + "/up.bin").c_str(), F_OK), -1);  // nothing was uploaded
}
