#include "scenario/campaign_walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <stdexcept>

#include "devkit/input_error.h"
#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "hw-models/run_files.h"
#include "scenario/session.h"

namespace trustsim {
namespace {

pid_t spawn(const std::vector<std::string>& argv, bool quiet) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    if (quiet) {
      int dn = open("/dev/null", O_WRONLY);
      dup2(dn, 1);
    }
    std::vector<char*> args;
    for (const std::string& s : argv) args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

SimOutcome simulate(const Scenario& sc, const BoardConfig& cfg, const std::string& template_dir, CampaignRole role,
                    bool echo, int wall_timeout_s, int spin_us) {
  Artifacts fw = Artifacts::locate();
  TempDir run_dir;
  StatePaths state{run_dir.path + "/board"};
  mkdir(state.dir.c_str(), 0755);
  // Every file of the template (NVRAM, flash images, TPM state, exports).
  if (DIR* d = opendir(template_dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string f = template_dir + "/" + e->d_name;
      struct stat st;
      if (stat(f.c_str(), &st) == 0 && S_ISREG(st.st_mode)) copy_file_sparse(f, state.dir + "/" + e->d_name);
    }
    closedir(d);
  }
  prepare_state_dir(cfg, state,
                    [&](const StatePaths&) { throw InputError("the campaign's board template is incomplete"); });
  if (role.kind == CampaignRole::Kind::kWalk) {
    role.work_dir = run_dir.path + "/runs";
    mkdir(role.work_dir.c_str(), 0755);
  }
  RunSession session(cfg.name, "", "", nullptr);  // no trace, transcript or observers
  ConsoleLog& console = session.console();
  if (echo) console.set_echo(stdout);
  Board& board = session.start(cfg, state, make_bridge_options(fw, run_dir.path, wall_timeout_s, spin_us));
  CampaignRun campaign(sc, board, console, role);
  ScenarioRunner runner("scenario", sc, board, console, HostContext{dev_keys_dir(), fw, state}, &campaign);
  sc_core::sc_start();
  session.finish();
  SimOutcome out;
  out.vt_ns = now_ns();
  out.points = campaign.cut_points();
  out.record = campaign.point_record();
  out.results = campaign.results();
  out.slot_qemu_starts = board.bridge().slot_qemu_starts();
  out.slot_qemu_runs = board.bridge().slot_qemu_runs();
  out.tail = console.tail(10);
  if (!board.bridge().error().empty()) {
    out.failure = "board error at virtual time " + std::to_string(out.vt_ns) + " ns: " + board.bridge().error();
  } else if (!runner.passed()) {
    out.failure = runner.finished() ? runner.failure() : "the simulation stopped before the scenario finished";
  } else {
    out.passed = true;
  }
  if (role.kind == CampaignRole::Kind::kPoint) {
    out.record.passed = out.passed;
    out.record.failure = out.failure;
    out.record.virtual_ns = out.vt_ns;
  }
  return out;
}

void write_cut_points(const std::string& path, const std::vector<CutPoint>& points) {
  std::ofstream pf(path);
  for (const CutPoint& p : points)
    pf << p.point << "\t" << p.device << "\t" << p.device_op << "\t" << p.t_ns << "\t" << p.network << "\t"
       << p.drop_after << "\n";
}

std::vector<CutPoint> read_cut_points(const std::string& path) {
  std::vector<CutPoint> points;
  std::ifstream in(path);
  CutPoint p;
  while (in >> p.point >> p.device >> p.device_op >> p.t_ns >> p.network >> p.drop_after) points.push_back(p);
  return points;
}

// ---- the campaign

bool CampaignWalker::find_points() {
  std::string points_path = plan_.work_dir + "/points.tsv";
  pid_t pid = spawn(plan_.command(nullptr, points_path), false);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return false;
  points_ = read_cut_points(points_path);
  const Sweep& w = plan_.scenario->sweep;
  size_t nm = w.modes.size();
  expected_ = 0;
  for (const CutPoint& p : points_)
    for (size_t m = 0; m < nm; ++m) expected_ += shard_selects(p.point, m, nm, plan_.shard_index, plan_.shard_count);
  return true;
}

// With a second cut, each one-cut run reports how many operations its
// recovery had; the runs that cut again at each of them join the total.
void CampaignWalker::found_recovery_points(const RunRecord& r, const std::function<void(uint64_t)>& on_more) {
  const Sweep& w = plan_.scenario->sweep;
  if (!w.second || r.point2) return;
  uint64_t more = r.recovery_points * w.modes2.size();
  expected_ += more;
  if (on_more) on_more(more);
}

bool CampaignWalker::run(const std::function<void(const RunRecord&)>& on_result,
                         const std::function<void(uint64_t)>& on_more, std::vector<RunRecord>* runs,
                         std::string* error) {
  // A network cut leaves the board running, so its runs cannot fork from
  // one walk (a forked run must lose its parent's QEMU at its cut).
  if (!plan_.fork || plan_.scenario->sweep.network_every) {
    run_fresh(on_result, on_more, runs);
    return true;
  }
  return run_forked(on_result, on_more, runs, error);
}

// A run that found its crash state claimed by another carries that run's
// name; once every run has ended, it takes that run's verdict. Its virtual
// end time is its own recovery start plus the recovery time of the run it
// reuses (a recovery does not see the board's absolute time: docs).
void CampaignWalker::resolve_reuses(std::vector<RunRecord>* runs) {
  std::map<std::string, const RunRecord*> executed;
  for (const RunRecord& r : *runs)
    if (r.reuses.empty()) executed[r.describe()] = &r;
  for (RunRecord& r : *runs) {
    if (r.reuses.empty()) continue;
    auto it = executed.find(r.reuses);
    if (it == executed.end()) {
      r.passed = false;
      r.failure = "the run whose crash state this one shares (" + r.reuses + ") left no verdict";
      continue;
    }
    const RunRecord& o = *it->second;
    r.passed = o.passed;
    r.failure = o.failure;
    r.virtual_ns = (r.recovery_start_ps + (o.end_ps - o.recovery_start_ps)) / 1000;
  }
}

// Every run from power-on, in its own process.
void CampaignWalker::run_fresh(const std::function<void(const RunRecord&)>& on_result,
                               const std::function<void(uint64_t)>& on_more, std::vector<RunRecord>* runs) {
  const Scenario& sc = *plan_.scenario;
  const Sweep& w = sc.sweep;
  size_t nm = w.modes.size();
  std::deque<RunRecord> queue;
  for (const CutPoint& p : points_)
    for (size_t m = 0; m < nm; ++m) {
      if (!shard_selects(p.point, m, nm, plan_.shard_index, plan_.shard_count)) continue;
      RunRecord r;
      r.point = p.point;
      r.device = p.device;
      r.device_op = p.device_op;
      r.mode = w.modes[m];
      r.seed = derive_seed(sc.seed, p.point);
      r.network = p.network;
      r.drop_after = p.drop_after;
      queue.push_back(r);
    }
  run_items(std::move(queue), on_result, on_more, runs);
}

// Runs `queue`'s items, each from power-on in its own process (and the
// second cuts their recoveries reveal).
void CampaignWalker::run_items(std::deque<RunRecord> queue, const std::function<void(const RunRecord&)>& on_result,
                               const std::function<void(uint64_t)>& on_more, std::vector<RunRecord>* runs) {
  const Sweep& w = plan_.scenario->sweep;
  struct Job {
    RunRecord rec;
    std::string result;
  };
  std::map<pid_t, Job> running;
  auto ended = [&](pid_t, int, Job& job) {
    std::vector<RunRecord> recs;
    RunRecord rec = job.rec;
    if (read_run_records(job.result, recs) && recs.size() == 1) {
      rec = recs[0];
    } else {
      rec.passed = false;
      rec.failure = "the run ended without a verdict";
    }
    unlink(job.result.c_str());
    runs->push_back(rec);
    found_recovery_points(rec, on_more);
    if (on_result) on_result(rec);
    // The second cuts of this item: one run per recovery operation x mode.
    if (w.second && !rec.point2)
      for (uint64_t q = 1; q <= rec.recovery_points; ++q)
        for (PowerLoss::Mode m2 : w.modes2) {
          RunRecord r2 = job.rec;
          r2.point2 = q;
          r2.mode2 = m2;
          queue.push_back(r2);
        }
  };
  while (!queue.empty() || !running.empty()) {
    if (queue.empty() || running.size() >= size_t(plan_.jobs)) {
      reap_ended(running, true, ended);
      continue;
    }
    Job j;
    j.rec = queue.front();
    queue.pop_front();
    j.result = plan_.work_dir + "/result-" + std::to_string(j.rec.point) + "-" + power_loss_mode_name(j.rec.mode) +
               (j.rec.point2 ? "-" + std::to_string(j.rec.point2) + "-" + power_loss_mode_name(j.rec.mode2) : "");
    running[spawn(plan_.command(&j.rec, j.result), true)] = j;
  }
}

// One walk through the window, forking a run at every cut point.
bool CampaignWalker::run_forked(const std::function<void(const RunRecord&)>& on_result,
                                const std::function<void(uint64_t)>& on_more, std::vector<RunRecord>* runs,
                                std::string* error) {
  CampaignRole role;
  role.kind = CampaignRole::Kind::kWalk;
  role.jobs = plan_.jobs;
  role.shard_index = plan_.shard_index;
  role.shard_count = plan_.shard_count;
  if (plan_.dedup) {
    role.dedup_dir = plan_.work_dir + "/states";
    mkdir(role.dedup_dir.c_str(), 0755);
  }
  role.on_result = [&](const RunRecord& r) {
    found_recovery_points(r, on_more);
    if (on_result) on_result(r);
  };
  SimOutcome w =
      simulate(*plan_.scenario, plan_.cfg, plan_.template_dir, role, false, plan_.wall_timeout_s, plan_.spin_us);
  if (!w.passed) {
    *error = w.failure;
    return false;
  }
  slot_qemu_starts_ = w.slot_qemu_starts;
  slot_qemu_runs_ = w.slot_qemu_runs;
  // Keep mode: a run that stopped before a stale translation could run is
  // redone from power-on in its own process (a new QEMU), which gives
  // exactly the result the forked run would have had (docs/campaigns.md).
  std::deque<RunRecord> redo;
  std::map<std::string, RunRecord> claims;
  for (const RunRecord& r : w.results) {
    dma_flushes_ += r.dma_flushes;
    if (!r.redo) {
      runs->push_back(r);
      continue;
    }
    RunRecord item = r;
    item.passed = false;
    item.failure.clear();
    item.recovery_points = 0;
    item.state.clear();
    item.reuses.clear();
    item.redo = false;
    item.dma_flushes = 0;
    redo.push_back(item);
    claims[r.describe()] = r;
  }
  redone_ = redo.size();
  if (!redo.empty()) {
    std::vector<RunRecord> again;
    run_items(std::move(redo), on_result, on_more, &again);
    for (RunRecord& r : again) {
      // The crash state the forked run claimed: other runs may reuse it.
      auto it = claims.find(r.describe());
      if (it != claims.end()) r.state = it->second.state;
      runs->push_back(r);
    }
  }
  if (plan_.dedup) resolve_reuses(runs);
  if (w.points.size() != points_.size())
    fprintf(stderr,
            "trustsim: warning: the walk saw %zu cut points, the dry run %zu: the window is not deterministic\n",
            w.points.size(), points_.size());
  return true;
}

}  // namespace trustsim
