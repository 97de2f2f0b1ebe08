#!/usr/bin/env bash
# The main job: installs what is missing, builds Capsule (release) and runs
# it. With no arguments it runs the embedded default demonstration.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product capsule >&2
if [ $# -gt 0 ]; then
  exec .build/release/capsule "$@"
fi
# Until the PC board boots Linux, the default job runs the CPU test ROMs.
bash testimages/cpu/build.sh >/dev/null
status=0
for rom in testimages/cpu/build/*.bin; do
  echo "== $(basename "$rom")"
  .build/release/capsule run --firmware "$rom" --memory 16M --post-codes --serial stdio --max-instructions 100000000 2>&1 | grep -E "RESULT|stopped" || status=1
done
exit $status
