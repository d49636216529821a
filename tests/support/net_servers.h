// Real TFTP and FTP servers on loopback for the transfer-engine tests:
// tftpd-hpa's in.tftpd and pyftpdlib (Debian packages, scripts/bootstrap.sh),
// each on a free port, serving one directory, stopped by the destructor.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace trustsim::test {

// A port nothing listens on right now (the kernel's pick).
inline int free_port(int type) {
  int s = socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);
  close(s);
  return ntohs(a.sin_port);
}

// Starts argv in its own process group with stdout+stderr to `log`.
inline pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    if (!freopen(log.c_str(), "w", stdout)) _exit(126);
    dup2(1, 2);
    std::vector<char*> args;
    for (const std::string& s : argv) args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

inline void stop_group(pid_t pid) {
  if (pid <= 0) return;
  kill(-pid, SIGTERM);
  int st;
  waitpid(pid, &st, 0);
}

// in.tftpd and pyftpdlib (user trustsim, password secret) serving `dir`.
// `probe` is a file in `dir` both must serve before ready() is true.
struct NetServers {
  std::string dir, log_dir;
  int tftp_port = 0, ftp_port = 0;
  pid_t tftpd = -1, ftpd = -1;
  bool ready = false;
  std::string why;  // when not ready: the server logs

  NetServers(std::string serve_dir, std::string logs, const std::string& probe) : dir(std::move(serve_dir)), log_dir(std::move(logs)) {
    chmod(dir.c_str(), 0755);  // in.tftpd drops to an unprivileged user
    tftp_port = free_port(SOCK_DGRAM);
    tftpd = spawn_logged({"/usr/sbin/in.tftpd", "-L", "-s", dir, "--address", "127.0.0.1:" + std::to_string(tftp_port)},
                         log_dir + "/tftpd.log");
    ftp_port = free_port(SOCK_STREAM);
    ftpd = spawn_logged({"/usr/bin/python3", "-m", "pyftpdlib", "-i", "127.0.0.1", "-p", std::to_string(ftp_port), "-d", dir,
                         "-u", "trustsim", "-P", "secret"},
                        log_dir + "/ftpd.log");
    // Ready when a real client (curl) fetches the probe file from both.
    bool t = false, f = false;
    for (int i = 0; i < 100 && !(t && f); ++i) {
      if (!t) t = sh("curl -sf -o /dev/null --max-time 2 tftp://127.0.0.1:" + std::to_string(tftp_port) + "/" + probe).exit_code == 0;
      if (!f)
        f = sh("curl -sf -o /dev/null --max-time 2 ftp://trustsim:secret@127.0.0.1:" + std::to_string(ftp_port) + "/" + probe)
                .exit_code == 0;
      if (!(t && f)) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ready = t && f;
    if (!t) why += "in.tftpd did not serve: " + read_text(log_dir + "/tftpd.log") + "\n";
    if (!f) why += "pyftpdlib did not serve: " + read_text(log_dir + "/ftpd.log") + "\n";
  }
  ~NetServers() {
    stop_group(tftpd);
    stop_group(ftpd);
  }
  NetServers(const NetServers&) = delete;
  NetServers& operator=(const NetServers&) = delete;
};

}  // namespace trustsim::test
