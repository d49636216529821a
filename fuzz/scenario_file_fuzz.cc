// libFuzzer target: scenario files (scenario/src/scenario.cc on top of
// hw-models/src/yaml_reader.cc and yaml-cpp). Rejections must be
// trustsim::InputError; any other exception, crash or sanitizer report is a
// finding.
#include <stddef.h>
#include <stdint.h>

#include "scenario/scenario.h"
#include "yaml_input.h"

// The parser links the device libraries, and so libsystemc, which refers to
// sc_main; libFuzzer owns main.
extern "C" int sc_main(int, char**) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_yaml::run_on_file(data, size, [](const std::string& path) { trustsim::load_scenario(path); });
}
