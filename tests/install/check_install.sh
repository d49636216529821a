#!/bin/sh
# Installs the build into a temporary DESTDIR, then builds and runs an
# out-of-tree SystemC program (two_devices.cc) against the installed
# pkg-config file trustsim-models, and checks the QEMU plugin and the
# headers arrived. Usage: check_install.sh BUILD_DIR SOURCE_FILE CXX
set -eu
build=$1 src=$2 cxx=$3
dest=$(mktemp -d /tmp/trustsim-install-XXXXXX)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$dest/install.log" 2>&1 ||
  { cat "$dest/install.log"; echo "check_install: meson install failed"; exit 1; }
prefix=$(meson introspect "$build" --buildoptions | /usr/bin/python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
libdir=$(meson introspect "$build" --buildoptions | /usr/bin/python3 -c \
  'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"))')
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
pcdir=$dest$libdir/pkgconfig
[ -f "$pcdir/trustsim-models.pc" ] || { echo "check_install: no trustsim-models.pc under $pcdir"; exit 1; }
[ -f "$dest$libdir/trustsim/libtrustsim-cosim.so" ] || { echo "check_install: the QEMU plugin was not installed"; exit 1; }
# The .pc file names the final prefix; point it at the DESTDIR copy.
pc() { PKG_CONFIG_PATH=$pcdir pkg-config --define-variable=prefix="$dest$prefix" "$@" trustsim-models; }
for h in devkit/register_table.h devices/crypto_engine.h devices/power_ctrl.h flash-sim/nand_flash.h tpm-sim/tpm_device.h \
         trustsim/crypto_regs.h; do
  [ -f "$dest$prefix/include/trustsim-models/$h" ] || { echo "check_install: header $h not installed"; exit 1; }
done
# shellcheck disable=SC2046
"$cxx" -std=c++17 -o "$dest/two-devices" "$src" $(pc --cflags) $(pc --libs) ||
  { echo "check_install: the out-of-tree program does not build against the installed models"; exit 1; }
SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$dest/two-devices"
