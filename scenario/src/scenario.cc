#include "scenario/scenario.h"

#include <sys/stat.h>

#include <algorithm>

#include "hw-models/board_devices.h"
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

Pattern compile(const YamlReader& r, const YAML::Node& at, const std::string& field, const std::string& text) {
  try {
    return Pattern(text);
  } catch (const std::invalid_argument& e) {
    r.fail(at, field, "invalid regular expression '" + text + "': " + e.what());
  }
}

bool parse_bool(const YamlReader& r, const YAML::Node& n, const std::string& field) {
  std::string v = r.str(n, field);
  if (v != "true" && v != "false") r.fail(n, field, "expected true or false");
  return v == "true";
}

std::vector<std::string> str_list(const YamlReader& r, const YAML::Node& n, const std::string& field) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) out.push_back(r.str(n[i], field + "[" + std::to_string(i) + "]"));
  } else {
    r.fail(n, field, "expected a name or a list of names");
  }
  return out;
}

// The devices a power cut can hit: the registry's (hw-models/board_devices.h).
const std::string kCutDevices = power_cut_device_words();
bool is_cut_device(const std::string& d) { return is_power_cut_device(d); }

PowerLoss::Mode parse_mode(const YamlReader& r, const YAML::Node& n, const std::string& field) {
  PowerLoss::Mode m;
  if (!parse_power_loss_mode(r.str(n, field), &m)) r.fail(n, field, "expected before, after or torn");
  return m;
}

