// One stock qemu-system-aarch64 process: started with the lock-step plugin,
// killed (never left behind) when power goes or trustsim exits.
#pragma once
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace trustsim {

class QemuProcess {
 public:
  QemuProcess() = default;
  ~QemuProcess() { kill(); }
  QemuProcess(const QemuProcess&) = delete;
  QemuProcess& operator=(const QemuProcess&) = delete;

  // Starts argv[0] with its stdout/stderr appended to log_path. The child
  // dies with trustsim (PR_SET_PDEATHSIG). Throws std::runtime_error.
  void start(const std::vector<std::string>& argv, const std::string& log_path);
  // True while running; once it has exited, describes how.
  bool running();
  std::string exit_description() const { return exit_text_; }
  void kill();  // SIGKILL and reap; no-op when not running
  // After fork(): the QEMU belongs to the parent; drop it without a signal.
  void forget() {
    pid_ = -1;
    adopted_ = false;
  }
  // After fork(): this process uses the parent's QEMU (a campaign job slot,
  // docs/campaigns.md) without being able to wait for it: running() asks
  // kill(pid, 0) and /proc/PID/stat, kill() signals without reaping.
  void adopt() { adopted_ = pid_ >= 0; }
  bool adopted() const { return adopted_; }
  void swap(QemuProcess& o) {
    std::swap(pid_, o.pid_);
    std::swap(exit_text_, o.exit_text_);
    std::swap(adopted_, o.adopted_);
  }
  pid_t pid() const { return pid_; }

 private:
  void reaped(int status);
  pid_t pid_ = -1;
  bool adopted_ = false;
  std::string exit_text_;
};

// A QMP client on QEMU's unix socket (-qmp unix:PATH,server=on). Only
// what reusing a QEMU across power cycles needs: send a command without
// waiting, wait for its reply, wait for an event. Each wait gives up after
// timeout_ms of wall time and says why in `why`.
class QmpConnection {
 public:
  QmpConnection() = default;
  ~QmpConnection() { close(); }
  QmpConnection(const QmpConnection&) = delete;
  QmpConnection& operator=(const QmpConnection&) = delete;

  // Connects, reads the greeting and negotiates capabilities.
  bool open(const std::string& path, int timeout_ms, std::string& why);
  bool is_open() const { return fd_ >= 0; }
  void close();
  // After fork(): the connection belongs to the parent; drop our copy.
  void forget();
  void swap(QmpConnection& o) {
    std::swap(fd_, o.fd_);
    buf_.swap(o.buf_);
    events_.swap(o.events_);
  }
  bool send(const std::string& command, std::string& why);
  // The next reply ({"return"...} or {"error"...}: an error reply fails).
  bool await_return(int timeout_ms, std::string& why);
  // An event of this name (one seen earlier, while waiting for a reply,
  // counts once).
  bool await_event(const std::string& name, int timeout_ms, std::string& why);
  // send + await_return
  bool execute(const std::string& command, int timeout_ms, std::string& why);

 private:
  bool next_line(std::string& line, int& left_ms, std::string& why);
  int fd_ = -1;
  std::string buf_;
  std::vector<std::string> events_;  // names seen and not yet awaited
};

// Last `n` lines of a text file, for error messages.
std::string tail_of_file(const std::string& path, size_t n);

}  // namespace trustsim
