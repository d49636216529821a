#!/bin/sh
# Proves the fuzz runner fails on a finding:
#   check_planted.sh RUN_FUZZ PLANTED_TARGET crash|leak WORKDIR
# Runs the planted target through run_fuzz.sh on a seed that triggers the
# planted crash or leak and checks: exit code 1 (not 0, not 77 = SKIP), the
# sanitizer's report, and a symbolized frame naming the planted function
# with its source file.
set -u
run_fuzz=$1 target=$2 kind=$3 work=$4
rm -rf "$work"; mkdir -p "$work/seeds"
case $kind in
  crash) printf 'CRASH-and-more' >"$work/seeds/x"; report='AddressSanitizer: heap-buffer-overflow'; fn=planted_overflow ;;
  leak) printf 'LEAK-here' >"$work/seeds/x"; report='LeakSanitizer: detected memory leaks'; fn=planted_leak ;;
  *) echo "check_planted.sh: unknown kind $kind" >&2; exit 2 ;;
esac
"$run_fuzz" "$target" "$work/scratch" "$work/seeds" -runs=10 -seed=1 >"$work/log" 2>&1
rc=$?
fail=0
[ $rc -eq 1 ] || { echo "FAIL: the runner exited $rc on a planted $kind, want 1"; fail=1; }
grep -q "$report" "$work/log" || { echo "FAIL: no '$report' in the output"; fail=1; }
grep -Eq "in $fn .*planted_fuzz.cc:[0-9]+" "$work/log" || { echo "FAIL: no symbolized frame '$fn ... planted_fuzz.cc:LINE'"; fail=1; }
if [ $fail -ne 0 ]; then echo "--- output ---"; cat "$work/log"; exit 1; fi
echo "ok: planted $kind -> exit 1, '$report', frame $fn symbolized"
