#include "hw-models/qemu_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <stdexcept>

namespace trustsim {

void QemuProcess::start(const std::vector<std::string>& argv, const std::string& log_path) {
  kill();
  exit_text_.clear();
  int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) throw std::runtime_error(log_path + ": cannot open QEMU log: " + strerror(errno));
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = getpid();
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(log);
    throw std::runtime_error(std::string("fork failed: ") + strerror(errno));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(log, 1);
    dup2(log, 2);
    execvp(args[0], args.data());
    dprintf(2, "trustsim: cannot execute %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  close(log);
  pid_ = pid;
}

void QemuProcess::reaped(int status) {
  if (WIFEXITED(status))
    exit_text_ = "exited with status " + std::to_string(WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    exit_text_ = std::string("killed by signal ") + strsignal(WTERMSIG(status));
  else
    exit_text_ = "ended";
  pid_ = -1;
}

bool QemuProcess::running() {
  if (pid_ < 0) return false;
  int status;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped(status);
    return false;
  }
  return true;
}

void QemuProcess::kill() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGKILL);
  int status;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped(status);
}

std::string tail_of_file(const std::string& path, size_t n) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > n) lines.pop_front();
  }
  std::string out;
  for (const std::string& l : lines) out += "    " + l + "\n";
  return out;
}

}  // namespace trustsim
