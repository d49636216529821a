#include "scenario/campaign.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "devkit/input_error.h"

namespace trustsim {
namespace {

double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
          o += ' ';
        else
          o += c;
    }
  }
  return o;
}

}  // namespace

std::string RunRecord::describe() const {
  if (network)
    return "point " + std::to_string(point) + " (" + device + "#" + std::to_string(device_op) + ") drop after " +
           std::to_string(drop_after) + " bytes";
  std::string d = "point " + std::to_string(point) + " (" + device + "#" + std::to_string(device_op) + ") " +
                  power_loss_mode_name(mode);
  if (point2)
    d += ", recovery point " + std::to_string(point2) + " (" + device2 + "#" + std::to_string(device_op2) + ") " +
         power_loss_mode_name(mode2);
  return d;
}

void write_run_records(const std::string& path, const std::vector<RunRecord>& recs) {
  std::ofstream o(path + ".tmp");
  for (const RunRecord& r : recs) {
    std::string failure = r.failure;
    for (char& c : failure)
      if (c == '\n' || c == '\t') c = ' ';
    o << "point\t" << r.point << "\ndevice\t" << r.device << "\ndevice_op\t" << r.device_op << "\nmode\t"
      << power_loss_mode_name(r.mode) << "\nseed\t" << r.seed << "\n";
    if (r.network) o << "drop_after\t" << r.drop_after << "\n";
    if (r.point2)
      o << "point2\t" << r.point2 << "\ndevice2\t" << r.device2 << "\ndevice_op2\t" << r.device_op2 << "\nmode2\t"
        << power_loss_mode_name(r.mode2) << "\n";
    o << "recovery_points\t" << r.recovery_points << "\npassed\t" << (r.passed ? 1 : 0) << "\nvirtual_ns\t"
      << r.virtual_ns << "\nwall_s\t" << r.wall_s << "\nfailure\t" << failure << "\n";
    if (!r.state.empty()) o << "state\t" << r.state << "\nreuses\t" << r.reuses << "\n";
    o << "recovery_start_ps\t" << r.recovery_start_ps << "\nend_ps\t" << r.end_ps << "\n";
    if (r.redo) o << "redo\t1\n";
    if (r.dma_flushes) o << "dma_flushes\t" << r.dma_flushes << "\n";
    o << "end\n";
  }
  o.close();
  rename((path + ".tmp").c_str(), path.c_str());
}

bool read_run_records(const std::string& path, std::vector<RunRecord>& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  RunRecord r;
  bool any = false;
  try {
    while (std::getline(in, line)) {
      if (line == "end") {
        if (!any) return false;
        out.push_back(r);
        r = RunRecord();
        any = false;
        continue;
      }
      size_t tab = line.find('\t');
      if (tab == std::string::npos) continue;
      std::string k = line.substr(0, tab), v = line.substr(tab + 1);
      if (k == "passed")
        r.passed = v == "1", any = true;
      else if (k == "point")
        r.point = std::stoull(v);
      else if (k == "device")
        r.device = v;
      else if (k == "device_op")
        r.device_op = std::stoull(v);
      else if (k == "mode")
        parse_power_loss_mode(v, &r.mode);
      else if (k == "seed")
        r.seed = std::stoull(v);
      else if (k == "drop_after")
        r.network = true, r.drop_after = std::stoull(v);
      else if (k == "point2")
        r.point2 = std::stoull(v);
      else if (k == "device2")
        r.device2 = v;
      else if (k == "device_op2")
        r.device_op2 = std::stoull(v);
      else if (k == "mode2")
        parse_power_loss_mode(v, &r.mode2);
      else if (k == "recovery_points")
        r.recovery_points = std::stoull(v);
      else if (k == "virtual_ns")
        r.virtual_ns = std::stoull(v);
      else if (k == "wall_s")
        r.wall_s = std::stod(v);
      else if (k == "failure")
        r.failure = v;
      else if (k == "state")
        r.state = v;
      else if (k == "reuses")
        r.reuses = v;
      else if (k == "recovery_start_ps")
        r.recovery_start_ps = std::stoull(v);
      else if (k == "end_ps")
        r.end_ps = std::stoull(v);
      else if (k == "redo")
        r.redo = v == "1";
      else if (k == "dma_flushes")
        r.dma_flushes = std::stoull(v);
    }
  } catch (const std::exception&) {
    return false;
  }
  return !out.empty();
}

