// Campaign results: what one run of a sweep found, the reports a campaign
// writes (JSON, JUnit XML), merging shard reports, and the progress line.
// No SystemC here: tools and tests use it on reports alone.
// Formats: docs/campaigns.md.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "devkit/power_loss.h"

namespace trustsim {

// One operation in the sweep window: a cut point.
struct CutPoint {
  uint64_t point = 0;      // 1-based, in window order
  std::string device;      // nvram, boot_flash, bootflash
  uint64_t device_op = 0;  // the device's own operation index
  uint64_t t_ns = 0;       // virtual time the operation started
  // A network cut (docs/campaigns.md, "Network cuts"): device_op is the
  // transfer engine's transfer number, and the connection dies after
  // drop_after bytes of it.
  bool network = false;
  uint64_t drop_after = 0;
};

// The outcome of one campaign run (one point x mode, and with a second cut
// also one recovery point x mode).
struct RunRecord {
  uint64_t point = 0;
  std::string device;
  uint64_t device_op = 0;
  PowerLoss::Mode mode = PowerLoss::Mode::kBefore;
  uint64_t seed = 0;
  bool network = false;     // a network cut: transfer device_op drops after drop_after bytes
  uint64_t drop_after = 0;  // (mode is then always after)
  // The second cut, during the recovery (point2 0: none).
  uint64_t point2 = 0;
  std::string device2;
  uint64_t device_op2 = 0;
  PowerLoss::Mode mode2 = PowerLoss::Mode::kBefore;
  uint64_t recovery_points = 0;  // one-cut runs of a two-cut sweep: cut points in the recovery
  bool passed = false;
  std::string failure;  // the step that failed and why (the invariant)
  uint64_t virtual_ns = 0;
  double wall_s = 0;
  // With dedup (docs/campaigns.md): the crash-state key (its first 16 hex
  // digits), the run whose verdict this one reuses (its describe(); empty if
  // this run executed its recovery), and the board times (ps) its recovery
  // began and the run ended (for the virtual end time of a reusing run).
  std::string state;
  std::string reuses;
  uint64_t recovery_start_ps = 0, end_ps = 0;
  // Keep mode (docs/cosim-protocol.md, "Keeping translations"): the forked
  // run stopped before a stale translation could run and must be redone
  // in a fresh process; translation flushes the DMA check asked for in it.
  bool redo = false;
  uint64_t dma_flushes = 0;

  // "point 3 (nvram#4) torn[, recovery point 2 (nvram#7) before]";
  // a network cut: "point 3 (netxfer#2) drop after 65536 bytes".
  std::string describe() const;
};

// Forked and spawned runs hand their records over in a small text file
// (a run with a second cut also passes on the runs it forked).
void write_run_records(const std::string& path, const std::vector<RunRecord>& r);
bool read_run_records(const std::string& path, std::vector<RunRecord>& r);

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
  std::vector<PowerLoss::Mode> modes;
  bool second = false;  // a second cut at every recovery operation of devices2, in modes2
  std::vector<std::string> devices2;
  std::vector<PowerLoss::Mode> modes2;
  uint64_t network_every = 0;  // a network-cut campaign: bytes between two cuts of a transfer
  uint64_t points = 0;         // cut points in the window (from the dry run)
  uint32_t shard_index = 0, shard_count = 1;
  std::vector<uint32_t> merged_shards;  // after `campaign merge`
  bool fork = true;
  bool dedup = false;  // each distinct crash state's recovery ran once
  int jobs = 1;
  double wall_s = 0;
  // A forked campaign's QEMU figures (docs/campaigns.md): the walker's job
  // slots, and keep mode's flushes and redone runs; summed by merge_reports.
  struct QemuCounts {
    uint64_t slot_starts = 0, slot_runs = 0, dma_flushes = 0, redone = 0;
  } qemu;
  std::string reproduce;  // the command that replays a run, without --point/--mode
  std::vector<RunRecord> runs;

  size_t failures() const;
  std::string reproducer(const RunRecord& r) const;
};

// With dedup: how many distinct crash states the runs left, and how many
// runs executed their recovery (the others reused a verdict).
struct DedupCounts {
  size_t states = 0, executed = 0;
};
DedupCounts dedup_counts(const std::vector<RunRecord>& runs);

std::string report_to_json(const CampaignReport& r);
// Throws InputError naming `path` and what is wrong.
CampaignReport report_from_json(const std::string& text, const std::string& path);
std::string report_to_junit(const CampaignReport& r);
// Joins shard reports of one campaign; checks they agree and that every
// item (point x mode, and each second cut its one-cut run counted) is there
// exactly once. Throws InputError.
CampaignReport merge_reports(const std::vector<CampaignReport>& shards, const std::vector<std::string>& paths);
// Report order: by point, mode (in the sweep's order), then second point and mode.
void sort_runs(std::vector<RunRecord>& runs, const std::vector<PowerLoss::Mode>& modes,
               const std::vector<PowerLoss::Mode>& modes2);

// "[#####.....]  120/300 runs  0 failed  25.1 runs/s  ETA 7 s" on a
// terminal (redrawn), or a plain line every 10% otherwise.
class Progress {
 public:
  Progress(FILE* out, uint64_t total);
  void add(bool passed, bool executed = true);
  void grow(uint64_t more) { total_ += more; }  // runs found on the way (second cuts)
  void finish();
  uint64_t done() const { return done_; }

 private:
  void draw(bool final);
  FILE* out_;
  bool tty_;
  uint64_t total_, done_ = 0, failed_ = 0, reused_ = 0;
  double t0_;
  int last_decile_ = -1;
};

}  // namespace trustsim
