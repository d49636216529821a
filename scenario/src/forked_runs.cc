#include "scenario/forked_runs.h"

#include "hw-models/env_switch.h"
#include "hw-models/run_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace trustsim {

namespace {

// The CPUs the walker may run on, as it started (before any child pinned itself).
cpu_set_t walker_cpus() {
  static cpu_set_t set = [] {
    cpu_set_t s;
    CPU_ZERO(&s);
    if (sched_getaffinity(0, sizeof s, &s) != 0) CPU_ZERO(&s);
    return s;
  }();
  return set;
}

bool pinning_on() { return env_switch("TRUSTSIM_PIN_SLOTS", true); }

}  // namespace

cpu_set_t slot_cpus(int slot, const cpu_set_t& all) {
  int n = CPU_COUNT(&all);
  if (slot < 0 || n < 2) return all;
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int c = 0, seen = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &all) && seen++ == slot % n) CPU_SET(c, &one);
  return one;
}

void pin_process(pid_t pid, const cpu_set_t& set) {
  if (pid <= 0) return;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') sched_setaffinity(pid_t(atoi(e->d_name)), sizeof set, &set);
    closedir(d);
  }
}

bool ForkedRuns::fork(Board& board, const std::string& dir, const RunRecord& rec, size_t limit, std::string* error) {
  while (children_.size() >= limit) reap(true);
  mkdir(dir.c_str(), 0755);
  board_ = &board;
  walker_cpus();
  int slot = use_slots_ ? free_slot() : -1;
  if (slot >= 0 && !board.bridge().prepare_slot(size_t(slot))) slot = -1;
  ++forks_made_;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + strerror(errno);
    return false;
  }
  fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    *error = std::string("fork: ") + strerror(errno);
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    children_.clear();
    results_.clear();
    // A one-cut run keeps one slot QEMU of its own for its second cuts,
    // which it forks one at a time; they fork no further.
    // TRUSTSIM_SECOND_CUT_SLOTS=0: they start their own (for benchmarks).
    use_slots_ = ++level_ < 2 && env_switch("TRUSTSIM_SECOND_CUT_SLOTS", true);
    // The run and its slot's QEMU hand the lock-step back and forth
    // thousands of times: on one CPU, each hand-over is a switch there, with
    // no wake-up interrupt sent to another CPU (docs/campaigns.md). A second
    // cut's run and its one-cut run's slot QEMU (started by the pinned
    // one-cut run) stay on the one-cut run's CPU.
    if (pinning_on() && level_ == 1 && slot >= 0) {
      cpu_set_t cpus = slot_cpus(slot, walker_cpus());
      sched_setaffinity(0, sizeof cpus, &cpus);
      pin_process(board.bridge().slot_qemu_pid(size_t(slot)), cpus);
    }
    if (const char* t = getenv("TRUSTSIM_TEST_KILL_SLOT_RUN"))
      board.bridge().test_die_after_adopting = level_ == 1 && slot >= 0 && strtoul(t, nullptr, 10) == forks_made_;
    on_result = nullptr;  // the campaign's progress lives in the walking process
    int w = fds[1];
    if (release_fd_ >= 0) close(release_fd_);
    release_fd_ = -1;
    if (release_on_claim) {
      // Both the bridge's detach and release() (or this process's end) let the parent go on.
      release_fd_ = w;
      detached_ = claimed_ = false;
      board.detach_after_fork(
          StatePaths{dir + "/board"}, dir,
          [this] {
            detached_ = true;
            maybe_release();
          },
          slot);
      return true;
    }
    board.detach_after_fork(
        StatePaths{dir + "/board"}, dir,
        [w] {
          char c = 'd';
          ssize_t n = write(w, &c, 1);
          (void)n;
          close(w);
        },
        slot);
    return true;
  }
  close(fds[1]);
  // The parent's guest RAM and state files are in use by the child until
  // its cut has happened: wait for that (or for its end) before going on.
  char c;
  while (read(fds[0], &c, 1) < 0 && errno == EINTR) {
  }
  close(fds[0]);
  children_[pid] = Child{rec, dir, slot};
  return false;
}

int ForkedRuns::free_slot() const {
  for (int k = 0;; ++k) {
    bool busy = false;
    for (const auto& c : children_) busy |= c.second.slot == k;
    if (!busy) return k;
  }
}

void ForkedRuns::release() {
  claimed_ = true;
  maybe_release();
}

void ForkedRuns::maybe_release() {
  if (release_fd_ < 0 || !detached_ || !claimed_) return;
  char c = 'c';
  ssize_t n = write(release_fd_, &c, 1);
  (void)n;
  close(release_fd_);
  release_fd_ = -1;
}

void ForkedRuns::reap(bool block_until_one) {
  reap_ended(children_, block_until_one, [this](pid_t, int status, Child& ch) {
    // The run's own record first, then those of the second cuts it forked.
    std::vector<RunRecord> recs;
    if (!read_run_records(ch.dir + "/result", recs)) {
      RunRecord rec = ch.rec;
      rec.passed = false;
      rec.failure = WIFSIGNALED(status)
                        ? std::string("the run crashed: ") + strsignal(WTERMSIG(status))
                        : "the run ended without a verdict (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
      recs = {rec};
    }
    // The slot's QEMU is clean only if the run parked it and said so.
    if (ch.slot >= 0 && board_)
      board_->bridge().slot_returned(size_t(ch.slot), access((ch.dir + "/slot-clean").c_str(), F_OK) == 0);
    remove_tree(ch.dir);
    for (const RunRecord& rec : recs) {
      results_.push_back(rec);
      if (on_result && !rec.redo) on_result(rec);  // a redone run reports later
    }
  });
}

void ForkedRuns::finish_child(Board& board, const std::string& dir, const RunRecord& own) {
  std::vector<RunRecord> all = {own};
  // A run to be redone is redone with its second cuts: drop those it made.
  if (!own.redo) all.insert(all.end(), results_.begin(), results_.end());
  // A slot QEMU goes back parked, marked clean, before the records count as written.
  if (board.bridge().hand_back_slot()) {
    int fd = open((dir + "/slot-clean").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
  }
  write_run_records(dir + "/result", all);
  board.bridge().shutdown();
  fflush(nullptr);
  _exit(0);
}

}  // namespace trustsim
