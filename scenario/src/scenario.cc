#include "scenario/scenario.h"

#include <sys/stat.h>

#include <algorithm>

#include "hw-models/board_devices.h"
#include "hw-models/yaml_reader.h"

namespace trustsim {
namespace {

std::string format_duration(uint64_t ps) {
  char buf[64];
  if (ps % 1000000000000ull == 0)
    snprintf(buf, sizeof buf, "%llu s", (unsigned long long)(ps / 1000000000000ull));
  else if (ps % 1000000000ull == 0)
    snprintf(buf, sizeof buf, "%llu ms", (unsigned long long)(ps / 1000000000ull));
  else
    snprintf(buf, sizeof buf, "%llu ns", (unsigned long long)(ps / 1000ull));
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

// A cut device by its name (the registry's, hw-models/board_devices.h); the
// names the two flashes had before they were renamed get a message saying
// so. `prefix` starts the message.
void check_cut_device(const YamlReader& r, const YAML::Node& at, const std::string& field, const std::string& d,
                      const std::string& prefix) {
  if (is_power_cut_device(d)) return;
  if (d == "boot_flash") r.fail(at, field, prefix + "boot_flash was renamed to rom_nor (the NOR flash holding ROMmon)");
  if (d == "bootflash")
    r.fail(at, field, prefix + "bootflash was renamed to bootflash_nand (the NAND flash holding bootflash:)");
  r.fail(at, field, prefix + "expected " + power_cut_device_words());
}

PowerLoss::Mode parse_mode(const YamlReader& r, const YAML::Node& n, const std::string& field) {
  PowerLoss::Mode m;
  if (!parse_power_loss_mode(r.str(n, field), &m)) r.fail(n, field, "expected before, after or torn");
  return m;
}

FaultSpec parse_power_loss(const YamlReader& r, const YAML::Node& a, const std::string& f) {
  r.expect_map(a, f, {"device", "at", "mode", "seed", "from-console", "after", "on-console"});
  int forms = (a["device"] ? 1 : 0) + (a["after"] ? 1 : 0) + (a["on-console"] ? 1 : 0);
  if (forms != 1)
    r.fail(a, f,
           "give exactly one of: device (+ at, mode) for the Nth operation of a device, after (a virtual "
           "time from this step), on-console (a regular expression)");
  if (a["device"]) {
    PowerLossAtOperation p;
    p.device = r.str(a["device"], f + ".device");
    check_cut_device(r, a["device"], f + ".device", p.device, "");
    if (a["at"]) {
      p.cut.at_operation = r.u64(a["at"], f + ".at");
      if (p.cut.at_operation == 0) r.fail(a["at"], f + ".at", "operations count from 1");
    }
    if (a["mode"]) p.cut.mode = parse_mode(r, a["mode"], f + ".mode");
    if (a["from-console"]) {
      p.from_console_text = r.str(a["from-console"], f + ".from-console");
      if (p.from_console_text.empty()) r.fail(a["from-console"], f + ".from-console", "pattern must not be empty");
      p.from_console = compile(r, a["from-console"], f + ".from-console", p.from_console_text);
    }
    return p;
  }
  if (a["from-console"]) r.fail(a, f, "from-console goes with device: (it says where the operations count from)");
  if (a["at"] || a["mode"] || a["seed"])
    r.fail(a, f,
           "at, mode and seed go with device: (a cut at an operation); after / on-console cut between "
           "operations");
  if (a["after"]) return PowerLossAfter{r.duration_ps(a["after"], f + ".after")};
  PowerLossOnConsole c;
  c.text = r.str(a["on-console"], f + ".on-console");
  if (c.text.empty()) r.fail(a["on-console"], f + ".on-console", "pattern must not be empty");
  c.pattern = compile(r, a["on-console"], f + ".on-console", c.text);
  return c;
}

nand::Fault parse_nand_fault(const YamlReader& r, const YAML::Node& a, const std::string& f, const std::string& kind) {
  if (kind == "bit-flips") {
    r.expect_map(a, f, {"page", "count", "seed"});
    nand::RandomBitFlips b;
    b.page = uint32_t(r.u64(r.require(a, f, "page"), f + ".page"));
    b.count = uint32_t(r.u64(r.require(a, f, "count"), f + ".count"));
    if (b.count == 0) r.fail(a["count"], f + ".count", "must be at least 1");
    return b;
  }
  if (kind == "bad-block") {
    r.expect_map(a, f, {"block", "erase"});
    nand::BadOnNthErase b;
    b.block = uint32_t(r.u64(r.require(a, f, "block"), f + ".block"));
    if (a["erase"]) {
      b.n = uint32_t(r.u64(a["erase"], f + ".erase"));
      if (b.n == 0) r.fail(a["erase"], f + ".erase", "erases count from 1");
    }
    return b;
  }
  // bit-flip, stuck-bit
  if (kind == "bit-flip")
    r.expect_map(a, f, {"page", "byte", "bit"});
  else
    r.expect_map(a, f, {"page", "byte", "bit", "value"});
  uint32_t page = uint32_t(r.u64(r.require(a, f, "page"), f + ".page"));
  uint32_t byte = uint32_t(r.u64(r.require(a, f, "byte"), f + ".byte"));
  uint64_t bit = r.u64(r.require(a, f, "bit"), f + ".bit");
  if (bit > 7) r.fail(a["bit"], f + ".bit", "expected 0..7");
  if (kind == "bit-flip") return nand::BitFlip{page, byte, uint8_t(bit)};
  uint64_t v = r.u64(r.require(a, f, "value"), f + ".value");
  if (v > 1) r.fail(a["value"], f + ".value", "expected 0 or 1");
  return nand::StuckBit{page, byte, uint8_t(bit), v == 1};
}

tpm::Fault parse_tpm_fault(const YamlReader& r, const YAML::Node& a, const std::string& f) {
  r.expect_map(a, f, {"command", "response-code", "no-response", "stay-busy"});
  tpm::FaultOptions o;
  if (YAML::Node c = a["command"]) {
    std::string name = r.str(c, f + ".command");
    o.has_command = true;
    o.command = tpm::command_code_by_name(name);
    if (!o.command) r.fail(c, f + ".command", "unknown TPM command '" + name + "' (e.g. PCR_Extend, Quote, Sign)");
  }
  if (a["response-code"]) {
    uint64_t v = r.u64(a["response-code"], f + ".response-code");
    if (v == 0 || v > 0xFFFFFFFFu)
      r.fail(a["response-code"], f + ".response-code", "must be a non-zero 32-bit TPM response code");
    o.response_code = uint32_t(v);
  }
  if (a["no-response"]) o.no_response = parse_bool(r, a["no-response"], f + ".no-response");
  if (a["stay-busy"]) o.stay_busy = parse_bool(r, a["stay-busy"], f + ".stay-busy");
  // The rules that combine the options are tpm::fault_from()'s, shared with
  // the board file; a fault step must arm one fault (the board file may
  // leave it out).
  std::optional<tpm::Fault> fault;
  try {
    fault = tpm::fault_from(o, tpm::kScenarioWords);
  } catch (const std::invalid_argument& e) {
    r.fail(a, f, e.what());
  }
  if (!fault) r.fail(a, f, tpm::fault_forms(tpm::kScenarioWords));
  return *fault;
}

net::Fault parse_net_fault(const YamlReader& r, const YAML::Node& a, const std::string& f) {
  r.expect_map(a, f, {"refuse", "stall", "drop-after", "corrupt-byte", "seed"});
  net::Fault out;
  int forms = 0;
  bool seeded = false;
  if (a["refuse"] && parse_bool(r, a["refuse"], f + ".refuse")) out = net::Refuse{}, ++forms;
  if (a["stall"] && parse_bool(r, a["stall"], f + ".stall")) out = net::Stall{}, ++forms;
  if (a["drop-after"]) {
    uint64_t v = r.u64(a["drop-after"], f + ".drop-after");
    if (v > (1ull << 30)) r.fail(a["drop-after"], f + ".drop-after", "bytes: 0..1073741824");
    out = net::DropAfter{v}, ++forms;
  }
  if (YAML::Node cb = a["corrupt-byte"]) {
    if (cb.IsScalar() && cb.Scalar() == "random") {
      out = net::CorruptSeededByte{}, ++forms;
      seeded = true;
    } else {
      uint64_t v = r.u64(cb, f + ".corrupt-byte");
      if (v > (1ull << 30)) r.fail(cb, f + ".corrupt-byte", "byte offset: 0..1073741824, or random");
      out = net::CorruptByte{v}, ++forms;
    }
  }
  if (forms != 1)
    r.fail(a, f, "give exactly one of: refuse: true, stall: true, drop-after: BYTES, corrupt-byte: OFFSET|random");
  if (a["seed"] && !seeded) r.fail(a["seed"], f + ".seed", "only corrupt-byte: random takes a seed");
  return out;
}

FaultStep parse_fault(const YamlReader& r, const YAML::Node& arg, const std::string& field) {
  if (!arg.IsMap() || arg.size() != 1)
    r.fail(arg, field, "expected one fault: power-loss, bit-flip, bit-flips, stuck-bit, bad-block, tpm or network");
  std::string kind = arg.begin()->first.Scalar();
  YAML::Node a = arg.begin()->second;
  std::string f = field + "." + kind;
  FaultStep s;
  if (kind == "power-loss")
    s.fault = parse_power_loss(r, a, f);
  else if (kind == "bit-flip" || kind == "stuck-bit" || kind == "bit-flips" || kind == "bad-block")
    s.fault = parse_nand_fault(r, a, f, kind);
  else if (kind == "tpm")
    s.fault = parse_tpm_fault(r, a, f);
  else if (kind == "network")
    s.fault = parse_net_fault(r, a, f);
  else
    r.fail(arg.begin()->first, f,
           "unknown fault (expected one of: power-loss, bit-flip, bit-flips, stuck-bit, bad-block, tpm, network)");
  // Every form that takes a seed has been checked to be one (expect_map and
  // the checks above).
  if (a.IsMap() && a["seed"]) s.seed = r.u64(a["seed"], f + ".seed");
  return s;
}

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// A check whose mapping holds only `name`, itself a mapping of `keys`:
// returns it, with its field name in `sub`.
YAML::Node only_key(const YamlReader& r, const YAML::Node& arg, const std::string& field, const char* name,
                    std::initializer_list<const char*> keys, std::string* sub) {
  r.expect_map(arg, field, {name});
  *sub = field + "." + name;
  YAML::Node n = arg[name];
  r.expect_map(n, *sub, keys);
  return n;
}

CheckSpec parse_check(const YamlReader& r, const YAML::Node& arg, const std::string& field) {
  if (!arg.IsMap()) r.fail(arg, field, "expected a mapping with one of: file, romvar, keys, booted, pcr, attest");
  if (arg["file"]) {
    FileCheck c;
    r.expect_map(arg, field, {"file", "exists", "sha256", "size"});
    c.file = r.str(arg["file"], field + ".file");
    if (arg["exists"]) {
      if (arg["exists"].IsScalar() && arg["exists"].Scalar() == "either")
        c.either = true;
      else
        c.exists = parse_bool(r, arg["exists"], field + ".exists");
    }
    if (arg["sha256"]) {
      c.sha256 = r.str(arg["sha256"], field + ".sha256");
      if (c.sha256.size() != 64 || c.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
        r.fail(arg["sha256"], field + ".sha256", "expected 64 lower-case hex digits");
    }
    if (arg["size"]) c.size = r.u64(arg["size"], field + ".size");
    if (!c.exists && (arg["sha256"] || arg["size"])) r.fail(arg, field, "sha256/size make no sense with exists: false");
    return c;
  }
  if (arg["romvar"]) {
    RomvarCheck c;
    r.expect_map(arg, field, {"romvar", "equals", "exists"});
    c.name = r.str(arg["romvar"], field + ".romvar");
    if (arg["equals"]) c.equals = r.str(arg["equals"], field + ".equals");
    if (arg["exists"]) c.exists = parse_bool(r, arg["exists"], field + ".exists");
    if (!arg["equals"] && !arg["exists"]) r.fail(arg, field, "give equals: VALUE or exists: true|false");
    if (!c.exists && arg["equals"]) r.fail(arg, field, "equals makes no sense with exists: false");
    return c;
  }
  if (arg["keys"]) {
    KeysCheck c;
    std::string kf;
    YAML::Node k = only_key(r, arg, field, "keys", {"active", "revoked", "absent", "both-copies"}, &kf);
    if (k["active"]) c.active = str_list(r, k["active"], kf + ".active");
    if (k["revoked"]) c.revoked = str_list(r, k["revoked"], kf + ".revoked");
    if (k["absent"]) c.absent = str_list(r, k["absent"], kf + ".absent");
    if (k["both-copies"]) c.both_copies = parse_bool(r, k["both-copies"], kf + ".both-copies");
    for (const auto* list : {&c.active, &c.revoked, &c.absent})
      for (const std::string& name : *list) {
        size_t dash = name.rfind('-');
        if (dash == std::string::npos || dash + 2 != name.size() || name[dash + 1] < 'A' || name[dash + 1] > 'Z' ||
            (name.substr(0, dash) != "rollover" && name.substr(0, dash) != "production" &&
             name.substr(0, dash) != "special"))
          r.fail(
              k, kf,
              "key '" + name + "': expected TYPE-VERSION with TYPE rollover, production or special, e.g. production-B");
      }
    return c;
  }
  if (arg["booted"]) {
    BootedCheck c;
    std::string bf;
    YAML::Node b = only_key(r, arg, field, "booted", {"image", "key"}, &bf);
    if (b["image"]) c.image = r.str(b["image"], bf + ".image");
    if (b["key"]) c.key = r.str(b["key"], bf + ".key");
    if (!b["image"] && !b["key"]) r.fail(b, bf, "give image: bootflash:NAME and/or key: TYPE-VERSION");
    return c;
  }
  if (arg["pcr"]) {
    PcrCheck c;
    r.expect_map(arg, field, {"pcr", "equals", "extended"});
    uint64_t index = r.u64(arg["pcr"], field + ".pcr");
    if (index > 23) r.fail(arg["pcr"], field + ".pcr", "expected a PCR index 0..23");
    c.index = uint32_t(index);
    if (arg["equals"]) {
      c.equals = r.str(arg["equals"], field + ".equals");
      for (char& ch : c.equals) ch = char(toupper(static_cast<unsigned char>(ch)));
      if (c.equals.size() != 64 || c.equals.find_first_not_of("0123456789ABCDEF") != std::string::npos)
        r.fail(arg["equals"], field + ".equals", "expected 64 hex digits (a SHA-256 PCR value)");
    }
    if (arg["extended"]) c.extended = parse_bool(r, arg["extended"], field + ".extended");
    if (c.equals.empty() && !c.extended) r.fail(arg, field, "give equals: HEX or extended: true");
    return c;
  }
  if (arg["attest"]) {
    AttestCheck c;
    std::string af;
    YAML::Node a = only_key(r, arg, field, "attest", {"nonce", "kgv", "image", "verifies", "failing"}, &af);
    uint64_t nonce = r.u64(r.require(a, af, "nonce"), af + ".nonce");
    if (nonce > 0xFFFFFFFFu) r.fail(a["nonce"], af + ".nonce", "expected 0..4294967295 (the N of `sign nonce N`)");
    c.nonce = uint32_t(nonce);
    if (bool(a["kgv"]) == bool(a["image"]))
      r.fail(a, af,
             "give the known-good values as kgv: FILE (from `trustsim image sign --kgv`) or image: bootflash:NAME");
    if (a["kgv"]) {
      c.kgv = r.str(a["kgv"], af + ".kgv");
      if (c.kgv.empty() || c.kgv[0] != '/') c.kgv = dir_of(r.path()) + "/" + c.kgv;
    } else {
      std::string img = r.str(a["image"], af + ".image");
      if (img.rfind("bootflash:", 0) != 0 || img.size() == 10)
        r.fail(a["image"], af + ".image", "expected bootflash:NAME (the signed OS image the board should run)");
      c.kgv_image = img.substr(10);
    }
    if (a["verifies"]) c.verifies = parse_bool(r, a["verifies"], af + ".verifies");
    if (a["failing"]) {
      c.failing = str_list(r, a["failing"], af + ".failing");
      static const char* names[] = {"Platform",
                                    "Boot 0 Version",
                                    "Boot 0 Hash",
                                    "Boot Loader Version",
                                    "Boot Loader Hash",
                                    "OS Version",
                                    "OS Hash",
                                    "PCR0",
                                    "PCR8",
                                    "nonce",
                                    "quoted PCRs",
                                    "SUDI chain",
                                    "SUDI signature",
                                    "signature"};
      for (const std::string& f : c.failing) {
        bool known = false;
        std::string all;
        for (const char* n : names) known |= f == n, all += std::string(all.empty() ? "" : ", ") + n;
        if (!known) r.fail(a["failing"], af + ".failing", "unknown check '" + f + "' (expected some of: " + all + ")");
      }
      if (c.failing.empty()) r.fail(a["failing"], af + ".failing", "name at least one check, or drop failing");
      if (a["verifies"] && c.verifies)
        r.fail(a, af, "failing: names checks that fail, so it needs verifies: false (or no verifies)");
      c.verifies = false;
    }
    return c;
  }
  r.fail(arg, field, "expected one of: file, romvar, keys, booted, pcr, attest");
}

// A byte offset and XOR mask (the corrupt steps).
uint8_t parse_xor(const YamlReader& r, const YAML::Node& arg, const std::string& field) {
  if (!arg["xor"]) return 0x01;
  uint64_t x = r.u64(arg["xor"], field + ".xor");
  if (x == 0 || x > 0xFF) r.fail(arg["xor"], field + ".xor", "must be 0x01..0xff");
  return uint8_t(x);
}

Step parse_step(const YamlReader& r, const YAML::Node& node, const std::string& field_in, const Scenario& sc) {
  std::string field = field_in;
  Step s;
  s.where = r.path() + ":" + std::to_string(node.Mark().line + 1);
  const char* kinds =
      "power-on, power-off, power-cycle, expect, send, wait, wait-power-off, fault, check, image-sign, flash-put, "
      "flash-corrupt, flash-truncate, flash-delete, rom-nor-corrupt, nvram-corrupt, include, for, sweep";
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
    if (arg.IsDefined() && !arg.IsNull()) r.fail(arg, field, "takes no arguments");
    if (key == "power-on")
      s.what = PowerOnStep{};
    else
      s.what = PowerOffStep{};
  } else if (key == "power-cycle") {
    PowerCycleStep p;
    if (arg.IsDefined() && !arg.IsNull()) {
      r.expect_map(arg, field, {"off_time"});
      p.off_ps = r.duration_ps(r.require(arg, field, "off_time"), field + ".off_time");
    }
    s.what = p;
  } else if (key == "expect") {
    ExpectStep e;
    e.timeout_ps = sc.default_timeout_ps;
    if (arg.IsScalar()) {
      e.text = arg.Scalar();
    } else if (arg.IsMap()) {
      r.expect_map(arg, field, {"pattern", "timeout", "not"});
      e.text = r.str(r.require(arg, field, "pattern"), field + ".pattern");
      if (arg["timeout"]) e.timeout_ps = r.duration_ps(arg["timeout"], field + ".timeout");
      if (arg["not"]) e.negate = parse_bool(r, arg["not"], field + ".not");
    } else {
      r.fail(node, field, "expected a pattern string or {pattern: ..., timeout: ...}");
    }
    if (e.text.empty()) r.fail(arg, field, "pattern must not be empty");
    if (e.timeout_ps == 0) r.fail(arg, field + ".timeout", "must be greater than zero");
    e.pattern = compile(r, arg, field, e.text);
    s.what = std::move(e);
  } else if (key == "send") {
    SendStep e;
    if (arg.IsDefined() && arg.IsMap()) {
      r.expect_map(arg, field, {"text", "enter"});
      e.text = r.str(r.require(arg, field, "text"), field + ".text");
      if (arg["enter"]) e.enter = parse_bool(r, arg["enter"], field + ".enter");
    } else {
      if (!arg.IsDefined() || !arg.IsScalar()) r.fail(node, field, "expected the line to type, as a string");
      e.text = arg.Scalar();
    }
    s.what = std::move(e);
  } else if (key == "wait-power-off") {
    WaitPowerOffStep w{sc.default_timeout_ps};
    if (arg.IsDefined() && !arg.IsNull()) {
      r.expect_map(arg, field, {"timeout"});
      w.timeout_ps = r.duration_ps(r.require(arg, field, "timeout"), field + ".timeout");
      if (w.timeout_ps == 0) r.fail(arg["timeout"], field + ".timeout", "must be greater than zero");
    }
    s.what = w;
  } else if (key == "fault") {
    s.what = parse_fault(r, arg, field);
  } else if (key == "check") {
    s.what = CheckStep{parse_check(r, arg, field)};
  } else if (key == "flash-put") {
    r.expect_map(arg, field, {"from", "name"});
    // (A braced list is evaluated left to right: errors come in key order.)
    s.what = FlashPutStep{r.str(r.require(arg, field, "from"), field + ".from"),
                          r.str(r.require(arg, field, "name"), field + ".name")};
  } else if (key == "include" || key == "for" || key == "sweep") {
    r.fail(node.begin()->first, field,
           key == "sweep" ? "a sweep must be the last step of the scenario's own steps" : "not allowed here");
  } else if (key == "wait") {
    if (!arg.IsDefined()) r.fail(node, field, "expected a duration like '10 ms'");
    s.what = WaitStep{r.duration_ps(arg, field)};
  } else if (key == "image-sign") {
    ImageSignStep g;
    r.expect_map(arg, field, {"key", "name", "type", "version", "payload", "add-keys", "revoke-keys"});
    g.key = r.str(r.require(arg, field, "key"), field + ".key");
    g.file = r.str(r.require(arg, field, "name"), field + ".name");
    if (arg["type"]) {
      g.image_type = r.str(arg["type"], field + ".type");
      if (g.image_type != "os" && g.image_type != "rommon" && g.image_type != "revocation")
        r.fail(arg["type"], field + ".type", "expected os, rommon or revocation");
    }
    if (arg["version"]) g.version = r.str(arg["version"], field + ".version");
    if (arg["payload"]) g.payload = r.str(arg["payload"], field + ".payload");
    for (const char* k : {"add-keys", "revoke-keys"}) {
      YAML::Node list = arg[k];
      if (!list) continue;
      std::vector<std::string>& names = std::string(k) == "add-keys" ? g.add_keys : g.revoke_keys;
      if (!list.IsSequence() || list.size() == 0)
        r.fail(list, field + "." + k, "expected a list of key names, e.g. [production-B]");
      for (size_t i = 0; i < list.size(); ++i)
        names.push_back(r.str(list[i], field + "." + k + "[" + std::to_string(i) + "]"));
    }
    s.what = std::move(g);
  } else if (key == "flash-corrupt") {
    FlashCorruptStep c;
    r.expect_map(arg, field, {"file", "offset", "from_end", "xor", "seed"});
    c.file = r.str(r.require(arg, field, "file"), field + ".file");
    if (arg["seed"]) c.seed = r.u64(arg["seed"], field + ".seed");
    if (arg["from_end"]) c.from_end = parse_bool(r, arg["from_end"], field + ".from_end");
    YAML::Node off = r.require(arg, field, "offset");
    if (off.IsScalar() && off.Scalar() == "seeded") {
      c.seeded_offset = true;
      if (c.from_end) r.fail(off, field + ".offset", "seeded offsets count from the start; drop from_end");
    } else {
      c.offset = r.u64(off, field + ".offset");
    }
    c.xor_mask = parse_xor(r, arg, field);
    s.what = std::move(c);
  } else if (key == "rom-nor-corrupt" || key == "nvram-corrupt") {
    r.expect_map(arg, field, {"offset", "xor"});
    uint64_t offset = r.u64(r.require(arg, field, "offset"), field + ".offset");
    uint8_t mask = parse_xor(r, arg, field);
    if (key == "rom-nor-corrupt")
      s.what = RomNorCorruptStep{offset, mask};
    else
      s.what = NvramCorruptStep{offset, mask};
  } else if (key == "boot-flash-corrupt") {
    r.fail(node.begin()->first, field,
           "boot-flash-corrupt was renamed to rom-nor-corrupt (the NOR flash holding ROMmon)");
  } else if (key == "flash-truncate") {
    r.expect_map(arg, field, {"file", "length"});
    s.what = FlashTruncateStep{r.str(r.require(arg, field, "file"), field + ".file"),
                               r.u64(r.require(arg, field, "length"), field + ".length")};
  } else if (key == "flash-delete") {
    if (!arg.IsDefined() || !arg.IsScalar()) r.fail(node, field, "expected the bootflash: file name");
    s.what = FlashDeleteStep{arg.Scalar()};
  } else {
    r.fail(node.IsMap() ? node.begin()->first : node, field,
           std::string("unknown step (expected one of: ") + kinds + ")");
  }
  return s;
}

}  // namespace

std::string printable(const std::string& t) {
  std::string o;
  for (char c : t) {
    if (c == '\r')
      o += "\\r";
    else if (c == '\n')
      o += "\\n";
    else if (c == '\t')
      o += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    } else
      o += c;
  }
  return o;
}

namespace {

struct DescribeFault {
  std::string operator()(const PowerLossAtOperation& p) const {
    return "fault power-loss " + std::string(power_loss_mode_name(p.cut.mode)) + " " + p.device + " operation " +
           std::to_string(p.cut.at_operation) + " from here";
  }
  std::string operator()(const PowerLossAfter& p) const {
    return "fault power-loss after " + format_duration(p.after_ps);
  }
  std::string operator()(const PowerLossOnConsole& p) const {
    return "fault power-loss on console /" + printable(p.text) + "/";
  }
  std::string operator()(const nand::Fault& f) const {
    if (auto* b = std::get_if<nand::BitFlip>(&f)) return "fault bit-flip page " + std::to_string(b->page);
    if (auto* b = std::get_if<nand::RandomBitFlips>(&f)) return "fault bit-flips page " + std::to_string(b->page);
    if (auto* b = std::get_if<nand::StuckBit>(&f)) return "fault stuck-bit page " + std::to_string(b->page);
    if (auto* b = std::get_if<nand::BadOnNthErase>(&f)) return "fault bad-block " + std::to_string(b->block);
    return "fault " + nand::describe(f);
  }
  std::string operator()(const tpm::Fault& f) const { return "fault tpm " + tpm::command_text(tpm::command_of(f)); }
  std::string operator()(const net::Fault& f) const { return "fault network: next transfer " + net::describe(f); }
};

struct DescribeCheck {
  std::string operator()(const FileCheck& c) const { return "check bootflash:" + c.file; }
  std::string operator()(const RomvarCheck& c) const { return "check ROMmon variable " + c.name; }
  std::string operator()(const KeysCheck&) const { return "check key storage"; }
  std::string operator()(const BootedCheck&) const { return "check the booted image"; }
  std::string operator()(const PcrCheck& c) const { return "check PCR" + std::to_string(c.index); }
  std::string operator()(const AttestCheck& c) const {
    return "check attestation (nonce " + std::to_string(c.nonce) + ")";
  }
};

struct DescribeStep {
  std::string operator()(const PowerOnStep&) const { return "power-on"; }
  std::string operator()(const PowerOffStep&) const { return "power-off"; }
  std::string operator()(const PowerCycleStep&) const { return "power-cycle"; }
  std::string operator()(const ExpectStep& e) const {
    return std::string(e.negate ? "expect no /" : "expect /") + printable(e.text) + "/ within " +
           format_duration(e.timeout_ps);
  }
  std::string operator()(const SendStep& e) const { return "send \"" + printable(e.text) + "\""; }
  std::string operator()(const WaitStep& w) const { return "wait " + format_duration(w.duration_ps); }
  std::string operator()(const WaitPowerOffStep& w) const {
    return "wait-power-off within " + format_duration(w.timeout_ps);
  }
  std::string operator()(const FaultStep& f) const { return std::visit(DescribeFault{}, f.fault); }
  std::string operator()(const CheckStep& c) const { return std::visit(DescribeCheck{}, c.check); }
  std::string operator()(const ImageSignStep& g) const { return "image-sign " + g.file + " with " + g.key; }
  std::string operator()(const FlashPutStep& p) const { return "flash-put " + p.from + " as " + p.file; }
  std::string operator()(const FlashCorruptStep& c) const {
    return "flash-corrupt " + c.file + " at " + std::to_string(c.offset);
  }
  std::string operator()(const FlashTruncateStep& t) const {
    return "flash-truncate " + t.file + " to " + std::to_string(t.length);
  }
  std::string operator()(const FlashDeleteStep& d) const { return "flash-delete " + d.file; }
  std::string operator()(const RomNorCorruptStep& c) const { return "rom-nor-corrupt at " + std::to_string(c.offset); }
  std::string operator()(const NvramCorruptStep& c) const { return "nvram-corrupt at " + std::to_string(c.offset); }
};

}  // namespace

std::string Step::describe() const { return std::visit(DescribeStep{}, what); }

const std::vector<std::string>& cut_device_names() {
  static const std::vector<std::string> names = power_cut_devices();
  return names;
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
          r.fail(node, field,
                 "unknown variable ${" + name + "}" +
                     (known.empty() ? " (no variables are defined)" : " (defined: " + known + ")"));
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
      if (::stat(inc.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        r.fail(arg, f + ".include", inc + ": no such file (or not a regular file)");
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
      if (var.empty() ||
          var.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string::npos)
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

void parse_sweep(const YamlReader& r, const YAML::Node& arg, const std::string& field, const Vars& vars, Scenario& sc,
                 std::vector<std::string>& include_stack) {
  Sweep& w = sc.sweep;
  w.where = r.path() + ":" + std::to_string(arg.Mark().line + 1);
  r.expect_map(arg, field, {"devices", "modes", "from", "to", "steps", "recovery", "second-cut", "network-cut"});
  auto devices = [&](const YAML::Node& parent, const std::string& f, std::vector<std::string>& out) {
    YAML::Node d = r.require(parent, f, "devices");
    Substitution sub(r, d, vars, f + ".devices");
    out = str_list(r, d, f + ".devices");
    if (out.empty()) r.fail(parent["devices"], f + ".devices", "name at least one device");
    for (const std::string& d : out) check_cut_device(r, parent["devices"], f + ".devices", d, "'" + d + "': ");
  };
  auto modes = [&](const YAML::Node& parent, const std::string& f, std::vector<PowerLoss::Mode>& out) {
    if (!parent["modes"]) {
      out = {PowerLoss::Mode::kBefore, PowerLoss::Mode::kAfter, PowerLoss::Mode::kTorn};
      return;
    }
    YAML::Node m = parent["modes"];
    for (const std::string& name : str_list(r, m, f + ".modes")) {
      PowerLoss::Mode mode;
      if (!parse_power_loss_mode(name, &mode))
        r.fail(m, f + ".modes", "'" + name + "': expected before, after or torn");
      if (std::find(out.begin(), out.end(), mode) != out.end())
        r.fail(m, f + ".modes", "'" + name + "' is named twice");
      out.push_back(mode);
    }
    if (out.empty()) r.fail(m, f + ".modes", "name at least one mode");
  };
  if (YAML::Node n = arg["network-cut"]) {
    std::string f = field + ".network-cut";
    for (const char* k : {"devices", "modes", "from", "to", "second-cut"})
      if (arg[k])
        r.fail(arg[k], field + "." + k, "a network-cut sweep cuts the network, not the power: drop this field");
    if (!n.IsMap()) r.fail(n, f, "expected {every: BYTES}");
    r.expect_map(n, f, {"every"});
    YAML::Node e = r.require(n, f, "every");
    Substitution sub(r, e, vars, f + ".every");
    w.network_every = r.u64(e, f + ".every");
    if (w.network_every == 0 || w.network_every > (1ull << 30))
      r.fail(e, f + ".every", "bytes between two cuts: 1..1073741824");
    w.devices = {"netxfer"};
    w.modes = {PowerLoss::Mode::kAfter};
  } else {
    devices(arg, field, w.devices);
    modes(arg, field, w.modes);
  }
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
    if (c["recovery"])
      collect(r, c["recovery"], f + ".recovery", vars, sc, w.recovery2, include_stack);
    else
      w.recovery2 = w.recovery;
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
