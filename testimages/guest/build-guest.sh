#!/usr/bin/env bash
# build-guest.sh - build Capsule's yardstick Linux guest from Debian 12's own
# i386 packages.
#
# Produces, in the output directory:
#   vmlinuz    the kernel of linux-image-6.1.0-*-686-unsigned:i386 (non-PAE)
#   initrd.gz  gzip'ed newc cpio: busybox-static:i386, the board's kernel
#              modules (with their dependencies) and an /init that ends in a
#              shell on the console
#   disk.img   raw MBR disk, one bootable ext4 partition holding /boot with
#              the same kernel and initrd, booted by extlinux
#   MANIFEST   package names, versions and sha256 of the .debs used and of
#              the files produced
#
# Every .deb is checked against the SHA256 that apt took from the signed
# Release/Packages indices before it is used.
#
# Usage: build-guest.sh [--out DIR] [--cache DIR] [--disk-mib N]
#                       [--update] [--selftest] [--no-loop] [-h|--help]
#   --out DIR      output directory (default $CAPSULE_GUEST_DIR or
#                  ~/.cache/capsule/guest)
#   --cache DIR    where verified .debs are kept (default $CAPSULE_CACHE or
#                  ~/.cache/capsule/debs)
#   --disk-mib N   size of disk.img (default 64)
#   --update       run apt-get update even if the lists look usable
#   --selftest     afterwards boot the results under QEMU (selftest.sh)
#   --no-loop      skip the loop-mounted ext4 /boot and write the fallback
#                  (FAT16 /boot, syslinux) that needs no loop devices
# Needs root (apt-get, loop devices, mount).  See docs/guest-images.md.
set -euo pipefail

prog=${0##*/}
OUT=${CAPSULE_GUEST_DIR:-$HOME/.cache/capsule/guest}
CACHE=${CAPSULE_CACHE:-$HOME/.cache/capsule/debs}
DISK_MIB=64
FORCE_UPDATE=0
SELFTEST=0
NO_LOOP=0
DISK_FS= DISK_LOADER=

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

while [ $# -gt 0 ]; do
    case $1 in
        --out) OUT=${2:?--out needs a directory}; shift 2 ;;
        --out=*) OUT=${1#*=}; shift ;;
        --cache) CACHE=${2:?--cache needs a directory}; shift 2 ;;
        --cache=*) CACHE=${1#*=}; shift ;;
        --disk-mib) DISK_MIB=${2:?--disk-mib needs a number}; shift 2 ;;
        --disk-mib=*) DISK_MIB=${1#*=}; shift ;;
        --update) FORCE_UPDATE=1; shift ;;
        --selftest) SELFTEST=1; shift ;;
        --no-loop) NO_LOOP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "$prog: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
done

log() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, loop devices, mount)"
case $DISK_MIB in ''|*[!0-9]*) die "--disk-mib must be a whole number" ;; esac
[ "$DISK_MIB" -ge 16 ] || die "--disk-mib must be at least 16"

export DEBIAN_FRONTEND=noninteractive LC_ALL=C
mkdir -p "$OUT" "$CACHE"
OUT=$(cd "$OUT" && pwd)
CACHE=$(cd "$CACHE" && pwd)

