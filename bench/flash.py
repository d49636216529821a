#!/usr/bin/env python3
"""bench/flash: bootflash: performance, measured side by side in one run.

1. File system write + read throughput in virtual time (what the firmware
   sees, from the board's NAND timing) and in wall time: the OS copies a
   4 MiB file on bootflash: (IOS `copy` reports bytes/sec in board time).
2. Host-side writes (trustsim flash put on the NAND image file): wall only.
3. Power-cut sweep cut points per second: the file-system sweep test
   (tests/common/test_bfs.cc), short form.

Usage: bench/flash.py BUILD_DIR
"""
import os

import benchlib
import re
import shutil
import subprocess
import sys
import tempfile
import time


def main():
    build = benchlib.build_dir(__doc__)
    trustsim = os.path.join(build, "tools/trustsim/trustsim")
    work = tempfile.mkdtemp(prefix="trustsim-bench-flash-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        print(f"bench/flash: default board (W25N01GV-class NAND), {os.cpu_count()} cores")
        board = os.path.join(work, "board")
        subprocess.run([trustsim, "board", "new", board], check=True, capture_output=True)
        size = 4 << 20
        blob = os.path.join(work, "blob.bin")
        open(blob, "wb").write(bytes((i * 7 + (i >> 11)) & 0xFF for i in range(size)))
        t0 = time.perf_counter()
        subprocess.run([trustsim, "flash", "--board", board, "put", blob, "blob.bin"], check=True, capture_output=True)
        host_put = time.perf_counter() - t0
        print(f"  host put (image file, no timing)   : {size / host_put / 1e6:8.1f} MB/s wall ({size >> 20} MiB)")

        scenario = os.path.join(work, "copy.yaml")
        open(scenario, "w").write(
            "name: copy\ntimeout: 120 s\nsteps:\n  - power-on\n  - expect: 'Router>'\n  - send: enable\n"
            "  - expect: 'Router#'\n  - send: copy bootflash:blob.bin bootflash:blob2.bin\n"
            "  - expect: 'Destination filename'\n  - send: ''\n"
            "  - expect: 'bytes copied in [0-9.]+ secs \\([0-9]+ bytes/sec\\)'\n")
        p = subprocess.Popen([trustsim, "run", "--board", board, scenario], stdout=subprocess.PIPE, text=True,
                             bufsize=1)
        t_start = t_end = None
        copied = None
        for line in p.stdout:
            now = time.perf_counter()
            if "Router#copy" in line:
                t_start = now
            m = re.search(r"(\d+) bytes copied in ([0-9.]+) secs \((\d+) bytes/sec\)", line)
            if m:
                t_end = now
                copied = m
        p.wait()
        if p.returncode != 0 or not copied or t_start is None:
            sys.exit("bench/flash: the copy scenario failed")
        n = int(copied.group(1))
        virt = float(copied.group(2))
        wall = t_end - t_start
        print(f"  OS copy (read + write), board time : {n / virt / 1e6:8.2f} MB/s virtual ({virt:.3f} s for {n >> 20} MiB)")
        print(f"  OS copy (read + write), wall time  : {n / wall / 1e6:8.2f} MB/s wall    ({wall:.3f} s)")
        print(f"  wall / virtual                     : {wall / virt:8.2f}")

        test_bfs = os.path.join(build, "tests/common/test-bfs")
        t0 = time.perf_counter()
        out = subprocess.run([test_bfs, "--gtest_filter=BfsPowerCut.EveryCut*"], capture_output=True, text=True)
        dt = time.perf_counter() - t0
        runs = sum(int(m.group(1)) for m in re.finditer(r"= (\d+) runs", out.stdout))
        runs += sum(int(m.group(1)) for m in re.finditer(r"double power-cut sweep: (\d+) runs", out.stdout))
        if out.returncode != 0 or runs == 0:
            sys.exit("bench/flash: the sweep test failed:\n" + out.stdout[-2000:])
        print(f"  power-cut sweep (file system, RAM) : {runs / dt:8.0f} cut runs/s ({runs} runs in {dt:.2f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
