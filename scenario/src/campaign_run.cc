#include "scenario/campaign_run.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "flash-sim/boot_flash.h"
#include "scenario/crash_state.h"

namespace trustsim {

namespace {

double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

CampaignRun::CampaignRun(const Scenario& sc, Board& board, const ConsoleLog& log, CampaignRole role)
    : sc_(sc), board_(board), log_(log), role_(std::move(role)), cut_points_(sc_.sweep, log_), wall0_(wall_now()) {
  cut_points_.on_point = [this](Device& d, uint64_t i, const CutPoint& cp) { window_point(d, i, cp); };
  cut_points_.on_recovery_point = [this](Device& d, uint64_t i, const CutPoint& cp) { recovery_point(d, i, cp); };
  board_.set_operation_observer(&cut_points_);
  forks_.on_result = role_.on_result;
  forks_.release_on_claim = !role_.dedup_dir.empty();
  if (sc_.sweep.network_every) {
    board_.trace().add_sink(this);
    record_.network = true;
    record_.device = "netxfer";
  }
}

CampaignRun::~CampaignRun() {
  if (sc_.sweep.network_every) board_.trace().remove_sink(this);
}

void CampaignRun::window_point(Device& dev, uint64_t index, const CutPoint& cp) {
  const Sweep& w = sc_.sweep;
  if (role_.kind == CampaignRole::Kind::kPoint) {
    if (cp.point != role_.point) return;
    record_cut(record_, cp, role_.mode, false);
    arm_cut(dev, index, false);
  } else if (role_.kind == CampaignRole::Kind::kWalk) {
    for (size_t m = 0; m < w.modes.size() && depth_ == 0; ++m)
      if (shard_selects(cp.point, m, w.modes.size(), role_.shard_index, role_.shard_count))
        fork_run(dev, index, cp, w.modes[m]);
  }
}

// The second cut: an operation of the recovery that follows the first.
void CampaignRun::recovery_point(Device& dev, uint64_t index, const CutPoint& cp) {
  if (role_.kind == CampaignRole::Kind::kPoint) {
    if (cp.point != role_.point2) return;
    record_cut(record_, cp, role_.mode2, true);
    arm_cut(dev, index, true);
  } else if (role_.kind == CampaignRole::Kind::kWalk && depth_ == 1) {
    for (PowerLoss::Mode m : sc_.sweep.modes2)
      if (depth_ == 1) fork_run(dev, index, cp, m);
  }
}

void CampaignRun::record_cut(RunRecord& r, const CutPoint& cp, PowerLoss::Mode mode, bool second) const {
  if (!second) {
    r.point = cp.point;
    r.device = cp.device;
    r.device_op = cp.device_op;
    r.mode = mode;
    r.seed = derive_seed(sc_.seed, cp.point);
  } else {
    r.point2 = cp.point;
    r.device2 = cp.device;
    r.device_op2 = cp.device_op;
    r.mode2 = mode;
  }
}

void CampaignRun::arm_cut(Device& dev, uint64_t index, bool second) {
  if (!second) {
    dev.arm_power_cut(PowerLoss{record_.mode, record_.seed, index});
    cut_armed_ = true;
    cut_points_.first_cut_armed();
  } else {
    dev.arm_power_cut(PowerLoss{record_.mode2, derive_seed(record_.seed, record_.point2), index});
    cut2_armed_ = true;
    cut_points_.second_cut_armed();
  }
  board_.bridge().hold_guest_until_power_off();
  steps_->set_cut_live(true);
}

// Forks a run that cuts at this operation: from the window (depth 0, the
// walk) or from a one-cut run's recovery (depth 1, its second cuts).
void CampaignRun::fork_run(Device& dev, uint64_t index, const CutPoint& cp, PowerLoss::Mode mode) {
  // A one-cut run forks its second cuts one at a time: the campaign's jobs
  // are already busy with one-cut runs.
  size_t limit = depth_ == 0 ? size_t(std::max(1, role_.jobs)) : 1;
  std::string dir = depth_ == 0 ? role_.work_dir + "/run-" + std::to_string(cp.point) + "-" + power_loss_mode_name(mode)
                                : child_dir_ + "/second-" + std::to_string(cp.point) + "-" + power_loss_mode_name(mode);
  RunRecord rec = record_;
  record_cut(rec, cp, mode, depth_ > 0);
  // Bring the NOR's block digests up to date here, once, rather than in
  // every run after its cut (a 16 MiB array is ~12 ms of SHA-256, and the
  // walk waits for each run's claim).
  if (!role_.dedup_dir.empty()) nor_block_digests();
  std::string error;
  if (!forks_.fork(board_, dir, rec, limit, &error)) {
    if (!error.empty()) steps_->fail(error);
    return;
  }
  // The child: this run now cuts here.
  ++depth_;
  child_dir_ = dir;
  // Only a one-cut run recovers on a job slot's QEMU (keep mode).
  if (depth_ == 1) board_.bridge().on_stale = [this] { stale_translation(); };
  if (depth_ == 2) board_.bridge().on_stale = nullptr;
  wall0_ = wall_now();
  record_ = rec;
  arm_cut(dev, index, depth_ == 2);
}

void CampaignRun::finish_child() {
  record_.passed = steps_->failure().empty();
  record_.failure = steps_->failure();
  record_.virtual_ns = now_ns();
  record_.end_ps = sc_core::sc_time_stamp().value();
  record_.wall_s = wall_now() - wall0_;
  record_.dma_flushes = board_.bridge().adopted_dma_flushes();
  forks_.finish_child(board_, child_dir_, record_);
}

// Keep mode: the job slot's QEMU was about to run a stale translation
// (none of it ran). This run cannot go on; it ends now, marked to be redone
// in a fresh process by the walker (docs/campaigns.md).
void CampaignRun::stale_translation() {
  forks_.reap_all();
  record_.redo = true;
  record_.passed = false;
  record_.failure = "redo: a stale translation";
  record_.end_ps = sc_core::sc_time_stamp().value();
  forks_.finish_child(board_, child_dir_, record_);
}

// The sweep's steps, then (in a run that cuts) its recovery.
bool CampaignRun::run(ScenarioRunner& steps) {
  steps_ = &steps;
  if (sc_.sweep.network_every) return run_network();
  const Sweep& w = sc_.sweep;
  cut_points_.begin_window();
  bool ok = steps_->run_steps(w.steps, "sweep ");
  cut_points_.end_window();
  const std::vector<CutPoint>& points = cut_points_.points();
  if (depth_ > 0 || role_.kind == CampaignRole::Kind::kPoint) {
    if (ok && !steps_->interrupted()) {
      ok = false;
      steps_->fail(points.size() < role_.point
                       ? "cut point " + std::to_string(role_.point) + " was never reached: the window had " +
                             std::to_string(points.size()) + " operations of " + w.devices[0] +
                             (w.devices.size() > 1 ? " and the others" : "")
                       : "power was still on at the end of the sweep's steps: the cut at point " +
                             std::to_string(role_.point) + " did not fire");
    }
    if (ok) ok = run_recovery();
  } else if (ok && points.empty()) {
    ok = false;
    steps_->fail("the sweep window (" + w.where + ") saw no state-changing operation of the swept devices");
  }
  if (role_.kind == CampaignRole::Kind::kWalk && depth_ < 2) forks_.reap_all();
  if (depth_ > 0) finish_child();
  record_.end_ps = sc_core::sc_time_stamp().value();
  record_.passed = steps_->failure().empty();
  record_.failure = steps_->failure();
  record_.virtual_ns = now_ns();
  record_.wall_s = wall_now() - wall0_;
  return ok;
}

// Everything the recovery that follows a cut can observe of the board
// (docs/campaigns.md, "Each distinct crash state once"). Not in the key: the
// board's absolute time (see the docs for why and what that means).
std::string CampaignRun::crash_state_key(const char* phase) {
  const std::vector<Step>& recovery = std::string(phase) == "recovery" ? sc_.sweep.recovery : sc_.sweep.recovery2;
  auto any_of = [](const std::vector<Step>& steps, auto pred) { return std::any_of(steps.begin(), steps.end(), pred); };
  CrashStateHasher h;
  h.add("phase", phase, strlen(phase));
  h.add("run-seed", sc_.seed);
  h.add("boot-count", uint64_t(board_.power().boot_count()));
  h.add("nvram", board_.nvram().contents());
  // The NOR's array is in memory (a forked run writes its file only with
  // its first change): the SHA-256 of each 64 KiB block, most of them
  // taken by the walk before the fork.
  if (const std::vector<uint8_t>* nor = nor_block_digests()) h.add("rom_nor-blocks", *nor);
  if (NandFlash* nand = board_.nand()) {
    h.add_file_nonzero("bootflash_nand", nand->image().path(), nand->image().raw_page_bytes());
    std::string side = NandImage::meta_path(nand->image().path());
    h.add("bootflash_nand-side", read_file(side));
  }
  if (board_.tpm()) {
    std::string nv = board_.state().tpm_nv();
    h.add("tpm-nv", access(nv.c_str(), R_OK) == 0 ? read_file(nv) : std::vector<uint8_t>());
  }
  // Operation counters name later cut points and seed cuts nobody armed: a
  // recovery that may cut power itself sees them.
  auto cuts = [](const Step& s) { return s.as<PowerOffStep>() || s.as<PowerCycleStep>() || s.as<FaultStep>(); };
  if (any_of(recovery, cuts))
    for (const std::string& name : board_.cut_device_names())
      if (Device* d = board_.device_by_name(name)) h.add("operations:" + name, d->operation_count());
  // A recovery that does not start with a power-on can match console output
  // printed before the cut.
  if (recovery.empty() || !(recovery[0].as<PowerOnStep>() || recovery[0].as<PowerCycleStep>()))
    h.add("console", log_.unmatched().data(), log_.unmatched().size());
  // Faults armed before the cut (fault steps before or in the window) may
  // still be pending: every run is its own state then.
  auto fault = [](const Step& s) { return s.as<FaultStep>() != nullptr; };
  if (any_of(sc_.steps, fault) || any_of(sc_.sweep.steps, fault) ||
      (std::string(phase) != "recovery" && any_of(sc_.sweep.recovery, fault))) {
    std::string me = record_.describe();
    h.add("run", me.data(), me.size());
  }
  return h.key();
}

const std::vector<uint8_t>* CampaignRun::nor_block_digests() {
  auto* nor = dynamic_cast<BootFlash*>(board_.device_by_name("rom_nor"));
  if (!nor) return nullptr;
  size_t count = nor->block_count();
  return &nor_digests_.update(nor->contents().data(), nor->contents().size() / count, count,
                              [nor](size_t b) { return nor->block_version(b); });
}

// With dedup: claims this run's crash state in the cache, or names the run
// that claimed it first. True if this run must execute its recovery.
bool CampaignRun::claim_crash_state(const char* phase) {
  bool owner = true;
  record_.recovery_start_ps = sc_core::sc_time_stamp().value();
  try {
    std::string key = crash_state_key(phase);
    std::string mine = child_dir_ + "/claim", entry = role_.dedup_dir + "/" + key;
    std::string me = record_.describe();
    write_file_atomic(mine, reinterpret_cast<const uint8_t*>(me.data()), me.size());
    owner = link(mine.c_str(), entry.c_str()) == 0;
    if (!owner) {
      std::vector<uint8_t> who = read_file(entry);
      record_.reuses.assign(who.begin(), who.end());
    }
    record_.state = key.substr(0, 16);
  } catch (const std::exception& e) {
    // No key, no reuse: this run executes its recovery like any other.
    fprintf(stderr, "trustsim: warning: %s: no crash-state key (%s)\n", record_.describe().c_str(), e.what());
    owner = true;
  }
  forks_.release();
  return owner;
}

bool CampaignRun::run_recovery() {
  const Sweep& w = sc_.sweep;
  // (a claim below takes the same time; a fresh run records it here for a
  // walker that redoes a forked run with it)
  record_.recovery_start_ps = sc_core::sc_time_stamp().value();
  steps_->set_cut_live(false);  // a power loss in the recovery is the recovery's business now
  // A one-cut run of a sweep with second cuts always runs its recovery: its
  // operations are where the second cuts fork (they dedup on their own).
  if (!role_.dedup_dir.empty() && depth_ == 1 && !claim_crash_state("recovery")) {
    if (!w.second) return true;
    record_.reuses.clear();  // it runs anyway: its recovery's operations are where its second cuts fork
  }
  cut_points_.begin_recovery();
  bool ok = steps_->run_steps(w.recovery, "recovery ");
  cut_points_.end_recovery();
  record_.recovery_points = cut_points_.recovery_points().size();
  if (cut2_armed_) {
    if (ok && !steps_->interrupted()) {
      ok = false;
      steps_->fail("power was still on at the end of the recovery: the second cut at recovery point " +
                   std::to_string(record_.point2) + " did not fire");
    }
    if (ok) {
      steps_->set_cut_live(false);
      if (!role_.dedup_dir.empty() && depth_ == 2 && !claim_crash_state("second-recovery")) return true;
      ok = steps_->run_steps(w.recovery2, "second recovery ");
    }
  } else if (ok && role_.point2) {
    ok = false;
    steps_->fail("recovery cut point " + std::to_string(role_.point2) + " was never reached: the recovery had " +
                 std::to_string(cut_points_.recovery_points().size()) + " operations of " + w.devices2[0] +
                 (w.devices2.size() > 1 ? " and the others" : ""));
  }
  return ok;
}

// ---- network cuts

// Each transfer of the window adds its cut points: one per `every` bytes
// it carried (0, every, 2 x every, ... below its length). A run that cuts
// arms its drop on each next transfer until the transfer holding its point
// comes; that one ends dropped, which ends the window's steps.
void CampaignRun::on_event(const TraceEvent& e) {
  if (!net_window_ || net_fired_ || strcmp(e.dev, "netxfer") != 0) return;
  std::string op = e.op;
  if (op.size() < 3 || (op.compare(op.size() - 3, 3, "get") != 0 && op.compare(op.size() - 3, 3, "put") != 0))
    return;  // not a transfer (a ping, a mail)
  NetXfer* nx = board_.netxfer();
  uint64_t number = nx ? nx->transfers() : 0;
  if (role_.kind == CampaignRole::Kind::kPoint && e.detail.find("fault=drop-after@") != std::string::npos) {
    net_fired_ = true;
    record_.device_op = number;
    record_.drop_after = net_armed_;
    steps_->cut_happened();
    return;
  }
  for (uint64_t b = 0; b < e.len; b += sc_.sweep.network_every)
    net_points_.push_back(CutPoint{net_points_.size() + 1, "netxfer", number, e.t_ns, true, b});
  arm_network_cut();
}

void CampaignRun::arm_network_cut() {
  NetXfer* nx = board_.netxfer();
  if (role_.kind != CampaignRole::Kind::kPoint || !nx || role_.point <= net_points_.size()) return;
  net_armed_ = (role_.point - 1 - net_points_.size()) * sc_.sweep.network_every;
  nx->arm(net::DropAfter{net_armed_});
}

bool CampaignRun::run_network() {
  const Sweep& w = sc_.sweep;
  bool point = role_.kind == CampaignRole::Kind::kPoint;
  if (point && !board_.netxfer()) {
    steps_->fail("this board has no transfer engine (devices.netxfer in the board file) to cut");
    return false;
  }
  if (point) {
    record_.point = role_.point;
    record_.mode = PowerLoss::Mode::kAfter;
    record_.seed = derive_seed(sc_.seed, role_.point);
    arm_network_cut();
    steps_->set_cut_live(true);
  }
  net_window_ = true;
  bool ok = steps_->run_steps(w.steps, "sweep ");
  net_window_ = false;
  if (point) {
    if (ok && !net_fired_) {
      ok = false;
      steps_->fail("network cut point " + std::to_string(role_.point) +
                   " was never reached: the window's transfers had " + std::to_string(net_points_.size()) +
                   " cut points");
    }
    if (ok) {
      steps_->set_cut_live(false);
      record_.recovery_start_ps = sc_core::sc_time_stamp().value();
      ok = steps_->run_steps(w.recovery, "recovery ");
    }
  } else if (ok && net_points_.empty()) {
    ok = false;
    steps_->fail("the sweep window (" + w.where + ") saw no network transfer that carried data");
  }
  record_.passed = steps_->failure().empty();
  record_.failure = steps_->failure();
  record_.virtual_ns = now_ns();
  record_.wall_s = wall_now() - wall0_;
  return ok;
}

}  // namespace trustsim
