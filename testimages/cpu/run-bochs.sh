#!/bin/sh
# Build all CPU test ROMs and run the SDM-strict images (build/) under Bochs
# as a second reference (Bochs checks segment limits/types, which QEMU TCG
# does not).  Needs: apt-get install bochs bochs-term seabios (for a VGA ROM).
# Usage: run-bochs.sh [-cpu MODEL] [test-name ...]   (default p3_katmai)
cd "$(dirname "$0")"
CPU=p3_katmai
if [ "$1" = "-cpu" ]; then CPU=$2; shift 2; fi
./build.sh >/dev/null || exit 1
if [ $# -eq 0 ]; then set -- $(ls t*.asm | sed 's/\.asm$//'); fi
TIMEOUT=${TIMEOUT:-40}
VGA=
for f in /usr/share/bochs/VGABIOS-lgpl-latest /usr/share/seabios/vgabios-stdvga.bin; do
    if [ -f "$f" ]; then VGA=$f; break; fi
done
mkdir -p build/bochs
echo c > build/bochs/cont.cmd
pass=0; fail=0; failed=""
for name in "$@"; do
    log=build/bochs/$name.com1.txt
    rc=build/bochs/$name.rc
    rm -f "$log"
    cat > "$rc" <<RC
megs: 16
romimage: file=build/$name.bin
vgaromimage: file=$VGA
cpu: model=$CPU, ips=50000000, ignore_bad_msrs=0
display_library: term
com1: enabled=1, mode=file, dev=$log
log: build/bochs/$name.log
panic: action=report
error: action=report
clock: sync=none
pci: enabled=0
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
RC
    # Debian's bochs has the debugger built in: "c" continues from the reset
    # vector; "script" supplies the terminal the term display needs.
    timeout $((TIMEOUT + 5)) script -qc "bochs -q -f $rc -rc build/bochs/cont.cmd" /dev/null >/dev/null 2>&1 &
    bpid=$!
    t=0
    while [ $t -lt $((TIMEOUT * 10)) ]; do
        if grep -q '^RESULT:' "$log" 2>/dev/null; then break; fi
        if ! kill -0 $bpid 2>/dev/null; then break; fi
        sleep 0.1; t=$((t + 1))
    done
    sleep 0.2
    kill $bpid 2>/dev/null; wait $bpid 2>/dev/null
    res=$(grep '^RESULT:' "$log" 2>/dev/null | tail -1 | tr -d '\r')
    checks=$(grep '^CHECKS:' "$log" 2>/dev/null | tail -1 | tr -d '\r')
    [ -z "$res" ] && res="RESULT: none (timeout or crash)"
    printf '%-14s %-22s %s\n' "$name" "$res" "$checks"
    grep -E '^(FAIL|SKIP|XFAIL)' "$log" 2>/dev/null | tr -d '\r' | sed 's/^/    /'
    case "$res" in "RESULT: PASS") pass=$((pass + 1));; *) fail=$((fail + 1)); failed="$failed $name";; esac
done
echo "Bochs -cpu $CPU (build, strict): $pass passed, $fail failed${failed:+ ($failed )}"
[ $fail -eq 0 ]
