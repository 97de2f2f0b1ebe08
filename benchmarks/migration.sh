#!/usr/bin/env bash
# migration.sh - the migration experiments of Sapuntzakis et al.,
# "Optimizing the Migration of Virtual Computers" (OSDI 2002), with
# Capsule and the Linux guest, over a link shaped to 384 kbit/s.
#
# Usage: benchmarks/migration.sh [--bandwidth RATE] [--latency DELAY]
#                                [--only LIST] [--work DIR] [--serial]
#   --bandwidth RATE  the link (default 384kbit)
#   --latency DELAY   one-way latency (default 20ms)
#   --only LIST       comma-separated subset of: ablation, commute, update,
#                     netns (default: all; netns needs root and iproute2)
#   --work DIR        scratch directory (default /tmp/capsule-migration-bench);
#                     the booted capsule is kept there and reused
#   --serial          run the ablation rows one after the other (default: at
#                     the same time, each over its own shaped connection: the
#                     link is per connection, so they do not share it)
#
# The capsule: Debian 12's i386 kernel with the busybox initramfs and the
# 64 MiB ext4 disk (testimages/guest), 64 MiB RAM, booted to its shell and
# suspended there.  Every transfer is a real `capsule serve` / `capsule
# migrate` pair over TCP; the sender's token bucket shapes the link
# (--bandwidth/--latency), and in the netns part the kernel does instead
# (two network namespaces, a veth pair, netem with rate and delay on both
# ends, or tbf where the kernel has no netem; TLS with a pre-shared key).
#
# 1. ablation: first migration to an empty receiver; no optimisation, then
#    copy-on-write, balloon, hashing, LZ4 and demand paging added one by one.
#    Zero blocks never travel in any row (the page map and layer tables do
#    not name them).  The last row's "until runnable" is the receiver's
#    guest starting (`serve --run`, demand paging).
# 2. commute: the capsule migrates to the receiver, the guest works there
#    (edits files on its disk, runs programs), and it migrates back home,
#    where the old version still is.
# 3. update: a new version of the capsule (a "package" installed into its
#    disk, sealed as a new layer on suspend) is sent to a receiver holding
#    the old version.
# 4. time until the guest runs with and without demand paging: the
#    ablation's last two rows.
# 5. netns: the all-optimisations row (without demand paging, and with it)
#    over the kernel-shaped link.
#
# Prints one table per part; the numbers for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BW=384kbit
LAT=20ms
ONLY=ablation,commute,update,netns
WORK=/tmp/capsule-migration-bench
PARALLEL=1
while [ $# -gt 0 ]; do
    case "$1" in
        --bandwidth) BW=$2; shift 2 ;;
        --latency) LAT=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        --serial) PARALLEL=0; shift ;;
        -h|--help) sed -n '2,42p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

command -v python3 >/dev/null || { apt-get install -y python3-minimal >/dev/null; }
scripts/install-deps.sh >/dev/null
GUEST=${CAPSULE_GUEST_DIR:-$HOME/.cache/capsule/guest}
[ -f "$GUEST/disk.img" ] || testimages/guest/build-guest.sh >/dev/null
swift build -c release --product capsule >/dev/null   # quick when up to date
C=$ROOT/.build/release/capsule
mkdir -p "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# The booted capsule, suspended at its shell prompt (kept between runs).
BASE=$WORK/base
if [ ! -f "$BASE/ready" ]; then
    rm -rf "$BASE"
    echo "booting the guest to its shell (once)..." >&2
    $C create vm --store "$BASE" --kernel "$GUEST/vmlinuz" --initrd "$GUEST/initrd.gz" \
        --append "console=ttyS0" --disk "$GUEST/disk.img" --memory 64M >/dev/null
    $C run vm --store "$BASE" --serial file:"$WORK/boot.log" --suspend-after 0 --suspend-on "text:shell ready" 2>"$WORK/boot.err"
    touch "$BASE/ready"
fi