bool parse_shard(const std::string& text, uint32_t* index, uint32_t* count) {
  size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size()) return false;
  std::string a = text.substr(0, slash), b = text.substr(slash + 1);
  if (a.find_first_not_of("0123456789") != std::string::npos ||
      b.find_first_not_of("0123456789") != std::string::npos || a.size() > 6 || b.size() > 6)
    return false;
  uint32_t i = uint32_t(std::stoul(a)), n = uint32_t(std::stoul(b));
  if (n == 0 || i >= n) return false;
  *index = i;
  *count = n;
  return true;
}

size_t CampaignReport::failures() const {
  return size_t(std::count_if(runs.begin(), runs.end(), [](const RunRecord& r) { return !r.passed; }));
}

std::string CampaignReport::reproducer(const RunRecord& r) const {
  std::string c = reproduce + " --point " + std::to_string(r.point) + " --mode " + power_loss_mode_name(r.mode);
  if (r.point2) c += " --point2 " + std::to_string(r.point2) + " --mode2 " + power_loss_mode_name(r.mode2);
  return c;
}

DedupCounts dedup_counts(const std::vector<RunRecord>& runs) {
  std::set<std::string> states;
  DedupCounts n;
  for (const RunRecord& x : runs) {
    if (!x.state.empty()) states.insert(x.state);
    n.executed += x.reuses.empty();
  }
  n.states = states.size();
  return n;
}

std::string report_to_json(const CampaignReport& r) {
  nlohmann::ordered_json j;
  j["format"] = "trustsim-campaign-1";
  j["campaign"] = r.name;
  j["file"] = r.file;
  j["seed"] = r.seed;
  j["devices"] = r.devices;
  std::vector<std::string> modes;
  for (PowerLoss::Mode m : r.modes) modes.push_back(power_loss_mode_name(m));
  j["modes"] = modes;
  if (r.second) {
    std::vector<std::string> m2;
    for (PowerLoss::Mode m : r.modes2) m2.push_back(power_loss_mode_name(m));
    j["second_cut"] = {{"devices", r.devices2}, {"modes", m2}};
  }
  if (r.network_every) j["network_cut"] = {{"every", r.network_every}};
  j["points"] = r.points;
  j["items"] = r.points * r.modes.size();
  j["shard"] = {{"index", r.shard_index}, {"count", r.shard_count}};
  if (!r.merged_shards.empty()) j["merged_shards"] = r.merged_shards;
  j["fork"] = r.fork;
  if (r.dedup) {
    DedupCounts n = dedup_counts(r.runs);
    j["dedup"] = true;
    j["distinct_states"] = n.states;
    j["runs_executed"] = n.executed;
  }
  j["jobs"] = r.jobs;
  if (r.fork)
    j["qemu"] = {{"slot_starts", r.qemu.slot_starts},
                 {"slot_runs", r.qemu.slot_runs},
                 {"dma_flushes", r.qemu.dma_flushes},
                 {"redone", r.qemu.redone}};
  j["wall_s"] = std::round(r.wall_s * 1000) / 1000;
  j["runs_per_s"] = r.wall_s > 0 ? std::round(double(r.runs.size()) / r.wall_s * 100) / 100 : 0.0;
  j["passed"] = r.runs.size() - r.failures();
  j["failed"] = r.failures();
  j["reproduce"] = r.reproduce;
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  for (const RunRecord& x : r.runs) {
    nlohmann::ordered_json o;
    o["point"] = x.point;
    o["device"] = x.device;
    o["device_op"] = x.device_op;
    o["mode"] = power_loss_mode_name(x.mode);
    o["seed"] = x.seed;
    if (x.network) o["drop_after"] = x.drop_after;
    if (x.point2)
      o["second"] = {{"point", x.point2},
                     {"device", x.device2},
                     {"device_op", x.device_op2},
                     {"mode", power_loss_mode_name(x.mode2)}};
    else if (r.second)
      o["recovery_points"] = x.recovery_points;
    o["verdict"] = x.passed ? "pass" : "fail";
    o["invariant"] = x.failure;
    o["virtual_ns"] = x.virtual_ns;
    o["wall_s"] = std::round(x.wall_s * 1000) / 1000;
    if (r.dedup) {
      o["state"] = x.state;
      o["reuses"] = x.reuses;
    }
    o["reproduce"] = r.reproducer(x);
    runs.push_back(o);
  }
  j["runs"] = runs;
  return j.dump(2) + "\n";
}

