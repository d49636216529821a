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
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
      echo "not formatted: $f (run scripts/format.sh)"
      bad=1
    fi
  done
  exit $bad
fi
clang-format -i "${files[@]}"