# Kernel modules the initramfs loads, in this order (each after its own
# dependencies from modules.dep).  Names use '_' or '-' as the kernel does.
# Ones that are built into the kernel are skipped (and noted in MANIFEST).
# Not here on purpose: pata_legacy/pata_isapnp/pata_pcmcia (they would probe
# or claim the legacy IDE ports ahead of ata_piix) and ne (ISA NE2000 needs
# io=, so it is included as a file but not loaded; see EXTRA_MODULES).
BOARD_MODULES=(
    # checksums wanted by ext4/jbd2 (softdep crypto-crc32c) and sd_mod
    crc32c_generic crct10dif_generic crc64_rocksoft_generic
    # IDE/ATA: PIIX first so it owns the primary/secondary channels
    libata ata_piix
    pata_oldpiix pata_mpiix pata_ali pata_amd pata_artop pata_atiixp
    pata_atp867x pata_cmd64x pata_cs5520 pata_cs5530 pata_cs5535 pata_cs5536
    pata_efar pata_hpt366 pata_hpt37x pata_it8213 pata_it821x pata_jmicron
    pata_marvell pata_netcell pata_ninja32 pata_ns87410 pata_ns87415
    pata_opti pata_pdc2027x pata_pdc202xx_old pata_piccolo pata_rdc
    pata_rz1000 pata_sc1200 pata_sch pata_serverworks pata_sil680 pata_sis
    pata_triflex pata_via
    ata_generic ahci
    # SCSI disk and CD-ROM
    scsi_mod sd_mod cdrom sr_mod
    # virtio
    virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
    virtio_balloon virtio_blk virtio_net virtio_console virtio_scsi
    # file systems
    crc16 mbcache jbd2 ext4 isofs fat vfat msdos nls_cp437 nls_ascii nls_iso8859_1 nls_utf8
    # floppy, serial (8250 is usually built in), input, misc
    floppy 8250 8250_base 8250_pci serio i8042 libps2 atkbd psmouse evdev
    rtc_cmos pcspkr
    # network cards an emulated PC typically has
    8390 ne2k_pci e1000 pcnet32 mii 8139cp 8139too
)
# Copied into the initramfs (with dependencies) but not loaded by /init;
# load them by hand with modprobe.
EXTRA_MODULES=(ne pata_legacy)

# ---------------------------------------------------------------- tools ---
HOST_PKGS=(cpio e2fsprogs extlinux syslinux-common mtools fdisk xz-utils
           kmod gzip util-linux dpkg coreutils findutils)
APT_UPDATED=0

apt_update() {
    [ "$APT_UPDATED" -eq 1 ] && return 0
    log "apt-get update"
    # A partial failure (one mirror index mid-sync) should not stop us: what
    # matters is that the packages we need have a candidate afterwards.
    apt-get update -q >&2 || log "warning: apt-get update reported errors; continuing with the indices it has"
    APT_UPDATED=1
}

need_cmds() {
    local missing=0 c
    for c in cpio mkfs.ext4 extlinux sfdisk losetup depmod xz gzip dpkg-deb \
             sha256sum mount umount; do
        command -v "$c" >/dev/null 2>&1 || missing=1
    done
    [ -f /usr/lib/syslinux/mbr/mbr.bin ] || missing=1
    return "$missing"
}

# i386 first, so that one apt-get update serves both the host tools and the
# i386 lists.
if ! dpkg --print-foreign-architectures | grep -qx i386; then
    log "dpkg --add-architecture i386"
    dpkg --add-architecture i386
    apt_update
fi

if ! need_cmds; then
    apt_update
    log "installing host tools: ${HOST_PKGS[*]}"
    apt-get install -y -q --no-install-recommends "${HOST_PKGS[@]}" >&2
    need_cmds || die "host tools still missing after apt-get install"
fi
[ "$FORCE_UPDATE" -eq 1 ] && apt_update

candidate() { # PKG[:ARCH] -> candidate version or empty
    apt-cache policy "$1" 2>/dev/null | awk '/^  Candidate:/ { if ($2 != "(none)") print $2; exit }'
}

if [ -z "$(candidate busybox-static:i386)" ]; then
    apt_update
    [ -n "$(candidate busybox-static:i386)" ] \
        || die "apt has no i386 package lists (busybox-static:i386 has no candidate)"
fi

# --------------------------------------------------------------- kernel ---
# linux-image-686 (the metapackage) depends on the current signed-template
# image, e.g. linux-image-6.1.0-50-686; the same kernel under its plain name is
# linux-image-6.1.0-50-686-unsigned.
resolve_kernel() {
    local meta pkg
    meta=$(apt-cache depends linux-image-686:i386 2>/dev/null |
           awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\.0-[0-9]+-686(:i386)?$/ { sub(/:i386$/, "", $2); print $2; exit }')
    if [ -n "$meta" ]; then
        pkg=$meta-unsigned
        if [ -n "$(candidate "$pkg:i386")" ]; then echo "$pkg"; return; fi
    fi
    # Fall back to the highest ABI that apt offers.
    pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-686-unsigned$' |
          awk '{print $1}' | sort -V | tail -n 1)
    [ -n "$pkg" ] && [ -n "$(candidate "$pkg:i386")" ] && { echo "$pkg"; return; }
    return 1
}
KPKG=$(resolve_kernel) || die "cannot find a linux-image-6.1.0-*-686-unsigned:i386 package in apt's lists"
log "kernel package: $KPKG:i386 $(candidate "$KPKG:i386")"

