#!/usr/bin/env bash
# Set up, build, and run the whole test suite; ends with "N passed, N failed".
#  1. the normal build: every suite except 'long' (the full power-cut sweeps);
#  2. an AddressSanitizer + UndefinedBehaviorSanitizer build of the host side
#     (firmware and the QEMU plugin are never sanitized) running the unit,
#     system and scenario suites. TRUSTSIM_SANITIZE=0 skips it.
# TRUSTSIM_TEST_ARGS replaces the suite selection of step 1 (e.g. "--suite long").
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ASAN_DIR=${ASAN_DIR:-build-asan}
logs=()
rc=0

if ! bash scripts/build.sh; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
rm -f "$BUILD_DIR/meson-logs/testlog.json"
meson test -C "$BUILD_DIR" --print-errorlogs --num-processes "$(nproc)" ${TRUSTSIM_TEST_ARGS:---no-suite long} || rc=1
logs+=("$BUILD_DIR/meson-logs/testlog.json")

if [ "${TRUSTSIM_SANITIZE:-1}" != "0" ]; then
  echo "== sanitizer build (ASan + UBSan) =="
  if [ ! -f "$ASAN_DIR/build.ninja" ]; then
    # -O1 -g1: what ASan's authors advise, and a third of the compile time of
    # -O2 -g on our template-heavy sources (line numbers stay in reports).
    meson setup "$ASAN_DIR" -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=false -Dbench=false \
      -Doptimization=1 -Dcpp_args=-g1 -Dc_args=-g1 >/dev/null || rc=1
  fi
  if meson compile -C "$ASAN_DIR" >/dev/null; then
    rm -f "$ASAN_DIR/meson-logs/testlog.json"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      meson test -C "$ASAN_DIR" --print-errorlogs --num-processes "$(nproc)" \
      --suite unit --suite system --suite scenario || rc=1
    logs+=("$ASAN_DIR/meson-logs/testlog.json")
  else
    echo "sanitizer build failed"
    rc=1
    logs+=("missing-sanitizer-build")
  fi
fi

python3 - "${logs[@]}" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            for line in f:
                r = json.loads(line)["result"]
                if r in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif r == "SKIP":
                    skipped += 1
                else:
                    failed += 1
    except FileNotFoundError:
        failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $rc