void parse_fault(const YamlReader& r, const YAML::Node& arg, const std::string& field, Step& s) {
  if (!arg.IsMap() || arg.size() != 1)
    r.fail(arg, field, "expected one fault: power-loss, bit-flip, bit-flips, stuck-bit, bad-block, tpm or network");
  std::string kind = arg.begin()->first.Scalar();
  YAML::Node a = arg.begin()->second;
  std::string f = field + "." + kind;
  auto seed = [&](const YAML::Node& m) {
    if (m["seed"]) {
      s.seed = r.u64(m["seed"], f + ".seed");
      s.has_seed = true;
    }
  };
  if (kind == "power-loss") {
    r.expect_map(a, f, {"device", "at", "mode", "seed", "from-console", "after", "on-console"});
    int forms = (a["device"] ? 1 : 0) + (a["after"] ? 1 : 0) + (a["on-console"] ? 1 : 0);
    if (forms != 1)
      r.fail(a, f, "give exactly one of: device (+ at, mode) for the Nth operation of a device, after (a virtual "
                   "time from this step), on-console (a regular expression)");
    if (a["device"]) {
      s.fault = Step::Fault::kPowerLossAtOperation;
      s.device = r.str(a["device"], f + ".device");
      if (!is_cut_device(s.device)) r.fail(a["device"], f + ".device", std::string("expected ") + kCutDevices);
      if (a["at"]) {
        s.at = r.u64(a["at"], f + ".at");
        if (s.at == 0) r.fail(a["at"], f + ".at", "operations count from 1");
      }
      if (a["mode"]) s.cut_mode = parse_mode(r, a["mode"], f + ".mode");
      seed(a);
      if (a["from-console"]) {
        s.text = r.str(a["from-console"], f + ".from-console");
        if (s.text.empty()) r.fail(a["from-console"], f + ".from-console", "pattern must not be empty");
        s.pattern = compile(r, a["from-console"], f + ".from-console", s.text);
      }
    } else {
      if (a["from-console"]) r.fail(a, f, "from-console goes with device: (it says where the operations count from)");
      if (a["at"] || a["mode"] || a["seed"])
        r.fail(a, f, "at, mode and seed go with device: (a cut at an operation); after / on-console cut between "
                     "operations");
      if (a["after"]) {
        s.fault = Step::Fault::kPowerLossAfter;
        s.duration_ps = r.duration_ps(a["after"], f + ".after");
      } else {
        s.fault = Step::Fault::kPowerLossOnConsole;
        s.text = r.str(a["on-console"], f + ".on-console");
        if (s.text.empty()) r.fail(a["on-console"], f + ".on-console", "pattern must not be empty");
        s.pattern = compile(r, a["on-console"], f + ".on-console", s.text);
      }
    }
  } else if (kind == "bit-flip" || kind == "stuck-bit") {
    if (kind == "bit-flip") r.expect_map(a, f, {"page", "byte", "bit"});
    else r.expect_map(a, f, {"page", "byte", "bit", "value"});
    s.fault = kind == "bit-flip" ? Step::Fault::kBitFlip : Step::Fault::kStuckBit;
    s.page = uint32_t(r.u64(r.require(a, f, "page"), f + ".page"));
    s.byte = uint32_t(r.u64(r.require(a, f, "byte"), f + ".byte"));
    s.bit = uint32_t(r.u64(r.require(a, f, "bit"), f + ".bit"));
    if (s.bit > 7) r.fail(a["bit"], f + ".bit", "expected 0..7");
    if (kind == "stuck-bit") {
      uint64_t v = r.u64(r.require(a, f, "value"), f + ".value");
      if (v > 1) r.fail(a["value"], f + ".value", "expected 0 or 1");
      s.value = v == 1;
    }
  } else if (kind == "bit-flips") {
    r.expect_map(a, f, {"page", "count", "seed"});
    s.fault = Step::Fault::kBitFlips;
    s.page = uint32_t(r.u64(r.require(a, f, "page"), f + ".page"));
    s.count = uint32_t(r.u64(r.require(a, f, "count"), f + ".count"));
    if (s.count == 0) r.fail(a["count"], f + ".count", "must be at least 1");
    seed(a);
  } else if (kind == "bad-block") {
    r.expect_map(a, f, {"block", "erase"});
    s.fault = Step::Fault::kBadBlock;
    s.block = uint32_t(r.u64(r.require(a, f, "block"), f + ".block"));
    if (a["erase"]) {
      s.nth = uint32_t(r.u64(a["erase"], f + ".erase"));
      if (s.nth == 0) r.fail(a["erase"], f + ".erase", "erases count from 1");
    }
  } else if (kind == "tpm") {
    r.expect_map(a, f, {"command", "response-code", "no-response", "stay-busy"});
    s.fault = Step::Fault::kTpm;
    uint32_t command = 0, rc = 0;
    bool no_response = false, stay_busy = false;
    if (YAML::Node c = a["command"]) {
      std::string name = r.str(c, f + ".command");
      command = tpm::command_code_by_name(name);
      if (!command) r.fail(c, f + ".command", "unknown TPM command '" + name + "' (e.g. PCR_Extend, Quote, Sign)");
    }
    if (a["response-code"]) {
      uint64_t v = r.u64(a["response-code"], f + ".response-code");
      if (v == 0 || v > 0xFFFFFFFFu) r.fail(a["response-code"], f + ".response-code", "must be a non-zero 32-bit TPM response code");
      rc = uint32_t(v);
    }
    if (a["no-response"]) no_response = parse_bool(r, a["no-response"], f + ".no-response");
    if (a["stay-busy"]) stay_busy = parse_bool(r, a["stay-busy"], f + ".stay-busy");
    int forms = (rc ? 1 : 0) + (no_response ? 1 : 0) + (stay_busy ? 1 : 0);
    if (forms != 1) r.fail(a, f, "give exactly one of: response-code (with command), no-response: true, stay-busy: true");
    if (rc && !a["command"]) r.fail(a, f, "response-code needs the command it answers, e.g. command: Quote");
    if (stay_busy && a["command"]) r.fail(a, f, "stay-busy holds every command: drop command");
    if (rc) s.tpm_fault = tpm::ResponseCode{command, rc};
    else if (no_response) s.tpm_fault = tpm::NoResponse{command};
    else s.tpm_fault = tpm::StayBusy{};
  } else if (kind == "network") {
    r.expect_map(a, f, {"refuse", "stall", "drop-after", "corrupt-byte", "seed"});
    s.fault = Step::Fault::kNetwork;
    int forms = 0;
    bool seeded = false;
    if (a["refuse"] && parse_bool(r, a["refuse"], f + ".refuse")) s.net_fault = net::Refuse{}, ++forms;
    if (a["stall"] && parse_bool(r, a["stall"], f + ".stall")) s.net_fault = net::Stall{}, ++forms;
    if (a["drop-after"]) {
      uint64_t v = r.u64(a["drop-after"], f + ".drop-after");
      if (v > (1ull << 30)) r.fail(a["drop-after"], f + ".drop-after", "bytes: 0..1073741824");
      s.net_fault = net::DropAfter{v}, ++forms;
    }
    if (YAML::Node cb = a["corrupt-byte"]) {
      if (cb.IsScalar() && cb.Scalar() == "random") {
        s.net_fault = net::CorruptSeededByte{}, ++forms;
        seeded = true;
      } else {
        uint64_t v = r.u64(cb, f + ".corrupt-byte");
        if (v > (1ull << 30)) r.fail(cb, f + ".corrupt-byte", "byte offset: 0..1073741824, or random");
        s.net_fault = net::CorruptByte{v}, ++forms;
      }
    }
    seed(a);
    if (forms != 1) r.fail(a, f, "give exactly one of: refuse: true, stall: true, drop-after: BYTES, corrupt-byte: OFFSET|random");
    if (a["seed"] && !seeded) r.fail(a["seed"], f + ".seed", "only corrupt-byte: random takes a seed");
  } else {
    r.fail(arg.begin()->first, f,
           "unknown fault (expected one of: power-loss, bit-flip, bit-flips, stuck-bit, bad-block, tpm, network)");
  }
}

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

