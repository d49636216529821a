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
  if (__atomic_load_n(other_sleeping, __ATOMIC_SEQ_CST))
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Waits until *word != old: spins for spin_ns, then sleeps in slices of
 * slice_ms. Returns 1 when it changed, 0 when one slice passed without a
 * change (the caller checks liveness, interrupts, timeouts and calls again). */
static inline int ts_chan_wait(uint32_t* word, uint32_t old, uint32_t* my_sleeping, uint64_t spin_ns, int slice_ms) {
  if (spin_ns) {
    uint64_t until = ts_monotonic_ns() + spin_ns;
    do {
      for (int i = 0; i < 64; ++i) {
        if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != old) return 1;
        ts_cpu_relax();
      }
      /* Give the core away if anything else wants it: when more processes
       * than cores are running (parallel test jobs), the peer we wait for
       * may be queued behind us. */
      sched_yield();
    } while (ts_monotonic_ns() < until);
  }
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
