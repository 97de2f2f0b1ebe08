#!/usr/bin/env bash
# selftest.sh - boot the guest that build-guest.sh made under QEMU (TCG, the
# serial console on stdio), drive its shell non-interactively and check it.
#
# Usage: selftest.sh [GUEST_DIR]     (default ${CAPSULE_GUEST_DIR:-~/.cache/capsule/guest})
# Env:   QEMU_TIMEOUT  seconds allowed per boot (default 300)
#        KEEP_LOGS=1   keep the serial transcripts (printed at the end)
# Installs qemu-system-x86 with apt-get when qemu-system-i386 is missing.
set -euo pipefail

prog=${0##*/}
DIR=${1:-${CAPSULE_GUEST_DIR:-$HOME/.cache/capsule/guest}}
TMO=${QEMU_TIMEOUT:-300}
log() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }

for f in vmlinuz initrd.gz disk.img; do
    [ -f "$DIR/$f" ] || die "$DIR/$f missing; run build-guest.sh first"
done
if ! command -v qemu-system-i386 >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "qemu-system-i386 missing (apt-get install qemu-system-x86)"
    log "installing qemu-system-x86"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-system-x86 >&2
fi
for c in cpio gzip; do command -v "$c" >/dev/null || die "$c missing"; done

T=$(mktemp -d "${TMPDIR:-/tmp}/capsule-selftest.XXXXXX")
QPID=
cleanup() {
    if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then kill "$QPID" 2>/dev/null || true; fi
    if [ "${KEEP_LOGS:-0}" = 1 ]; then log "transcripts kept in $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

PASS=0 FAIL=0
ok()  { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }

now() { date +%s.%N; }

# start_qemu LOGNAME ARGS...: QEMU runs as a coprocess; its serial console
# output is on ${Q[0]}, its serial input on ${Q[1]}; a copy goes to $T/LOG.
start_qemu() {
    local name=$1; shift
    LOG=$T/$name.log
    : > "$LOG"
    T0=$(now)
    coproc Q { exec timeout "$TMO" qemu-system-i386 -accel tcg -M pc -cpu pentium3 -m 128 \
        -display none -serial stdio -monitor none -no-reboot "$@" 2>&1; }
    QPID=$Q_PID
    QIN=${Q[1]} QOUT=${Q[0]}
}

# wait_for REGEX SECONDS: read serial lines until one matches; sets LINE.
wait_for() {
    local re=$1 limit=$2 end line
    end=$(( $(date +%s) + limit ))
    while [ "$(date +%s)" -lt "$end" ]; do
        if { IFS= read -r -t 5 line <&"$QOUT"; } 2>/dev/null; then
            line=${line%$'\r'}
            printf '%s\n' "$line" >> "$LOG"
            if [[ $line =~ $re ]]; then LINE=$line; return 0; fi
        else
            # timeout, or EOF because QEMU is gone
            [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null || return 1
            sleep 0.1
        fi
    done
    return 1
}

CMDN=0
# run_cmd 'COMMAND' : type it at the guest shell, wait for its exit status.
run_cmd() {
    CMDN=$((CMDN + 1))
    printf '%s; echo "@@done-%d@@ $?"\n' "$1" "$CMDN" >&"$QIN"
    if wait_for "^@@done-$CMDN@@ ([0-9]+)" 120; then
        STATUS=${BASH_REMATCH[1]}
        [ "$STATUS" = 0 ]
    else
        STATUS=timeout
        return 1
    fi
}
# out_has REGEX: did the transcript since the last command contain REGEX?
mark() { MARK=$(wc -l < "$LOG"); }
since_mark() { tail -n +"$((MARK + 1))" "$LOG"; }

check() { # DESCRIPTION COMMAND [REGEX that its output must contain]
    local desc=$1 cmd=$2 re=${3:-}
    mark
    if run_cmd "$cmd"; then
        if [ -z "$re" ] || since_mark | grep -Eq -- "$re"; then ok "$desc"; else bad "$desc (output lacks /$re/)"; fi
    else
        bad "$desc (status $STATUS)"
    fi
}

# wait_exit SECONDS: does QEMU exit by itself within SECONDS?
wait_exit() {
    local end=$(( $(date +%s) + $1 )) line
    while kill -0 "$QPID" 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do
        if { IFS= read -r -t 2 line <&"$QOUT"; } 2>/dev/null; then
            printf '%s\n' "${line%$'\r'}" >> "$LOG"
        else
            sleep 0.2
        fi
    done
    if kill -0 "$QPID" 2>/dev/null; then return 1; fi
    wait "$QPID" 2>/dev/null || true
    QPID=
    return 0
}
stop_qemu() {
    if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
        kill "$QPID" 2>/dev/null || true
        wait "$QPID" 2>/dev/null || true
    fi
    QPID=
}

shell_checks() { # DISKDEV
    check "uname -a" "uname -a" 'Linux capsule 6\.1\.0-[0-9]+-686 .* i686 GNU/Linux'
    check "/proc/cpuinfo" "cat /proc/cpuinfo" 'model name'
    check "PCI devices in sysfs" "ls /sys/bus/pci/devices" '0000:00:01\.1'
    check "IDE disk and partition present" "sleep 1; ls /sys/block; cat /proc/partitions" 'sda1'
    check "$DISK_FS partition mounts read-write" \
        "mount -t $DISK_FS -o rw /dev/$1 /mnt && grep ' /mnt ' /proc/mounts" "/mnt $DISK_FS rw"
    check "write, sync and read back on $DISK_FS" \
        "grep -q ' /mnt ' /proc/mounts && echo capsule-rw-\$\$ > /mnt/rwtest && sync && cat /mnt/rwtest && rm /mnt/rwtest" 'capsule-rw-[0-9]+'
    check "kernel/initrd present on the partition" "ls -lR /mnt/boot" 'ldlinux\.sys'
    check "umount" "umount /mnt"
    check "modules loaded" "lsmod | grep -E '^(ata_piix|ext4|sd_mod|sr_mod|virtio_pci|virtio_balloon) ' | sort" '^virtio_pci +[0-9]+'
    check "job control on the console (cttyhack)" "sleep 30 & jobs; kill %1" '\[1\]'
}

DISK_FS=$(awk '$1 == "disk-fs" { print $2 }' "$DIR/MANIFEST" 2>/dev/null)
DISK_FS=${DISK_FS:-ext4}
cp "$DIR/disk.img" "$T/disk.img"   # scratch copy: the checks write to it
truncate -s 1M "$T/vd.img"          # blank virtio-blk disk

# 1. kernel + initrd, acpi=off (as the emulator will do it at first)
log "boot 1: -kernel/-initrd, acpi=off, disk on IDE, virtio-blk + virtio-balloon"
start_qemu kernel-initrd -kernel "$DIR/vmlinuz" -initrd "$DIR/initrd.gz" \
    -append "console=ttyS0 acpi=off" -drive "file=$T/disk.img,format=raw,if=ide" \
    -drive "file=$T/vd.img,format=raw,if=virtio" -device virtio-balloon-pci
if wait_for 'capsule-guest: shell ready' "$TMO"; then
    BOOT1=$(awk -v a="$(now)" -v b="$T0" 'BEGIN { printf "%.1f", a - b }')
    ok "kernel+initrd boots to the shell in ${BOOT1}s (QEMU TCG)"
    grep -E 'capsule-guest: [0-9]+ modules loaded' "$LOG" | sed 's/^/     /'
    shell_checks sda1
    check "virtio-blk disk (virtio_pci + virtio_blk)" "cat /sys/block/vda/size" '^2048'
    check "virtio-balloon bound to its driver" "ls /sys/bus/virtio/drivers/virtio_balloon" 'virtio[0-9]'
    printf 'poweroff -f\n' >&"$QIN"
    if wait_exit 30; then ok "poweroff -f (acpi=off) made QEMU exit"
    else echo "note - poweroff -f with acpi=off did not make QEMU exit within 30s (no ACPI PM to power off with): $(tail -n 2 "$LOG" | tr -d '\r' | tr '\n' ' ')"; fi
else
    bad "kernel+initrd did not reach the shell within ${TMO}s"
fi
stop_qemu

# 2. the disk alone: BIOS -> MBR -> extlinux -> kernel+initrd from ext4
log "boot 2: disk.img on IDE, extlinux"
start_qemu disk -drive "file=$T/disk.img,format=raw,if=ide"
if wait_for 'capsule-guest: shell ready' "$TMO"; then
    BOOT2=$(awk -v a="$(now)" -v b="$T0" 'BEGIN { printf "%.1f", a - b }')
    ok "disk.img boots through its boot loader to the shell in ${BOOT2}s (QEMU TCG)"
    check "booted with console=ttyS0 from extlinux.conf" "cat /proc/cmdline" 'console=ttyS0'
    shell_checks sda1
    printf 'poweroff -f\n' >&"$QIN"
    if wait_exit 60; then ok "poweroff -f (ACPI) made QEMU exit"
    else bad "poweroff -f with ACPI did not make QEMU exit"; fi
else
    bad "disk.img did not reach the shell within ${TMO}s"
fi
stop_qemu

# 3. capsule.poweroff with an /etc/capsule-autorun appended as a second cpio
log "boot 3: capsule.poweroff with an appended /etc/capsule-autorun"
mkdir -p "$T/extra/etc"
cat > "$T/extra/etc/capsule-autorun" <<'EOF'
echo "autorun: $(uname -r) $(grep -c ^processor /proc/cpuinfo) cpu"
echo "autorun-ok"
EOF
(cd "$T/extra" && printf 'etc\netc/capsule-autorun\n' | cpio -o -H newc -R 0:0 --quiet) | gzip -9n > "$T/extra.gz"
cat "$DIR/initrd.gz" "$T/extra.gz" > "$T/initrd-autorun.gz"
start_qemu autorun -kernel "$DIR/vmlinuz" -initrd "$T/initrd-autorun.gz" \
    -append "console=ttyS0 capsule.poweroff"
if wait_for '^autorun-ok' "$TMO"; then ok "capsule.poweroff runs /etc/capsule-autorun"
else bad "autorun did not run"; fi
if wait_exit 60; then ok "capsule.poweroff: QEMU exited after the autorun"
else bad "capsule.poweroff: QEMU still running 60s after the autorun"; fi
stop_qemu

if [ "${KEEP_LOGS:-0}" = 1 ]; then
    for l in "$T"/*.log; do echo "=== $l"; cat "$l"; done
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
