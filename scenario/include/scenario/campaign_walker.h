// The campaign walker: how a sweep becomes runs (docs/campaigns.md). It
// finds the window's cut points with a dry run, selects this shard's items
// (point x mode), runs each -- forked from one walk through the window, or
// booted afresh in its own process -- adds the second cuts each run's
// recovery reveals, and collects one RunRecord per run. The command line
// only parses options and prints (tools/trustsim/campaign_cmd.cc).
#pragma once
#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hw-models/board.h"
#include "scenario/campaign.h"
#include "scenario/campaign_run.h"
#include "scenario/runner.h"
#include "scenario/scenario.h"

namespace trustsim {

// One simulation of a scenario in this process (SystemC allows one
// elaboration per process), on a board copied from `template_dir`.
struct SimOutcome {
  bool passed = false;
  std::string failure;
  std::string tail;  // the last console lines
  uint64_t vt_ns = 0;
  std::vector<CutPoint> points;
  RunRecord record;                // CampaignRole::kPoint
  std::vector<RunRecord> results;  // CampaignRole::kWalk
  // kWalk: QEMUs started for job slots, forked runs that recovered on one.
  uint64_t slot_qemu_starts = 0, slot_qemu_runs = 0;
};
SimOutcome simulate(const Scenario& sc, const BoardConfig& cfg, const std::string& template_dir, CampaignRole role,
                    bool echo, int wall_timeout_s, int spin_us);

// The dry run hands its cut points to the walker in a small text file.
void write_cut_points(const std::string& path, const std::vector<CutPoint>& points);
std::vector<CutPoint> read_cut_points(const std::string& path);

struct CampaignPlan {
  const Scenario* scenario = nullptr;
  BoardConfig cfg;
  std::string template_dir;  // a manufactured board every run starts from
  std::string work_dir;      // result and points files
  uint32_t shard_index = 0, shard_count = 1;
  int jobs = 1;
  bool fork = true;  // false: every run boots from power-on in its own process
  // Forked runs only: each distinct crash state's recovery runs once, the
  // other runs with that state reuse its verdict (docs/campaigns.md).
  bool dedup = true;
  int wall_timeout_s = 30;
  int spin_us = 0;
  // The command line of a fresh process that runs one item and writes its
  // record to `result_file` (write_run_records), or, for `item` null, the
  // dry run writing the cut points to `result_file` (write_cut_points).
  std::function<std::vector<std::string>(const RunRecord* item, const std::string& result_file)> command;
};

class CampaignWalker {
 public:
  explicit CampaignWalker(CampaignPlan plan) : plan_(std::move(plan)) {}

  // The dry run, in its own process: false if it failed.
  bool find_points();
  const std::vector<CutPoint>& points() const { return points_; }
  // Runs this shard will report: its items, and the second cuts found so far.
  uint64_t expected() const { return expected_; }
  // After a forked run(): QEMUs started for job slots, runs that recovered on one.
  uint64_t slot_qemu_starts() const { return slot_qemu_starts_; }
  uint64_t slot_qemu_runs() const { return slot_qemu_runs_; }
  // Keep mode (docs/cosim-protocol.md): forked runs redone in a fresh
  // process after a stale translation, and translation flushes the DMA
  // check asked for in forked runs.
  uint64_t redone() const { return redone_; }
  uint64_t dma_flushes() const { return dma_flushes_; }

  // Runs every selected item (and, with a second cut, every recovery point
  // x mode each one-cut run reports). `on_result` sees each run as it ends,
  // `on_more` each growth of expected(). False with `error` if the walk
  // through the window failed (fork mode).
  bool run(const std::function<void(const RunRecord&)>& on_result, const std::function<void(uint64_t)>& on_more,
           std::vector<RunRecord>* runs, std::string* error);

 private:
  void resolve_reuses(std::vector<RunRecord>* runs);
  void found_recovery_points(const RunRecord& r, const std::function<void(uint64_t)>& on_more);
  void run_fresh(const std::function<void(const RunRecord&)>& on_result, const std::function<void(uint64_t)>& on_more,
                 std::vector<RunRecord>* runs);
  void run_items(std::deque<RunRecord> queue, const std::function<void(const RunRecord&)>& on_result,
                 const std::function<void(uint64_t)>& on_more, std::vector<RunRecord>* runs);
  bool run_forked(const std::function<void(const RunRecord&)>& on_result, const std::function<void(uint64_t)>& on_more,
                  std::vector<RunRecord>* runs, std::string* error);

  CampaignPlan plan_;
  std::vector<CutPoint> points_;
  uint64_t expected_ = 0;
  uint64_t slot_qemu_starts_ = 0, slot_qemu_runs_ = 0;
  uint64_t redone_ = 0, dma_flushes_ = 0;
};

}  // namespace trustsim
