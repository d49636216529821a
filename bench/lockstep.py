#!/usr/bin/env python3
"""bench/lockstep: what the lock-step costs, measured side by side in one run.

1. Guest speed: the same benchmark firmware (bench/fw/benchfw.cc) runs a CPU
   loop under plain QEMU (same -icount/-accel flags, no plugin) and under
   trustsim (loaded by Boot0, lock-step plugin, SystemC time master). Each
   side runs a short and a long loop; the median of the short runs removes
   start-up costs. The instruction count comes from trustsim's own count of
   executed guest instructions, so both sides divide the same work. The
   long runs of the two sides follow each other directly (plain first, the
   next round lock-step first), so that load from elsewhere on the machine
   hits both alike; each round gives one ratio. Printed: the median and the
   spread (min..max) over ROUNDS rounds, and the ratio of each side's
   fastest round (load only ever slows a run down). The long loop is about
   half a second of guest work (0.5 G instructions), against start-up
   jitter of tens of ms. On a shared machine the spread is wide (a round's
   ratio moved by +-0.2 at load 2-3); docs/performance.md, "The lock-step's
   per-block cost", measures the callback's share with perf instead.
2. Device round trips per second: the firmware reads a power-controller
   register N times through the mailbox (doorbell -> SystemC -> response).
3. Wall time from `trustsim run` start to the OS prompt (Router>): the whole
   verified chain.

Usage: bench/lockstep.py BUILD_DIR [ROUNDS]   (33-51 s with the default 25 rounds on 2 loaded cores)
"""
import os

import benchlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MAGIC = (0xB0B0CAFE).to_bytes(4, "little")
ROUNDS = 25
LOOPS_LO, LOOPS_HI = 20, 4020  # passes over the 64 KiB work array; ~0.5 s of guest work between them
GOAL = 0.95  # issue 15: lock-step guest MIPS >= 0.95 of plain QEMU's


def patch(blob: bytes, loops: int, doorbells: int) -> bytes:
    i = blob.find(MAGIC)
    if i < 0 or blob.find(MAGIC, i + 1) >= 0:
        sys.exit("bench: parameter block not found exactly once in the benchmark firmware")
    return blob[: i + 4] + loops.to_bytes(4, "little") + doorbells.to_bytes(4, "little") + blob[i + 12 :]


def timed(cmd, **kw):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"bench: command failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return dt, r.stdout


def spread(xs, fmt):
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))}..{fmt.format(max(xs))})"


