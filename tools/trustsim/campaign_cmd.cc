#include "campaign_cmd.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "hw-models/board.h"
#include "devkit/input_error.h"
#include "hw-models/run_files.h"
#include "devkit/sim_time.h"
#include "devkit/state_file.h"
#include "host/manufacture.h"
#include "scenario/campaign.h"
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

double wall_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

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

// One simulation in this process (one SystemC elaboration per process).
struct SimOutcome {
  bool passed = false;
  std::string failure;
  std::string tail;
  uint64_t vt_ns = 0;
  std::vector<CutPoint> points;
  RunRecord record;
  std::vector<RunRecord> results;
};

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
  prepare_state_dir(cfg, state, [&](const StatePaths&) { throw InputError("the campaign's board template is incomplete"); });
  if (role.kind == CampaignRole::Kind::kWalk) {
    role.work_dir = run_dir.path + "/runs";
    mkdir(role.work_dir.c_str(), 0755);
  }
  RunSession session(cfg.name, "", "", nullptr);  // no trace, transcript or observers
  ConsoleLog& console = session.console();
  if (echo) console.set_echo(stdout);
  Board& board = session.start(cfg, state, make_bridge_options(fw, run_dir.path, wall_timeout_s, spin_us));
  ScenarioRunner runner("scenario", sc, board, console, HostContext{dev_keys_dir(), fw, state}, role);
  sc_core::sc_start();
  session.finish();
  SimOutcome out;
  out.vt_ns = now_ns();
  out.points = runner.cut_points();
  out.record = runner.point_record();
  out.results = runner.results();
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

