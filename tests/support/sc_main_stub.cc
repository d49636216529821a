// Test binaries that link SystemC need their own main: libsystemc.so defines
// one (it calls sc_main), and without this file the dynamic linker would pick
// it over gtest's and no test would run. sc_main is still referenced by the
// library, so a stub is defined too.
#include <gtest/gtest.h>

#include <cstdlib>

extern "C" int sc_main(int, char**) { return 0; }

int main(int argc, char** argv) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