# ------------------------------------------------------------ downloads ---
declare -A DEB_FILE DEB_VER DEB_SHA DEB_ARCH

# fetch_deb PKG ARCH: download (or reuse from $CACHE) and verify; sets DEB_*.
fetch_deb() {
    local pkg=$1 arch=$2 spec ver info want fname file got tmp
    spec=$pkg:$arch
    ver=$(candidate "$spec")
    [ -n "$ver" ] || die "no candidate version for $spec"
    info=$(apt-cache show --no-all-versions "$spec=$ver") \
        || die "apt-cache show failed for $spec=$ver"
    want=$(awk '/^SHA256:/ {print $2; exit}' <<<"$info")
    fname=$(awk '/^Filename:/ {print $2; exit}' <<<"$info")
    [ -n "$want" ] && [ -n "$fname" ] || die "apt has no SHA256/Filename for $spec=$ver"
    file=$CACHE/${fname##*/}
    if [ ! -f "$file" ]; then
        log "downloading $spec=$ver"
        # A world-readable scratch directory, so that apt's unprivileged
        # _apt user can write there (it cannot under /root).
        tmp=$(mktemp -d "${TMPDIR:-/tmp}/capsule-dl.XXXXXX")
        chmod 755 "$tmp"
        if id _apt >/dev/null 2>&1; then chown _apt "$tmp" || true; fi
        if ! (cd "$tmp" && apt-get download -q "$spec=$ver" >&2); then
            rm -rf "$tmp"; die "apt-get download $spec=$ver failed"
        fi
        local got_file
        got_file=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n 1)
        [ -n "$got_file" ] || { rm -rf "$tmp"; die "apt-get download produced no .deb for $spec"; }
        mv "$got_file" "$file.part"
        rm -rf "$tmp"
        got=$(sha256sum "$file.part" | awk '{print $1}')
        if [ "$got" != "$want" ]; then
            rm -f "$file.part"
            die "SHA256 MISMATCH for freshly downloaded $spec=$ver: got $got, apt's signed index says $want; refusing it"
        fi
        mv "$file.part" "$file"
    fi
    got=$(sha256sum "$file" | awk '{print $1}')
    if [ "$got" != "$want" ]; then
        die "SHA256 MISMATCH for cached $file ($spec=$ver): got $got, apt's signed index says $want. Refusing to use it; delete the file to download it again."
    fi
    log "verified $spec=$ver sha256 $got"
    DEB_FILE[$pkg]=$file DEB_VER[$pkg]=$ver DEB_SHA[$pkg]=$got DEB_ARCH[$pkg]=$arch
}

fetch_deb "$KPKG" i386
fetch_deb busybox-static i386
fetch_deb syslinux-common all

