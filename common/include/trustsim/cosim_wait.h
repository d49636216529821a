/* Spin-then-futex waiting on a shared sequence word; used by both ends of
 * the cosim channel (cosim_protocol.h). Host-only (Linux). */
#pragma once
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline void ts_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

static inline uint64_t ts_monotonic_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Publishes `seq` and wakes the other side if it said it sleeps. */
static inline void ts_chan_publish(uint32_t* word, uint32_t seq, uint32_t* other_sleeping) {
  __atomic_store_n(word, seq, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(other_sleeping, __ATOMIC_SEQ_CST)) syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Adaptive spin budget: it grows while spinning pays off (the answer came
 * within the budget) and halves each time the wait ended up sleeping, so
 * on an oversubscribed machine (more busy processes than cores) both sides
 * soon just sleep instead of stealing the core from the peer they wait for. */
struct ts_spin {
  uint64_t budget_ns;
  uint64_t max_ns;
};

/* Waits until *word != old: spins up to the budget, then sleeps in slices
 * of slice_ms. Returns 1 when it changed, 0 when one slice passed without a
 * change (the caller checks liveness, interrupts, timeouts and calls again). */
static inline int ts_chan_wait(uint32_t* word, uint32_t old, uint32_t* my_sleeping, struct ts_spin* spin,
                               int slice_ms) {
  uint64_t spin_ns = spin->budget_ns;
  if (spin_ns) {
    uint64_t until = ts_monotonic_ns() + spin_ns;
    do {
      for (int i = 0; i < 64; ++i) {
        if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != old) {
          uint64_t grown = spin->budget_ns + spin->budget_ns / 4 + 1000;
          spin->budget_ns = grown < spin->max_ns ? grown : spin->max_ns;
          return 1;
        }
        ts_cpu_relax();
      }
    } while (ts_monotonic_ns() < until);
  }
  spin->budget_ns /= 2;
  if (spin->budget_ns < 2000 && spin->max_ns) spin->budget_ns = 2000; /* keep probing a little */
  __atomic_store_n(my_sleeping, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != old) {
    __atomic_store_n(my_sleeping, 0, __ATOMIC_SEQ_CST);
    return 1;
  }
  struct timespec ts = {slice_ms / 1000, (long)(slice_ms % 1000) * 1000000L};
  syscall(SYS_futex, word, FUTEX_WAIT, old, &ts, NULL, 0);
  __atomic_store_n(my_sleeping, 0, __ATOMIC_SEQ_CST);
  return __atomic_load_n(word, __ATOMIC_ACQUIRE) != old;
}

#ifdef __cplusplus
}
#endif