void parse_check(const YamlReader& r, const YAML::Node& arg, const std::string& field, Step& s) {
  if (!arg.IsMap()) r.fail(arg, field, "expected a mapping with one of: file, romvar, keys, booted, pcr, attest");
  if (arg["file"]) {
    s.check = Step::Check::kFile;
    r.expect_map(arg, field, {"file", "exists", "sha256", "size"});
    s.file = r.str(arg["file"], field + ".file");
    if (arg["exists"]) s.exists = parse_bool(r, arg["exists"], field + ".exists");
    if (arg["sha256"]) {
      s.sha256 = r.str(arg["sha256"], field + ".sha256");
      if (s.sha256.size() != 64 || s.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
        r.fail(arg["sha256"], field + ".sha256", "expected 64 lower-case hex digits");
    }
    if (arg["size"]) s.size = int64_t(r.u64(arg["size"], field + ".size"));
    if (!s.exists && (arg["sha256"] || arg["size"])) r.fail(arg, field, "sha256/size make no sense with exists: false");
  } else if (arg["romvar"]) {
    s.check = Step::Check::kRomvar;
    r.expect_map(arg, field, {"romvar", "equals", "exists"});
    s.file = r.str(arg["romvar"], field + ".romvar");
    if (arg["equals"]) s.equals = r.str(arg["equals"], field + ".equals");
    if (arg["exists"]) s.exists = parse_bool(r, arg["exists"], field + ".exists");
    if (!arg["equals"] && !arg["exists"]) r.fail(arg, field, "give equals: VALUE or exists: true|false");
    if (!s.exists && arg["equals"]) r.fail(arg, field, "equals makes no sense with exists: false");
  } else if (arg["keys"]) {
    s.check = Step::Check::kKeys;
    r.expect_map(arg, field, {"keys"});
    YAML::Node k = arg["keys"];
    std::string kf = field + ".keys";
    r.expect_map(k, kf, {"active", "revoked", "absent", "both-copies"});
    if (k["active"]) s.keys_active = str_list(r, k["active"], kf + ".active");
    if (k["revoked"]) s.keys_revoked = str_list(r, k["revoked"], kf + ".revoked");
    if (k["absent"]) s.keys_absent = str_list(r, k["absent"], kf + ".absent");
    if (k["both-copies"]) s.both_copies = parse_bool(r, k["both-copies"], kf + ".both-copies");
    for (const auto* list : {&s.keys_active, &s.keys_revoked, &s.keys_absent})
      for (const std::string& name : *list) {
        size_t dash = name.rfind('-');
        if (dash == std::string::npos || dash + 2 != name.size() || name[dash + 1] < 'A' || name[dash + 1] > 'Z' ||
            (name.substr(0, dash) != "rollover" && name.substr(0, dash) != "production" && name.substr(0, dash) != "special"))
          r.fail(k, kf, "key '" + name + "': expected TYPE-VERSION with TYPE rollover, production or special, e.g. production-B");
      }
  } else if (arg["booted"]) {
    s.check = Step::Check::kBooted;
    r.expect_map(arg, field, {"booted"});
    YAML::Node b = arg["booted"];
    r.expect_map(b, field + ".booted", {"image", "key"});
    if (b["image"]) s.booted_image = r.str(b["image"], field + ".booted.image");
    if (b["key"]) s.booted_key = r.str(b["key"], field + ".booted.key");
    if (!b["image"] && !b["key"]) r.fail(b, field + ".booted", "give image: bootflash:NAME and/or key: TYPE-VERSION");
  } else if (arg["pcr"]) {
    s.check = Step::Check::kPcr;
    r.expect_map(arg, field, {"pcr", "equals", "extended"});
    s.pcr = uint32_t(r.u64(arg["pcr"], field + ".pcr"));
    if (s.pcr > 23) r.fail(arg["pcr"], field + ".pcr", "expected a PCR index 0..23");
    if (arg["equals"]) {
      s.pcr_equals = r.str(arg["equals"], field + ".equals");
      for (char& c : s.pcr_equals) c = char(toupper(static_cast<unsigned char>(c)));
      if (s.pcr_equals.size() != 64 || s.pcr_equals.find_first_not_of("0123456789ABCDEF") != std::string::npos)
        r.fail(arg["equals"], field + ".equals", "expected 64 hex digits (a SHA-256 PCR value)");
    }
    if (arg["extended"]) s.pcr_extended = parse_bool(r, arg["extended"], field + ".extended");
    if (s.pcr_equals.empty() && !s.pcr_extended) r.fail(arg, field, "give equals: HEX or extended: true");
  } else if (arg["attest"]) {
    s.check = Step::Check::kAttest;
    r.expect_map(arg, field, {"attest"});
    YAML::Node a = arg["attest"];
    std::string af = field + ".attest";
    r.expect_map(a, af, {"nonce", "kgv", "image", "verifies", "failing"});
    uint64_t nonce = r.u64(r.require(a, af, "nonce"), af + ".nonce");
    if (nonce > 0xFFFFFFFFu) r.fail(a["nonce"], af + ".nonce", "expected 0..4294967295 (the N of `sign nonce N`)");
    s.nonce = uint32_t(nonce);
    if (bool(a["kgv"]) == bool(a["image"]))
      r.fail(a, af, "give the known-good values as kgv: FILE (from `trustsim image sign --kgv`) or image: bootflash:NAME");
    if (a["kgv"]) {
      s.kgv = r.str(a["kgv"], af + ".kgv");
      if (s.kgv.empty() || s.kgv[0] != '/') s.kgv = dir_of(r.path()) + "/" + s.kgv;
    } else {
      std::string img = r.str(a["image"], af + ".image");
      if (img.rfind("bootflash:", 0) != 0 || img.size() == 10)
        r.fail(a["image"], af + ".image", "expected bootflash:NAME (the signed OS image the board should run)");
      s.kgv_image = img.substr(10);
    }
    if (a["verifies"]) s.verifies = parse_bool(r, a["verifies"], af + ".verifies");
    if (a["failing"]) {
      s.failing = str_list(r, a["failing"], af + ".failing");
      static const char* names[] = {"Platform", "Boot 0 Version", "Boot 0 Hash", "Boot Loader Version",
                                    "Boot Loader Hash", "OS Version", "OS Hash", "PCR0", "PCR8", "nonce",
                                    "quoted PCRs", "SUDI chain", "SUDI signature", "signature"};
      for (const std::string& f : s.failing) {
        bool known = false;
        std::string all;
        for (const char* n : names) known |= f == n, all += std::string(all.empty() ? "" : ", ") + n;
        if (!known) r.fail(a["failing"], af + ".failing", "unknown check '" + f + "' (expected some of: " + all + ")");
      }
      if (s.failing.empty()) r.fail(a["failing"], af + ".failing", "name at least one check, or drop failing");
      if (a["verifies"] && s.verifies) r.fail(a, af, "failing: names checks that fail, so it needs verifies: false (or no verifies)");
      s.verifies = false;
    }
  } else {
    r.fail(arg, field, "expected one of: file, romvar, keys, booted, pcr, attest");
  }
}

Step parse_step(const YamlReader& r, const YAML::Node& node, const std::string& field_in, const Scenario& sc) {
  std::string field = field_in;
  Step s;
  s.where = r.path() + ":" + std::to_string(node.Mark().line + 1);
  const char* kinds =
      "power-on, power-off, power-cycle, expect, send, wait, wait-power-off, fault, check, image-sign, flash-put, "
      "flash-corrupt, flash-truncate, flash-delete, boot-flash-corrupt, nvram-corrupt, include, for, sweep";
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
  } else if (key == "wait-power-off") {
    s.kind = Step::Kind::kWaitPowerOff;
    s.timeout_ps = sc.default_timeout_ps;
    if (arg.IsDefined() && !arg.IsNull()) {
      r.expect_map(arg, field, {"timeout"});
      s.timeout_ps = r.duration_ps(r.require(arg, field, "timeout"), field + ".timeout");
      if (s.timeout_ps == 0) r.fail(arg["timeout"], field + ".timeout", "must be greater than zero");
    }
  } else if (key == "fault") {
    s.kind = Step::Kind::kFault;
    parse_fault(r, arg, field, s);
  } else if (key == "check") {
    s.kind = Step::Kind::kCheck;
    parse_check(r, arg, field, s);
  } else if (key == "flash-put") {
    s.kind = Step::Kind::kFlashPut;
    r.expect_map(arg, field, {"from", "name"});
    s.payload = r.str(r.require(arg, field, "from"), field + ".from");
    s.file = r.str(r.require(arg, field, "name"), field + ".name");
  } else if (key == "include" || key == "for" || key == "sweep") {
    r.fail(node.begin()->first, field, key == "sweep" ? "a sweep must be the last step of the scenario's own steps"
                                                      : "not allowed here");
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
      r.expect_map(arg, field, {"file", "offset", "from_end", "xor", "seed"});
      s.file = r.str(r.require(arg, field, "file"), field + ".file");
      if (arg["seed"]) {
        s.seed = r.u64(arg["seed"], field + ".seed");
        s.has_seed = true;
      }
      if (YAML::Node fe = arg["from_end"]) {
        std::string v = r.str(fe, field + ".from_end");
        if (v != "true" && v != "false") r.fail(fe, field + ".from_end", "expected true or false");
        s.from_end = v == "true";
      }
    } else {
      r.expect_map(arg, field, {"offset", "xor"});
    }
    YAML::Node off = r.require(arg, field, "offset");
    if (key == "flash-corrupt" && off.IsScalar() && off.Scalar() == "seeded") {
      s.seeded_offset = true;
      if (s.from_end) r.fail(off, field + ".offset", "seeded offsets count from the start; drop from_end");
    } else {
      s.offset = r.u64(off, field + ".offset");
    }
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

std::string printable(const std::string& t) {
  std::string o;
  for (char c : t) {
    if (c == '\r') o += "\\r";
    else if (c == '\n') o += "\\n";
    else if (c == '\t') o += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    } else o += c;
  }
  return o;
}

