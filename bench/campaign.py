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


WAYS = {"fork": ["--no-dedup"], "fresh": ["--no-fork"], "dedup": [], "fork-no-keep": ["--no-dedup"],
        "fork-per-power-on": ["--no-dedup"], "fresh-per-power-on": ["--no-fork"],
        "fork-sys-off": ["--no-dedup"]}

# "fork-sys-off": the fork way with the kernel-time levers of branch sys
# turned off (docs/performance.md, section "sys"): runs not pinned to one
# CPU per job slot, the guest RAM punched out at each power-on instead of
# zeroed in place, and second cuts starting their own QEMU.
SYS_OFF = {"TRUSTSIM_PIN_SLOTS": "0", "TRUSTSIM_RAM_CLEAR": "punch", "TRUSTSIM_SECOND_CUT_SLOTS": "0"}


# Issue 15's goals on 2 cores: a sweep whose recovery stops at ROMmon, and
# one whose recovery boots the OS.
ROMMON_GOAL = 100
OS_BOOT_GOAL = 20


def run(trustsim, scenario, jobs, way, out):
    """SCENARIO: the campaign's file and any --var options before it, as a list."""
    args = [trustsim, "campaign"] + scenario + ["--no-progress", "--jobs", str(jobs), "--json", out] + WAYS[way]
    env = dict(os.environ)
    env["TRUSTSIM_QEMU_PER_POWER_ON"] = "1" if way.endswith("per-power-on") else ""
    env["TRUSTSIM_KEEP_TRANSLATIONS"] = "0" if way == "fork-no-keep" else "1"
    for k, v in SYS_OFF.items():
        env[k] = v if way == "fork-sys-off" else ""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"bench/campaign: {way} campaign failed (exit {p.returncode}):\n{p.stdout}")
    # Every process of the command has been reaped by its parent, so the
    # children's usage covers trustsim, its forked runs and all QEMUs.
    cpu = (after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime)
    return json.load(open(out)), wall, cpu


def row(label, rep, wall, cpu):
    user, system = cpu
    share = system / (user + system) if user + system > 0 else 0.0
    return (f"  {label:20s} {rep['runs_per_s']:8.2f} {rep['wall_s']:8.2f} {wall:9.2f} "
            f"{user:8.2f} {system:8.2f} {100 * share:7.0f} %")


