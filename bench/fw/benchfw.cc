// Benchmark firmware for bench/lockstep.py. The same binary runs under plain
// QEMU (no plugin: the doorbell is a NOP, board discovery fails, it exits by
// semihosting) and under trustsim (loaded by Boot0 in place of ROMmon; it
// reports on the console). The harness patches `g_params` in the binary.
#include "fwlib/fw.h"

struct Params {
  uint32_t magic;      // 0xB0B0CAFE, so the harness can find this block
  uint32_t loops;      // CPU work: passes over the work buffer
  uint32_t doorbells;  // device round trips (trustsim only)
  uint32_t reserved;
};

extern "C" {
__attribute__((used)) volatile Params g_params = {0xB0B0CAFEu, 1, 0, 0};
}

namespace {

// Page-aligned: a store to a page holding translated code takes QEMU's slow
// path (it checks for self-modifying code), which would time that instead.
alignas(4096) uint32_t g_work[16384];

[[noreturn]] void semihosting_exit(uint64_t code) {
  static uint64_t block[2];
  block[0] = 0x20026;  // ADP_Stopped_ApplicationExit
  block[1] = code;
  register uint64_t x0 asm("x0") = 0x18;  // SYS_EXIT
  register uint64_t x1 asm("x1") = reinterpret_cast<uint64_t>(block);
  asm volatile("hlt #0xf000" ::"r"(x0), "r"(x1) : "memory");
  for (;;) {
  }
}

uint32_t cpu_work(uint32_t loops) {
  uint32_t x = 2166136261u;
  for (uint32_t l = 0; l < loops; ++l)
    for (uint32_t i = 0; i < 16384; ++i) {
      x = (x ^ g_work[i]) * 16777619u;
      g_work[i] = x + i;
    }
  return x;
}

}  // namespace

int fw_main() {
  bool board = fw::board_init();
  uint32_t result = cpu_work(g_params.loops);
  if (!board) semihosting_exit(0);
  uint64_t t = 0;
  for (uint32_t i = 0; i < g_params.doorbells; ++i) t += fw::uptime_ns();
  fw::printf("BENCH DONE loops=%u doorbells=%u result=%x t=%lu\n", g_params.loops, g_params.doorbells, result, t);
  fw::flush();
  fw::power_off();
}
