// CPU pinning of forked campaign runs (scenario/forked_runs.h): which CPU a
// job slot gets, and that a process is pinned with all its threads.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>

#include "scenario/forked_runs.h"

namespace trustsim {
namespace {

cpu_set_t cpus(std::initializer_list<int> list) {
  cpu_set_t s;
  CPU_ZERO(&s);
  for (int c : list) CPU_SET(c, &s);
  return s;
}

std::string list(const cpu_set_t& s) {
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &s)) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

TEST(SlotCpus, EachSlotGetsOneCpuOfTheWalkersSetInTurn) {
  cpu_set_t two = cpus({0, 1});
  EXPECT_EQ(list(slot_cpus(0, two)), "0");
  EXPECT_EQ(list(slot_cpus(1, two)), "1");
  EXPECT_EQ(list(slot_cpus(2, two)), "0");
  EXPECT_EQ(list(slot_cpus(3, two)), "1");
  // A set with gaps (taskset -c 1,3,5): the slot-th CPU of the set.
  cpu_set_t odd = cpus({1, 3, 5});
  EXPECT_EQ(list(slot_cpus(0, odd)), "1");
  EXPECT_EQ(list(slot_cpus(2, odd)), "5");
  EXPECT_EQ(list(slot_cpus(4, odd)), "3");
}

TEST(SlotCpus, NoSlotOrOneCpuKeepsTheWholeSet) {
  EXPECT_EQ(list(slot_cpus(-1, cpus({0, 1, 2}))), "0,1,2");
  EXPECT_EQ(list(slot_cpus(3, cpus({2}))), "2");
}

std::string allowed(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Cpus_allowed_list:", 0) == 0) return line.substr(line.find_first_not_of(" \t", 18));
  return "?";
}

// QEMU runs several threads (the vCPU's among them): every one is pinned.
TEST(SlotCpus, PinProcessPinsEveryThread) {
  cpu_set_t mine;
  ASSERT_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  int first = -1;
  for (int c = 0; c < CPU_SETSIZE && first < 0; ++c)
    if (CPU_ISSET(c, &mine)) first = c;
  std::atomic<pid_t> other{0};
  std::atomic<bool> done{false};
  std::thread t([&] {
    other = pid_t(syscall(SYS_gettid));
    while (!done) usleep(1000);
  });
  while (!other) usleep(1000);
  pin_process(getpid(), cpus({first}));
  std::string main_thread = allowed(pid_t(syscall(SYS_gettid))), second = allowed(other);
  done = true;
  t.join();
  pin_process(getpid(), mine);
  EXPECT_EQ(main_thread, std::to_string(first));
  EXPECT_EQ(second, std::to_string(first));
}

}  // namespace
}  // namespace trustsim
