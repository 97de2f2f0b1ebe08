#!/bin/sh
# Build all CPU test ROMs and run each one under QEMU (TCG), summarizing.
# Usage: run-qemu.sh [--strict] [-cpu MODEL] [test-name ...]  (default -cpu pentium3)
# By default the build/qemu/ images are run (known QEMU deviations -> XFAIL);
# --strict runs the SDM-strict build/ images instead.
cd "$(dirname "$0")"
CPU=pentium3
DIR=build/qemu
if [ "$1" = "--strict" ]; then DIR=build; shift; fi
if [ "$1" = "-cpu" ]; then CPU=$2; shift 2; fi
./build.sh >/dev/null || exit 1
if [ $# -eq 0 ]; then set -- $(ls t*.asm | sed 's/\.asm$//'); fi
TIMEOUT=${TIMEOUT:-20}
pass=0; fail=0; failed=""
for name in "$@"; do
    log=$DIR/$name.qemu-$CPU.log
    rm -f "$log"
    qemu-system-i386 -M pc -cpu "$CPU" -m 16 -bios "$DIR/$name.bin" \
        -display none -serial "file:$log" -monitor none -no-reboot 2>"$log.err" &
    qpid=$!
    t=0
    while [ $t -lt $((TIMEOUT * 10)) ]; do
        if grep -q '^RESULT:' "$log" 2>/dev/null; then break; fi
        if ! kill -0 $qpid 2>/dev/null; then break; fi
        sleep 0.1; t=$((t + 1))
    done
    sleep 0.2
    kill $qpid 2>/dev/null; wait $qpid 2>/dev/null
    res=$(grep '^RESULT:' "$log" | tail -1 | tr -d '\r')
    checks=$(grep '^CHECKS:' "$log" | tail -1 | tr -d '\r')
    [ -z "$res" ] && res="RESULT: none (timeout or crash)"
    printf '%-14s %-22s %s\n' "$name" "$res" "$checks"
    grep -E '^(FAIL|SKIP|XFAIL)' "$log" | tr -d '\r' | sed 's/^/    /'
    case "$res" in "RESULT: PASS") pass=$((pass + 1));; *) fail=$((fail + 1)); failed="$failed $name";; esac
done
echo "QEMU -cpu $CPU ($DIR): $pass passed, $fail failed${failed:+ ($failed )}"
[ $fail -eq 0 ]