int cmd_campaign(const CampaignOptions& o) {
  double t0 = wall_now();
  sweep_stale_run_files();
  Scenario sc = load_scenario(o.file, o.scenario_opts.load_options());
  if (!sc.has_sweep)
    throw InputError(o.file + ": no sweep step, so nothing to sweep: end the scenario with `- sweep: {devices: [...], "
                              "steps: [...], recovery: [...]}` (docs/campaigns.md)");
  std::string board_file = scenario_board_file(o.board_file, sc);
  BoardConfig cfg = load_board_config(board_file);
  uint32_t shard_index = 0, shard_count = 1;
  if (!parse_shard(o.shard, &shard_index, &shard_count))
    throw InputError("--shard " + o.shard + ": expected I/N with 0 <= I < N, e.g. 0/4");
  PowerLoss::Mode point_mode = PowerLoss::Mode::kBefore;
  if (o.point) {
    if (!parse_power_loss_mode(o.mode, &point_mode)) throw InputError("--mode " + o.mode + ": expected before, after or torn");
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
    if (!parse_power_loss_mode(o.mode2, &point_mode2)) throw InputError("--mode2 " + o.mode2 + ": expected before, after or torn");
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
             o.mode.c_str(), o.point2 ? (", recovery point " + std::to_string(o.point2) + " mode " + o.mode2).c_str() : "",
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
    if (!o.points_file.empty()) {
      std::ofstream pf(o.points_file);
      for (const CutPoint& p : r.points) pf << p.point << "\t" << p.device << "\t" << p.device_op << "\t" << p.t_ns << "\n";
    }
    if (!r.passed) {
      printf("FAIL %s dry run: %s\n  last console lines:\n%s", sc.name.c_str(), r.failure.c_str(), r.tail.c_str());
      return kExitFail;
    }
    if (o.points_file.empty()) {
      printf("%-6s %-11s %-9s %s\n", "point", "device", "op", "virtual time");
      for (const CutPoint& p : r.points)
        printf("%-6llu %-11s %-9llu %.9f s\n", (unsigned long long)p.point, p.device.c_str(),
               (unsigned long long)p.device_op, double(p.t_ns) / 1e9);
    }
    printf("dry run: %zu cut points x %zu modes = %zu runs%s\n", r.points.size(), sc.sweep.modes.size(),
           r.points.size() * sc.sweep.modes.size(),
           sc.sweep.second ? (", each with a second cut at every recovery operation of " + [&] {
             std::string d;
             for (const std::string& x : sc.sweep.devices2) d += (d.empty() ? "" : ", ") + x;
             return d;
           }() + " (" + modes_text(sc.sweep.modes2) + ")").c_str() : "");
    return kExitPass;
  }

  // 1. The dry run, in its own process: how many points are there?
  std::string exe = self_exe();
  std::string points_path = work.path + "/points.tsv";
  {
    std::vector<std::string> argv = {exe, "campaign"};
    auto c = common_args(o, sc.seed);
    argv.insert(argv.end(), c.begin(), c.end());
    argv.insert(argv.end(), {"--dry-run", "--quiet", "--board-template", tmpl, "--points-file", points_path,
                             "--wall-timeout", std::to_string(o.wall_timeout_s)});
    pid_t pid = spawn(argv, false);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "trustsim: campaign %s: the dry run (no cut) failed, so the campaign has no baseline; run it "
                      "alone with: trustsim campaign %s --dry-run\n", sc.name.c_str(), o.file.c_str());
      return kExitFail;
    }
  }
  std::vector<CutPoint> points;
  {
    std::ifstream in(points_path);
    CutPoint p;
    while (in >> p.point >> p.device >> p.device_op >> p.t_ns) points.push_back(p);
  }
  if (points.empty()) throw InputError(o.file + ": the sweep window saw no operation of " + sc.sweep.devices[0]);
  size_t nm = sc.sweep.modes.size();
  uint64_t selected = 0;
  for (const CutPoint& p : points)
    for (size_t m = 0; m < nm; ++m) selected += shard_selects(p.point, m, nm, shard_index, shard_count);
  int jobs = o.jobs > 0 ? o.jobs : int(std::max(1u, std::thread::hardware_concurrency()));

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
  rep.fork = !o.no_fork;
  rep.jobs = jobs;
  {
    std::string r = "trustsim campaign";
    for (const std::string& a : common_args(o, sc.seed)) r += " " + shell_quote(a);
    rep.reproduce = r;
  }
  printf("trustsim: campaign %s: %zu cut points (%s) x %zu modes (%s) = %zu runs%s; shard %u/%u: %llu runs; seed %llu; "
         "%d jobs, %s\n",
         sc.name.c_str(), points.size(), [&] {
           std::map<std::string, int> n;
           for (const CutPoint& p : points) ++n[p.device];
           std::string s;
           for (const auto& kv : n) s += (s.empty() ? "" : ", ") + kv.first + " " + std::to_string(kv.second);
           return s;
         }().c_str(), nm, modes_text(sc.sweep.modes).c_str(), points.size() * nm,
         sc.sweep.second ? (" (+ a second cut per recovery operation x " + std::to_string(sc.sweep.modes2.size()) +
                            " modes, counted as the runs find them)").c_str() : "",
         shard_index, shard_count,
         (unsigned long long)selected, (unsigned long long)sc.seed, jobs,
         o.no_fork ? "a fresh boot per run" : "fork at each cut point");
  fflush(stdout);

  Progress progress(o.no_progress ? nullptr : stderr, selected);
  double tw = wall_now();
  // With a second cut, each one-cut run reports how many operations its
  // recovery had; the runs that cut again at each of them join the total.
  size_t nm2 = sc.sweep.modes2.size();
  auto grow = [&](const RunRecord& r) {
    if (sc.sweep.second && !r.point2) {
      progress.grow(r.recovery_points * nm2);
      selected += r.recovery_points * nm2;
    }
  };
  if (o.no_fork) {
    // 2a. Every run from power-on, in its own process.
    std::deque<RunRecord> queue;
    for (const CutPoint& p : points)
      for (size_t m = 0; m < nm; ++m) {
        if (!shard_selects(p.point, m, nm, shard_index, shard_count)) continue;
        RunRecord r;
        r.point = p.point;
        r.device = p.device;
        r.device_op = p.device_op;
        r.mode = sc.sweep.modes[m];
        r.seed = derive_seed(sc.seed, p.point);
        queue.push_back(r);
      }
    struct Job {
      RunRecord rec;
      std::string result;
    };
    std::map<pid_t, Job> running;
    auto reap = [&](bool block) {
      for (;;) {
        for (auto it = running.begin(); it != running.end();) {
          int st;
          if (waitpid(it->first, &st, WNOHANG) != it->first) {
            ++it;
            continue;
          }
          std::vector<RunRecord> recs;
          RunRecord rec = it->second.rec;
          if (read_run_records(it->second.result, recs) && recs.size() == 1) {
            rec = recs[0];
          } else {
            rec.passed = false;
            rec.failure = "the run ended without a verdict";
          }
          unlink(it->second.result.c_str());
          rep.runs.push_back(rec);
          grow(rec);
          progress.add(rec.passed);
          // The second cuts of this item: one run per recovery operation x mode.
          if (sc.sweep.second && !rec.point2)
            for (uint64_t q = 1; q <= rec.recovery_points; ++q)
              for (PowerLoss::Mode m2 : sc.sweep.modes2) {
                RunRecord r2 = it->second.rec;
                r2.point2 = q;
                r2.mode2 = m2;
                queue.push_back(r2);
              }
          it = running.erase(it);
          block = false;
        }
        if (!block || running.empty()) return;
        usleep(2000);
      }
    };
    while (!queue.empty() || !running.empty()) {
      if (queue.empty() || running.size() >= size_t(jobs)) {
        reap(true);
        continue;
      }
      Job j;
      j.rec = queue.front();
      queue.pop_front();
      j.result = work.path + "/result-" + std::to_string(j.rec.point) + "-" + power_loss_mode_name(j.rec.mode) +
                 (j.rec.point2 ? "-" + std::to_string(j.rec.point2) + "-" + power_loss_mode_name(j.rec.mode2) : "");
      std::vector<std::string> argv = {exe, "campaign"};
      auto c = common_args(o, sc.seed);
      argv.insert(argv.end(), c.begin(), c.end());
      argv.insert(argv.end(), {"--point", std::to_string(j.rec.point), "--mode", power_loss_mode_name(j.rec.mode)});
      if (j.rec.point2)
        argv.insert(argv.end(), {"--point2", std::to_string(j.rec.point2), "--mode2", power_loss_mode_name(j.rec.mode2)});
      argv.insert(argv.end(), {"--quiet", "--board-template", tmpl, "--result-file", j.result, "--wall-timeout",
                               std::to_string(o.wall_timeout_s), "--spin-us", std::to_string(o.spin_us)});
      running[spawn(argv, true)] = j;
    }
  } else {
    // 2b. One walk through the window, forking a run at every cut point.
    CampaignRole role;
    role.kind = CampaignRole::Kind::kWalk;
    role.jobs = jobs;
    role.shard_index = shard_index;
    role.shard_count = shard_count;
    role.on_result = [&](const RunRecord& r) {
      grow(r);
      progress.add(r.passed);
    };
    SimOutcome w = simulate(sc, cfg, tmpl, role, false, o.wall_timeout_s, o.spin_us);
    if (!w.passed) {
      fprintf(stderr, "trustsim: campaign %s: the walk through the window failed: %s\n", sc.name.c_str(),
              w.failure.c_str());
      return kExitFail;
    }
    rep.runs = w.results;
    if (w.points.size() != points.size())
      fprintf(stderr, "trustsim: warning: the walk saw %zu cut points, the dry run %zu: the window is not deterministic\n",
              w.points.size(), points.size());
  }
  progress.finish();
  rep.wall_s = wall_now() - tw;
  sort_runs(rep.runs, rep.modes, rep.modes2);
  write_text(o.json, report_to_json(rep));
  write_text(o.junit, report_to_junit(rep));
  size_t failed = rep.failures();
  printf("campaign %s: %zu runs, %zu passed, %zu failed in %.1f s (%.1f runs/s)\n", sc.name.c_str(), rep.runs.size(),
         rep.runs.size() - failed, failed, rep.wall_s, rep.wall_s > 0 ? double(rep.runs.size()) / rep.wall_s : 0.0);
  size_t shown = 0;
  for (const RunRecord& r : rep.runs) {
    if (r.passed) continue;
    if (++shown > 20) {
      printf("  ... %zu more failures (see the report)\n", failed - 20);
      break;
    }
    printf("  FAIL %s: %s\n    reproduce: %s\n", r.describe().c_str(), r.failure.c_str(), rep.reproducer(r).c_str());
  }
  if (rep.runs.size() != selected) {
    printf("campaign %s: %zu runs expected, %zu reported\n", sc.name.c_str(), size_t(selected), rep.runs.size());
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
  c->add_option("--shard", o.shard, "run only shard I of N (I/N, 0-based): item k = (point-1)*modes+mode goes to k mod N");
  add_scenario_options(c, o.scenario_opts, "run seed (torn cuts, seeded faults); default: the scenario's");
  c->add_option("--board-file", o.board_file, "board description: a name in boards/ or a path");
  c->add_flag("--no-fork", o.no_fork, "boot every run from power-on instead of forking at the cut point");
  c->add_flag("--dry-run", o.dry_run, "run the window once without a cut and list its cut points");
  c->add_option("--point", o.point, "run one point only (with --mode): the reproducer")->check(CLI::Range(1ull, 1ull << 40));
  c->add_option("--mode", o.mode, "before, after or torn (with --point)");
  c->add_option("--point2", o.point2, "with --point: also cut at this operation of the recovery (a sweep with second-cut)")
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
