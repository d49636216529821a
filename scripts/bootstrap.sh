#!/usr/bin/env bash
# Installs the Debian packages trustsim needs. Idempotent: packages already
# present are not touched, and apt-get runs only when something is missing.
set -euo pipefail

PKGS=(
  # build
  meson ninja-build pkg-config g++ python3
  # scenario schema check
  python3-yaml python3-jsonschema
  # guest toolchain and emulator (stock, never rebuilt)
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu binutils-aarch64-linux-gnu
  qemu-system-arm qemu-utils gdb-multiarch
  # host libraries
  libsystemc-dev libssl-dev openssl libyaml-cpp-dev libcli11-dev libfmt-dev nlohmann-json3-dev libre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # the VCD test converts with gtkwave's vcd2fst (a real viewer's reader)
  gtkwave
  # TPM: libtpms inside tpm-sim; swtpm and tpm2-tools for the differential and quote checks
  libtpms-dev swtpm swtpm-dev swtpm-tools tpm2-tools
  # the sanitizer + fuzz build (clang, libFuzzer, ASan/UBSan) and symbolized stacks in its reports
  clang libclang-rt-14-dev llvm
  # the source format check (scripts/format.sh, test lint.clang-format)
  clang-format
  # campaign shards on Slurm: the test starts a private one-node cluster
  slurmctld slurmd slurm-client
  # netxfer: libcurl on the host side; real TFTP and FTP servers for the system tests
  libcurl4-openssl-dev tftpd-hpa python3-pyftpdlib
  # the Auto-Upgrade Manager's status mail: a real SMTP server for the system tests
  python3-aiosmtpd
  # netxfer: a real name server for the ip name-server tests
  dnsmasq-base
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "bootstrap: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "bootstrap: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "bootstrap: done"
