#include "hw-models/observe.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "devkit/input_error.h"

namespace trustsim {
namespace {

// The firmware memory map (docs/firmware.md): where each stage's code runs.
constexpr uint64_t kBootRomEnd = 0x04000000;  // boot ROM, Boot0 runs in place
constexpr uint64_t kRommonStart = 0x40200000, kRommonEnd = 0x40400000;
constexpr uint64_t kOsStart = 0x41000000, kOsEnd = 0x44000000;

bool is_bus_op(const char* op) { return !strcmp(op, "read") || !strcmp(op, "write") || !strcmp(op, "invalid"); }

bool is_power_event(const TraceEvent& e) {
  return !strcmp(e.dev, "power") && (!strcmp(e.op, "power-on") || !strcmp(e.op, "reset") || !strcmp(e.op, "power-off"));
}

// Virtual ns as trace-event microseconds: "1234.567".
std::string us(uint64_t ns) {
  char b[40];
  snprintf(b, sizeof b, "%llu.%03llu", (unsigned long long)(ns / 1000), (unsigned long long)(ns % 1000));
  return b;
}

std::string quoted(const std::string& s) { return "\"" + json_escape(s) + "\""; }

}  // namespace

const char* boot_stage_name(BootStage s) {
  switch (s) {
    case BootStage::kOff:
      return "off";
    case BootStage::kBoot0:
      return "Boot0";
    case BootStage::kRommon:
      return "ROMmon";
    case BootStage::kOs:
      return "OS";
    case BootStage::kOther:
      return "other";
  }
  return "other";
}

BootStage boot_stage_of_address(uint64_t pc) {
  if (pc < kBootRomEnd) return BootStage::kBoot0;
  if (pc >= kRommonStart && pc < kRommonEnd) return BootStage::kRommon;
  if (pc >= kOsStart && pc < kOsEnd) return BootStage::kOs;
  return BootStage::kOther;
}

// ---- BootStageTracker ----

void BootStageTracker::change(uint64_t t_ns, BootStage s) {
  if (s == stage_) return;
  stage_ = s;
  for (auto& l : listeners) l(t_ns, s);
}

void BootStageTracker::on_event(const TraceEvent& e) {
  if (!is_power_event(e)) return;
  change(e.t_ns, !strcmp(e.op, "power-on") ? BootStage::kBoot0 : BootStage::kOff);
}

void BootStageTracker::on_doorbell(uint64_t t_ns, uint64_t pc) {
  if (stage_ == BootStage::kOff) return;  // cannot happen: no guest runs unpowered
  change(t_ns, boot_stage_of_address(pc));
}

// ---- TimelineWriter ----

TimelineWriter::~TimelineWriter() {
  if (out_) finish(stage_since_);
}

void TimelineWriter::open(const std::string& path, const std::string& board_name) {
  if (path.empty()) return;
  out_ = fopen(path.c_str(), "w");
  if (!out_) throw InputError(path + ": cannot write timeline: " + strerror(errno));
  fprintf(out_,
          "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"trustsim\",\"board\":%s,"
          "\"clock\":\"virtual board time\"},\"traceEvents\":[\n",
          quoted(board_name).c_str());
  emit("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":" +
       quoted("board " + board_name) + "}}");
  track("boot stage");
  track("power rail");
  track("console lines");
}

void TimelineWriter::emit(const std::string& json) {
  fputs(first_ ? "" : ",\n", out_);
  fputs(json.c_str(), out_);
  first_ = false;
}

int TimelineWriter::track(const std::string& name) {
  auto it = tracks_.find(name);
  if (it != tracks_.end()) return it->second;
  int tid = tracks_.empty() ? 1 : int(tracks_.size()) + 1;
  tracks_[name] = tid;
  std::string t = std::to_string(tid);
  emit("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":" + t + ",\"args\":{\"name\":" + quoted(name) + "}}");
  emit("{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":" + t + ",\"args\":{\"sort_index\":" + t + "}}");
  return tid;
}

void TimelineWriter::on_event(const TraceEvent& e) {
  if (!out_) return;
  std::string args =
      "{\"addr\":" + std::to_string(e.addr) + ",\"len\":" + std::to_string(e.len) + ",\"status\":" + quoted(e.status);
  if (!e.detail.empty()) args += ",\"detail\":" + quoted(e.detail);
  args += "}";
  if (is_power_event(e)) {
    emit("{\"name\":" + quoted(e.op) + ",\"cat\":\"power\",\"ph\":\"i\",\"s\":\"p\",\"pid\":1,\"tid\":" +
         std::to_string(track("power rail")) + ",\"ts\":" + us(e.t_ns) + ",\"args\":" + args + "}");
    return;
  }
  // A device's bus transactions and its internal operations (which may
  // overlap them, e.g. a NAND program started by a register write) get
  // separate tracks, so each track's spans nest.
  std::string name = is_bus_op(e.op) ? std::string(e.dev) : std::string(e.dev) + " (device)";
  std::string common = "{\"name\":" + quoted(e.op) + ",\"cat\":" + quoted(e.dev) +
                       ",\"pid\":1,\"tid\":" + std::to_string(track(name)) + ",\"ts\":" + us(e.t_ns);
  if (e.latency_ns > 0)
    emit(common + ",\"ph\":\"X\",\"dur\":" + us(e.latency_ns) + ",\"args\":" + args + "}");
  else
    emit(common + ",\"ph\":\"i\",\"s\":\"t\",\"args\":" + args + "}");
}

void TimelineWriter::on_console_line(uint64_t t_ns, const std::string& text) {
  if (!out_) return;
  std::string name = text.size() > 60 ? text.substr(0, 57) + "..." : text;
  emit("{\"name\":" + quoted(name) + ",\"cat\":\"console-line\",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":" +
       std::to_string(track("console lines")) + ",\"ts\":" + us(t_ns) + ",\"args\":{\"text\":" + quoted(text) + "}}");
}

void TimelineWriter::on_stage(uint64_t t_ns, BootStage s) {
  if (out_ && stage_ != BootStage::kOff && t_ns >= stage_since_)
    emit("{\"name\":" + quoted(boot_stage_name(stage_)) +
         ",\"cat\":\"stage\",\"ph\":\"X\",\"pid\":1,\"tid\":" + std::to_string(track("boot stage")) +
         ",\"ts\":" + us(stage_since_) + ",\"dur\":" + us(t_ns - stage_since_) + "}");
  stage_ = s;
  stage_since_ = t_ns;
}

void TimelineWriter::finish(uint64_t end_ns) {
  if (!out_) return;
  on_stage(end_ns, BootStage::kOff);
  fputs("\n]}\n", out_);
  fclose(out_);
  out_ = nullptr;
}

// ---- VcdWriter ----

const std::vector<std::string>& VcdWriter::signal_names() {
  static const std::vector<std::string> names = {"power",      "reset",       "stage",      "nand_busy", "nor_busy",
                                                 "nvram_busy", "crypto_busy", "console_tx", "mbox_busy"};
  return names;
}

VcdWriter::~VcdWriter() {
  if (out_)
    finish(changes_.empty() ? 0 : std::max_element(changes_.begin(), changes_.end(), [](auto& a, auto& b) {
                                    return a.t_ns < b.t_ns;
                                  })->t_ns);
}

void VcdWriter::open(const std::string& path, const std::vector<std::string>& signals) {
  if (path.empty()) return;
  const std::vector<std::string>& all = signal_names();
  std::vector<std::string> want = signals.empty() ? all : signals;
  for (const std::string& s : want) {
    auto it = std::find(all.begin(), all.end(), s);
    if (it == all.end()) {
      std::string list;
      for (const std::string& n : all) list += (list.empty() ? "" : ", ") + n;
      throw InputError("--vcd-signals: unknown signal '" + s + "' (known: " + list + ")");
    }
    int idx = int(it - all.begin());
    if (std::find(chosen_.begin(), chosen_.end(), idx) != chosen_.end())
      throw InputError("--vcd-signals: signal '" + s + "' named twice");
    chosen_.push_back(idx);
  }
  out_ = fopen(path.c_str(), "w");
  if (!out_) throw InputError(path + ": cannot write VCD: " + strerror(errno));
}

void VcdWriter::busy(uint64_t t, uint64_t dur, int sig) {
  if (dur == 0) return;
  changes_.push_back({t, seq_++, sig, +1});
  changes_.push_back({t + dur, seq_++, sig, -1});
}

void VcdWriter::on_event(const TraceEvent& e) {
  if (!out_) return;
  if (is_power_event(e)) {
    if (!strcmp(e.op, "power-on")) {
      level(e.t_ns, kPower, 1);
      level(e.t_ns, kReset, 0);
    } else if (!strcmp(e.op, "reset")) {
      level(e.t_ns, kReset, 1);
    } else {
      level(e.t_ns, kPower, 0);
      level(e.t_ns, kReset, 1);
    }
    return;
  }
  if (is_bus_op(e.op)) {
    busy(e.t_ns, e.latency_ns, kMailboxBusy);
    if (!strcmp(e.dev, "crypto")) busy(e.t_ns, e.latency_ns, kCryptoBusy);
    if (!strcmp(e.dev, "console") && !strcmp(e.op, "write")) busy(e.t_ns, e.latency_ns, kConsoleTx);
    return;
  }
  if (!strcmp(e.dev, "bootflash_nand"))
    busy(e.t_ns, e.latency_ns, kNandBusy);
  else if (!strcmp(e.dev, "rom_nor"))
    busy(e.t_ns, e.latency_ns, kNorBusy);
  else if (!strcmp(e.dev, "nvram"))
    busy(e.t_ns, e.latency_ns, kNvramBusy);
}

void VcdWriter::on_stage(uint64_t t_ns, BootStage s) {
  if (out_) level(t_ns, kStage, int(s));
}

void VcdWriter::finish(uint64_t end_ns) {
  if (!out_) return;
  std::stable_sort(changes_.begin(), changes_.end(), [](const Change& a, const Change& b) { return a.t_ns < b.t_ns; });
  const std::vector<std::string>& names = signal_names();
  auto width = [](int sig) { return sig == kStage ? 3 : 1; };
  auto id = [](int sig) { return std::string(1, char('a' + sig)); };
  auto value = [&](int sig, int v) {
    if (width(sig) == 1) return std::to_string(v ? 1 : 0) + id(sig);
    std::string b;
    for (int i = width(sig) - 1; i >= 0; --i) b += char('0' + ((v >> i) & 1));
    return "b" + b + " " + id(sig);
  };
  bool wanted[kSigCount] = {};
  for (int s : chosen_) wanted[s] = true;

  fputs(
      "$version trustsim $end\n"
      "$comment board signals in virtual board time (docs/traces.md) $end\n"
      "$timescale 1ns $end\n"
      "$scope module board $end\n",
      out_);
  for (int s : chosen_) fprintf(out_, "$var wire %d %s %s $end\n", width(s), id(s).c_str(), names[size_t(s)].c_str());
  fputs("$upscope $end\n$enddefinitions $end\n", out_);

  // Current values: the board starts unpowered, held in reset.
  int cur[kSigCount] = {};
  int count[kSigCount] = {};
  cur[kReset] = 1;
  uint64_t last_t = 0;
  size_t i = 0;
  bool dumped = false;
  while (i < changes_.size() || !dumped) {
    uint64_t t = i < changes_.size() ? changes_[i].t_ns : 0;
    if (!dumped && t > 0) t = 0;
    // Everything at time t: level signals keep their sequence (a reset that
    // asserts and releases at one instant stays visible as a glitch), busy
    // signals only their final state.
    std::vector<std::string> lines;
    std::vector<int> seen[kSigCount];
    for (; i < changes_.size() && changes_[i].t_ns == t; ++i) {
      const Change& c = changes_[i];
      if (c.sig == kPower || c.sig == kReset || c.sig == kStage)
        seen[c.sig].push_back(c.value);
      else
        count[c.sig] += c.value;
    }
    for (int s : chosen_) {
      int before = cur[s];
      if (s == kPower || s == kReset || s == kStage) {
        if (seen[s].empty()) continue;
        int after = seen[s].back();
        if (after != before) {
          cur[s] = after;
          if (dumped) lines.push_back(value(s, after));
        } else if (dumped) {
          for (int v : seen[s])
            if (v != before) {
              lines.push_back(value(s, v));
              lines.push_back(value(s, before));
              break;
            }
        }
      } else {
        int after = count[s] > 0;
        if (after != before) {
          cur[s] = after;
          if (dumped) lines.push_back(value(s, after));
        }
      }
    }
    for (int s = 0; s < kSigCount; ++s)
      if (!wanted[s] && (s == kPower || s == kReset || s == kStage) && !seen[s].empty()) cur[s] = seen[s].back();
    if (!dumped) {
      fputs("#0\n$dumpvars\n", out_);
      for (int s : chosen_) fprintf(out_, "%s\n", value(s, cur[s]).c_str());
      fputs("$end\n", out_);
      dumped = true;
      continue;
    }
    if (lines.empty()) continue;
    fprintf(out_, "#%llu\n", (unsigned long long)t);
    for (const std::string& l : lines) fprintf(out_, "%s\n", l.c_str());
    last_t = t;
  }
  if (end_ns > last_t) fprintf(out_, "#%llu\n", (unsigned long long)end_ns);
  fclose(out_);
  out_ = nullptr;
}

}  // namespace trustsim
