// One stock qemu-system-aarch64 process: started with the lock-step plugin,
// killed (never left behind) when power goes or trustsim exits.
#pragma once
#include <sys/types.h>

#include <string>
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
  void forget() { pid_ = -1; }
  pid_t pid() const { return pid_; }

 private:
  void reaped(int status);
  pid_t pid_ = -1;
  std::string exit_text_;
};

// Last `n` lines of a text file, for error messages.
std::string tail_of_file(const std::string& path, size_t n);

}  // namespace trustsim
