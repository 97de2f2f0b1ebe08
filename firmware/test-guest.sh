#!/bin/sh
# Boot real operating-system loaders with the Capsule BIOS on QEMU, headless:
#  1. the extlinux + Debian i386 guest disk (testimages/guest/build-guest.sh):
#     MBR -> extlinux -> Linux, must reach the guest's shell;
#  2. an El Torito ISO made here with Debian's isolinux and the same
#     kernel/initrd: CD-ROM -> isolinux -> Linux, must start the kernel;
#  3. a GRUB 2 (grub-mkrescue, i386-pc) hybrid image with the same kernel,
#     booted once as a CD and once as a hard disk: GRUB -> Linux.
# Usage: firmware/test-guest.sh [GUEST_DIR]
# GUEST_DIR (vmlinuz, initrd.gz, disk.img) defaults to $CAPSULE_GUEST_DIR
# or ~/.cache/capsule/guest.  Exit 0 = both booted, 1 = failure,
# 77 = no guest files (skipped).
set -eu
cd "$(dirname "$0")"
dir=${1:-${CAPSULE_GUEST_DIR:-$HOME/.cache/capsule/guest}}
if [ ! -f "$dir/disk.img" ]; then
    echo "firmware/test-guest.sh: $dir/disk.img not found, skipping" >&2
    exit 77
fi
./build.sh
mkdir -p build

# run_until LOG PATTERN QEMU-ARGS...: run QEMU until PATTERN shows up on
# COM1 (success) or 120 s pass.
run_until() {
    log=$1 pat=$2
    shift 2
    rm -f "$log"
    timeout 150 qemu-system-i386 -M pc -m 128 -bios build/bios.bin \
        -display none -monitor none -serial file:"$log" -no-reboot "$@" &
    qpid=$!
    found=1 i=0
    while [ $i -lt 120 ]; do
        sleep 1
        i=$((i+1))
        if grep -q "$pat" "$log" 2>/dev/null; then found=0; break; fi
        kill -0 $qpid 2>/dev/null || break
    done
    kill $qpid 2>/dev/null || true
    wait $qpid 2>/dev/null || true
    return $found
}

status=0
cp "$dir/disk.img" build/guest-copy.img    # the guest may write to its disk
if run_until build/guest-serial.log "shell ready" \
        -drive file=build/guest-copy.img,format=raw,if=ide; then
    echo "firmware/test-guest.sh: disk boot PASS (extlinux -> Linux shell)"
else
    echo "firmware/test-guest.sh: disk boot FAIL, see firmware/build/guest-serial.log" >&2
    status=1
fi
rm -f build/guest-copy.img
grep -E "Capsule BIOS|Disk 8|Booting|LINUX|Loading|Linux version" build/guest-serial.log || true

if [ ! -f /usr/lib/ISOLINUX/isolinux.bin ] || ! command -v xorriso >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq isolinux syslinux-common xorriso >/dev/null
fi
iso=build/iso-root
rm -rf "$iso"
mkdir -p "$iso/isolinux"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
cp "$dir/vmlinuz" "$dir/initrd.gz" "$iso/"
cat > "$iso/isolinux/isolinux.cfg" <<'CFG'
default linux
prompt 0
timeout 0
label linux
  kernel /vmlinuz
  append initrd=/initrd.gz console=ttyS0,115200
CFG
xorriso -as mkisofs -quiet -o build/guest.iso -b isolinux/isolinux.bin \
    -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$iso"
if run_until build/cd-serial.log "Linux version" -cdrom build/guest.iso; then
    echo "firmware/test-guest.sh: CD boot PASS (El Torito -> isolinux -> Linux)"
else
    echo "firmware/test-guest.sh: CD boot FAIL, see firmware/build/cd-serial.log" >&2
    status=1
fi
grep -E "CD-ROM|Booting|ISOLINUX|Linux version" build/cd-serial.log || true
rm -rf "$iso" build/guest.iso

if ! command -v grub-mkrescue >/dev/null 2>&1 || [ ! -d /usr/lib/grub/i386-pc ]; then
    apt-get update -qq && apt-get install -y -qq grub-pc-bin grub2-common mtools >/dev/null
fi
groot=build/grub-root
rm -rf "$groot"
mkdir -p "$groot/boot/grub"
cp "$dir/vmlinuz" "$dir/initrd.gz" "$groot/"
cat > "$groot/boot/grub/grub.cfg" <<'CFG'
set timeout=1
menuentry 'Capsule guest' {
  linux /vmlinuz console=ttyS0,115200
  initrd /initrd.gz
}
CFG
grub-mkrescue -o build/grub.img "$groot" >/dev/null 2>&1
if run_until build/grub-cd-serial.log "Linux version" -cdrom build/grub.img; then
    echo "firmware/test-guest.sh: GRUB CD boot PASS"
else
    echo "firmware/test-guest.sh: GRUB CD boot FAIL, see firmware/build/grub-cd-serial.log" >&2
    status=1
fi
if run_until build/grub-hd-serial.log "Linux version" \
        -drive file=build/grub.img,format=raw,if=ide,snapshot=on; then
    echo "firmware/test-guest.sh: GRUB disk boot PASS"
else
    echo "firmware/test-guest.sh: GRUB disk boot FAIL, see firmware/build/grub-hd-serial.log" >&2
    status=1
fi
rm -rf "$groot" build/grub.img
exit $status
