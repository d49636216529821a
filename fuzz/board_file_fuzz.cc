// libFuzzer target: board files (hw-models/src/board_config.cc on top of
// yaml_reader.cc and yaml-cpp). A board file is user input: every mistake
// must come back as trustsim::InputError naming file, line and field; any
// other exception, crash or sanitizer report is a finding.
#include <stddef.h>
#include <stdint.h>

#include "hw-models/board_config.h"
#include "yaml_input.h"

// The parser links the device libraries, and so libsystemc, which refers to
// sc_main; libFuzzer owns main.
extern "C" int sc_main(int, char**) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_yaml::run_on_file(data, size, [](const std::string& path) { trustsim::load_board_config(path); });
}
