#!/bin/sh
# Builds the native differential-test generator: tools/cpudiff/build.sh OUTDIR
# Produces OUTDIR/cpudiff-gen (a 32-bit x86 Linux executable; needs gcc-multilib).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/build"}
mkdir -p "$out"
CC=${CC:-gcc}
$CC -m32 -O2 -g -Wall -Wextra -no-pie -fno-pie -fno-strict-aliasing \
    -o "$out/cpudiff-gen" "$here/cpudiff-gen.c" "$here/trampoline.S"
echo "$out/cpudiff-gen"
