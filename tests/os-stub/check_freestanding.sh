#!/bin/sh
# usage: check_freestanding.sh CXX NM OBJDUMP PROBE.cc SOURCE... -- FLAGS...
# Compiles each SOURCE for the firmware with -Werror, and fails if an object
# needs a symbol fwlib does not provide or if the probe (a global Engine)
# needs a static constructor.
set -eu
cxx=$1 nm=$2 objdump=$3 probe=$4
shift 4
sources=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do sources="$sources $1"; shift; done
[ $# -gt 0 ] && shift
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# What fwlib provides to freestanding code (fwlib/include/fwlib/fw.h).
allowed='^(memcpy|memmove|memset|memcmp|strlen|__cxa_pure_virtual)$'
status=0
for src in $sources $probe; do
  obj="$out/$(basename "$src").o"
  "$cxx" "$@" -Werror -c "$src" -o "$obj"
  [ "$src" = "$probe" ] && continue
  bad=$("$nm" -u "$obj" | awk '{print $2}' | grep -Ev "$allowed" || true)
  if [ -n "$bad" ]; then
    echo "FAIL: $src needs symbols fwlib does not provide:"; echo "$bad"; status=1
  fi
done
if "$objdump" -h "$out/$(basename "$probe").o" | grep -Eq '\.init_array|\.ctors'; then
  echo "FAIL: a global Engine needs a static constructor (the firmware runs none)"; status=1
fi
[ $status -eq 0 ] && echo "freestanding build OK:$sources"
exit $status