std::string Step::describe() const {
  const std::string text = printable(this->text);
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
    case Kind::kWaitPowerOff: return "wait-power-off within " + format_duration(timeout_ps);
    case Kind::kFlashPut: return "flash-put " + payload + " as " + file;
    case Kind::kFault:
      switch (fault) {
        case Fault::kPowerLossAtOperation:
          return "fault power-loss " + std::string(power_loss_mode_name(cut_mode)) + " " + device + " operation " +
                 std::to_string(at) + " from here";
        case Fault::kPowerLossAfter: return "fault power-loss after " + format_duration(duration_ps);
        case Fault::kPowerLossOnConsole: return "fault power-loss on console /" + text + "/";
        case Fault::kBitFlip: return "fault bit-flip page " + std::to_string(page);
        case Fault::kBitFlips: return "fault bit-flips page " + std::to_string(page);
        case Fault::kStuckBit: return "fault stuck-bit page " + std::to_string(page);
        case Fault::kBadBlock: return "fault bad-block " + std::to_string(block);
        case Fault::kTpm: return "fault tpm " + tpm::command_text(tpm::command_of(tpm_fault));
        case Fault::kNetwork: return "fault network: next transfer " + net::describe(net_fault);
      }
      return "fault";
    case Kind::kCheck:
      switch (check) {
        case Check::kFile: return "check bootflash:" + file;
        case Check::kRomvar: return "check ROMmon variable " + file;
        case Check::kKeys: return "check key storage";
        case Check::kBooted: return "check the booted image";
        case Check::kPcr: return "check PCR" + std::to_string(pcr);
        case Check::kAttest: return "check attestation (nonce " + std::to_string(nonce) + ")";
      }
      return "check";
  }
  return "?";
}