def compare(name, trustsim, scenario, jobs, work, goal):
    fork, fork_wall, fork_cpu = run(trustsim, scenario, jobs, "fork", os.path.join(work, name + "-fork.json"))
    plain, plain_wall, plain_cpu = run(trustsim, scenario, jobs, "fresh", os.path.join(work, name + "-plain.json"))
    dedup, dedup_wall, dedup_cpu = run(trustsim, scenario, jobs, "dedup", os.path.join(work, name + "-dedup.json"))
    nokeep, nokeep_wall, nokeep_cpu = run(trustsim, scenario, jobs, "fork-no-keep",
                                          os.path.join(work, name + "-nokeep.json"))
    fork_p, fork_p_wall, fork_p_cpu = run(trustsim, scenario, jobs, "fork-per-power-on",
                                          os.path.join(work, name + "-fork-p.json"))
    plain_p, plain_p_wall, plain_p_cpu = run(trustsim, scenario, jobs, "fresh-per-power-on",
                                             os.path.join(work, name + "-plain-p.json"))
    sys_off, sys_off_wall, sys_off_cpu = run(trustsim, scenario, jobs, "fork-sys-off",
                                             os.path.join(work, name + "-fork-sys-off.json"))
    key = lambda r: (r["point"], r["mode"], json.dumps(r.get("second")))
    a = {key(r): (r["verdict"], r["virtual_ns"]) for r in fork["runs"]}
    b = {key(r): (r["verdict"], r["virtual_ns"]) for r in plain["runs"]}
    c = {key(r): (r["verdict"], r["virtual_ns"]) for r in dedup["runs"]}
    fp = {key(r): (r["verdict"], r["virtual_ns"]) for r in fork_p["runs"]}
    nk = {key(r): (r["verdict"], r["virtual_ns"]) for r in nokeep["runs"]}
    pp = {key(r): (r["verdict"], r["virtual_ns"]) for r in plain_p["runs"]}
    so = {key(r): (r["verdict"], r["virtual_ns"]) for r in sys_off["runs"]}
    verdicts = lambda m: {k: v[0] for k, v in m.items()}
    n = len(fork["runs"])
    seconds = sum(1 for r in fork["runs"] if "second" in r)
    extra = f" (+ {seconds} second cuts)" if seconds else ""
    print(f"bench/campaign {name}: {fork['points']} cut points x {len(fork['modes'])} modes{extra} = {n} runs, "
          f"{jobs} jobs, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  {'way':20s} {'runs/s':>8s} {'sweep s':>8s} {'command s':>9s} {'user s':>8s} {'sys s':>8s} {'sys share':>9s}")
    print(row("checkpoint + fork", fork, fork_wall, fork_cpu))
    print(row("fresh boot per run", plain, plain_wall, plain_cpu))
    print(row("fork + dedup", dedup, dedup_wall, dedup_cpu) +
          f"   {dedup['distinct_states']} distinct states, {dedup['runs_executed']} of {n} runs executed")
    print(row("fork, no keep", nokeep, nokeep_wall, nokeep_cpu))
    print(row("fork, QEMU/power-on", fork_p, fork_p_wall, fork_p_cpu))
    print(row("fresh, QEMU/power-on", plain_p, plain_p_wall, plain_p_cpu))
    print(row("fork, sys levers off", sys_off, sys_off_wall, sys_off_cpu))
    ratio = fork["runs_per_s"] / plain["runs_per_s"] if plain["runs_per_s"] else float("inf")
    ratio_d = dedup["runs_per_s"] / fork["runs_per_s"] if fork["runs_per_s"] else float("inf")
    met = lambda rep: "met" if rep["runs_per_s"] >= goal else "NOT met"
    share = lambda cpu: cpu[1] / sum(cpu) if sum(cpu) > 0 else 0.0
    print(f"  ratio fork / fresh: {ratio:.2f}x; fork + dedup / fork: {ratio_d:.2f}x; goal >= {goal} runs/s: "
          f"fork {met(fork)}, fork + dedup {met(dedup)}; sys share <= 20 %: fork "
          f"{'met' if share(fork_cpu) <= 0.2 else 'NOT met'}, fork + dedup {'met' if share(dedup_cpu) <= 0.2 else 'NOT met'}")
    print(f"  verdicts and virtual times identical fork / fresh: {'yes' if a == b else 'NO'}; "
          f"dedup verdicts identical: {'yes' if verdicts(c) == verdicts(a) else 'NO'}, "
          f"virtual times: {'identical' if c == a else 'differ'}")
    cpu_run = lambda cpu: 1000 * sum(cpu) / n
    print(f"  one QEMU per process / one per power-on, CPU per run: fork {cpu_run(fork_cpu):.0f} / "
          f"{cpu_run(fork_p_cpu):.0f} ms, fresh {cpu_run(plain_cpu):.0f} / {cpu_run(plain_p_cpu):.0f} ms; "
          f"verdicts and virtual times identical: {'yes' if fp == a and pp == a else 'NO'}")
    saved = 100 * (1 - sum(fork_cpu) / sum(nokeep_cpu)) if sum(nokeep_cpu) > 0 else 0.0
    print(f"  fork with / without keeping translations, CPU per run: {cpu_run(fork_cpu):.1f} / "
          f"{cpu_run(nokeep_cpu):.1f} ms ({abs(saved):.0f} % {'less' if saved >= 0 else 'more'}); "
          f"verdicts and virtual times identical: {'yes' if nk == a else 'NO'}")
    ms_run = lambda cpu: (1000 * cpu[0] / n, 1000 * cpu[1] / n)
    (u_on, s_on), (u_off, s_off) = ms_run(fork_cpu), ms_run(sys_off_cpu)
    print(f"  sys levers on / off (fork), per run: user {u_on:.1f} / {u_off:.1f} ms, sys {s_on:.1f} / {s_off:.1f} ms; "
          f"verdicts and virtual times identical: {'yes' if so == a else 'NO'}")
    return a == b and verdicts(c) == verdicts(a) and fp == a and pp == a and so == a and nk == a


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
        if not ok:
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
