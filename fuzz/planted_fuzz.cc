// A target with a planted heap overflow and a planted leak. It exists to
// prove that the fuzz suite reports a finding as a failed test, with a
// symbolized stack (fuzz/check_planted.sh); it is never fuzzed.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cstdlib>

extern "C" {
// Not static and not inlined, so the stack names them.
__attribute__((noinline)) int planted_overflow(const uint8_t* data, size_t size) {
  char* buf = static_cast<char*>(malloc(4));
  memcpy(buf, data, size);  // size is 5 or more: out of bounds
  int r = buf[0];
  free(buf);
  return r;
}

__attribute__((noinline)) void* planted_leak(size_t size) {
  void* p = malloc(size + 24);
  memset(p, 0, size + 24);
  return p;  // never freed
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size >= 5 && memcmp(data, "CRASH", 5) == 0) return planted_overflow(data, size);
  static volatile uintptr_t sink;
  if (size >= 4 && memcmp(data, "LEAK", 4) == 0) sink = reinterpret_cast<uintptr_t>(planted_leak(size)) & 0;
  return 0;
}
}
