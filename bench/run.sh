#!/usr/bin/env bash
# Builds everything, then runs the benchmarks. Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
B=${BUILD_DIR:-build}
/usr/bin/python3 bench/lockstep.py "$B"
/usr/bin/python3 bench/boot.py "$B"
/usr/bin/python3 bench/flash.py "$B"
/usr/bin/python3 bench/campaign.py "$B"
/usr/bin/python3 bench/tpm.py "$B"
/usr/bin/python3 bench/netxfer.py "$B"