# guest STORE COMMANDS: types COMMANDS at the guest's shell, waits for them
# to finish (the last command echoes a marker the typed line cannot
# contain), and suspends the capsule.
guest() {
    local store=$1 cmds=$2
    (sleep 0.3; printf '%s; echo BENCH-DONE-$((40+2))\n' "$cmds") |
        $C run vm --store "$store" --serial stdio --suspend-after 0 --suspend-on "text:BENCH-DONE-42" >"$store.guest.log" 2>&1
}

# serve STORE [OPTIONS...]: starts `capsule serve` on a free loopback port
# in the background; sets SERVE_PID and ADDR; its stderr goes to STORE.serve.
serve() {
    local store=$1; shift
    $C serve --listen 127.0.0.1:0 --store "$store" --json "$@" >"$store.serve.out" 2>"$store.serve" </dev/null &
    SERVE_PID=$!
    PIDS+=("$SERVE_PID")
    for _ in $(seq 100); do grep -q "listening on" "$store.serve" 2>/dev/null && break; sleep 0.1; done
    ADDR=$(sed -n 's/.*listening on \([^,]*\),.*/\1/p' "$store.serve" | head -1)
}

# report FILE FIELD...: fields of the (last) JSON report in FILE.
report() {
    python3 - "$@" <<'EOF'
import json, sys
try:
    text = open(sys.argv[1]).read()
    end = text.rindex("}") + 1
except (OSError, ValueError):
    print(" ".join("-" for _ in sys.argv[2:])); sys.exit(0)
depth, start = 0, end
for i in range(end - 1, -1, -1):
    if text[i] == "}": depth += 1
    elif text[i] == "{":
        depth -= 1
        if depth == 0: start = i; break
try:
    r = json.loads(text[start:end])
except ValueError:
    r = {}
out = []
for f in sys.argv[2:]:
    v = r
    for k in f.split("."): v = v.get(k) if isinstance(v, dict) else None
    out.append("-" if v is None else str(v))
print(" ".join(out))
EOF
}

mib() { python3 -c "print('%.2f' % ($1 / 1048576))"; }

# fresh DIR: an empty DIR with a copy of the booted capsule in DIR/home.
fresh() { rm -rf "$1"; mkdir -p "$1"; cp -a "$BASE" "$1/home"; }

# send FROM TO JSON: migrates the capsule from store FROM to a `capsule
# serve` on store TO over the shaped link, keeping the sender's copy; the
# report goes to JSON (and the sender's stderr next to it).
send() {
    serve "$2" --connections 1
    $C migrate vm --to "$ADDR" --store "$1" --keep --json --bandwidth "$BW" --latency "$LAT" >"$3" 2>"${3%.json}.err" ||
        kill "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" || true
}

# migrate_row NAME SERVE_OPTS -- MIGRATE_OPTS: one first migration from a
# copy of the booted capsule to an empty receiver; writes NAME.row.
migrate_row() {
    local name=$1; shift
    local sopts=() mopts=()
    while [ "$1" != "--" ]; do sopts+=("$1"); shift; done; shift
    mopts=("$@")
    local d=$WORK/ablation/$name
    fresh "$d"
    serve "$d/away" --connections 1 "${sopts[@]}"
    local t0=$(date +%s.%N)
    $C migrate vm --to "$ADDR" --store "$d/home" --keep --json --bandwidth "$BW" --latency "$LAT" "${mopts[@]}" >"$d/migrate.json" 2>"$d/migrate.err" ||
        { echo "$name: migrate failed: $(tail -1 "$d/migrate.err")" >&2; kill "$SERVE_PID" 2>/dev/null || true; }
    local t1=$(date +%s.%N)
    wait "$SERVE_PID" || true
    local r; r=$(report "$d/migrate.json" totalWireBytes totalSeconds wireBytes.memory wireBytes.disk skipped.balloon compressionRatio)
    local runnable; runnable=$(report "$d/away.serve" secondsUntilRunnable)
    echo "$name $r $runnable $(python3 -c "print('%.1f' % ($t1 - $t0))")" >"$d/row"
}

