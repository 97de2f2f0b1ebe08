#!/bin/sh
# Build the Capsule BIOS and run the self-checking boot program
# (tests/testboot.asm) on QEMU's "pc" machine, headless.  The BIOS's
# teletype output goes to COM1, which QEMU writes to build/test-serial.log.
# Exit status 0 = every test passed.
set -eu
cd "$(dirname "$0")"
./build.sh
need() { command -v "$1" >/dev/null 2>&1; }
if ! need qemu-system-i386; then
    apt-get update -qq && apt-get install -y -qq qemu-system-x86 >/dev/null
fi
if ! need python3; then
    apt-get update -qq && apt-get install -y -qq python3 >/dev/null
fi
nasm -f bin -o build/testboot.bin tests/testboot.asm
python3 tests/mkimage.py build/testboot.bin build/test0.img build/test1.img
log=build/test-serial.log
rm -f "$log"
set +e
# disk 80h = primary master, disk 81h = secondary master (200 GiB sparse)
# run_qemu.py types keys through the QEMU monitor when the test asks
python3 tests/run_qemu.py "$log" build/test-monitor.sock -- \
    qemu-system-i386 -M pc -m 32 -bios build/bios.bin \
    -drive file=build/test0.img,format=raw,if=ide,index=0 \
    -drive file=build/test1.img,format=raw,if=ide,index=2 \
    -device isa-debug-exit,iobase=0xf4,iosize=4 \
    -display none -no-reboot
rc=$?
set -e
rm -f build/test1.img
cat "$log"
# isa-debug-exit turns the value v written by the test into exit code 2v+1
# (the keystroke test may only be skipped where nobody types; here we do)
if [ "$rc" -eq 1 ] && grep -q "ALL TESTS PASSED" "$log" \
   && grep -q "1E61 3042 1C0D 48E0 3B00 ok" "$log" \
   && grep -q "Capsule BIOS" "$log"; then
    echo "firmware/test.sh: PASS"
    exit 0
fi
echo "firmware/test.sh: FAIL (qemu exit $rc)" >&2
exit 1
