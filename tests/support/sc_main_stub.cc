// libsystemc references sc_main; test binaries use gtest's main instead.
extern "C" int sc_main(int, char**) { return 0; }
