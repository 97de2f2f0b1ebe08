#!/bin/sh
# Build the Capsule BIOS ROM image: firmware/build/bios.bin (64 KiB).
set -eu
cd "$(dirname "$0")"
if ! command -v nasm >/dev/null 2>&1; then
    echo "build.sh: installing nasm" >&2
    apt-get update -qq && apt-get install -y -qq nasm >/dev/null
fi
mkdir -p build
nasm -f bin -w+all -I src/ -l build/bios.lst -o build/bios.bin bios.asm
size=$(wc -c < build/bios.bin)
if [ "$size" -ne 65536 ]; then
    echo "build.sh: bios.bin is $size bytes, expected 65536" >&2
    exit 1
fi
# byte FFFFh makes the 8-bit sum of the whole ROM zero, as PC ROMs do
sum=$(od -An -tu1 -v build/bios.bin | awk '{for(i=1;i<=NF;i++)s+=$i} END{print s%256}')
fix=$(( (256 - sum) % 256 ))
printf "$(printf '\\%03o' "$fix")" | dd of=build/bios.bin bs=1 seek=65535 conv=notrunc status=none
echo "build.sh: built $(pwd)/build/bios.bin"
