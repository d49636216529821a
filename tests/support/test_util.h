// Helpers shared by the tests: temporary directories and files, and for
// the system tests, running a shell command or trustsim itself.
#pragma once
#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace trustsim::test {

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/trustsim-test-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

inline std::string write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// What a command printed (stdout and stderr, interleaved) and its exit code
// (-1 if it could not be started or did not exit normally).
struct Result {
  int exit_code;
  std::string output;
};

// Runs `cmd` through /bin/sh with stderr joined to stdout.
inline Result sh(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  Result r{-1, ""};
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

#ifdef TRUSTSIM_EXE
// Runs the trustsim under test with `args` (shell words).
inline Result run_trustsim(const std::string& args) { return sh(std::string(TRUSTSIM_EXE) + " " + args); }
#endif

#ifdef TRUSTSIM_SOURCE_DIR
// A path in the source tree.
inline std::string src(const std::string& rel) { return std::string(TRUSTSIM_SOURCE_DIR) + "/" + rel; }
#endif

// Processes other than this one whose command line mentions `needle` (e.g.
// a board directory).
inline std::vector<int> processes_mentioning(const std::string& needle) {
  std::vector<int> pids;
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    int pid = atoi(e->d_name);
    if (pid <= 0 || pid == getpid()) continue;
    // The process may exit while we read (other tests start and stop
    // QEMUs all the time): plain read(2), and whatever it gave.
    std::string cmd;
    int fd = open(("/proc/" + std::to_string(pid) + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) cmd.append(buf, size_t(n));
      close(fd);
    }
    for (char& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(needle) != std::string::npos) pids.push_back(pid);
  }
  if (d) closedir(d);
  return pids;
}

// The QEMUs of the trustsim process `pid`: their command lines name files in
// its run directory, /dev/shm/trustsim-run-<pid>-XXXXXX (docs/cosim-protocol.md).
inline std::vector<int> qemus_of_run(int pid) {
  return processes_mentioning("trustsim-run-" + std::to_string(pid) + "-");
}

}  // namespace trustsim::test
