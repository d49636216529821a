#!/usr/bin/env python3
"""bench/campaign: runs per second of power-cut sweeps, with the
checkpoint-and-fork walk and with a fresh boot per run, side by side.

Three sweeps, each run both ways with the same --jobs; for each the report
prints runs/s, their ratio, the CPU time of each way split into user and
kernel (sys) time (all processes of the command: trustsim, its forked runs
and every QEMU), and checks the ways agree run for run. A third way, fork + crash-state
dedup (the campaign default; the other two run with --no-dedup), prints
its runs/s with the number of distinct crash states and of runs executed;
its verdicts must equal the others'. The machine load (1-minute load
average) is printed with the figures: on a shared machine only the ratios
measured side by side in one run mean much.
Fork also runs with TRUSTSIM_KEEP_TRANSLATIONS=0 (job-slot QEMUs flush
their translations at every power cycle, as before keep mode) and the
report prints CPU per run with and without keep, with the verdicts
compared.
The fork way runs once more with the kernel-time levers of
docs/performance.md's section "sys" turned off (TRUSTSIM_PIN_SLOTS=0,
TRUSTSIM_RAM_CLEAR=punch, TRUSTSIM_SECOND_CUT_SLOTS=0), its user and sys
time per run printed next to the fork way's.
Fork and fresh also run with TRUSTSIM_QEMU_PER_POWER_ON=1 (a new QEMU at
every power-on, as before issue 15's reuse) next to the default (one QEMU
per process, parked and reset between power-ons), with their verdicts
compared too.
 - rommon-vars: at the ROMmon prompt, set four long variables; every NVRAM
   page write is a cut point. Recovery: power on, back to the ROMmon prompt,
   and the variable store must read (cheap recovery: ~0.6 s of board time).
 - os-copy: scenarios/campaigns/bootflash-copy-power-cut.yaml: boot to the
   OS prompt, copy a small file on bootflash:; every NAND program/erase is a
   cut point. Recovery: boot the OS again and list
   bootflash: (a full verified boot: ~5 s of board time per run).
 - rommon-double-cut: scenarios/campaigns/rommon-set-double-cut.yaml, a
   cut at each NVRAM write of a variable update and a second cut at each
   write of the recovery's own rewrite (fork: the forked run forks again).
 - revocation-step1: scenarios/campaigns/revoke-production-step1-power-cut.yaml,
   a cut at each NVRAM write of step 1 of the production key procedure;
   the recovery boots the OS image, then the revocation image. Run only the
   ways fork, fresh, fork + dedup and fork without keep; the keep line
   counts the DMA flushes.

Usage: bench/campaign.py BUILD_DIR [JOBS]   (default JOBS: twice the cores)
"""
import json
import os

import benchlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROMMON = """name: bench-rommon-vars-power-cut
timeout: 10 s
steps:
  - power-on
  - expect: "Preparing to autoboot"
  - send: {text: "\x03", enter: false}
  - expect: "rommon 1 > "
  - sweep:
      devices: [nvram]
      steps:
        - send: A=%(long)s
        - expect: "rommon 2 > "
        - send: B=%(long)s
        - expect: "rommon 3 > "
        - send: C=%(long)s
        - expect: "rommon 4 > "
        - send: D=%(long)s
        - expect: "rommon 5 > "
      recovery:
        - power-on
        - expect: "Preparing to autoboot"
        - send: {text: "\x03", enter: false}
        - expect: "rommon 1 > "
        - send: set
        - expect: "BOOT="
"""


# The ways each sweep runs: label, name, campaign options, environment.
# Every way but "fresh" forks at cut points; all but "dedup" run every run.
# "fork" is the reference the others are compared with, run for run.
ALL_ENV = {"TRUSTSIM_QEMU_PER_POWER_ON": "", "TRUSTSIM_KEEP_TRANSLATIONS": "1",
           "TRUSTSIM_PIN_SLOTS": "", "TRUSTSIM_RAM_CLEAR": "", "TRUSTSIM_SECOND_CUT_SLOTS": ""}
