#!/usr/bin/env python3
"""bench/tpm: virtual and wall time of the TPM paths.

1. The engine alone (bench-tpm-engine): host wall time of libtpms running
   PCR_Extend and Quote in-process.
2. A real boot on the default board with the device trace on: for every
   PCR_Extend and Quote the firmware sent, the virtual time from its first
   FIFO write to the last FIFO read of its response (register transfers +
   the board file's command time + the driver's 1 ms polling).
3. The full `show platform integrity sign nonce N` path, three times:
   virtual time (console timestamps, from the echoed command to the
   signature line) and wall time (when trustsim printed those lines).

Usage: bench/tpm.py BUILD_DIR
"""
import json
import os

import benchlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

FIFO = 0x24


def main():
    build = benchlib.build_dir(__doc__)
    trustsim = os.path.join(build, "tools/trustsim/trustsim")
    print(subprocess.run([os.path.join(build, "bench/bench-tpm-engine"), "200"], check=True,
                         capture_output=True, text=True).stdout.strip())
    work = tempfile.mkdtemp(prefix="trustsim-bench-tpm-")
    try:
        trace = os.path.join(work, "trace.jsonl")
        scenario = os.path.join(work, "tpm.yaml")
        steps = ["  - power-on", "  - expect: 'Router>'", "  - send: enable", "  - expect: 'Router#'"]
        for n in (1, 2, 3):
            steps += [f"  - send: show platform integrity sign nonce {n}", "  - expect: 'Signature:\\n[0-9A-F]+\\n'"]
        open(scenario, "w").write("name: bench-tpm\ntimeout: 20 s\nsteps:\n" + "\n".join(steps) + "\n")
        t0 = time.perf_counter()
        p = subprocess.Popen([trustsim, "run", "--trace", trace, scenario], stdout=subprocess.PIPE, text=True, bufsize=1)
        lines = []
        for line in p.stdout:
            lines.append((time.perf_counter() - t0, line.rstrip("\n")))
        p.wait()
        if p.returncode != 0:
            sys.exit(f"bench/tpm: run failed (exit {p.returncode})")

        # Per-command virtual time from the trace.
        events = [json.loads(l) for l in open(trace) if '"dev":"tpm"' in l]
        per = {}
        for i, e in enumerate(events):
            if e["op"] != "command":
                continue
            name = e.get("detail", "").split(" ")[0]
            j = i - 1
            start = None
            while j >= 0 and events[j]["op"] != "command":
                if events[j]["op"] == "write" and events[j]["addr"] == FIFO:
                    start = events[j]["t_ns"]
                elif start is not None:
                    break
                j -= 1
            end = None
            k = i + 1
            while k < len(events) and events[k]["op"] != "command":
                ev = events[k]
                if ev["op"] == "read" and ev["addr"] == FIFO:
                    end = ev["t_ns"] + ev["latency_ns"]
                if ev["op"] == "write" and ev["addr"] == FIFO:
                    break
                k += 1
            if start is not None and end is not None:
                per.setdefault(name, []).append((end - start) / 1e6)
        for name in ("Startup", "PCR_Extend", "PCR_Read", "Quote"):
            if name in per:
                v = per[name]
                print(f"firmware {name:<10} virtual {min(v):8.3f} .. {max(v):8.3f} ms  ({len(v)} commands)")

        # The whole show command.
        stamp = re.compile(r"\[\s*(\d+)\.(\d{9})\] (.*)")
        start = None
        for wall, line in lines:
            m = stamp.match(line)
            if not m:
                continue
            vt = int(m.group(1)) + int(m.group(2)) / 1e9
            text = m.group(3)
            if "#show platform integrity sign nonce" in text:
                start = (vt, wall, text.split("nonce ")[1])
            elif start and re.fullmatch(r"[0-9A-F]{100,}", text):
                print(f"show platform integrity sign nonce {start[2]}: virtual {1000 * (vt - start[0]):8.3f} ms, "
                      f"wall {1000 * (wall - start[1]):7.1f} ms")
                start = None
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
