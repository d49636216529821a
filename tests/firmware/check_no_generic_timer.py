#!/usr/bin/python3
"""Fails if a firmware image touches the Arm generic timer.

One QEMU serves many power-ons (docs/architecture.md, "One QEMU per run"):
QMP system_reset does not rewind QEMU's virtual clock, so CNTVCT/CNTPCT
would read differently after a reuse than in a new QEMU. Board time comes
from the board's devices (docs/timing-sources.md); this check keeps the
firmware off the timer registers. It first proves on an assembled probe
that it would notice such an access.

usage: check_no_generic_timer.py OBJDUMP AS ELF...
"""
import os
import re
import subprocess
import sys
import tempfile

TIMER_ACCESS = re.compile(r"\b(mrs|msr)\s+[^\n]*\bcnt[a-z_]*_el[0-3]\b", re.IGNORECASE)


def timer_accesses(objdump, elf):
    out = subprocess.run([objdump, "-d", elf], check=True, capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if TIMER_ACCESS.search(line)]


def main():
    if len(sys.argv) < 4:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    objdump, assembler, elfs = sys.argv[1], sys.argv[2], sys.argv[3:]
    with tempfile.TemporaryDirectory() as d:
        probe_s, probe_o = os.path.join(d, "probe.s"), os.path.join(d, "probe.o")
        with open(probe_s, "w") as f:
            f.write("mrs x0, cntvct_el0\nmsr cntv_ctl_el0, x1\nmrs x2, cntfrq_el0\n")
        subprocess.run([assembler, probe_s, "-o", probe_o], check=True)
        found = timer_accesses(objdump, probe_o)
        if len(found) != 3:
            print(f"check_no_generic_timer: the check missed timer accesses in its probe: {found}", file=sys.stderr)
            return 1
    bad = 0
    for elf in elfs:
        for line in timer_accesses(objdump, elf):
            print(f"{elf}: reads or writes the generic timer: {line}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