namespace {

using Vars = std::map<std::string, std::string>;

// ${name} in scalar values is replaced in place (so error lines stay right)
// while a step is parsed, and put back afterwards (a loop parses it again).
class Substitution {
 public:
  Substitution(const YamlReader& r, YAML::Node node, const Vars& vars, const std::string& field) {
    apply(r, node, vars, field);
  }
  ~Substitution() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) it->first = it->second;
  }

 private:
  void apply(const YamlReader& r, YAML::Node node, const Vars& vars, const std::string& field) {
    if (node.IsScalar()) {
      const std::string text = node.Scalar();
      if (text.find("${") == std::string::npos) return;
      std::string out;
      size_t i = 0;
      while (i < text.size()) {
        size_t p = text.find("${", i);
        if (p == std::string::npos) {
          out += text.substr(i);
          break;
        }
        out += text.substr(i, p - i);
        size_t e = text.find('}', p);
        if (e == std::string::npos) r.fail(node, field, "unterminated ${ in '" + text + "'");
        std::string name = text.substr(p + 2, e - p - 2);
        auto v = vars.find(name);
        if (v == vars.end()) {
          std::string known;
          for (const auto& kv : vars) known += (known.empty() ? "" : ", ") + kv.first;
          r.fail(node, field, "unknown variable ${" + name + "}" + (known.empty() ? " (no variables are defined)"
                                                                                : " (defined: " + known + ")"));
        }
        out += v->second;
        i = e + 1;
      }
      saved_.emplace_back(node, text);
      node = out;
    } else if (node.IsSequence()) {
      for (size_t i = 0; i < node.size(); ++i) apply(r, node[i], vars, field);
    } else if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) apply(r, it->second, vars, field);
    }
  }
  std::vector<std::pair<YAML::Node, std::string>> saved_;
};


