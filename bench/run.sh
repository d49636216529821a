#!/usr/bin/env bash
# Builds everything, then runs the benchmarks. Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
python3 bench/lockstep.py "${BUILD_DIR:-build}"