CampaignReport report_from_json(const std::string& text, const std::string& path) {
  auto bad = [&](const std::string& why) { return InputError(path + ": not a trustsim campaign report: " + why); };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("invalid JSON (") + e.what() + ")");
  }
  try {
    if (!j.is_object() || j.value("format", "") != "trustsim-campaign-1")
      throw bad("\"format\" is not \"trustsim-campaign-1\"");
    CampaignReport r;
    r.name = j.at("campaign").get<std::string>();
    r.file = j.at("file").get<std::string>();
    r.seed = j.at("seed").get<uint64_t>();
    r.devices = j.at("devices").get<std::vector<std::string>>();
    for (const std::string& m : j.at("modes").get<std::vector<std::string>>()) {
      PowerLoss::Mode mode;
      if (!parse_power_loss_mode(m, &mode)) throw bad("unknown mode \"" + m + "\"");
      r.modes.push_back(mode);
    }
    if (j.contains("second_cut")) {
      r.second = true;
      r.devices2 = j["second_cut"].at("devices").get<std::vector<std::string>>();
      for (const std::string& m : j["second_cut"].at("modes").get<std::vector<std::string>>()) {
        PowerLoss::Mode mode;
        if (!parse_power_loss_mode(m, &mode)) throw bad("second_cut: unknown mode \"" + m + "\"");
        r.modes2.push_back(mode);
      }
    }
    if (j.contains("network_cut")) r.network_every = j["network_cut"].at("every").get<uint64_t>();
    r.points = j.at("points").get<uint64_t>();
    r.shard_index = j.at("shard").at("index").get<uint32_t>();
    r.shard_count = j.at("shard").at("count").get<uint32_t>();
    if (r.shard_count == 0 || r.shard_index >= r.shard_count) throw bad("shard index/count out of range");
    if (j.contains("merged_shards")) r.merged_shards = j["merged_shards"].get<std::vector<uint32_t>>();
    r.fork = j.at("fork").get<bool>();
    r.dedup = j.value("dedup", false);
    r.jobs = j.at("jobs").get<int>();
    if (j.contains("qemu")) {  // reports written before it have none
      const auto& q = j["qemu"];
      r.qemu.slot_starts = q.at("slot_starts").get<uint64_t>();
      r.qemu.slot_runs = q.at("slot_runs").get<uint64_t>();
      r.qemu.dma_flushes = q.at("dma_flushes").get<uint64_t>();
      r.qemu.redone = q.at("redone").get<uint64_t>();
    }
    r.wall_s = j.at("wall_s").get<double>();
    r.reproduce = j.at("reproduce").get<std::string>();
    size_t i = 0;
    for (const auto& o : j.at("runs")) {
      RunRecord x;
      x.point = o.at("point").get<uint64_t>();
      x.device = o.at("device").get<std::string>();
      x.device_op = o.at("device_op").get<uint64_t>();
      std::string m = o.at("mode").get<std::string>();
      if (!parse_power_loss_mode(m, &x.mode)) throw bad("runs[" + std::to_string(i) + "]: unknown mode \"" + m + "\"");
      x.seed = o.at("seed").get<uint64_t>();
      if (o.contains("drop_after")) x.network = true, x.drop_after = o["drop_after"].get<uint64_t>();
      if (o.contains("second")) {
        const auto& s2 = o["second"];
        x.point2 = s2.at("point").get<uint64_t>();
        x.device2 = s2.at("device").get<std::string>();
        x.device_op2 = s2.at("device_op").get<uint64_t>();
        std::string m2 = s2.at("mode").get<std::string>();
        if (!parse_power_loss_mode(m2, &x.mode2) || x.point2 == 0)
          throw bad("runs[" + std::to_string(i) + "]: second: bad point or mode");
      } else if (r.second) {
        x.recovery_points = o.at("recovery_points").get<uint64_t>();
      }
      std::string v = o.at("verdict").get<std::string>();
      if (v != "pass" && v != "fail") throw bad("runs[" + std::to_string(i) + "]: verdict must be pass or fail");
      x.passed = v == "pass";
      x.failure = o.at("invariant").get<std::string>();
      x.virtual_ns = o.at("virtual_ns").get<uint64_t>();
      x.wall_s = o.at("wall_s").get<double>();
      if (r.dedup) {
        x.state = o.value("state", "");
        x.reuses = o.value("reuses", "");
      }
      if (x.point == 0 || x.point > r.points)
        throw bad("runs[" + std::to_string(i) + "]: point outside 1.." + std::to_string(r.points));
      r.runs.push_back(x);
      ++i;
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("missing or mistyped field (") + e.what() + ")");
  }
}

