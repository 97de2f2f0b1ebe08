#!/usr/bin/env bash
# boot-vs-qemu.sh - boot-to-shell wall-clock seconds, Capsule vs QEMU TCG,
# measured in the same run on the same machine.
#
# Boots the yardstick guest (testimages/guest/build-guest.sh: Debian 12 i386
# kernel + busybox initramfs, and the extlinux disk image) under
# qemu-system-i386 (TCG, pentium3, 128 MiB) and under Capsule's release
# build, and times each boot from process start until the guest prints
# "capsule-guest: shell ready" on the serial console.  Then Capsule is told
# "poweroff -f" (so it exits and reports its guest-instruction count on
# stderr); QEMU is killed by its PID.  Runs alternate QEMU/Capsule so a
# change in the shared machine's load hits both alike.
#
# Usage: benchmarks/boot-vs-qemu.sh [--runs N] [--disk] [--disk-only]
#                                   [--only capsule|qemu] [--timeout SEC]
#                                   [--guest DIR] [--logs DIR] [-h|--help]
#   --runs N        boots per emulator and boot kind (default 3)
#   --disk          also boot disk.img through the BIOS and extlinux
#                   (Capsule --disk / QEMU -drive ...,if=ide, scratch copies)
#   --disk-only     only the disk boot
#   --only EMU      only capsule or only qemu
#   --timeout SEC   give up on one boot after SEC seconds (default 1800)
#   --guest DIR     guest files (default $CAPSULE_GUEST_DIR or
#                   ~/.cache/capsule/guest); built when missing
#   --logs DIR      keep each boot's serial output and stderr here
#                   (default: a fresh directory under /tmp)
# Prints a table: emulator, boot kind, per-run seconds, median; the host CPU
# seconds each emulator used (user+sys, all threads); and for Capsule the
# guest instructions executed by the time it exited and the implied MIPS.
# Builds .build/release/capsule when it is missing; installs
# qemu-system-x86 with apt-get when qemu-system-i386 is missing (root only).
set -euo pipefail

prog=${0##*/}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=3
KINDS=direct
ONLY=
TIMEOUT=1800
GUEST=${CAPSULE_GUEST_DIR:-$HOME/.cache/capsule/guest}
LOGS=

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
log() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
        --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
        --runs=*) RUNS=${1#*=}; shift ;;
        --disk) KINDS="direct disk"; shift ;;
        --disk-only) KINDS=disk; shift ;;
        --only) ONLY=${2:?--only needs capsule or qemu}; shift 2 ;;
        --only=*) ONLY=${1#*=}; shift ;;
        --timeout) TIMEOUT=${2:?--timeout needs seconds}; shift 2 ;;
        --timeout=*) TIMEOUT=${1#*=}; shift ;;
        --guest) GUEST=${2:?--guest needs a directory}; shift 2 ;;
        --guest=*) GUEST=${1#*=}; shift ;;
        --logs) LOGS=${2:?--logs needs a directory}; shift 2 ;;
        --logs=*) LOGS=${1#*=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
done
case $RUNS in ''|*[!0-9]*|0) die "--runs must be a positive whole number" ;; esac
case $TIMEOUT in ''|*[!0-9]*|0) die "--timeout must be a positive whole number" ;; esac
case $ONLY in ''|capsule|qemu) ;; *) die "--only takes capsule or qemu" ;; esac
EMUS="qemu capsule"
[ -z "$ONLY" ] || EMUS=$ONLY

command -v python3 >/dev/null 2>&1 || die "python3 is needed for the serial watcher"

# --- Capsule release build
CAPSULE=$ROOT/.build/release/capsule
if [[ " $EMUS " == *" capsule "* ]] && [ ! -x "$CAPSULE" ]; then
    log "building Capsule (swift build -c release --product capsule)"
    (cd "$ROOT" && swift build -c release --product capsule >&2)
    [ -x "$CAPSULE" ] || die "no $CAPSULE after the build"