if want ablation; then
    echo "ablation at $BW, $LAT (rows $( [ $PARALLEL = 1 ] && echo "at the same time" || echo "one by one"))..." >&2
    rows=(
        "baseline -- --no-hashing --no-cow --no-lz4 --balloon off"
        "+cow -- --no-hashing --no-lz4 --balloon off"
        "+balloon -- --no-hashing --no-lz4 --balloon auto"
        "+hashing -- --no-lz4 --balloon auto"
        "+lz4 -- --balloon auto"
        "+demand --run --serial none --max-instructions 200000000 -- --balloon auto --demand"
    )
    jobs_=()
    for row in "${rows[@]}"; do
        # shellcheck disable=SC2086
        if [ $PARALLEL = 1 ]; then migrate_row $row & jobs_+=($!); else migrate_row $row; fi
    done
    for j in "${jobs_[@]}"; do wait "$j"; done
    echo
    echo "1. First migration to an empty receiver, $BW, $LAT"
    printf '%-10s %12s %9s %9s %9s %8s %6s %10s %10s %8s\n' row "wire bytes" MiB memory disk balloon lz4 "transfer s" "runnable s" "wall s"
    for row in "${rows[@]}"; do
        set -- $row
        read -r n bytes secs mem disk bal ratio runnable wall <"$WORK/ablation/$1/row"
        [ "$runnable" = "-" ] && runnable=$secs
        printf '%-10s %12s %9s %9s %9s %8s %6s %10s %10s %8s\n' "$n" "$bytes" "$(mib "$bytes")" "$(mib "$mem")" "$(mib "$disk")" "$bal" "$ratio" "$secs" "$runnable" "$wall"
    done
    echo "(memory, disk: MiB on the wire; balloon: pages not sent; runnable: until the guest can run on the receiver;"
    echo " wall: the migrate command, balloon inflation included)"
fi

if want commute; then
    echo "commute..." >&2
    d=$WORK/commute
    fresh "$d"
    send "$d/home" "$d/away" "$d/out.json"
    # A session of work at the receiver: edit files, run programs.
    guest "$d/away" "mount -t ext4 /dev/sda1 /mnt && mkdir -p /mnt/work && for i in 1 2 3 4; do seq 1 20000 > /mnt/work/notes\$i.txt; done && sed -i 's/1/one/g' /mnt/work/notes2.txt && dd if=/dev/urandom of=/mnt/work/data.bin bs=64k count=4 2>/dev/null && sha256sum /mnt/work/* && sort -r /mnt/work/notes1.txt | head -3 && sync && du -sk /mnt/work && umount /mnt"
    changed=$(sed -n 's/^\([0-9][0-9]*\)\s*\/mnt\/work.*/\1/p' "$d/away.guest.log" | tail -1)
    send "$d/away" "$d/home" "$d/back.json"
    echo
    echo "2. Commute: out to an empty receiver, work there, back home ($BW, $LAT)"
    printf '%-6s %12s %9s %9s %9s %8s %10s\n' leg "wire bytes" MiB memory disk present "transfer s"
    for leg in out back; do
        read -r bytes secs mem disk present <<<"$(report "$d/$leg.json" totalWireBytes totalSeconds wireBytes.memory wireBytes.disk skipped.present)"
        printf '%-6s %12s %9s %9s %9s %8s %10s\n' "$leg" "$bytes" "$(mib "$bytes")" "$(mib "$mem")" "$(mib "$disk")" "$present" "$secs"
    done
    echo "(files written in the guest's session: ${changed:-?} KiB on disk; present: blocks not sent because home had them)"
fi

if want update; then
    echo "software update..." >&2
    d=$WORK/update
    fresh "$d"
    send "$d/home" "$d/away" "$d/old.json"
    # The new version: a "package" installed into the disk (1 MiB of
    # incompressible payload plus a copy of busybox), sealed as a new layer on suspend.
    guest "$d/home" "mount -t ext4 /dev/sda1 /mnt && mkdir -p /mnt/opt/pkg && dd if=/dev/urandom of=/mnt/opt/pkg/payload.bin bs=64k count=16 2>/dev/null && cp /bin/busybox /mnt/opt/pkg/ && sync && du -sk /mnt/opt/pkg && umount /mnt"
    pkg=$(sed -n 's/^\([0-9][0-9]*\)\s*\/mnt\/opt\/pkg.*/\1/p' "$d/home.guest.log" | tail -1)
    send "$d/home" "$d/away" "$d/new.json"
    echo
    echo "3. Software update: the new version to a receiver holding the old one ($BW, $LAT)"
    printf '%-8s %12s %9s %9s %9s %8s %8s %10s\n' version "wire bytes" MiB memory disk layers present "transfer s"
    for v in old new; do
        read -r bytes secs mem disk lt present <<<"$(report "$d/$v.json" totalWireBytes totalSeconds wireBytes.memory wireBytes.disk layersTransferred skipped.present)"
        printf '%-8s %12s %9s %9s %9s %8s %8s %10s\n' "$v" "$bytes" "$(mib "$bytes")" "$(mib "$mem")" "$(mib "$disk")" "$lt" "$present" "$secs"
    done
    echo "(package installed: ${pkg:-?} KiB; layers: disk layers sent)"