# "fork-sys-off": the fork way with the kernel-time levers of branch sys
# turned off (docs/performance.md, section "sys"): runs not pinned to one
# CPU per job slot, the guest RAM punched out at each power-on instead of
# zeroed in place, and second cuts starting their own QEMU.
SYS_OFF = {"TRUSTSIM_PIN_SLOTS": "0", "TRUSTSIM_RAM_CLEAR": "punch", "TRUSTSIM_SECOND_CUT_SLOTS": "0"}
WAYS = [
    ("checkpoint + fork", "fork", ["--no-dedup"], {}),
    ("fresh boot per run", "fresh", ["--no-fork"], {}),
    ("fork + dedup", "dedup", [], {}),
    ("fork, no keep", "fork-no-keep", ["--no-dedup"], {"TRUSTSIM_KEEP_TRANSLATIONS": "0"}),
    ("fork, QEMU/power-on", "fork-per-power-on", ["--no-dedup"], {"TRUSTSIM_QEMU_PER_POWER_ON": "1"}),
    ("fresh, QEMU/power-on", "fresh-per-power-on", ["--no-fork"], {"TRUSTSIM_QEMU_PER_POWER_ON": "1"}),
    ("fork, sys levers off", "fork-sys-off", ["--no-dedup"], SYS_OFF),
]
# A sweep that is not about these levers runs only the ways that show
# what it is there for.
SHORT = ("fork", "fresh", "dedup", "fork-no-keep")

# Issue 15's goals on 2 cores: a sweep whose recovery stops at ROMmon, and
# one whose recovery boots the OS.
ROMMON_GOAL = 100
OS_BOOT_GOAL = 20


def run(trustsim, scenario, jobs, way, out):
    """SCENARIO: the campaign's file and any --var options before it, as a list."""
    _, name, options, env_over = way
    args = [trustsim, "campaign"] + scenario + ["--no-progress", "--jobs", str(jobs), "--json", out] + options
    env = dict(os.environ)
    env.update(ALL_ENV)
    env.update(env_over)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"bench/campaign: {name} campaign failed (exit {p.returncode}):\n{p.stdout}")
    # Every process of the command has been reaped by its parent, so the
    # children's usage covers trustsim, its forked runs and all QEMUs.
    cpu = (after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime)
    return json.load(open(out)), wall, cpu


def row(label, rep, wall, cpu):
    user, system = cpu
    share = system / (user + system) if user + system > 0 else 0.0
    return (f"  {label:20s} {rep['runs_per_s']:8.2f} {rep['wall_s']:8.2f} {wall:9.2f} "
            f"{user:8.2f} {system:8.2f} {100 * share:7.0f} %")


