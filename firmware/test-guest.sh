#!/bin/sh
# Boot the extlinux + Debian i386 guest disk (testimages/guest/build-guest.sh)
# with the Capsule BIOS on QEMU, headless, and check that the bootloader
# runs and the Linux kernel starts and reaches its shell.
# Usage: firmware/test-guest.sh [disk.img]
# Default disk: $CAPSULE_GUEST_DIR/disk.img or ~/.cache/capsule/guest/disk.img.
# Exit 0 = booted, 1 = failed, 77 = no disk image (skipped).
set -eu
cd "$(dirname "$0")"
disk=${1:-${CAPSULE_GUEST_DIR:-$HOME/.cache/capsule/guest}/disk.img}
if [ ! -f "$disk" ]; then
    echo "firmware/test-guest.sh: $disk not found, skipping" >&2
    exit 77
fi
./build.sh
mkdir -p build
# work on a copy: the guest may write to its disk
cp "$disk" build/guest-copy.img
log=build/guest-serial.log
rm -f "$log"
set +e
timeout 120 qemu-system-i386 -M pc -m 128 -bios build/bios.bin \
    -drive file=build/guest-copy.img,format=raw,if=ide \
    -display none -monitor none -serial file:"$log" -no-reboot &
qpid=$!
ok=1
i=0
while [ $i -lt 110 ]; do
    sleep 1
    i=$((i+1))
    if grep -q "shell ready" "$log" 2>/dev/null; then ok=0; break; fi
    kill -0 $qpid 2>/dev/null || break
done
kill $qpid 2>/dev/null
wait $qpid 2>/dev/null
set -e
rm -f build/guest-copy.img
grep -E "Capsule BIOS|Disk 8|Booting|SYSLINUX|EXTLINUX|Loading|Linux version|shell ready" "$log" || true
if [ $ok -eq 0 ] && grep -q "Linux version" "$log"; then
    echo "firmware/test-guest.sh: PASS (kernel booted to the guest shell)"
    exit 0
fi
echo "firmware/test-guest.sh: FAIL, see firmware/$log" >&2
exit 1