// Expands include / for and parses every other step into `out`.
void collect(const YamlReader& r, const YAML::Node& list, const std::string& field, const Vars& vars,
             const Scenario& sc, std::vector<Step>& out, std::vector<std::string>& include_stack) {
  if (!list.IsSequence() || list.size() == 0) r.fail(list, field, "expected a non-empty list of steps");
  for (size_t i = 0; i < list.size(); ++i) {
    YAML::Node node = list[i];
    std::string f = field + "[" + std::to_string(i) + "]";
    std::string key = node.IsMap() && node.size() == 1 ? node.begin()->first.Scalar() : "";
    if (key == "include") {
      YAML::Node arg = node.begin()->second;
      Substitution sub(r, arg, vars, f + ".include");
      std::string inc = r.str(arg, f + ".include");
      if (inc.empty() || inc[0] != '/') inc = dir_of(r.path()) + "/" + inc;
      for (const std::string& open : include_stack)
        if (open == inc) r.fail(arg, f + ".include", inc + " includes itself (through " + r.path() + ")");
      if (include_stack.size() > 16) r.fail(arg, f + ".include", "includes nest more than 16 deep");
      struct stat st;
      if (::stat(inc.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) r.fail(arg, f + ".include", inc + ": no such file (or not a regular file)");
      YamlReader ri(inc);
      YAML::Node root = YamlReader::load_file(inc);
      ri.expect_map(root, "", {"description", "steps"});
      include_stack.push_back(inc);
      collect(ri, ri.require(root, "", "steps"), "steps", vars, sc, out, include_stack);
      include_stack.pop_back();
    } else if (key == "for") {
      YAML::Node arg = node.begin()->second;
      std::string ff = f + ".for";
      r.expect_map(arg, ff, {"var", "in", "steps"});
      std::string var = r.str(r.require(arg, ff, "var"), ff + ".var");
      if (var.empty() || var.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
                             std::string::npos)
        r.fail(arg["var"], ff + ".var", "expected a name of letters, digits and _");
      YAML::Node in = r.require(arg, ff, "in");
      std::vector<std::string> values;
      {
        Substitution sub(r, in, vars, ff + ".in");
        if (!in.IsSequence() || in.size() == 0) r.fail(in, ff + ".in", "expected a non-empty list of values");
        for (size_t k = 0; k < in.size(); ++k) values.push_back(r.str(in[k], ff + ".in[" + std::to_string(k) + "]"));
      }
      for (const std::string& v : values) {
        Vars inner = vars;
        inner[var] = v;
        collect(r, r.require(arg, ff, "steps"), ff + ".steps", inner, sc, out, include_stack);
      }
    } else {
      Substitution sub(r, node, vars, f);
      out.push_back(parse_step(r, node, f, sc));
    }
  }
}

void parse_sweep(const YamlReader& r, const YAML::Node& arg, const std::string& field, const Vars& vars,
                 Scenario& sc, std::vector<std::string>& include_stack) {
  Sweep& w = sc.sweep;
  w.where = r.path() + ":" + std::to_string(arg.Mark().line + 1);
  r.expect_map(arg, field, {"devices", "modes", "from", "to", "steps", "recovery", "second-cut"});
  auto devices = [&](const YAML::Node& parent, const std::string& f, std::vector<std::string>& out) {
    YAML::Node d = r.require(parent, f, "devices");
    Substitution sub(r, d, vars, f + ".devices");
    out = str_list(r, d, f + ".devices");
    if (out.empty()) r.fail(parent["devices"], f + ".devices", "name at least one device");
    for (const std::string& d : out)
      if (!is_cut_device(d)) r.fail(parent["devices"], f + ".devices", "'" + d + "': expected " + kCutDevices);
  };
  auto modes = [&](const YAML::Node& parent, const std::string& f, std::vector<PowerLoss::Mode>& out) {
    if (!parent["modes"]) {
      out = {PowerLoss::Mode::kBefore, PowerLoss::Mode::kAfter, PowerLoss::Mode::kTorn};
      return;
    }
    YAML::Node m = parent["modes"];
    for (const std::string& name : str_list(r, m, f + ".modes")) {
      PowerLoss::Mode mode;
      if (!parse_power_loss_mode(name, &mode)) r.fail(m, f + ".modes", "'" + name + "': expected before, after or torn");
      if (std::find(out.begin(), out.end(), mode) != out.end()) r.fail(m, f + ".modes", "'" + name + "' is named twice");
      out.push_back(mode);
    }
    if (out.empty()) r.fail(m, f + ".modes", "name at least one mode");
  };
  devices(arg, field, w.devices);
  modes(arg, field, w.modes);
  for (const char* k : {"from", "to"}) {
    if (!arg[k]) continue;
    Substitution sub(r, arg[k], vars, field + "." + k);
    std::string t = r.str(arg[k], field + "." + k);
    if (t.empty()) r.fail(arg[k], field + "." + k, "pattern must not be empty");
    (k[0] == 'f' ? w.from_text : w.to_text) = t;
    (k[0] == 'f' ? w.from : w.to) = compile(r, arg[k], field + "." + k, t);
  }
  collect(r, r.require(arg, field, "steps"), field + ".steps", vars, sc, w.steps, include_stack);
  collect(r, r.require(arg, field, "recovery"), field + ".recovery", vars, sc, w.recovery, include_stack);
  if (YAML::Node c = arg["second-cut"]) {
    std::string f = field + ".second-cut";
    if (!c.IsMap()) r.fail(c, f, "expected a mapping with devices, and optionally modes and recovery");
    r.expect_map(c, f, {"devices", "modes", "recovery"});
    devices(c, f, w.devices2);
    modes(c, f, w.modes2);
    if (c["recovery"]) collect(r, c["recovery"], f + ".recovery", vars, sc, w.recovery2, include_stack);
    else w.recovery2 = w.recovery;
    w.second = true;
  }
  sc.has_sweep = true;
}

}  // namespace