def compare(name, trustsim, scenario, jobs, work, goal, only=None):
    """Runs the sweep each way (`only`: the names of a subset) and prints the
    table and its comparisons; True if every way agreed with "fork"."""
    key = lambda r: (r["point"], r["mode"], json.dumps(r.get("second")))
    got = {}
    for way in WAYS:
        if only is None or way[1] in only:
            rep, wall, cpu = run(trustsim, scenario, jobs, way, os.path.join(work, f"{name}-{way[1]}.json"))
            runs = {key(r): (r["verdict"], r["virtual_ns"]) for r in rep["runs"]}
            got[way[1]] = (way[0], rep, wall, cpu, runs)
    fork, dedup = got["fork"][1], got.get("dedup", (None, None))[1]
    a = got["fork"][4]
    n = len(fork["runs"])
    seconds = sum(1 for r in fork["runs"] if "second" in r)
    extra = f" (+ {seconds} second cuts)" if seconds else ""
    print(f"bench/campaign {name}: {fork['points']} cut points x {len(fork['modes'])} modes{extra} = {n} runs, "
          f"{jobs} jobs, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  {'way':20s} {'runs/s':>8s} {'sweep s':>8s} {'command s':>9s} {'user s':>8s} {'sys s':>8s} {'sys share':>9s}")
    for way_name, (label, rep, wall, cpu, _) in got.items():
        line = row(label, rep, wall, cpu)
        if way_name == "dedup":
            line += f"   {rep['distinct_states']} distinct states, {rep['runs_executed']} of {n} runs executed"
        print(line)
    verdicts = lambda m: {k: v[0] for k, v in m.items()}
    share = lambda cpu: cpu[1] / sum(cpu) if sum(cpu) > 0 else 0.0
    met = lambda rep: "met" if rep["runs_per_s"] >= goal else "NOT met"
    cpu_run = lambda cpu: 1000 * sum(cpu) / n
    fork_cpu = got["fork"][3]
    ok = True
    if "fresh" in got:
        plain = got["fresh"][1]
        ratio = fork["runs_per_s"] / plain["runs_per_s"] if plain["runs_per_s"] else float("inf")
        print(f"  ratio fork / fresh: {ratio:.2f}x; verdicts and virtual times identical fork / fresh: "
              f"{'yes' if got['fresh'][4] == a else 'NO'}")
        ok = ok and got["fresh"][4] == a
    line = f"  goal >= {goal} runs/s: fork {met(fork)}"
    if dedup:
        ratio_d = dedup["runs_per_s"] / fork["runs_per_s"] if fork["runs_per_s"] else float("inf")
        c = got["dedup"][4]
        line += (f", fork + dedup {met(dedup)} ({ratio_d:.2f}x fork); dedup verdicts identical: "
                 f"{'yes' if verdicts(c) == verdicts(a) else 'NO'}, virtual times: "
                 f"{'identical' if c == a else 'differ'}")
        ok = ok and verdicts(c) == verdicts(a)
    print(line)
    line = f"  sys share <= 20 %: fork {'met' if share(fork_cpu) <= 0.2 else 'NOT met'}"
    if dedup:
        line += f", fork + dedup {'met' if share(got['dedup'][3]) <= 0.2 else 'NOT met'}"
    print(line)
    if "fork-per-power-on" in got and "fresh-per-power-on" in got:
        fp, pp = got["fork-per-power-on"], got["fresh-per-power-on"]
        print(f"  one QEMU per process / one per power-on, CPU per run: fork {cpu_run(fork_cpu):.0f} / "
              f"{cpu_run(fp[3]):.0f} ms, fresh {cpu_run(got['fresh'][3]):.0f} / {cpu_run(pp[3]):.0f} ms; "
              f"verdicts and virtual times identical: {'yes' if fp[4] == a and pp[4] == a else 'NO'}")
        ok = ok and fp[4] == a and pp[4] == a
    if "fork-no-keep" in got:
        nk = got["fork-no-keep"]
        saved = 100 * (1 - sum(fork_cpu) / sum(nk[3])) if sum(nk[3]) > 0 else 0.0
        flushes = fork.get("qemu", {}).get("dma_flushes", 0)
        print(f"  fork with / without keeping translations, CPU per run: {cpu_run(fork_cpu):.1f} / "
              f"{cpu_run(nk[3]):.1f} ms ({abs(saved):.0f} % {'less' if saved >= 0 else 'more'}; {flushes} DMA "
              f"flushes with keep); verdicts and virtual times identical: {'yes' if nk[4] == a else 'NO'}")
        ok = ok and nk[4] == a
    if "fork-sys-off" in got:
        so = got["fork-sys-off"]
        ms_run = lambda cpu: (1000 * cpu[0] / n, 1000 * cpu[1] / n)
        (u_on, s_on), (u_off, s_off) = ms_run(fork_cpu), ms_run(so[3])
        print(f"  sys levers on / off (fork), per run: user {u_on:.1f} / {u_off:.1f} ms, sys {s_on:.1f} / "
              f"{s_off:.1f} ms; verdicts and virtual times identical: {'yes' if so[4] == a else 'NO'}")
        ok = ok and so[4] == a
    return ok


def main():
    build = benchlib.build_dir(__doc__)
    # Twice the cores: a run spends part of its wall time waiting (QEMU's
    # start-up), so more runs than cores keeps the cores busy.
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 2 * os.cpu_count()
    trustsim = os.path.join(build, "tools/trustsim/trustsim")
    work = tempfile.mkdtemp(prefix="trustsim-bench-campaign-")
    try:
        rommon = os.path.join(work, "rommon.yaml")
        open(rommon, "w").write(ROMMON % {"long": "x" * 200})
        payload = os.path.join(work, "small.bin")
        open(payload, "wb").write(bytes((i * 7) & 0xFF for i in range(6000)))
        campaigns = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scenarios", "campaigns")
        copy = ["--var", "payload=" + payload, os.path.join(campaigns, "bootflash-copy-power-cut.yaml")]
        ok = compare("rommon-vars", trustsim, [rommon], jobs, work, ROMMON_GOAL)
        ok = compare("os-copy", trustsim, copy, jobs, work, OS_BOOT_GOAL) and ok
        double = os.path.join(campaigns, "rommon-set-double-cut.yaml")
        ok = compare("rommon-double-cut", trustsim, [double], jobs, work, ROMMON_GOAL) and ok
        # The production key procedure's step 1: the recovery boots the OS
        # image, then the revocation image (docs/performance.md, "The
        # revocation image at its own address").
        step1 = os.path.join(campaigns, "revoke-production-step1-power-cut.yaml")
        ok = compare("revocation-step1", trustsim, [step1], jobs, work, OS_BOOT_GOAL, SHORT) and ok
        if not ok:
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
