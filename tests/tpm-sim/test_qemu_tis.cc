// Stock QEMU's own TPM TIS device (`-tpmdev emulator` + `tpm-tis-device`)
// backed by `trustsim tpm serve` through the swtpm control channel: a test
// firmware extends and reads PCR0 through QEMU's TIS registers.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "../support/test_util.h"
#include "devices/openssl_util.h"

using namespace trustsim;

namespace {

pid_t spawn(const std::vector<std::string>& argv, const std::string& out) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = freopen(out.c_str(), "w", stdout);
    (void)f;
    dup2(1, 2);
    std::vector<char*> a;
    for (const std::string& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  return pid;
}

bool wait_for(const std::function<bool()>& cond, int seconds) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cond();
}

}  // namespace

TEST(TpmQemu, StockTisDeviceReachesTpmSimThroughTheSwtpmControlChannel) {
  test::TempDir d;
  std::string ctrl = d.file("ctrl.sock"), nv = d.file("tpm-nv.bin");
  pid_t serve = spawn({TRUSTSIM_EXE, "tpm", "serve", "--ctrl", ctrl, "--nv", nv}, d.file("serve.txt"));
  ASSERT_TRUE(wait_for([&] { return access(ctrl.c_str(), F_OK) == 0; }, 10)) << test::read_text(d.file("serve.txt"));
  pid_t qemu = spawn({"qemu-system-aarch64",
                      "-M",
                      "virt",
                      "-cpu",
                      "cortex-a57",
                      "-m",
                      "128M",
                      "-nodefaults",
                      "-display",
                      "none",
                      "-monitor",
                      "none",
                      "-bios",
                      QEMU_TIS_FW,
                      "-chardev",
                      "socket,id=chrtpm,path=" + ctrl,
                      "-tpmdev",
                      "emulator,id=tpm0,chardev=chrtpm",
                      "-device",
                      "tpm-tis-device,tpmdev=tpm0",
                      "-serial",
                      "file:" + d.file("uart.txt")},
                     d.file("qemu.txt"));
  int qst = 0;
  bool qemu_exited = false;
  bool done = wait_for(
      [&] {
        if (!qemu_exited && waitpid(qemu, &qst, WNOHANG) == qemu) qemu_exited = true;
        return qemu_exited || test::read_text(d.file("uart.txt")).find("qemu-tis: done") != std::string::npos ||
               test::read_text(d.file("uart.txt")).find("failed") != std::string::npos ||
               test::read_text(d.file("uart.txt")).find("not granted") != std::string::npos;
      },
      60);
  if (!qemu_exited) {
    kill(qemu, SIGKILL);
    waitpid(qemu, nullptr, 0);
  }
  int st = 0;
  bool serve_ended = wait_for([&] { return waitpid(serve, &st, WNOHANG) == serve; }, 10);
  if (!serve_ended) {
    kill(serve, SIGKILL);
    waitpid(serve, nullptr, 0);
  }
  std::string uart = test::read_text(d.file("uart.txt"));
  std::string served = test::read_text(d.file("serve.txt"));
  ASSERT_TRUE(done && !qemu_exited) << "uart:\n"
                                    << uart << "\nqemu:\n"
                                    << test::read_text(d.file("qemu.txt")) << "\nserve:\n"
                                    << served;
  EXPECT_TRUE(serve_ended) << "trustsim tpm serve did not end when QEMU closed the control channel";
  EXPECT_NE(uart.find("qemu-tis: Startup rc 0x0\n"), std::string::npos) << uart;
  EXPECT_NE(uart.find("qemu-tis: PCR_Extend rc 0x0\n"), std::string::npos) << uart;
  std::vector<uint8_t> in(32, 0);
  for (int i = 0; i < 32; ++i) in.push_back(uint8_t(i));
  std::vector<uint8_t> want = ossl::sha256(in.data(), in.size());
  std::string hex = ossl::hex(want.data(), 32);
  for (char& c : hex) c = char(toupper(static_cast<unsigned char>(c)));
  EXPECT_NE(uart.find("qemu-tis: PCR0 " + hex + "\n"), std::string::npos) << uart;
  // The commands went to tpm-sim (its NV file, its counters), not to some swtpm.
  EXPECT_EQ(access(nv.c_str(), F_OK), 0);
  EXPECT_NE(served.find("tpm serve: done:"), std::string::npos) << served;
}
