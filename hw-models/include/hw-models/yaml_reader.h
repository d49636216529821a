// Strict YAML access for board and scenario files: every error names
// file:line, the dotted field path and what was expected; unknown keys are
// errors. Values with units ("5 ms", "128 MiB", "50 MHz") are parsed here.
#pragma once
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "devkit/input_error.h"

namespace trustsim {

// Board, scenario and board-state files are small; anything larger is refused
// before yaml-cpp sees it (a huge file would take gigabytes of memory).
constexpr uint64_t kMaxYamlFileBytes = 1024 * 1024;

class YamlReader {
 public:
  // Loads the file; a syntax error becomes an InputError with its line.
  static YAML::Node load_file(const std::string& path);

  explicit YamlReader(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

  [[noreturn]] void fail(const YAML::Node& at, const std::string& field, const std::string& msg) const;

  // `node` must be a map whose keys are all in `allowed`.
  void expect_map(const YAML::Node& node, const std::string& field, std::initializer_list<const char*> allowed) const;
  void expect_map(const YAML::Node& node, const std::string& field, const std::vector<std::string>& allowed) const;
  YAML::Node require(const YAML::Node& map, const std::string& parent, const char* key) const;

  std::string str(const YAML::Node& node, const std::string& field) const;
  uint64_t u64(const YAML::Node& node, const std::string& field) const;               // decimal or 0x hex
  uint64_t size_bytes(const YAML::Node& node, const std::string& field) const;        // "32 KiB", 4096
  uint64_t duration_ps(const YAML::Node& node, const std::string& field) const;       // "5 ms" -> ps
  uint64_t frequency_hz(const YAML::Node& node, const std::string& field) const;      // "50 MHz"
  uint64_t rate_bytes_per_s(const YAML::Node& node, const std::string& field) const;  // "105 MB/s"

 private:
  std::string path_;
};

// Parses "5 ms" style durations into picoseconds; returns false on bad input.
bool parse_duration_ps(const std::string& text, uint64_t* ps);

}  // namespace trustsim
