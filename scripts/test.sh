#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the test ROMs, the
# guest images (Debian's i386 kernel and busybox, fetched with apt) and a
# release build for the guest-heavy tests, then runs every Swift test target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
bash testimages/cpu/build.sh >/dev/null
testimages/guest/build-guest.sh >/dev/null
swift build -c release --product capsule
swift test 2>&1 | tee .build/test-output.txt
