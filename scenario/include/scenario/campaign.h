// Campaign results: what one run of a sweep found, the reports a campaign
// writes (JSON, JUnit XML), merging shard reports, and the progress line.
// No SystemC here: tools and tests use it on reports alone.
// Formats: docs/campaigns.md.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "hw-models/power_cut.h"

namespace trustsim {

// One operation in the sweep window: a cut point.
struct CutPoint {
  uint64_t point = 0;      // 1-based, in window order
  std::string device;      // nvram, boot_flash, bootflash
  uint64_t device_op = 0;  // the device's own operation index
  uint64_t t_ns = 0;       // virtual time the operation started
};

// The outcome of one campaign run (one point x mode).
struct RunRecord {
  uint64_t point = 0;
  std::string device;
  uint64_t device_op = 0;
  PowerCut::Mode mode = PowerCut::Mode::kBefore;
  uint64_t seed = 0;
  bool passed = false;
  std::string failure;     // the step that failed and why (the invariant)
  uint64_t virtual_ns = 0;
  double wall_s = 0;
};

// Forked and spawned runs hand their record over in a small text file.
void write_run_record(const std::string& path, const RunRecord& r);
bool read_run_record(const std::string& path, RunRecord& r);

// Whether item (point, mode index) belongs to shard I of N: items are
// numbered point-major, and item k goes to shard k mod N.
inline bool shard_selects(uint64_t point, size_t mode_index, size_t modes, uint32_t index, uint32_t count) {
  return ((point - 1) * modes + mode_index) % count == index;
}
// "I/N" with 0 <= I < N; false if malformed.
bool parse_shard(const std::string& text, uint32_t* index, uint32_t* count);

struct CampaignReport {
  std::string name;
  std::string file;
  uint64_t seed = 0;
  std::vector<std::string> devices;
  std::vector<PowerCut::Mode> modes;
  uint64_t points = 0;  // cut points in the window (from the dry run)
  uint32_t shard_index = 0, shard_count = 1;
  std::vector<uint32_t> merged_shards;  // after `campaign merge`
  bool fork = true;
  int jobs = 1;
  double wall_s = 0;
  std::string reproduce;  // the command that replays a run, without --point/--mode
  std::vector<RunRecord> runs;

  size_t failures() const;
  std::string reproducer(const RunRecord& r) const;
};

std::string report_to_json(const CampaignReport& r);
// Throws InputError naming `path` and what is wrong.
CampaignReport report_from_json(const std::string& text, const std::string& path);
std::string report_to_junit(const CampaignReport& r);
// Joins shard reports of one campaign; checks they agree and that every
// item (point x mode) is there exactly once. Throws InputError.
CampaignReport merge_reports(const std::vector<CampaignReport>& shards, const std::vector<std::string>& paths);

// "[#####.....]  120/300 runs  0 failed  25.1 runs/s  ETA 7 s" on a
// terminal (redrawn), or a plain line every 10% otherwise.
class Progress {
 public:
  Progress(FILE* out, uint64_t total);
  void add(bool passed);
  void finish();
  uint64_t done() const { return done_; }

 private:
  void draw(bool final);
  FILE* out_;
  bool tty_;
  uint64_t total_, done_ = 0, failed_ = 0;
  double t0_;
  int last_decile_ = -1;
};

}  // namespace trustsim
