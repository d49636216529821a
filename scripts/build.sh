#!/usr/bin/env bash
# Installs what is missing, configures (once) and builds everything:
# host simulator, QEMU plugin and the aarch64 firmware, in one meson build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  meson setup "$BUILD_DIR" ${MESON_SETUP_ARGS:-}
fi
meson compile -C "$BUILD_DIR"
