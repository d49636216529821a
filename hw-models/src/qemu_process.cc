#include "hw-models/qemu_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
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
  adopted_ = false;
}

void QemuProcess::reaped(int status) {
  if (WIFEXITED(status))
    exit_text_ = "exited with status " + std::to_string(WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    exit_text_ = std::string("killed by signal ") + strsignal(WTERMSIG(status));
  else
    exit_text_ = "ended";
  pid_ = -1;
  adopted_ = false;
}

namespace {

// An adopted QEMU (not our child): alive unless gone or a zombie of its parent.
bool alive_not_zombie(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  size_t k = stat.rfind(')');
  return k == std::string::npos || k + 2 >= stat.size() || (stat[k + 2] != 'Z' && stat[k + 2] != 'X');
}

}  // namespace

bool QemuProcess::running() {
  if (pid_ < 0) return false;
  if (adopted_) {
    if (alive_not_zombie(pid_)) return true;
    exit_text_ = "ended (a job slot's QEMU, exit status unknown here)";
    pid_ = -1;
    adopted_ = false;
    return false;
  }
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
  if (adopted_) {  // its parent, the campaign's walker, reaps it
    exit_text_ = "killed by signal " + std::string(strsignal(SIGKILL));
    pid_ = -1;
    adopted_ = false;
    return;
  }
  int status;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped(status);
}

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The value of "event" in one QMP line, or "".
std::string event_name(const std::string& line) {
  size_t k = line.find("\"event\"");
  if (k == std::string::npos) return "";
  size_t a = line.find('"', line.find(':', k) + 1);
  size_t b = a == std::string::npos ? a : line.find('"', a + 1);
  return b == std::string::npos ? "" : line.substr(a + 1, b - a - 1);
}

}  // namespace

bool QmpConnection::open(const std::string& path, int timeout_ms, std::string& why) {
  close();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    why = path + ": QMP socket path too long";
    return false;
  }
  strcpy(addr.sun_path, path.c_str());
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    why = path + ": cannot connect to QEMU's QMP socket: " + strerror(errno);
    close();
    return false;
  }
  std::string greeting;
  int left = timeout_ms;
  if (!next_line(greeting, left, why) || greeting.find("\"QMP\"") == std::string::npos ||
      !execute("{\"execute\":\"qmp_capabilities\"}", timeout_ms, why)) {
    if (why.empty()) why = "QMP greeting missing: " + greeting;
    close();
    return false;
  }
  return true;
}

void QmpConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  forget();
}

void QmpConnection::forget() {
  fd_ = -1;
  buf_.clear();
  events_.clear();
}

bool QmpConnection::send(const std::string& command, std::string& why) {
  std::string line = command + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    ssize_t n = write(fd_, line.data() + sent, line.size() - sent);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = std::string("QMP: cannot send ") + command + ": " + strerror(errno);
      return false;
    }
    sent += size_t(n);
  }
  return true;
}

bool QmpConnection::next_line(std::string& line, int& left_ms, std::string& why) {
  int64_t until = wall_ms() + left_ms;
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      left_ms = int(std::max<int64_t>(0, until - wall_ms()));
      return true;
    }
    int wait = int(until - wall_ms());
    if (wait <= 0) {
      why = "QMP: no answer from QEMU within " + std::to_string(left_ms) + " ms";
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char chunk[4096];
    ssize_t n = read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = "QMP: QEMU closed the connection";
      return false;
    }
    buf_.append(chunk, size_t(n));
  }
}

bool QmpConnection::await_return(int timeout_ms, std::string& why) {
  std::string line;
  int left = timeout_ms;
  while (next_line(line, left, why)) {
    if (line.rfind("{\"return\"", 0) == 0) return true;
    if (line.rfind("{\"error\"", 0) == 0) {
      why = "QMP: QEMU refused: " + line;
      return false;
    }
    std::string ev = event_name(line);
    if (!ev.empty()) events_.push_back(ev);
  }
  return false;
}

bool QmpConnection::await_event(const std::string& name, int timeout_ms, std::string& why) {
  auto seen = std::find(events_.begin(), events_.end(), name);
  if (seen != events_.end()) {
    events_.erase(seen);
    return true;
  }
  std::string line;
  int left = timeout_ms;
  while (next_line(line, left, why))
    if (event_name(line) == name) return true;
  if (why.rfind("QMP: no answer", 0) == 0)
    why = "QMP: no " + name + " event from QEMU within " + std::to_string(timeout_ms) + " ms";
  return false;
}

bool QmpConnection::execute(const std::string& command, int timeout_ms, std::string& why) {
  return send(command, why) && await_return(timeout_ms, why);
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
