#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds the test ROMs and
# runs every Swift test target. Guest-heavy tests use a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
bash testimages/cpu/build.sh >/dev/null
swift build -c release --product capsule
swift test 2>&1 | tee .build/test-output.txt
