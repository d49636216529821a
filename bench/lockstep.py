#!/usr/bin/env python3
"""bench/lockstep: what the lock-step costs, measured side by side in one run.

1. Guest speed: the same benchmark firmware (bench/fw/benchfw.cc) runs a CPU
   loop under plain QEMU (same -icount/-accel flags, no plugin) and under
   trustsim (loaded by Boot0, lock-step plugin, SystemC time master). Two
   loop counts per side; the difference removes start-up costs. The
   instruction count comes from trustsim's own count of executed guest
   instructions, so both sides divide the same work.
2. Device round trips per second: the firmware reads a power-controller
   register N times through the mailbox (doorbell -> SystemC -> response).
3. Wall time from `trustsim run` start to the OS prompt (Router>): the whole
   verified chain.

Usage: bench/lockstep.py BUILD_DIR
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
REPEAT = 3


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


def best_of(fn):
    runs = [fn() for _ in range(REPEAT)]
    return min(runs, key=lambda r: r[0])


def main():
    build = benchlib.build_dir(__doc__)
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trustsim = os.path.join(build, "tools/trustsim/trustsim")
    key = os.path.join(src, "keys/dev/production-A.pem")
    elf = open(os.path.join(build, "bench/benchfw.elf"), "rb").read()
    binary = open(os.path.join(build, "bench/benchfw.bin"), "rb").read()
    work = tempfile.mkdtemp(prefix="trustsim-bench-")
    try:
        # ---- plain QEMU, no plugin ----
        def qemu(loops):
            path = os.path.join(work, f"plain-{loops}.elf")
            open(path, "wb").write(patch(elf, loops, 0))
            cmd = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57", "-nodefaults", "-display", "none",
                   "-nic", "none", "-icount", "shift=0,sleep=off", "-accel", "tcg,thread=single", "-m", "128M",
                   "-kernel", path, "-semihosting"]
            return best_of(lambda: timed(cmd))[0]

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
            dt, out = best_of(lambda: timed([trustsim, "run", "--quiet", "--board", state, scenario]))
            m = re.search(r"(\d+) guest instructions, (\d+) device requests", out)
            if not m:
                sys.exit("bench: no instruction count in trustsim output:\n" + out)
            return dt, int(m.group(1)), int(m.group(2))

        lo, hi = 20, 2020
        print(f"bench/lockstep: best of {REPEAT} runs each, {os.cpu_count()} cores")
        q_lo, q_hi = qemu(lo), qemu(hi)
        t_lo, i_lo, _ = lockstep(lo)
        t_hi, i_hi, _ = lockstep(hi)
        insns = i_hi - i_lo
        mips_plain = insns / (q_hi - q_lo) / 1e6
        mips_lock = insns / (t_hi - t_lo) / 1e6
        print(f"  guest work: {insns} instructions ({hi - lo} extra passes)")
        print(f"  guest MIPS without plugin : {mips_plain:8.1f}")
        print(f"  guest MIPS in lock-step   : {mips_lock:8.1f}")
        print(f"  ratio lock-step / plain   : {mips_lock / mips_plain:8.2f}   (goal >= 0.8)")

        d_lo, d_hi = 0, 20000
        td_lo, _, r_lo = lockstep(lo, d_lo)
        td_hi, _, r_hi = lockstep(lo, d_hi)
        trips = r_hi - r_lo
        print(f"  device round trips/s      : {trips / (td_hi - td_lo):8.0f}   ({trips} mailbox requests)")

        prompt = os.path.join(work, "prompt.yaml")  # to the OS prompt: the whole verified chain
        open(prompt, "w").write("name: prompt\nsteps:\n  - power-on\n  - expect: 'Router>'\n")
        walls = [timed([trustsim, "run", "--quiet", prompt])[0] for _ in range(5)]
        print(f"  wall, run start -> Router> : {statistics.median(walls):8.3f} s (median of 5; goal < 1 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