Scenario load_scenario(const std::string& path, const LoadOptions& opt) {
  YamlReader r(path);
  YAML::Node root = YamlReader::load_file(path);
  r.expect_map(root, "", {"name", "description", "board", "timeout", "seed", "vars", "steps"});
  Scenario sc;
  sc.file = path;
  sc.name = r.str(r.require(root, "", "name"), "name");
  if (root["description"]) sc.description = r.str(root["description"], "description");
  if (root["board"]) sc.board = r.str(root["board"], "board");
  if (root["timeout"]) {
    sc.default_timeout_ps = r.duration_ps(root["timeout"], "timeout");
    if (sc.default_timeout_ps == 0) r.fail(root["timeout"], "timeout", "must be greater than zero");
  }
  if (root["seed"]) sc.seed = r.u64(root["seed"], "seed");
  if (opt.has_seed) sc.seed = opt.seed;
  if (YAML::Node v = root["vars"]) {
    if (!v.IsMap()) r.fail(v, "vars", "expected a mapping of names to values");
    for (auto it = v.begin(); it != v.end(); ++it) {
      std::string name = it->first.Scalar();
      if (!it->second.IsScalar()) r.fail(it->second, "vars." + name, "expected a single value");
      sc.vars[name] = it->second.Scalar();
    }
  }
  for (const auto& kv : opt.vars) {
    if (!sc.vars.count(kv.first))
      throw InputError(path + ": --var " + kv.first + ": the scenario defines no such variable" +
                       (sc.vars.empty() ? "" : " (it defines: " + [&] {
                         std::string k;
                         for (const auto& x : sc.vars) k += (k.empty() ? "" : ", ") + x.first;
                         return k;
                       }() + ")"));
    sc.vars[kv.first] = kv.second;
  }
  YAML::Node steps = r.require(root, "", "steps");
  if (!steps.IsSequence() || steps.size() == 0) r.fail(steps, "steps", "expected a non-empty list of steps");
  std::vector<std::string> include_stack = {path};
  // The sweep, if any, is the last step: it ends every run of the campaign.
  size_t n = steps.size();
  YAML::Node last = steps[n - 1];
  bool sweep = last.IsMap() && last.size() == 1 && last.begin()->first.Scalar() == "sweep";
  for (size_t i = 0; i + 1 < n; ++i) {
    YAML::Node s = steps[i];
    if (s.IsMap() && s.size() == 1 && s.begin()->first.Scalar() == "sweep")
      r.fail(s.begin()->first, "steps[" + std::to_string(i) + "].sweep",
             "a sweep must be the last step (every run of the campaign ends with its recovery)");
  }
  if (sweep) {
    YAML::Node head(YAML::NodeType::Sequence);
    for (size_t i = 0; i + 1 < n; ++i) head.push_back(steps[i]);
    if (n > 1) collect(r, head, "steps", sc.vars, sc, sc.steps, include_stack);
    parse_sweep(r, last.begin()->second, "steps[" + std::to_string(n - 1) + "].sweep", sc.vars, sc, include_stack);
  } else {
    collect(r, steps, "steps", sc.vars, sc, sc.steps, include_stack);
  }
  return sc;
}

}  // namespace trustsim