# ---------------------------------------------------------------- build ---
WORK=$(mktemp -d "${TMPDIR:-/tmp}/capsule-guest.XXXXXX")
MNT=$WORK/mnt
LOOPDEV=
cleanup() {
    if mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" || true; fi
    if [ -n "$LOOPDEV" ]; then losetup -d "$LOOPDEV" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

log "unpacking .debs in $WORK"
dpkg-deb -x "${DEB_FILE[$KPKG]}" "$WORK/kernel"
dpkg-deb -x "${DEB_FILE[busybox-static]}" "$WORK/busybox"
dpkg-deb -x "${DEB_FILE[syslinux-common]}" "$WORK/syslinux"

KMODROOT=
for d in "$WORK"/kernel/lib/modules/* "$WORK"/kernel/usr/lib/modules/*; do
    [ -d "$d" ] && { KMODROOT=$d; break; }
done
[ -n "$KMODROOT" ] || die "no lib/modules/<version> in $KPKG"
KVER=${KMODROOT##*/}
case $KMODROOT in "$WORK"/kernel/usr/*) KBASE=$WORK/kernel/usr ;; *) KBASE=$WORK/kernel ;; esac
VMLINUZ=$WORK/kernel/boot/vmlinuz-$KVER
[ -f "$VMLINUZ" ] || die "no boot/vmlinuz-$KVER in $KPKG"
BUSYBOX=$WORK/busybox/bin/busybox
[ -f "$BUSYBOX" ] || die "no bin/busybox in busybox-static"
MBR=$WORK/syslinux/usr/lib/syslinux/mbr/mbr.bin
[ -f "$MBR" ] || die "no usr/lib/syslinux/mbr/mbr.bin in syslinux-common"
log "kernel release $KVER"

# The package ships no modules.dep (its postinst runs depmod); make one.
if [ ! -f "$KMODROOT/modules.dep" ]; then
    depmod -b "$KBASE" "$KVER" >/dev/null 2>&1 || die "depmod failed on $KPKG"
fi

# Module name -> path relative to $KMODROOT, from modules.dep.
declare -A MODPATH
while IFS= read -r p; do
    n=${p##*/}; n=${n%.ko*}; n=${n//-/_}
    MODPATH[$n]=$p
done < <(cut -d: -f1 "$KMODROOT/modules.dep")
declare -A DEPS
while IFS= read -r line; do
    p=${line%%:*}; DEPS[$p]=${line#*: }
    [ "${DEPS[$p]}" = "$line" ] && DEPS[$p]=""
done < <(sed 's/:$/: /' "$KMODROOT/modules.dep")
declare -A BUILTIN
if [ -f "$KMODROOT/modules.builtin" ]; then
    while IFS= read -r p; do
        n=${p##*/}; n=${n%.ko*}; n=${n//-/_}; BUILTIN[$n]=1
    done < "$KMODROOT/modules.builtin"
fi

LOAD_ORDER=() COPY_SET=() BUILTIN_NOTED=() MISSING=()
declare -A SEEN_LOAD SEEN_COPY
add_copy() { [ -n "${SEEN_COPY[$1]:-}" ] || { SEEN_COPY[$1]=1; COPY_SET+=("$1"); }; }
# modprobe semantics: a module's modules.dep line lists its whole dependency
# closure, to be loaded in reverse order, then the module itself.
add_module() { # NAME LOAD(1/0)
    local n=${1//-/_} load=$2 p deps i
    p=${MODPATH[$n]:-}
    if [ -z "$p" ]; then
        if [ -n "${BUILTIN[$n]:-}" ]; then BUILTIN_NOTED+=("$n"); else MISSING+=("$n"); fi
        return
    fi
    read -r -a deps <<<"${DEPS[$p]}"
    for ((i=${#deps[@]}-1; i>=0; i--)); do
        add_copy "${deps[i]}"
        if [ "$load" = 1 ] && [ -z "${SEEN_LOAD[${deps[i]}]:-}" ]; then
            SEEN_LOAD[${deps[i]}]=1; LOAD_ORDER+=("${deps[i]}")
        fi
    done
    add_copy "$p"
    if [ "$load" = 1 ] && [ -z "${SEEN_LOAD[$p]:-}" ]; then
        SEEN_LOAD[$p]=1; LOAD_ORDER+=("$p")
    fi
}
for m in "${BOARD_MODULES[@]}"; do add_module "$m" 1; done
for m in "${EXTRA_MODULES[@]}"; do add_module "$m" 0; done
[ ${#MISSING[@]} -eq 0 ] || log "note: not in this kernel at all (skipped): ${MISSING[*]}"
[ ${#BUILTIN_NOTED[@]} -eq 0 ] || log "note: built into the kernel (no module needed): ${BUILTIN_NOTED[*]}"
log "${#LOAD_ORDER[@]} modules to load, ${#COPY_SET[@]} module files in the initramfs"

# --- initramfs tree
R=$WORK/initramfs
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,mnt,root,var/log,lib/modules/"$KVER"}
chmod 1777 "$R/tmp"
install -m 0755 "$BUSYBOX" "$R/bin/busybox"
ln -s busybox "$R/bin/sh"
mknod -m 600 "$R/dev/console" c 5 1
mknod -m 666 "$R/dev/null" c 1 3
for p in "${COPY_SET[@]}"; do
    mkdir -p "$R/lib/modules/$KVER/${p%/*}"
    case $p in
        *.ko) cp "$KMODROOT/$p" "$R/lib/modules/$KVER/$p" ;;
        # Not the case for Debian 12's 6.1 (CONFIG_MODULE_COMPRESS_NONE), but
        # busybox insmod cannot read compressed modules, so be ready.
        *.ko.xz) xz -dc "$KMODROOT/$p" > "$R/lib/modules/$KVER/${p%.xz}" ;;
        *.ko.gz) gzip -dc "$KMODROOT/$p" > "$R/lib/modules/$KVER/${p%.gz}" ;;
        *.ko.zst) zstd -qdc "$KMODROOT/$p" > "$R/lib/modules/$KVER/${p%.zst}" ;;
        *) die "unexpected module file $p" ;;
    esac
done
for f in modules.builtin modules.builtin.modinfo modules.order; do
    [ -f "$KMODROOT/$f" ] && cp "$KMODROOT/$f" "$R/lib/modules/$KVER/"
done
# modules.dep etc. for the subset, so busybox modprobe (and the kernel's
# request_module via /sbin/modprobe) works in the guest.
depmod -b "$R" "$KVER" >/dev/null 2>&1 || die "depmod failed on the initramfs tree"
for p in "${LOAD_ORDER[@]}"; do p=${p%.xz}; p=${p%.gz}; p=${p%.zst}; echo "$p"; done > "$R/etc/capsule-modules"

cat > "$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
EOF
cat > "$R/etc/group" <<'EOF'
root:x:0:
EOF
echo capsule > "$R/etc/hostname"
cat > "$R/etc/profile" <<'EOF'
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/root
PS1='capsule:\w# '
EOF
cat > "$R/etc/fstab" <<'EOF'
proc     /proc     proc     defaults 0 0
sysfs    /sys      sysfs    defaults 0 0
devtmpfs /dev      devtmpfs defaults 0 0
EOF

cat > "$R/init" <<'EOF'
#!/bin/sh
# Capsule yardstick guest /init (generated by testimages/guest/build-guest.sh).
# Kernel parameters understood:
#   capsule.poweroff   run /etc/capsule-autorun (if present), then poweroff -f
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /mnt /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mdev -s
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
hostname -F /etc/hostname
ln -sf /proc/mounts /etc/mtab
[ -e /proc/sys/kernel/modprobe ] && echo /sbin/modprobe > /proc/sys/kernel/modprobe

kver=$(uname -r)
echo "capsule-guest: init on Linux $kver, loading modules"
loaded=0 failed=
while read -r m; do
    [ -n "$m" ] || continue
    if insmod "/lib/modules/$kver/$m" 2>/dev/null; then
        loaded=$((loaded + 1))
    else
        n=${m##*/}; failed="$failed ${n%.ko}"
    fi
done < /etc/capsule-modules
echo "capsule-guest: $loaded modules loaded${failed:+; did not load:$failed}"

poweroff_mode=0
for arg in $(cat /proc/cmdline); do
    case $arg in
        capsule.poweroff|capsule.poweroff=*) poweroff_mode=1 ;;
    esac
done

if [ "$poweroff_mode" = 1 ]; then
    if [ -f /etc/capsule-autorun ]; then
        echo "capsule-guest: running /etc/capsule-autorun"
        sh /etc/capsule-autorun
        echo "capsule-guest: autorun exit status $?"
    else
        echo "capsule-guest: no /etc/capsule-autorun"
    fi
    sync
    echo "capsule-guest: powering off"
    poweroff -f
    # poweroff -f only returns if the syscall failed; never let init exit.
    while :; do sleep 3600; done
fi

echo "capsule-guest: shell ready"
while :; do
    setsid cttyhack sh -l
    echo "capsule-guest: shell exited, starting another"
done
EOF
chmod 0755 "$R/init"

# Reproducible archive: fixed mtimes (the kernel package's), sorted names.
EPOCH=$(stat -c %Y "$VMLINUZ")
find "$R" -exec touch -h -d "@$EPOCH" {} +
log "writing initrd.gz"
(cd "$R" && find . -mindepth 1 | sort | cpio -o -H newc -R 0:0 --reproducible --quiet) \
    | gzip -9n > "$WORK/initrd.gz"
cp "$VMLINUZ" "$WORK/vmlinuz"

# --- disk image
DISK=$WORK/disk.img
PART_START=2048    # sectors (1 MiB)
PART_BYTES=$(( DISK_MIB * 1024 * 1024 - PART_START * 512 ))

boot_conf() { # the extlinux.conf / syslinux.cfg text
    cat <<'EOF'
# Capsule yardstick guest (generated by testimages/guest/build-guest.sh)
DEFAULT capsule
PROMPT 0
TIMEOUT 0
SERIAL 0 115200

LABEL capsule
  KERNEL /boot/vmlinuz
  INITRD /boot/initrd.gz
  APPEND console=tty0 console=ttyS0,115200

LABEL autorun
  KERNEL /boot/vmlinuz
  INITRD /boot/initrd.gz
  APPEND console=tty0 console=ttyS0,115200 capsule.poweroff
EOF
}

new_disk() { # PARTITION_TYPE
    rm -f "$DISK"
    truncate -s "${DISK_MIB}M" "$DISK"
    printf 'label: dos\nstart=%d, type=%s, bootable\n' "$PART_START" "$1" \
        | sfdisk -q --no-reread --no-tell-kernel "$DISK" >/dev/null
}

# The normal way: ext4 partition, mounted through a loop device so that
# extlinux can map ldlinux.sys.  attach_ext4 returns 1 (having undone its
# loop/mount) if this machine cannot attach or mount loop devices.  (It runs
# in an `if`, where set -e is off, so every step checks for itself.)
attach_ext4() {
    new_disk 83 || die "sfdisk failed"
    # Syslinux 6.04 cannot read ext4's 64bit layout; metadata_csum is fine
    # (the guest loads crc32c for it).
    mkfs.ext4 -q -F -L capsule -O ^64bit -E offset=$((PART_START * 512)) \
        "$DISK" "$((PART_BYTES / 1024))k" || die "mkfs.ext4 failed"
    mkdir -p "$MNT" || die "mkdir $MNT failed"
    if ! LOOPDEV=$(losetup -f --show -o $((PART_START * 512)) --sizelimit "$PART_BYTES" "$DISK" 2>/dev/null); then
        LOOPDEV=; log "cannot attach a loop device"; return 1
    fi
    if ! mount -t ext4 "$LOOPDEV" "$MNT" 2>/dev/null; then
        log "cannot mount the ext4 partition through $LOOPDEV"
        losetup -d "$LOOPDEV" || true; LOOPDEV=; return 1
    fi
}
fill_ext4() {
    mkdir -p "$MNT/boot/extlinux"
    cp "$WORK/vmlinuz" "$MNT/boot/vmlinuz"
    cp "$WORK/initrd.gz" "$MNT/boot/initrd.gz"
    boot_conf > "$MNT/boot/extlinux/extlinux.conf"
    echo "Written by Capsule's build-guest.sh; kernel $KVER." > "$MNT/README"
    extlinux --install "$MNT/boot/extlinux" >&2 || die "extlinux --install failed"
    sync
    umount "$MNT"
    losetup -d "$LOOPDEV"; LOOPDEV=
    DISK_FS=ext4 DISK_LOADER=extlinux
}

# Fallback without loop devices: a FAT16 partition, filled with mtools and
# made bootable by Syslinux's mtools-based installer, which works on an
# unmounted image.  The guest mounts it as vfat.
build_disk_fat() {
    local p
    if ! command -v syslinux >/dev/null || ! command -v mkfs.fat >/dev/null || ! command -v mcopy >/dev/null; then
        apt_update
        apt-get install -y -q --no-install-recommends syslinux dosfstools mtools >&2
    fi
    new_disk 6
    mkfs.fat -F 16 -n CAPSULE --offset "$PART_START" "$DISK" "$((PART_BYTES / 1024))" >/dev/null
    p="$DISK@@$((PART_START * 512))"
    export MTOOLS_SKIP_CHECK=1
    mmd -i "$p" ::/boot ::/boot/syslinux
    mcopy -i "$p" "$WORK/vmlinuz" ::/boot/vmlinuz
    mcopy -i "$p" "$WORK/initrd.gz" ::/boot/initrd.gz
    boot_conf > "$WORK/syslinux.cfg"
    mcopy -i "$p" "$WORK/syslinux.cfg" ::/boot/syslinux/syslinux.cfg
    syslinux --install --offset $((PART_START * 512)) --directory /boot/syslinux "$DISK" >&2 \
        || die "syslinux --install failed"
    DISK_FS=vfat DISK_LOADER=syslinux
}

log "writing disk.img (${DISK_MIB} MiB)"
if [ "$NO_LOOP" = 0 ] && attach_ext4; then
    fill_ext4
else
    log "FALLBACK: no loop mount; writing a FAT16 /boot with syslinux instead of ext4 + extlinux"
    build_disk_fat
fi
dd if="$MBR" of="$DISK" bs=440 count=1 conv=notrunc status=none

# ------------------------------------------------------------- install ---
for f in vmlinuz initrd.gz disk.img; do
    mv -f "$WORK/$f" "$OUT/$f.new"
    mv -f "$OUT/$f.new" "$OUT/$f"
done

{
    echo "# Capsule yardstick guest, built by testimages/guest/build-guest.sh"
    echo "# built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "kernel-release $KVER"
    echo "disk-fs $DISK_FS"
    echo "disk-loader $DISK_LOADER"
    echo
    echo "# deb <package> <version> <arch> <sha256> <file> (sha256 checked against apt's signed index)"
    for p in "$KPKG" busybox-static syslinux-common; do
        echo "deb $p ${DEB_VER[$p]} ${DEB_ARCH[$p]} ${DEB_SHA[$p]} ${DEB_FILE[$p]##*/}"
    done
    echo
    echo "# host tools used: <package> <version>"
    for p in $DISK_LOADER e2fsprogs dosfstools mtools cpio; do
        [ "$DISK_FS" = ext4 ] && [ "$p" = dosfstools ] && continue
        [ "$DISK_FS" = ext4 ] && [ "$p" = mtools ] && continue
        echo "tool $p $(dpkg-query -W -f '${Version}' "$p" 2>/dev/null || echo unknown)"
    done
    echo
    echo "# file <name> <bytes> <sha256>"
    for f in vmlinuz initrd.gz disk.img; do
        echo "file $f $(stat -c %s "$OUT/$f") $(sha256sum "$OUT/$f" | awk '{print $1}')"
    done
    echo
    echo "# modules loaded by /init, in order (lib/modules/$KVER/...)"
    sed 's/^/load /' "$R/etc/capsule-modules"
    echo "# modules present but not loaded automatically"
    for m in "${EXTRA_MODULES[@]}"; do
        p=${MODPATH[${m//-/_}]:-}; [ -n "$p" ] && echo "extra $p"
    done
    echo "# requested but built into the kernel: ${BUILTIN_NOTED[*]:-none}"
    echo "# requested but absent from the kernel: ${MISSING[*]:-none}"
} > "$OUT/MANIFEST.new"
mv -f "$OUT/MANIFEST.new" "$OUT/MANIFEST"

log "done: $OUT"
ls -l "$OUT" >&2

# ------------------------------------------------------------ selftest ---
if [ "$SELFTEST" -eq 1 ]; then
    here=$(cd "$(dirname "$0")" && pwd)
    "$here/selftest.sh" "$OUT"
fi
