#include "campaign_cmd.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>

#include "devkit/input_error.h"
#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "host/manufacture.h"
#include "hw-models/board.h"
#include "hw-models/run_files.h"
#include "scenario/campaign.h"
#include "scenario/campaign_walker.h"
#include "scenario/runner.h"
#include "scenario/scenario.h"
#include "session.h"

namespace trustsim {
namespace {

constexpr int kExitPass = 0;
constexpr int kExitFail = 1;

struct CampaignOptions {
  std::string file;
  std::string board_file;
  std::string board_template;  // internal: a manufactured board to start from (copied)
  int jobs = 0;
  std::string shard = "0/1";
  ScenarioOptions scenario_opts;  // --seed, --var
  bool no_fork = false;
  bool no_dedup = false;
  bool dry_run = false;
  uint64_t point = 0;
  std::string mode;
  uint64_t point2 = 0;  // with --point: also cut at this operation of the recovery
  std::string mode2;
  std::string json, junit;
  std::string points_file;  // internal: the dry run's list of cut points
  std::string result_file;  // internal: a spawned point run's record
  bool quiet = false;
  bool no_progress = false;
  int wall_timeout_s = 30;
  int spin_us = 0;
};

double wall_now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot find the trustsim executable (/proc/self/exe)");
  buf[n] = 0;
  return buf;
}

// Arguments that make a spawned trustsim see the same campaign.
std::vector<std::string> common_args(const CampaignOptions& o, uint64_t seed) {
  std::vector<std::string> a = {o.file, "--seed", std::to_string(seed)};
  for (const std::string& v : o.scenario_opts.vars) a.insert(a.end(), {"--var", v});
  if (!o.board_file.empty()) a.insert(a.end(), {"--board-file", o.board_file});
  return a;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void write_text(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  std::ofstream o(path);
  o << text;
  if (!o) throw InputError(path + ": cannot write the report");
}

std::string modes_text(const std::vector<PowerLoss::Mode>& modes) {
  std::string s;
  for (PowerLoss::Mode m : modes) s += (s.empty() ? "" : ",") + std::string(power_loss_mode_name(m));
  return s;
}

// "65536 B     ": the drop-after column of a network-cut dry run.
std::string format_drop(uint64_t bytes) {
  char b[32];
  snprintf(b, sizeof b, "%-12s", (std::to_string(bytes) + " B").c_str());
  return b;
}

int cmd_campaign(const CampaignOptions& o) {
  double t0 = wall_now();
  sweep_stale_run_files();
  Scenario sc = load_scenario(o.file, o.scenario_opts.load_options());
  if (!sc.has_sweep)
    throw InputError(o.file +
                     ": no sweep step, so nothing to sweep: end the scenario with `- sweep: {devices: [...], "
                     "steps: [...], recovery: [...]}` (docs/campaigns.md)");
  std::string board_file = scenario_board_file(o.board_file, sc);
  BoardConfig cfg = load_board_config(board_file);
  uint32_t shard_index = 0, shard_count = 1;
  if (!parse_shard(o.shard, &shard_index, &shard_count))
    throw InputError("--shard " + o.shard + ": expected I/N with 0 <= I < N, e.g. 0/4");
  PowerLoss::Mode point_mode = PowerLoss::Mode::kBefore;
  if (o.point) {
    if (!parse_power_loss_mode(o.mode, &point_mode))
      throw InputError("--mode " + o.mode + ": expected before, after or torn");
    if (std::find(sc.sweep.modes.begin(), sc.sweep.modes.end(), point_mode) == sc.sweep.modes.end())
      throw InputError("--mode " + o.mode + ": the sweep's modes are " + modes_text(sc.sweep.modes));
  } else if (!o.mode.empty()) {
    throw InputError("--mode goes with --point");
  }
  PowerLoss::Mode point_mode2 = PowerLoss::Mode::kBefore;
  if (o.point2) {
    if (!o.point) throw InputError("--point2 goes with --point: the second cut is in the recovery after the first");
    if (!sc.sweep.second)
      throw InputError("--point2: the sweep has no second-cut (docs/campaigns.md, \"A second cut\")");
    if (!parse_power_loss_mode(o.mode2, &point_mode2))
      throw InputError("--mode2 " + o.mode2 + ": expected before, after or torn");
    if (std::find(sc.sweep.modes2.begin(), sc.sweep.modes2.end(), point_mode2) == sc.sweep.modes2.end())
      throw InputError("--mode2 " + o.mode2 + ": the second cut's modes are " + modes_text(sc.sweep.modes2));
  } else if (!o.mode2.empty()) {
    throw InputError("--mode2 goes with --point2");
  }

  // One manufactured board, copied by every run.
  TempDir work;
  std::string tmpl = o.board_template;
  if (tmpl.empty()) {
    tmpl = work.path + "/template";
    prepare_board(cfg, StatePaths{tmpl}, Artifacts::locate());
  }

  if (o.point) {
    CampaignRole role;
    role.kind = CampaignRole::Kind::kPoint;
    role.point = o.point;
    role.mode = point_mode;
    role.point2 = o.point2;
    role.mode2 = point_mode2;
    if (!o.quiet)
      printf("trustsim: campaign %s point %llu mode %s%s seed %llu\n", sc.name.c_str(), (unsigned long long)o.point,
             o.mode.c_str(),
             o.point2 ? (", recovery point " + std::to_string(o.point2) + " mode " + o.mode2).c_str() : "",
             (unsigned long long)sc.seed);
    fflush(stdout);
    SimOutcome r = simulate(sc, cfg, tmpl, role, !o.quiet, o.wall_timeout_s, o.spin_us);
    r.record.point = o.point;
    r.record.mode = point_mode;
    r.record.seed = derive_seed(sc.seed, o.point);
    r.record.point2 = o.point2;
    r.record.mode2 = point_mode2;
    r.record.wall_s = wall_now() - t0;
    if (!o.result_file.empty()) write_run_records(o.result_file, {r.record});
    if (!o.quiet || o.result_file.empty()) {
      if (r.passed)
        printf("PASS %s %s: the recovery passed, virtual time %llu ns\n", sc.name.c_str(), r.record.describe().c_str(),
               (unsigned long long)r.vt_ns);
      else
        printf("FAIL %s %s: %s\n  last console lines:\n%s", sc.name.c_str(), r.record.describe().c_str(),
               r.failure.c_str(), r.tail.c_str());
    }
    return r.passed ? kExitPass : kExitFail;
  }

  if (o.dry_run) {
    SimOutcome r = simulate(sc, cfg, tmpl, CampaignRole{}, !o.quiet, o.wall_timeout_s, o.spin_us);
    if (!o.points_file.empty()) write_cut_points(o.points_file, r.points);
    if (!r.passed) {
      printf("FAIL %s dry run: %s\n  last console lines:\n%s", sc.name.c_str(), r.failure.c_str(), r.tail.c_str());
      return kExitFail;
    }
    if (o.points_file.empty()) {
      bool net = sc.sweep.network_every != 0;
      printf("%-6s %-11s %-9s %s%s\n", "point", "device", "op", net ? "drop after  " : "", "virtual time");
      for (const CutPoint& p : r.points)
        printf("%-6llu %-11s %-9llu %s%.9f s\n", (unsigned long long)p.point, p.device.c_str(),
               (unsigned long long)p.device_op, net ? format_drop(p.drop_after).c_str() : "", double(p.t_ns) / 1e9);
    }
    printf("dry run: %zu cut points x %zu modes = %zu runs%s\n", r.points.size(), sc.sweep.modes.size(),
           r.points.size() * sc.sweep.modes.size(),
           sc.sweep.second ? (", each with a second cut at every recovery operation of " +
                              [&] {
                                std::string d;
                                for (const std::string& x : sc.sweep.devices2) d += (d.empty() ? "" : ", ") + x;
                                return d;
                              }() +
                              " (" + modes_text(sc.sweep.modes2) + ")")
                                 .c_str()
                           : "");
    return kExitPass;
  }

  // The campaign: the walker runs it; the fresh processes it starts are
  // this command again, with the internal options.
  std::string exe = self_exe();
  int jobs = o.jobs > 0 ? o.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  CampaignPlan plan;
  plan.scenario = &sc;
  plan.cfg = cfg;
  plan.template_dir = tmpl;
  plan.work_dir = work.path;
  plan.shard_index = shard_index;
  plan.shard_count = shard_count;
  plan.jobs = jobs;
  bool network = sc.sweep.network_every != 0;  // a network cut: always a fresh boot per run
  plan.fork = !o.no_fork && !network;
  plan.dedup = plan.fork && !o.no_dedup;
  plan.wall_timeout_s = o.wall_timeout_s;
  plan.spin_us = o.spin_us;
  plan.command = [&](const RunRecord* item, const std::string& out) {
    std::vector<std::string> argv = {exe, "campaign"};
    auto c = common_args(o, sc.seed);
    argv.insert(argv.end(), c.begin(), c.end());
    if (!item) {
      argv.insert(argv.end(), {"--dry-run", "--quiet", "--board-template", tmpl, "--points-file", out, "--wall-timeout",
                               std::to_string(o.wall_timeout_s)});
      return argv;
    }
    argv.insert(argv.end(), {"--point", std::to_string(item->point), "--mode", power_loss_mode_name(item->mode)});
    if (item->point2)
      argv.insert(argv.end(), {"--point2", std::to_string(item->point2), "--mode2", power_loss_mode_name(item->mode2)});
    argv.insert(argv.end(), {"--quiet", "--board-template", tmpl, "--result-file", out, "--wall-timeout",
                             std::to_string(o.wall_timeout_s), "--spin-us", std::to_string(o.spin_us)});
    return argv;
  };
  CampaignWalker walker(plan);
  if (!walker.find_points()) {
    fprintf(stderr,
            "trustsim: campaign %s: the dry run (no cut) failed, so the campaign has no baseline; run it "
            "alone with: trustsim campaign %s --dry-run\n",
            sc.name.c_str(), o.file.c_str());
    return kExitFail;
  }
  const std::vector<CutPoint>& points = walker.points();
  if (points.empty()) throw InputError(o.file + ": the sweep window saw no operation of " + sc.sweep.devices[0]);
  size_t nm = sc.sweep.modes.size();

  CampaignReport rep;
  rep.name = sc.name;
  rep.file = o.file;
  rep.seed = sc.seed;
  rep.devices = sc.sweep.devices;
  rep.modes = sc.sweep.modes;
  rep.second = sc.sweep.second;
  rep.devices2 = sc.sweep.devices2;
  rep.modes2 = sc.sweep.modes2;
  rep.points = points.size();
  rep.shard_index = shard_index;
  rep.shard_count = shard_count;
  rep.network_every = sc.sweep.network_every;
  rep.fork = plan.fork;
  rep.dedup = plan.dedup;
  rep.jobs = jobs;
  {
    std::string r = "trustsim campaign";
    for (const std::string& a : common_args(o, sc.seed)) r += " " + shell_quote(a);
    rep.reproduce = r;
  }
  printf(
      "trustsim: campaign %s: %zu cut points (%s) x %zu modes (%s) = %zu runs%s; shard %u/%u: %llu runs; seed %llu; "
      "%d jobs, %s\n",
      sc.name.c_str(), points.size(),
      [&] {
        std::map<std::string, int> n;
        for (const CutPoint& p : points) ++n[p.device];
        std::string s;
        for (const auto& kv : n) s += (s.empty() ? "" : ", ") + kv.first + " " + std::to_string(kv.second);
        if (network) s += ": a drop every " + std::to_string(sc.sweep.network_every) + " bytes of each transfer";
        return s;
      }()
          .c_str(),
      nm, modes_text(sc.sweep.modes).c_str(), points.size() * nm,
      sc.sweep.second ? (" (+ a second cut per recovery operation x " + std::to_string(sc.sweep.modes2.size()) +
                         " modes, counted as the runs find them)")
                            .c_str()
                      : "",
      shard_index, shard_count, (unsigned long long)walker.expected(), (unsigned long long)sc.seed, jobs,
      network      ? "a fresh boot per run (a network cut leaves the board running: no fork)"
      : o.no_fork  ? "a fresh boot per run"
      : plan.dedup ? "fork at each cut point, each crash state once"
                   : "fork at each cut point");
  fflush(stdout);

  Progress progress(o.no_progress ? nullptr : stderr, walker.expected());
  double tw = wall_now();
  std::string error;
  if (!walker.run([&](const RunRecord& r) { progress.add(r.passed || !r.reuses.empty(), r.reuses.empty()); },
                  [&](uint64_t more) { progress.grow(more); }, &rep.runs, &error)) {
    fprintf(stderr, "trustsim: campaign %s: the walk through the window failed: %s\n", sc.name.c_str(), error.c_str());
    return kExitFail;
  }
  progress.finish();
  rep.wall_s = wall_now() - tw;
  sort_runs(rep.runs, rep.modes, rep.modes2);
  rep.qemu = {walker.slot_qemu_starts(), walker.slot_qemu_runs(), walker.dma_flushes(), walker.redone()};
  write_text(o.json, report_to_json(rep));
  write_text(o.junit, report_to_junit(rep));
  size_t failed = rep.failures();
  printf("campaign %s: %zu runs, %zu passed, %zu failed in %.1f s (%.1f runs/s)\n", sc.name.c_str(), rep.runs.size(),
         rep.runs.size() - failed, failed, rep.wall_s, rep.wall_s > 0 ? double(rep.runs.size()) / rep.wall_s : 0.0);
  if (rep.dedup) {
    DedupCounts n = dedup_counts(rep.runs);
    printf("  %zu cut points, %zu distinct crash states, %zu runs executed, %zu reused a verdict\n", points.size(),
           n.states, n.executed, rep.runs.size() - n.executed);
  }
  if (plan.fork)
    printf("  %llu job-slot QEMU starts, %llu forked runs recovered on a job slot's QEMU\n",
           (unsigned long long)walker.slot_qemu_starts(), (unsigned long long)walker.slot_qemu_runs());
  if (plan.fork && (walker.dma_flushes() || walker.redone()))
    printf("  %llu translation flushes after a DMA write over kept code, %llu runs redone after a stale translation\n",
           (unsigned long long)walker.dma_flushes(), (unsigned long long)walker.redone());
  size_t shown = 0;
  for (const RunRecord& r : rep.runs) {
    if (r.passed) continue;
    if (++shown > 20) {
      printf("  ... %zu more failures (see the report)\n", failed - 20);
      break;
    }
    printf("  FAIL %s: %s\n    reproduce: %s\n", r.describe().c_str(), r.failure.c_str(), rep.reproducer(r).c_str());
    if (!r.reuses.empty()) printf("    the verdict of %s, which left the same crash state\n", r.reuses.c_str());
  }
  if (rep.runs.size() != walker.expected()) {
    printf("campaign %s: %zu runs expected, %zu reported\n", sc.name.c_str(), size_t(walker.expected()),
           rep.runs.size());
    return kExitFail;
  }
  (void)t0;
  return failed ? kExitFail : kExitPass;
}

int cmd_merge(const std::vector<std::string>& inputs, const std::string& json, const std::string& junit) {
  std::vector<CampaignReport> reps;
  for (const std::string& p : inputs) {
    std::vector<uint8_t> d = read_file(p);
    reps.push_back(report_from_json(std::string(d.begin(), d.end()), p));
  }
  CampaignReport m = merge_reports(reps, inputs);
  write_text(json, report_to_json(m));
  write_text(junit, report_to_junit(m));
  size_t failed = m.failures();
  printf("campaign %s: merged %zu shard reports: %zu runs, %zu passed, %zu failed\n", m.name.c_str(), inputs.size(),
         m.runs.size(), m.runs.size() - failed, failed);
  for (const RunRecord& r : m.runs)
    if (!r.passed)
      printf("  FAIL %s: %s\n    reproduce: %s\n", r.describe().c_str(), r.failure.c_str(), m.reproducer(r).c_str());
  return failed ? kExitFail : kExitPass;
}

}  // namespace

void add_campaign_commands(CLI::App& app, std::function<int()>& action) {
  static CampaignOptions o;
  static std::vector<std::string> merge_inputs;
  static std::string merge_json, merge_junit;
  CLI::App* c = app.add_subcommand("campaign", "sweep a power cut over every operation of a scenario's sweep window");
  c->add_option("file", o.file, "scenario file ending in a sweep step");
  c->add_option("--jobs,-j", o.jobs, "runs at once (default: the number of cores)")->check(CLI::Range(1, 256));
  c->add_option("--shard", o.shard,
                "run only shard I of N (I/N, 0-based): item k = (point-1)*modes+mode goes to k mod N");
  add_scenario_options(c, o.scenario_opts, "run seed (torn cuts, seeded faults); default: the scenario's");
  c->add_option("--board-file", o.board_file, "board description: a name in boards/ or a path");
  c->add_flag("--no-fork", o.no_fork, "boot every run from power-on instead of forking at the cut point");
  c->add_flag("--no-dedup", o.no_dedup,
              "run every recovery, even when an earlier run left the board in the same crash state");
  c->add_flag("--dry-run", o.dry_run, "run the window once without a cut and list its cut points");
  c->add_option("--point", o.point, "run one point only (with --mode): the reproducer")
      ->check(CLI::Range(1ull, 1ull << 40));
  c->add_option("--mode", o.mode, "before, after or torn (with --point)");
  c->add_option("--point2", o.point2,
                "with --point: also cut at this operation of the recovery (a sweep with second-cut)")
      ->check(CLI::Range(1ull, 1ull << 40));
  c->add_option("--mode2", o.mode2, "before, after or torn (with --point2)");
  c->add_option("--json", o.json, "write the JSON report here");
  c->add_option("--junit", o.junit, "write a JUnit XML report here");
  c->add_flag("--quiet", o.quiet, "do not echo the console (--point)");
  c->add_flag("--no-progress", o.no_progress, "no progress bar on stderr");
  c->add_option("--wall-timeout", o.wall_timeout_s, "seconds of wall time without guest progress before a run fails")
      ->check(CLI::Range(1, 3600));
  c->add_option("--spin-us", o.spin_us,
                "microseconds each side of the QEMU link spins before sleeping (default 0: parallel runs fill the "
                "cores, so spinning only takes time from the others)")
      ->check(CLI::Range(0, 100000));
  c->add_option("--board-template", o.board_template)->group("");  // internal
  c->add_option("--points-file", o.points_file)->group("");
  c->add_option("--result-file", o.result_file)->group("");
  CLI::App* m = c->add_subcommand("merge", "join shard reports into one (checks every run is there exactly once)");
  m->add_option("reports", merge_inputs, "JSON reports of the shards")->required();
  m->add_option("--json", merge_json, "write the merged JSON report here");
  m->add_option("--junit", merge_junit, "write the merged JUnit XML report here");
  c->callback([c, m, &action] {
    if (*m) {
      action = [] { return cmd_merge(merge_inputs, merge_json, merge_junit); };
      return;
    }
    if (o.file.empty()) throw CLI::RequiredError("file");
    action = [] { return cmd_campaign(o); };
  });
}

}  // namespace trustsim
