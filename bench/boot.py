#!/usr/bin/env python3
"""bench/boot: power-on to the OS prompt with a 16 MiB signed OS image.

Per boot stage, the virtual time (from the console timestamps) and the wall
time (when trustsim printed the line), on the default board:
  Boot0 (ROMmon load + verify) -> ROMmon (bootflash: mount, find image)
  -> image read + verify (16 MiB from NAND, SHA-512 on the crypto engine)
  -> OS up (its own bootflash: mount) -> Router> prompt.
The whole command is timed twice: with the board made (the stages and the
CPU are from this run) and with it copied from the board cache.

Usage: bench/boot.py BUILD_DIR
"""
import os

import benchlib
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

MARKS = [
    ("power-on", r"Boot0 Version"),
    ("Boot0 verified ROMmon", r"Boot0: primary ROMmon .* verified"),
    ("ROMmon found image", r"Located "),
    ("image read+verified", r"Image validated"),
    ("OS prompt", r"Router>"),
]


def run_once(trustsim, scenario, env):
    """One `trustsim run`: the console marks seen, the wall time of the whole
    command, and the user and sys CPU of trustsim and its QEMU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.Popen([trustsim, "run", scenario], stdout=subprocess.PIPE, text=True, bufsize=1, env=env)
    seen = {}
    for line in p.stdout:
        wall = time.perf_counter() - t0
        m = re.match(r"\[\s*(\d+)\.(\d{9})\] (.*)", line)
        if not m:
            continue
        vt = int(m.group(1)) + int(m.group(2)) / 1e9
        for label, pat in MARKS:
            if label not in seen and re.search(pat, m.group(3)):
                seen[label] = (vt, wall)
    p.wait()
    total_wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0 or len(seen) != len(MARKS):
        sys.exit(f"bench/boot: run failed (exit {p.returncode}); saw {sorted(seen)}")
    return seen, total_wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def main():
    build = benchlib.build_dir(__doc__)
    trustsim = os.path.join(build, "tools/trustsim/trustsim")
    work = tempfile.mkdtemp(prefix="trustsim-bench-boot-")
    try:
        os_bin = open(os.path.join(build, "os-stub/os.bin"), "rb").read()
        size = 16 << 20
        pad = bytes((i * 131) & 0xFF for i in range(size - len(os_bin)))
        big = os.path.join(work, "os16m.bin")
        open(big, "wb").write(os_bin + pad)
        name = "ts-isr1100-universalk9.17.03.01.SPA.bin"
        scenario = os.path.join(work, "boot16m.yaml")
        open(scenario, "w").write(
            "name: boot16m\nsteps:\n"
            f"  - image-sign: {{key: production-A, name: {name}, payload: {big}}}\n"
            "  - power-on\n  - expect: {pattern: 'Router>', timeout: 60 s}\n")
        # The board cache (docs/manufacturing.md) in a directory of its own:
        # the first run makes the board and stores it, the second copies it.
        env = dict(os.environ, TRUSTSIM_BOARD_CACHE=os.path.join(work, "board-cache"))
        runs = [run_once(trustsim, scenario, env) for _ in range(2)]
        seen, total_wall, user, system = runs[0]
        print(f"bench/boot: 16 MiB signed OS image, default board ({os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f})")
        print(f"  {'stage':32s} {'virtual':>12s} {'wall':>10s}")
        prev = None
        for label, _ in MARKS:
            vt, wall = seen[label]
            if prev:
                print(f"  {prev[0] + ' -> ' + label:32s} {vt - prev[1]:10.3f} s {wall - prev[2]:8.2f} s")
            prev = (label, vt, wall)
        first, last = seen[MARKS[0][0]], seen[MARKS[-1][0]]
        print(f"  {'power-on -> Router> (total)':32s} {last[0] - first[0]:10.3f} s {last[1] - first[1]:8.2f} s")
        print(f"  whole run incl. process start : {total_wall:.2f} s wall (board made), "
              f"{runs[1][1]:.2f} s wall (board copied from the board cache)")
        share = 100 * system / (user + system) if user + system > 0 else 0.0
        print(f"  CPU of trustsim and QEMU      : {user:.2f} s user, {system:.2f} s sys ({share:.0f} % sys) "
              f"(board made); {runs[1][2] + runs[1][3]:.2f} s (board copied)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
