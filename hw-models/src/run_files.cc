#include "hw-models/run_files.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace trustsim {

void remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

namespace {

volatile sig_atomic_t g_interrupt = 0;  // written only by the signal handler

void on_signal(int sig) { g_interrupt = sig; }

bool owner_dead(const char* name, const char* prefix) {
  size_t n = strlen(prefix);
  if (strncmp(name, prefix, n) != 0) return false;
  char* end;
  long pid = strtol(name + n, &end, 10);
  if (end == name + n || *end != '-' || pid <= 0) return false;
  return kill(pid_t(pid), 0) != 0 && errno == ESRCH;
}

void sweep(const char* dir, const char* prefix, bool is_dir) {
  DIR* d = opendir(dir);
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (!owner_dead(e->d_name, prefix)) continue;
    std::string path = std::string(dir) + "/" + e->d_name;
    if (is_dir) {
      remove_tree(path);
    } else {
      unlink(path.c_str());
    }
  }
  closedir(d);
}

}  // namespace

void sweep_stale_run_files() {
  sweep("/dev/shm", "trustsim-run-", true);
  sweep("/dev/shm", "trustsim-", false);
  sweep("/tmp", "trustsim-run-", true);
  sweep("/tmp", "trustsim-", false);  // RAM files where /dev/shm is missing
}

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A QEMU that died or a reader that went away must give an error, not kill us.
  signal(SIGPIPE, SIG_IGN);
}

int pending_interrupt() { return g_interrupt; }

}  // namespace trustsim
