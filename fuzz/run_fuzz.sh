#!/bin/sh
# The short fuzz run of the test suite (suite 'fuzz'):
#   run_fuzz.sh TARGET SCRATCH_CORPUS SEED_CORPUS [libFuzzer options...]
# Any finding (sanitizer report, leak, timeout, out-of-memory, a signal)
# exits 1, so meson counts it as a failure: libFuzzer's own default for a
# finding, 77, reads as SKIP to meson. Inputs behind a finding are written
# into SCRATCH_CORPUS (crash-*, leak-*, timeout-*).
set -u
target=$1 scratch=$2 seeds=$3
shift 3
mkdir -p "$scratch" || exit 1
"$target" -error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$scratch/" "$@" "$scratch" "$seeds"
rc=$?
if [ $rc -ne 0 ]; then
  echo "run_fuzz.sh: $(basename "$target") exited with $rc: a finding (see above; its input is in $scratch)" >&2
  exit 1
fi
