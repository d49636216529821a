// The runs a campaign forks: the fork/reap half of the campaign walker
// (scenario/campaign_walker.h), used by a board's CampaignRun
// (scenario/campaign_run.h) at cut points.
#pragma once
#include <sched.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hw-models/board.h"
#include "scenario/campaign.h"

namespace trustsim {

// Waits for the processes in `running` (pid -> what it runs); calls
// `ended(pid, wait status, what)` for each that has ended, which is then
// dropped. With `block_until_one`, polls until at least one has ended.
template <class T, class F>
void reap_ended(std::map<pid_t, T>& running, bool block_until_one, F ended) {
  for (;;) {
    for (auto it = running.begin(); it != running.end();) {
      int status;
      if (waitpid(it->first, &status, WNOHANG) != it->first) {
        ++it;
        continue;
      }
      ended(it->first, status, it->second);
      it = running.erase(it);
      block_until_one = false;
    }
    if (!block_until_one || running.empty()) return;
    usleep(2000);
  }
}

// The CPUs for a forked run on job slot `slot` and for that slot's QEMU:
// the slot-th CPU of `all` (modulo their count), or all of them for a run
// without a slot (-1) or when `all` has one CPU.
cpu_set_t slot_cpus(int slot, const cpu_set_t& all);
// Sets the CPU affinity of every thread of process `pid` (errors ignored:
// the process only runs where the scheduler puts it).
void pin_process(pid_t pid, const cpu_set_t& set);

// The runs a CampaignRun forks at cut points (CampaignRole::kWalk): each
// child continues the board in its own directory and hands its records back
// in `dir`/result; the parent reaps them as they end.
class ForkedRuns {
 public:
  // Forks a run that continues `board` in `dir` (which it creates) once
  // fewer than `limit` runs are out. Returns true in the child, false in the
  // parent (which waits until the child has taken over the board's files);
  // on failure returns false with `error` set.
  bool fork(Board& board, const std::string& dir, const RunRecord& rec, size_t limit, std::string* error);
  // Collects ended runs: their records, or a failed record saying how the
  // run ended; each goes to `results` and to `on_result`.
  void reap(bool block_until_one);
  void reap_all() {
    while (!children_.empty()) reap(true);
  }
  const std::vector<RunRecord>& results() const { return results_; }
  std::function<void(const RunRecord&)> on_result;
  // Test hook: TRUSTSIM_TEST_KILL_SLOT_RUN=N kills the walker's Nth forked
  // run right after its recovery started on the slot's QEMU.
  // With dedup, the parent waits until the child calls release() (after it
  // claimed its crash state), not only until it has taken over the files:
  // claims then happen in fork order, whatever the children's speed.
  bool release_on_claim = false;
  void release();
  // The child's own record and those of the runs it forked go to `dir`/result,
  // then the process ends.
  [[noreturn]] void finish_child(Board& board, const std::string& dir, const RunRecord& own);

 private:
  struct Child {
    RunRecord rec;
    std::string dir;
    int slot;  // the job slot whose parked QEMU it adopted, or -1
  };
  int free_slot() const;
  // The walker keeps one parked QEMU per job slot for its runs' recoveries,
  // and a one-cut run one for its second cuts (docs/campaigns.md).
  bool use_slots_ = true;
  int level_ = 0;  // 0: the walker; 1: a one-cut run; 2: a second cut's run
  Board* board_ = nullptr;
  unsigned forks_made_ = 0;
  std::map<pid_t, Child> children_;
  std::vector<RunRecord> results_;
  void maybe_release();
  int release_fd_ = -1;  // in a child with release_on_claim: tells the parent to go on
  bool detached_ = false, claimed_ = false;
};

}  // namespace trustsim