std::string report_to_junit(const CampaignReport& r) {
  double total = 0;
  for (const RunRecord& x : r.runs) total += x.wall_s;
  std::string o = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  char buf[256];
  snprintf(buf, sizeof buf, "<testsuites tests=\"%zu\" failures=\"%zu\" time=\"%.3f\">\n", r.runs.size(), r.failures(),
           r.wall_s);
  o += buf;
  snprintf(buf, sizeof buf, "  <testsuite name=\"%s\" tests=\"%zu\" failures=\"%zu\" time=\"%.3f\">\n",
           xml_escape("campaign " + r.name).c_str(), r.runs.size(), r.failures(), total);
  o += buf;
  for (const RunRecord& x : r.runs) {
    std::string name = x.describe();
    snprintf(buf, sizeof buf, "%.3f", x.wall_s);
    o +=
        "    <testcase classname=\"" + xml_escape(r.name) + "\" name=\"" + xml_escape(name) + "\" time=\"" + buf + "\"";
    if (x.passed) {
      o += "/>\n";
    } else {
      o += ">\n      <failure message=\"" + xml_escape(x.failure) + "\">reproduce: " + xml_escape(r.reproducer(x)) +
           "\nseed: " + std::to_string(x.seed) + "</failure>\n    </testcase>\n";
    }
  }
  o += "  </testsuite>\n</testsuites>\n";
  return o;
}

CampaignReport merge_reports(const std::vector<CampaignReport>& shards, const std::vector<std::string>& paths) {
  if (shards.empty()) throw InputError("campaign merge: no reports given");
  const CampaignReport& a = shards[0];
  CampaignReport m = a;
  m.runs.clear();
  m.merged_shards.clear();
  m.wall_s = 0;
  m.qemu = {};
  std::set<uint32_t> seen_shards;
  auto mode_index = [](const std::vector<PowerLoss::Mode>& modes, PowerLoss::Mode x) {
    return int(std::find(modes.begin(), modes.end(), x) - modes.begin());
  };
  // (point, mode, point2, mode2); point2 0 for the one-cut run of an item
  using Key = std::tuple<uint64_t, int, uint64_t, int>;
  std::map<Key, std::string> where;
  std::map<std::pair<uint64_t, int>, uint64_t> recovery_points;  // of each item's one-cut run
  for (size_t i = 0; i < shards.size(); ++i) {
    const CampaignReport& s = shards[i];
    auto differ = [&](const char* what) {
      return InputError(paths[i] + ": " + what + " differs from " + paths[0] +
                        ": these are not shards of one campaign");
    };
    if (s.name != a.name || s.file != a.file) throw differ("the campaign");
    if (s.seed != a.seed) throw differ("the seed");
    if (s.points != a.points) throw differ("the number of cut points");
    if (s.modes != a.modes || s.devices != a.devices || s.network_every != a.network_every)
      throw differ("the devices or modes");
    if (s.second != a.second || s.modes2 != a.modes2 || s.devices2 != a.devices2) throw differ("the second cut");
    if (s.shard_count != a.shard_count) throw differ("the shard count");
    if (!seen_shards.insert(s.shard_index).second)
      throw InputError(paths[i] + ": shard " + std::to_string(s.shard_index) + "/" + std::to_string(s.shard_count) +
                       " is given twice");
    m.wall_s = std::max(m.wall_s, s.wall_s);
    m.qemu.slot_starts += s.qemu.slot_starts;
    m.qemu.slot_runs += s.qemu.slot_runs;
    m.qemu.dma_flushes += s.qemu.dma_flushes;
    m.qemu.redone += s.qemu.redone;
    for (const RunRecord& x : s.runs) {
      int mi = mode_index(a.modes, x.mode);
      int mi2 = x.point2 ? mode_index(a.modes2, x.mode2) : 0;
      if (x.point2 && (!a.second || mi2 == int(a.modes2.size())))
        throw InputError(paths[i] + ": " + x.describe() + ": the campaign has no such second cut");
      Key key{x.point, mi, x.point2, mi2};
      auto it = where.find(key);
      if (it != where.end()) throw InputError(paths[i] + ": " + x.describe() + " was also run in " + it->second);
      if (!shard_selects(x.point, size_t(mi), a.modes.size(), s.shard_index, s.shard_count))
        throw InputError(paths[i] + ": " + x.describe() + " does not belong to shard " + std::to_string(s.shard_index) +
                         "/" + std::to_string(s.shard_count));
      where[key] = paths[i];
      if (!x.point2) recovery_points[{x.point, mi}] = x.recovery_points;
      m.runs.push_back(x);
    }
  }
  std::string missing;
  size_t n_missing = 0, expected = 0;
  auto miss = [&](const std::string& what) {
    if (++n_missing <= 10) missing += (missing.empty() ? "" : ", ") + what;
  };
  for (uint64_t p = 1; p <= a.points; ++p)
    for (size_t mi = 0; mi < a.modes.size(); ++mi) {
      ++expected;
      std::string item = std::to_string(p) + "/" + power_loss_mode_name(a.modes[mi]);
      if (!where.count({p, int(mi), 0, 0})) {
        miss(item);
        continue;
      }
      if (!a.second) continue;
      uint64_t rp = recovery_points[{p, int(mi)}];
      for (uint64_t q = 1; q <= rp; ++q)
        for (size_t mj = 0; mj < a.modes2.size(); ++mj) {
          ++expected;
          if (!where.count({p, int(mi), q, int(mj)}))
            miss(item + "+" + std::to_string(q) + "/" + power_loss_mode_name(a.modes2[mj]));
        }
    }
  if (n_missing) {
    std::string shards_missing;
    for (uint32_t k = 0; k < a.shard_count; ++k)
      if (!seen_shards.count(k)) shards_missing += (shards_missing.empty() ? "" : ", ") + std::to_string(k);
    throw InputError("campaign merge: " + std::to_string(n_missing) + " of " + std::to_string(expected) +
                     " runs are missing (point/mode" + (a.second ? "[+recovery point/mode]" : "") + ": " + missing +
                     (n_missing > 10 ? ", ..." : "") + ")" +
                     (shards_missing.empty() ? "" : "; no report for shard(s) " + shards_missing));
  }
  if (where.size() != expected)
    throw InputError("campaign merge: " + std::to_string(where.size() - expected) +
                     " second-cut runs lie beyond the recovery points their one-cut run counted");
  sort_runs(m.runs, a.modes, a.modes2);
  m.merged_shards.assign(seen_shards.begin(), seen_shards.end());
  m.shard_index = 0;
  m.shard_count = 1;
  return m;
}