fi

# --- QEMU
if [[ " $EMUS " == *" qemu "* ]] && ! command -v qemu-system-i386 >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "qemu-system-i386 missing (apt-get install qemu-system-x86)"
    log "installing qemu-system-x86"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-system-x86 >&2
fi

# --- guest files
need=(vmlinuz initrd.gz)
[[ " $KINDS " != *" disk "* ]] || need+=(disk.img)
for f in "${need[@]}"; do
    if [ ! -s "$GUEST/$f" ]; then
        log "guest file $GUEST/$f missing; running testimages/guest/build-guest.sh"
        "$ROOT/testimages/guest/build-guest.sh" --out "$GUEST" >&2
        break
    fi
done
for f in "${need[@]}"; do [ -s "$GUEST/$f" ] || die "no $GUEST/$f"; done

[ -n "$LOGS" ] || LOGS=$(mktemp -d /tmp/boot-vs-qemu.XXXXXX)
mkdir -p "$LOGS"

# --- the machine, noted before the runs (it may be shared)
echo "# boot to shell: Capsule vs QEMU TCG"
echo "date:        $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "host:        $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs online"
echo "load avg:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"
if [[ " $EMUS " == *" capsule "* ]]; then
    echo "capsule:     $CAPSULE ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'), built $(date -u -r "$CAPSULE" '+%Y-%m-%d %H:%M UTC'))"
fi
if [[ " $EMUS " == *" qemu "* ]]; then
    echo "qemu:        $(qemu-system-i386 --version | head -1)"
fi
echo "guest:       $GUEST ($(grep -m1 '^kernel-release' "$GUEST/MANIFEST" 2>/dev/null | cut -d' ' -f2 || echo '?'))"
echo "runs:        $RUNS per emulator and boot kind, kinds: $KINDS; serial logs in $LOGS"
echo

exec python3 - "$CAPSULE" "$GUEST" "$LOGS" "$RUNS" "$TIMEOUT" "$KINDS" "$EMUS" <<'PY'
import os, re, select, shutil, signal, statistics, subprocess, sys, time

capsule, guest, logs, runs, timeout, kinds, emus = sys.argv[1:]
runs, timeout = int(runs), int(timeout)
kinds, emus = kinds.split(), emus.split()
MARKER = b"capsule-guest: shell ready"
APPEND = "console=ttyS0 acpi=off"
K, I, D = (os.path.join(guest, f) for f in ("vmlinuz", "initrd.gz", "disk.img"))

def command(emu, kind, disk):
    if emu == "capsule":
        if kind == "direct":
            return [capsule, "run", "--kernel", K, "--initrd", I, "--append", APPEND, "--memory", "128M"]
        return [capsule, "run", "--disk", disk, "--memory", "128M"]
    q = ["qemu-system-i386", "-accel", "tcg", "-M", "pc", "-cpu", "pentium3", "-m", "128",
         "-display", "none", "-serial", "stdio", "-no-reboot"]
    if kind == "direct":
        return q + ["-kernel", K, "-initrd", I, "-append", APPEND]
    return q + ["-drive", f"file={disk},format=raw,if=ide"]

