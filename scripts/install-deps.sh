#!/usr/bin/env bash
# Installs the Debian packages Capsule's build, tests and guest scripts
# need, when they are missing. Safe to run repeatedly; needs root (or sudo)
# only when something is actually missing.
set -euo pipefail

packages=(nasm gcc-multilib liblz4-dev libssl-dev pkg-config cpio binutils gdb e2fsprogs)
need=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done

if [ ${#need[@]} -gt 0 ]; then
  echo "capsule: installing ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
