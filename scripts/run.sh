#!/usr/bin/env bash
# The main job: installs what is missing, builds Capsule (release) and runs
# it. With no arguments `capsule run` boots the default guest (Debian's
# i386 kernel with a busybox initramfs), fetching the guest files first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product capsule >&2
if [ $# -eq 0 ]; then set -- run; fi
exec .build/release/capsule "$@"
