#include "scenario/scenario.h"

#include "hw-models/yaml_reader.h"

namespace trustsim {
namespace {

std::string format_duration(uint64_t ps) {
  char buf[64];
  if (ps % 1000000000000ull == 0) snprintf(buf, sizeof buf, "%llu s", (unsigned long long)(ps / 1000000000000ull));
  else if (ps % 1000000000ull == 0) snprintf(buf, sizeof buf, "%llu ms", (unsigned long long)(ps / 1000000000ull));
  else snprintf(buf, sizeof buf, "%llu ns", (unsigned long long)(ps / 1000ull));
  return buf;
}

std::regex compile(const YamlReader& r, const YAML::Node& at, const std::string& field, const std::string& text) {
  try {
    return std::regex(text, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    r.fail(at, field, "invalid regular expression '" + text + "': " + e.what());
  }
}

Step parse_step(const YamlReader& r, const YAML::Node& node, size_t index, const Scenario& sc) {
  std::string field = "steps[" + std::to_string(index) + "]";
  Step s;
  s.where = r.path() + ":" + std::to_string(node.Mark().line + 1);
  const char* kinds =
      "power-on, power-off, power-cycle, expect, send, wait, image-sign, flash-corrupt, flash-truncate, "
      "flash-delete, boot-flash-corrupt, nvram-corrupt";
  std::string key;
  YAML::Node arg;
  if (node.IsScalar()) {
    key = node.Scalar();
  } else if (node.IsMap() && node.size() == 1) {
    key = node.begin()->first.Scalar();
    arg = node.begin()->second;
  } else {
    r.fail(node, field, std::string("expected a step: one of ") + kinds + " (a word, or a single-key mapping)");
  }
  field += "." + key;
  if (key == "power-on" || key == "power-off") {
    s.kind = key == "power-on" ? Step::Kind::kPowerOn : Step::Kind::kPowerOff;
    if (arg.IsDefined() && !arg.IsNull()) r.fail(arg, field, "takes no arguments");
  } else if (key == "power-cycle") {
    s.kind = Step::Kind::kPowerCycle;
    if (arg.IsDefined() && !arg.IsNull()) {
      r.expect_map(arg, field, {"off_time"});
      s.duration_ps = r.duration_ps(r.require(arg, field, "off_time"), field + ".off_time");
      s.has_duration = true;
    }
  } else if (key == "expect") {
    s.kind = Step::Kind::kExpect;
    s.timeout_ps = sc.default_timeout_ps;
    if (arg.IsScalar()) {
      s.text = arg.Scalar();
    } else if (arg.IsMap()) {
      r.expect_map(arg, field, {"pattern", "timeout", "not"});
      s.text = r.str(r.require(arg, field, "pattern"), field + ".pattern");
      if (arg["timeout"]) s.timeout_ps = r.duration_ps(arg["timeout"], field + ".timeout");
      if (YAML::Node n = arg["not"]) {
        std::string v = r.str(n, field + ".not");
        if (v != "true" && v != "false") r.fail(n, field + ".not", "expected true or false");
        s.negate = v == "true";
      }
    } else {
      r.fail(node, field, "expected a pattern string or {pattern: ..., timeout: ...}");
    }
    if (s.text.empty()) r.fail(arg, field, "pattern must not be empty");
    if (s.timeout_ps == 0) r.fail(arg, field + ".timeout", "must be greater than zero");
    s.pattern = compile(r, arg, field, s.text);
  } else if (key == "send") {
    s.kind = Step::Kind::kSend;
    s.enter = true;
    if (arg.IsDefined() && arg.IsMap()) {
      r.expect_map(arg, field, {"text", "enter"});
      s.text = r.str(r.require(arg, field, "text"), field + ".text");
      if (YAML::Node e = arg["enter"]) {
        std::string v = r.str(e, field + ".enter");
        if (v != "true" && v != "false") r.fail(e, field + ".enter", "expected true or false");
        s.enter = v == "true";
      }
    } else {
      if (!arg.IsDefined() || !arg.IsScalar()) r.fail(node, field, "expected the line to type, as a string");
      s.text = arg.Scalar();
    }
  } else if (key == "wait") {
    s.kind = Step::Kind::kWait;
    if (!arg.IsDefined()) r.fail(node, field, "expected a duration like '10 ms'");
    s.duration_ps = r.duration_ps(arg, field);
  } else if (key == "image-sign") {
    s.kind = Step::Kind::kImageSign;
    r.expect_map(arg, field, {"key", "name", "type", "version", "payload", "add-keys", "revoke-keys"});
    s.key = r.str(r.require(arg, field, "key"), field + ".key");
    s.file = r.str(r.require(arg, field, "name"), field + ".name");
    if (arg["type"]) {
      s.image_type = r.str(arg["type"], field + ".type");
      if (s.image_type != "os" && s.image_type != "rommon" && s.image_type != "revocation")
        r.fail(arg["type"], field + ".type", "expected os, rommon or revocation");
    }
    if (arg["version"]) s.version = r.str(arg["version"], field + ".version");
    if (arg["payload"]) s.payload = r.str(arg["payload"], field + ".payload");
    for (const char* k : {"add-keys", "revoke-keys"}) {
      YAML::Node list = arg[k];
      if (!list) continue;
      std::vector<std::string>& names = std::string(k) == "add-keys" ? s.add_keys : s.revoke_keys;
      if (!list.IsSequence() || list.size() == 0) r.fail(list, field + "." + k, "expected a list of key names, e.g. [production-B]");
      for (size_t i = 0; i < list.size(); ++i) names.push_back(r.str(list[i], field + "." + k + "[" + std::to_string(i) + "]"));
    }
  } else if (key == "flash-corrupt" || key == "boot-flash-corrupt" || key == "nvram-corrupt") {
    s.kind = key == "flash-corrupt" ? Step::Kind::kFlashCorrupt
             : key == "boot-flash-corrupt" ? Step::Kind::kBootFlashCorrupt : Step::Kind::kNvramCorrupt;
    if (key == "flash-corrupt") {
      r.expect_map(arg, field, {"file", "offset", "from_end", "xor"});
      s.file = r.str(r.require(arg, field, "file"), field + ".file");
      if (YAML::Node fe = arg["from_end"]) {
        std::string v = r.str(fe, field + ".from_end");
        if (v != "true" && v != "false") r.fail(fe, field + ".from_end", "expected true or false");
        s.from_end = v == "true";
      }
    } else {
      r.expect_map(arg, field, {"offset", "xor"});
    }
    s.offset = r.u64(r.require(arg, field, "offset"), field + ".offset");
    if (arg["xor"]) {
      s.xor_mask = r.u64(arg["xor"], field + ".xor");
      if (s.xor_mask == 0 || s.xor_mask > 0xFF) r.fail(arg["xor"], field + ".xor", "must be 0x01..0xff");
    }
  } else if (key == "flash-truncate") {
    s.kind = Step::Kind::kFlashTruncate;
    r.expect_map(arg, field, {"file", "length"});
    s.file = r.str(r.require(arg, field, "file"), field + ".file");
    s.length = r.u64(r.require(arg, field, "length"), field + ".length");
  } else if (key == "flash-delete") {
    s.kind = Step::Kind::kFlashDelete;
    if (!arg.IsDefined() || !arg.IsScalar()) r.fail(node, field, "expected the bootflash: file name");
    s.file = arg.Scalar();
  } else {
    r.fail(node.IsMap() ? node.begin()->first : node, field, std::string("unknown step (expected one of: ") + kinds + ")");
  }
  return s;
}

}  // namespace

std::string Step::describe() const {
  switch (kind) {
    case Kind::kPowerOn: return "power-on";
    case Kind::kPowerOff: return "power-off";
    case Kind::kPowerCycle: return "power-cycle";
    case Kind::kExpect:
      return std::string(negate ? "expect no /" : "expect /") + text + "/ within " + format_duration(timeout_ps);
    case Kind::kSend: return "send \"" + text + "\"";
    case Kind::kWait: return "wait " + format_duration(duration_ps);
    case Kind::kImageSign: return "image-sign " + file + " with " + key;
    case Kind::kFlashCorrupt: return "flash-corrupt " + file + " at " + std::to_string(offset);
    case Kind::kFlashTruncate: return "flash-truncate " + file + " to " + std::to_string(length);
    case Kind::kFlashDelete: return "flash-delete " + file;
    case Kind::kBootFlashCorrupt: return "boot-flash-corrupt at " + std::to_string(offset);
    case Kind::kNvramCorrupt: return "nvram-corrupt at " + std::to_string(offset);
  }
  return "?";
}

Scenario load_scenario(const std::string& path) {
  YamlReader r(path);
  YAML::Node root = YamlReader::load_file(path);
  r.expect_map(root, "", {"name", "description", "board", "timeout", "steps"});
  Scenario sc;
  sc.file = path;
  sc.name = r.str(r.require(root, "", "name"), "name");
  if (root["description"]) sc.description = r.str(root["description"], "description");
  if (root["board"]) sc.board = r.str(root["board"], "board");
  if (root["timeout"]) {
    sc.default_timeout_ps = r.duration_ps(root["timeout"], "timeout");
    if (sc.default_timeout_ps == 0) r.fail(root["timeout"], "timeout", "must be greater than zero");
  }
  YAML::Node steps = r.require(root, "", "steps");
  if (!steps.IsSequence() || steps.size() == 0) r.fail(steps, "steps", "expected a non-empty list of steps");
  for (size_t i = 0; i < steps.size(); ++i) sc.steps.push_back(parse_step(r, steps[i], i, sc));
  return sc;
}

}  // namespace trustsim