def boot(emu, kind, n):
    tag = f"{emu}-{kind}-{n}"
    disk = None
    if kind == "disk":
        disk = os.path.join(logs, f"{tag}.img")
        shutil.copyfile(D, disk)
    out = open(os.path.join(logs, f"{tag}.serial"), "wb")
    err = open(os.path.join(logs, f"{tag}.stderr"), "w+b")
    cmd = command(emu, kind, disk)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
    fd = p.stdout.fileno()
    tail, ready, eof = b"", None, False
    while ready is None and not eof:
        left = t0 + timeout - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([fd], [], [], min(left, 5))
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            eof = True
            break
        out.write(chunk)
        buf = tail + chunk
        if MARKER in buf:
            ready = time.monotonic() - t0
        tail = buf[-len(MARKER):]
    instructions = None
    reaped = None  # (exit status, rusage) once waited for

    def reap(flags):
        # wait4 on the PID (not Popen.poll) to get the child's CPU time, all threads.
        nonlocal reaped
        if reaped is None:
            pid, status, ru = os.wait4(p.pid, flags)
            if pid:
                reaped = (os.waitstatus_to_exitcode(status), ru)
        return reaped

    if ready is not None and emu == "capsule":
        # Let it power off so it reports its instruction count.
        try:
            p.stdin.write(b"\npoweroff -f\n"); p.stdin.flush()
        except BrokenPipeError:
            pass
        deadline = time.monotonic() + 300
        while reap(os.WNOHANG) is None and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 1)
            if r:
                chunk = os.read(fd, 65536)
                if chunk:
                    out.write(chunk)
                else:
                    time.sleep(0.2)
    if reap(os.WNOHANG) is None:
        os.kill(p.pid, signal.SIGTERM if emu == "qemu" else signal.SIGKILL)
    status, ru = reap(0)
    p.returncode = status
    cpu = ru.ru_utime + ru.ru_stime
    exited = time.monotonic() - t0
    # drain whatever is left
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            out.write(chunk)
    except OSError:
        pass
    out.close()
    err.seek(0)
    m = re.search(rb"after (\d+) instructions", err.read())
    if m:
        instructions = int(m.group(1))
    err.close()
    if disk:
        os.remove(disk)
    state = f"{ready:.1f} s" if ready is not None else ("EOF" if eof else "TIMEOUT")
    extra = f", {instructions} instructions at exit ({exited:.1f} s)" if instructions else ""
    print(f"  {tag:<18} shell ready: {state}, host CPU {cpu:.1f} s, exit status {p.returncode}{extra}",
          file=sys.stderr, flush=True)
    return dict(ready=ready, cpu=cpu, instructions=instructions, exited=exited)

results = {(e, k): [] for e in emus for k in kinds}
for k in kinds:
    for n in range(1, runs + 1):
        for e in emus:
            results[(e, k)].append(boot(e, k, n))

def fmt(xs, f="{:.1f}"):
    return " / ".join("—" if x is None else f.format(x) for x in xs)

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

print("| emulator | boot | boot-to-shell s, per run | median s | host CPU s, per run | median CPU s |")
print("|---|---|---|---|---|---|")
for (e, k), rs in results.items():
    name = "Capsule" if e == "capsule" else "QEMU TCG"
    ready = [r["ready"] for r in rs]
    cpu = [r["cpu"] for r in rs]
    mr, mc = med(ready), med(cpu)
    print(f"| {name} | {k} | {fmt(ready)} | {'—' if mr is None else f'{mr:.1f}'} | {fmt(cpu)} | {'—' if mc is None else f'{mc:.1f}'} |")
print()

for k in kinds:
    if ("capsule", k) in results and ("qemu", k) in results:
        c, q = med([r["ready"] for r in results[("capsule", k)]]), med([r["ready"] for r in results[("qemu", k)]])
        if c and q:
            print(f"{k}: Capsule/QEMU median boot-to-shell ratio {c / q:.1f}x")
for k in kinds:
    rs = results.get(("capsule", k), [])
    for n, r in enumerate(rs, 1):
        if r["instructions"]:
            i = r["instructions"]
            print(f"Capsule {k} run {n}: {i:,} guest instructions by exit ({r['exited']:.1f} s wall, "
                  f"{r['cpu']:.1f} s CPU) -> {i / r['exited'] / 1e6:.1f} MIPS wall, {i / r['cpu'] / 1e6:.1f} MIPS CPU")
print(f"load avg at end: {' '.join(open('/proc/loadavg').read().split()[:3])}")
bad = [1 for rs in results.values() for r in rs if r["ready"] is None]
sys.exit(1 if bad else 0)
PY
