#include "hw-models/board_devices.h"

#include "hw-models/board_slots.h"

namespace trustsim {

const std::vector<const DeviceInfo*>& board_devices() {
  static const std::vector<const DeviceInfo*> all = [] {
    std::vector<const DeviceInfo*> v;
    for (const BoardSlot& s : board_slots()) v.push_back(s.info);
    return v;
  }();
  return all;
}

const DeviceInfo* find_board_device(const std::string& name) {
  for (const DeviceInfo* d : board_devices())
    if (name == d->name) return d;
  return nullptr;
}

std::vector<std::string> power_cut_devices() {
  std::vector<std::string> out;
  for (const DeviceInfo* d : board_devices())
    if (d->power_cuts) out.push_back(d->name);
  return out;
}

bool is_power_cut_device(const std::string& name) {
  const DeviceInfo* d = find_board_device(name);
  return d && d->power_cuts;
}

std::string power_cut_device_words() {
  std::vector<std::string> n = power_cut_devices();
  std::string out;
  for (size_t i = 0; i < n.size(); ++i) out += (i == 0 ? "" : i + 1 == n.size() ? " or " : ", ") + n[i];
  return out;
}

std::string device_table_markdown() {
  std::string t =
      "| device | board file | power cuts | scenario faults | model | specified in | part |\n"
      "|---|---|---|---|---|---|---|\n";
  for (const DeviceInfo* d : board_devices()) {
    t += std::string("| `") + d->name + "` | `devices." + d->board_key + "`" + (d->required ? "" : " (optional)") +
         " | " + (d->power_cuts ? "yes" : "no") + " | " + (*d->faults ? d->faults : "—") + " | `" + d->model + "` | [" +
         d->doc + "](" + std::string(d->doc).substr(5) + ") | " + d->part + " |\n";
  }
  return t;
}

namespace {

// A value in the largest unit that keeps it whole: 5000000000 ps -> "5 ms".
std::string with_unit(uint64_t v, std::initializer_list<std::pair<uint64_t, const char*>> units) {
  for (auto [scale, name] : units)
    if (v % scale == 0) return std::to_string(v / scale) + " " + name;
  return std::to_string(v);
}

}  // namespace

std::string figure_text(const TimingFigure& f) {
  switch (f.unit) {
    case FigureUnit::kDuration:
      return with_unit(
          f.value, {{1000000000000ull, "s"}, {1000000000ull, "ms"}, {1000000ull, "us"}, {1000ull, "ns"}, {1, "ps"}});
    case FigureUnit::kFrequency:
      return with_unit(f.value, {{1000000000ull, "GHz"}, {1000000ull, "MHz"}, {1000ull, "kHz"}, {1, "Hz"}});
    case FigureUnit::kRate:
      return with_unit(f.value, {{1000000000ull, "GB/s"}, {1000000ull, "MB/s"}, {1000ull, "kB/s"}, {1, "B/s"}});
    case FigureUnit::kBaud:
      break;
  }
  return std::to_string(f.value);
}

std::string board_device_table_markdown() {
  std::string t =
      "| section | device | req. | bus range | part |\n"
      "|---|---|---|---|---|\n";
  for (const DeviceInfo* d : board_devices())
    t += std::string("| `devices.") + d->board_key + "` | `" + d->name + "` | " + (d->required ? "yes" : "no") + " | " +
         d->window + " | " + d->part + " |\n";
  return t;
}

std::string timing_table_markdown() {
  std::string t =
      "| key | default | charged for | source of the default |\n"
      "|---|---|---|---|\n";
  for (const DeviceInfo* d : board_devices())
    for (size_t i = 0; i < d->timing_count; ++i) {
      const TimingFigure& f = d->timing[i];
      t += std::string("| `devices.") + d->board_key + "." + f.key + "` | " + figure_text(f) + " | " + f.meaning +
           " | " + f.source + " |\n";
    }
  return t;
}

}  // namespace trustsim