void sort_runs(std::vector<RunRecord>& runs, const std::vector<PowerLoss::Mode>& modes,
               const std::vector<PowerLoss::Mode>& modes2) {
  auto key = [&](const RunRecord& x) {
    return std::make_tuple(x.point, std::find(modes.begin(), modes.end(), x.mode) - modes.begin(), x.point2,
                           x.point2 ? std::find(modes2.begin(), modes2.end(), x.mode2) - modes2.begin() : 0);
  };
  std::stable_sort(runs.begin(), runs.end(), [&](const RunRecord& x, const RunRecord& y) { return key(x) < key(y); });
}

Progress::Progress(FILE* out, uint64_t total)
    : out_(out), tty_(out && isatty(fileno(out))), total_(total), t0_(wall_now()) {}

void Progress::add(bool passed, bool executed) {
  ++done_;
  if (!executed) ++reused_;
  if (!passed) ++failed_;
  draw(false);
}

void Progress::finish() { draw(true); }

void Progress::draw(bool final) {
  if (!out_) return;
  double el = wall_now() - t0_;
  double rate = el > 0 ? double(done_) / el : 0;
  double eta = rate > 0 ? double(total_ - std::min(done_, total_)) / rate : 0;
  int decile = total_ ? int(done_ * 10 / total_) : 10;
  if (!tty_ && !final && decile == last_decile_) return;
  last_decile_ = decile;
  const int width = 30;
  int fill = total_ ? int(double(done_) / double(total_) * width) : width;
  std::string bar(size_t(fill), '#');
  bar += std::string(size_t(width - fill), '.');
  std::string reused = reused_ ? "  " + std::to_string(done_ - reused_) + " executed" : "";
  fprintf(out_, "%s[%s] %llu/%llu runs%s  %llu failed  %.1f runs/s  ETA %.0f s%s", tty_ ? "\r" : "", bar.c_str(),
          (unsigned long long)done_, (unsigned long long)total_, reused.c_str(), (unsigned long long)failed_, rate, eta,
          tty_ && !final ? "" : "\n");
  fflush(out_);
}

}  // namespace trustsim
