#!/usr/bin/env bash
# Formats every C and C++ source git tracks with the project's .clang-format
# (scripts/format.sh), or checks that they are formatted (scripts/format.sh
# --check: exit 1 naming each file that is not, as the test lint.clang-format
# does). hw-models/plugin/qemu_plugin_api.h is QEMU's interface declared our
# way and stays as its comments lay it out.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every source outside the build directories (no git needed: CI's fresh
# machine may run this from an exported tree).
mapfile -t files < <(find . \( -path './build*' -o -path './.git' \) -prune -o \
  -type f \( -name '*.c' -o -name '*.cc' -o -name '*.h' \) ! -path './hw-models/plugin/qemu_plugin_api.h' -print | sort)
if [ "${1:-}" = "--check" ]; then
  # One clang-format process for every file (one per file took ~50 s of
  # wall time on a loaded 2-core machine); its diagnostics name each file.
  if out=$(clang-format --dry-run --Werror "${files[@]}" 2>&1); then exit 0; fi
  bad=$(printf '%s\n' "$out" | sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u)
  if [ -z "$bad" ]; then
    echo "clang-format failed:"; printf '%s\n' "$out" | head -20; exit 1
  fi
  printf 'not formatted: %s (run scripts/format.sh)\n' $bad
  exit 1
fi
clang-format -i "${files[@]}"
