#include "hw-models/yaml_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace trustsim {
namespace {

std::string location(const std::string& path, const YAML::Node& at) {
  std::ostringstream os;
  os << path;
  if (at.IsDefined() && at.Mark().line >= 0) os << ":" << at.Mark().line + 1;
  return os.str();
}

// Splits "12.5 MHz" into number and unit; false if no leading number.
bool split_number_unit(const std::string& text, double* value, std::string* unit) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  size_t start = i;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == start) return false;
  try {
    *value = std::stod(text.substr(start, i - start));
  } catch (...) {
    return false;
  }
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  size_t end = text.size();
  while (end > i && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  *unit = text.substr(i, end - i);
  return std::isfinite(*value) && *value >= 0;
}

// What a value that is not the expected scalar is, for messages.
std::string shown(const YAML::Node& n) {
  if (n.IsScalar()) return "'" + n.Scalar() + "'";
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  return "<not a scalar>";
}

bool parse_plain_u64(const std::string& s, uint64_t* out) {
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  try {
    size_t used = 0;
    unsigned long long v = std::stoull(s, &used, hex ? 16 : 10);
    if (used != s.size() || s[0] == '-') return false;
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

bool parse_duration_ps(const std::string& text, uint64_t* ps) {
  double v;
  std::string unit;
  if (!split_number_unit(text, &v, &unit)) return false;
  double scale;
  if (unit == "ps")
    scale = 1;
  else if (unit == "ns")
    scale = 1e3;
  else if (unit == "us" || unit == "µs")
    scale = 1e6;
  else if (unit == "ms")
    scale = 1e9;
  else if (unit == "s")
    scale = 1e12;
  else
    return false;
  double r = v * scale;
  if (r > 9.0e18) return false;
  *ps = static_cast<uint64_t>(std::llround(r));
  return true;
}

YAML::Node YamlReader::load_file(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw InputError(path + ": cannot open file: " + strerror(errno));
  if (S_ISDIR(st.st_mode)) throw InputError(path + ": is a directory, not a YAML file");
  if (!S_ISREG(st.st_mode)) throw InputError(path + ": not a regular file (expected a YAML file)");
  if (uint64_t(st.st_size) > kMaxYamlFileBytes)
    throw InputError(path + ": file too large (" + std::to_string(st.st_size) +
                     " bytes; a board or scenario file is at most " + std::to_string(kMaxYamlFileBytes / 1024) +
                     " KiB)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(path + ": read error");
  size_t nul = text.find('\0');
  if (nul != std::string::npos) {
    size_t line = 1 + size_t(std::count(text.begin(), text.begin() + long(nul), '\n'));
    throw InputError(path + ":" + std::to_string(line) + ": binary data (a NUL byte), not YAML text");
  }
  try {
    YAML::Node n = YAML::Load(text);
    if (!n.IsDefined() || n.IsNull()) throw InputError(path + ": no YAML content (the file is empty or only comments)");
    return n;
  } catch (const YAML::Exception& e) {
    std::ostringstream os;
    os << path << ":" << e.mark.line + 1 << ": YAML syntax error: " << e.msg;
    throw InputError(os.str());
  }
}

void YamlReader::fail(const YAML::Node& at, const std::string& field, const std::string& msg) const {
  throw InputError(location(path_, at) + ": " + (field.empty() ? std::string("top level") : field) + ": " + msg);
}

void YamlReader::expect_map(const YAML::Node& node, const std::string& field,
                            std::initializer_list<const char*> allowed) const {
  expect_map(node, field, std::vector<std::string>(allowed.begin(), allowed.end()));
}

void YamlReader::expect_map(const YAML::Node& node, const std::string& field,
                            const std::vector<std::string>& allowed) const {
  if (!node.IsMap()) fail(node, field, "expected a mapping of keys");
  std::vector<std::string> seen;
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      fail(kv.first, field.empty() ? key : field + "." + key, "duplicate key (each key may appear once)");
    seen.push_back(key);
    bool ok = false;
    for (const std::string& a : allowed) ok |= (key == a);
    // Board files write keys with '_', scenarios with '-': a key in the
    // other file's style gets the spelling this file wants.
    std::string other = key;
    for (char& c : other) c = c == '-' ? '_' : c == '_' ? '-' : c;
    if (!ok && other != key && std::find(allowed.begin(), allowed.end(), other) != allowed.end())
      fail(kv.first, field.empty() ? key : field + "." + key, "unknown key: this file spells it " + other);
    if (!ok) {
      std::string list;
      for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(kv.first, field.empty() ? key : field + "." + key, "unknown key (expected one of: " + list + ")");
    }
  }
}

YAML::Node YamlReader::require(const YAML::Node& map, const std::string& parent, const char* key) const {
  YAML::Node n = map[key];
  if (!n.IsDefined()) fail(map, parent.empty() ? key : parent + "." + key, "missing required key");
  return n;
}

std::string YamlReader::str(const YAML::Node& node, const std::string& field) const {
  if (!node.IsScalar()) fail(node, field, "expected a string");
  return node.Scalar();
}

uint64_t YamlReader::u64(const YAML::Node& node, const std::string& field) const {
  uint64_t v;
  if (!node.IsScalar() || !parse_plain_u64(node.Scalar(), &v))
    fail(node, field, "expected a non-negative integer (decimal or 0x hex), got " + shown(node));
  return v;
}

uint64_t YamlReader::size_bytes(const YAML::Node& node, const std::string& field) const {
  if (!node.IsScalar()) fail(node, field, "expected a size like '32 KiB'");
  uint64_t v;
  if (parse_plain_u64(node.Scalar(), &v)) return v;
  double d;
  std::string unit;
  if (split_number_unit(node.Scalar(), &d, &unit)) {
    double scale = 0;
    if (unit == "B")
      scale = 1;
    else if (unit == "KiB")
      scale = 1024.0;
    else if (unit == "MiB")
      scale = 1024.0 * 1024;
    else if (unit == "GiB")
      scale = 1024.0 * 1024 * 1024;
    if (scale > 0 && d * scale == std::floor(d * scale) && d * scale < 1.8e19) return static_cast<uint64_t>(d * scale);
  }
  fail(node, field, "expected a size like '32 KiB', '16 MiB' or a byte count, got '" + node.Scalar() + "'");
}

uint64_t YamlReader::duration_ps(const YAML::Node& node, const std::string& field) const {
  uint64_t ps;
  if (!node.IsScalar() || !parse_duration_ps(node.Scalar(), &ps))
    fail(node, field, "expected a duration like '5 ms' (units ps, ns, us, ms, s), got " + shown(node));
  return ps;
}

uint64_t YamlReader::frequency_hz(const YAML::Node& node, const std::string& field) const {
  double d;
  std::string unit;
  if (node.IsScalar() && split_number_unit(node.Scalar(), &d, &unit)) {
    double scale = 0;
    if (unit == "Hz")
      scale = 1;
    else if (unit == "kHz")
      scale = 1e3;
    else if (unit == "MHz")
      scale = 1e6;
    else if (unit == "GHz")
      scale = 1e9;
    if (scale > 0 && d * scale >= 1) return static_cast<uint64_t>(std::llround(d * scale));
  }
  fail(node, field, "expected a frequency like '50 MHz' (units Hz, kHz, MHz, GHz), got " + shown(node));
}

uint64_t YamlReader::rate_bytes_per_s(const YAML::Node& node, const std::string& field) const {
  double d;
  std::string unit;
  if (node.IsScalar() && split_number_unit(node.Scalar(), &d, &unit)) {
    double scale = 0;
    if (unit == "B/s")
      scale = 1;
    else if (unit == "kB/s")
      scale = 1e3;
    else if (unit == "MB/s")
      scale = 1e6;
    else if (unit == "GB/s")
      scale = 1e9;
    if (scale > 0 && d * scale >= 1) return static_cast<uint64_t>(std::llround(d * scale));
  }
  fail(node, field, "expected a data rate like '105 MB/s' (units B/s, kB/s, MB/s, GB/s), got " + shown(node));
}

}  // namespace trustsim
