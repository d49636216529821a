#!/usr/bin/env bash
# The main job: set up, build, and run the default scenario on the default
# board. Extra arguments go to `trustsim run` (e.g. --board DIR, --trace F).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec "${BUILD_DIR:-build}/tools/trustsim/trustsim" run scenarios/smoke.yaml "$@"
