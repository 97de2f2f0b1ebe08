#!/bin/sh
# Builds the serial echo ROM (used by the replay tests) into build/echo.bin.
set -e
cd "$(dirname "$0")"
mkdir -p build
nasm -f bin -w+all -o build/echo.bin echo.asm