def main():
    build = benchlib.build_dir(__doc__)
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else ROUNDS
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trustsim = os.path.join(build, "tools/trustsim/trustsim")
    key = os.path.join(src, "keys/dev/production-A.pem")
    elf = open(os.path.join(build, "bench/benchfw.elf"), "rb").read()
    binary = open(os.path.join(build, "bench/benchfw.bin"), "rb").read()
    work = tempfile.mkdtemp(prefix="trustsim-bench-")
    t_start = time.perf_counter()
    try:
        # ---- plain QEMU, no plugin ----
        def plain(loops):
            path = os.path.join(work, f"plain-{loops}.elf")
            if not os.path.exists(path):
                open(path, "wb").write(patch(elf, loops, 0))
            cmd = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57", "-nodefaults", "-display", "none",
                   "-nic", "none", "-icount", "shift=0,sleep=off", "-accel", "tcg,thread=single", "-m", "128M",
                   "-kernel", path, "-semihosting"]
            return timed(cmd)[0]

        # ---- trustsim: benchmark firmware in place of ROMmon ----
        scenario = os.path.join(work, "bench.yaml")
        open(scenario, "w").write(
            "name: bench\nsteps:\n  - power-on\n  - expect: {pattern: 'BENCH DONE', timeout: 1000 s}\n")

        make_board = os.path.join(work, "make-board.yaml")
        open(make_board, "w").write("name: make-board\nsteps:\n  - power-on\n  - expect: 'Boot0 Version'\n")

        def board_with(loops, doorbells):
            state = os.path.join(work, f"board-{loops}-{doorbells}")
            if not os.path.exists(state):
                subprocess.run([trustsim, "run", "--quiet", "--board", state, make_board], check=True, capture_output=True)
                raw = os.path.join(work, "fw.bin")
                img = os.path.join(work, "fw.img")
                open(raw, "wb").write(patch(binary, loops, doorbells))
                subprocess.run([trustsim, "image", "sign", "--key", key, "--type", "rommon", "--version", "bench",
                                "--load", str(0x40200000), "--out", img, raw], check=True, capture_output=True)
                flash_path = os.path.join(state, "boot-flash.bin")
                flash = bytearray(open(flash_path, "rb").read())
                image = open(img, "rb").read()
                flash[: len(image)] = image
                open(flash_path, "wb").write(flash)
            return state

        def lockstep(loops, doorbells=0):
            state = board_with(loops, doorbells)
            dt, out = timed([trustsim, "run", "--quiet", "--board", state, scenario])
            m = re.search(r"(\d+) guest instructions, (\d+) device requests", out)
            if not m:
                sys.exit("bench: no instruction count in trustsim output:\n" + out)
            return dt, int(m.group(1)), int(m.group(2))

        lo, hi = LOOPS_LO, LOOPS_HI
        board_with(lo, 0), board_with(hi, 0)
        print(f"bench/lockstep: {rounds} rounds, plain and lock-step interleaved, {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.2f}")
        # Start-up (the short loop) is measured every round and its median
        # subtracted; the long runs of both sides follow each other directly,
        # so that a burst of load elsewhere hits both.
        insns = None
        q_lo, t_lo, q_hi, t_hi = [], [], [], []
        for r in range(rounds):
            q_lo.append(plain(lo))
            t, i_lo, _ = lockstep(lo)
            t_lo.append(t)
            sides = [("plain", lambda: plain(hi)), ("lock", lambda: lockstep(hi))]
            for name, run in sides if r % 2 == 0 else sides[::-1]:
                if name == "plain":
                    q_hi.append(run())
                else:
                    t, i_hi, _ = run()
                    t_hi.append(t)
            n = i_hi - i_lo
            if insns is not None and n != insns:
                sys.exit(f"bench: the guest's work differs between rounds ({n} vs {insns} instructions)")
            insns = n
        q0, t0 = statistics.median(q_lo), statistics.median(t_lo)
        mips_plain = [insns / (q - q0) / 1e6 for q in q_hi]
        mips_lock = [insns / (t - t0) / 1e6 for t in t_hi]
        ratios = [lk / pl for lk, pl in zip(mips_lock, mips_plain)]
        print(f"  guest work: {insns} instructions ({hi - lo} extra passes); median (min..max) of {rounds}")
        print(f"  guest MIPS without plugin : {spread(mips_plain, '{:7.1f}')}")
        print(f"  guest MIPS in lock-step   : {spread(mips_lock, '{:7.1f}')}")
        print(f"  ratio lock-step / plain   : {spread(ratios, '{:7.3f}')}   (goal >= {GOAL})")
        print(f"  ratio of the best rounds  : {max(mips_lock) / max(mips_plain):7.3f}   (fastest lock-step / fastest plain)")

        d_lo, d_hi = 0, 20000
        td_lo, _, r_lo = min(lockstep(lo, d_lo) for _ in range(3))
        td_hi, _, r_hi = min(lockstep(lo, d_hi) for _ in range(3))
        trips = r_hi - r_lo
        print(f"  device round trips/s      : {trips / (td_hi - td_lo):8.0f}   ({trips} mailbox requests, best of 3)")

        prompt = os.path.join(work, "prompt.yaml")  # to the OS prompt: the whole verified chain
        open(prompt, "w").write("name: prompt\nsteps:\n  - power-on\n  - expect: 'Router>'\n")
        walls = [timed([trustsim, "run", "--quiet", prompt])[0] for _ in range(5)]
        print(f"  wall, run start -> Router> : {statistics.median(walls):8.3f} s (median of 5; goal < 1 s)")
        print(f"  bench time: {time.perf_counter() - t_start:.0f} s, load {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
