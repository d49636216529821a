// Helpers shared by the tests: temporary directories and files.
#pragma once
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace trustsim::test {

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/trustsim-test-XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

inline std::string write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace trustsim::test