fi

if want netns; then
    if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! command -v tc >/dev/null; then
        echo "5. netns: skipped (needs root, ip and tc)"
    else
        echo "netns..." >&2
        d=$WORK/netns
        rm -rf "$d"; mkdir -p "$d"
        A=capsule-bench-a B=capsule-bench-b
        ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true
        ip netns add $A; ip netns add $B
        netns_cleanup() { ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; cleanup; }
        trap netns_cleanup EXIT
        ip link add cb-a type veth peer name cb-b
        ip link set cb-a netns $A; ip link set cb-b netns $B
        ip -n $A addr add 10.77.0.1/24 dev cb-a; ip -n $B addr add 10.77.0.2/24 dev cb-b
        ip -n $A link set cb-a up; ip -n $B link set cb-b up
        ip -n $A link set lo up; ip -n $B link set lo up
        # The kernel shapes the link now, both ways: netem (rate and delay)
        # where the kernel has it, else tbf for the rate and the sender's
        # --latency for the delay.
        LATOPT=()
        if ip netns exec $A tc qdisc add dev cb-a root netem delay "$LAT" rate "$BW" 2>/dev/null; then
            ip netns exec $B tc qdisc add dev cb-b root netem delay "$LAT" rate "$BW"
            SHAPER="netem $BW + $LAT each way"
        else
            ip netns exec $A tc qdisc add dev cb-a root tbf rate "$BW" burst 4kb latency 500ms
            ip netns exec $B tc qdisc add dev cb-b root tbf rate "$BW" burst 4kb latency 500ms
            LATOPT=(--latency "$LAT")
            SHAPER="tbf $BW each way (no netem in this kernel), $LAT latency from the sender"
        fi
        $C keygen "$d/psk" >/dev/null
        echo
        echo "5. Over a real shaped link: two network namespaces, veth, $SHAPER, TLS (PSK)"
        printf '%-10s %12s %9s %10s %10s\n' row "wire bytes" MiB "transfer s" "runnable s"
        for row in all all+demand; do
            fresh "$d/$row"
            extra=(); sextra=()
            [ $row = all+demand ] && { extra=(--demand); sextra=(--run --serial none --max-instructions 200000000); }
            ip netns exec $B $C serve --listen 10.77.0.2:7900 --store "$d/$row/away" --psk "$d/psk" --connections 1 --json "${sextra[@]}" \
                >"$d/$row/serve.out" 2>"$d/$row/serve.err" </dev/null &
            SERVE_PID=$!; PIDS+=("$SERVE_PID"); sleep 1
            ip netns exec $A $C migrate vm --to 10.77.0.2:7900 --store "$d/$row/home" --psk "$d/psk" --keep --json --balloon auto "${extra[@]}" "${LATOPT[@]}" \
                >"$d/$row/migrate.json" 2>"$d/$row/migrate.err" || kill "$SERVE_PID" 2>/dev/null || true
            wait "$SERVE_PID" || true
            read -r bytes secs <<<"$(report "$d/$row/migrate.json" totalWireBytes totalSeconds)"
            runnable=$secs
            [ $row = all+demand ] && runnable=$(report "$d/$row/serve.err" secondsUntilRunnable)
            printf '%-10s %12s %9s %10s %10s\n' "$row" "$bytes" "$(mib "$bytes")" "$secs" "$runnable"
        done
    fi
fi
