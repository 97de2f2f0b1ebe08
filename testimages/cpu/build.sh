#!/bin/sh
# Build the Capsule CPU test ROMs (64 KiB raw firmware images) into build/.
set -e
cd "$(dirname "$0")"
if ! command -v nasm >/dev/null 2>&1; then
    echo "nasm not found, installing" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get install -y nasm || { $SUDO apt-get update && $SUDO apt-get install -y nasm; }
fi
# build/NAME.bin       strict images: every check follows the Intel SDM
# build/qemu/NAME.bin  same, assembled with -DQEMU_XFAIL: checks where QEMU TCG
#                      is known to deviate from the SDM print XFAIL instead of
#                      FAIL and are not counted (used by run-qemu.sh)
mkdir -p build/qemu
for src in t*.asm; do
    name=${src%.asm}
    for variant in strict qemu; do
        if [ $variant = strict ]; then out=build/$name.bin; def=""; else out=build/qemu/$name.bin; def="-DQEMU_XFAIL"; fi
        nasm -f bin -w+all $def -I ./ -o "$out" "$src" -l "${out%.bin}.lst"
        size=$(wc -c < "$out")
        if [ "$size" -ne 65536 ]; then
            echo "error: $out is $size bytes, expected 65536" >&2
            exit 1
        fi
        echo "built $out"
    done
done
