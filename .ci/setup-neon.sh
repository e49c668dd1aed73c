#!/usr/bin/env bash
# Installs what tests/kernels/test_neon_qemu.py needs to run (not skip): an
# aarch64 cross g++ and user-mode qemu (Debian/Ubuntu packages). Idempotent:
# does nothing when both are already on PATH. Needs root (or sudo) for apt-get.
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

if have aarch64-linux-gnu-g++ && { have qemu-aarch64 || have qemu-aarch64-static; }; then
  exit 0
fi
if ! have apt-get; then
  echo "setup-neon: no apt-get; install an aarch64 cross g++ and qemu-user yourself" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu qemu-user
