#!/usr/bin/env python3
"""Build the disk images for firmware/test.sh.

disk0: 64 MiB; LBA 0..15 = the test program, every later sector starts
       with its own LBA as a little-endian dword.
disk1: 200 GiB sparse (more than 2^28 sectors, so LBA48 is needed);
       only written to by the test.
"""
import os, struct, sys

prog, out0, out1 = sys.argv[1:4]
data = open(prog, "rb").read()
assert len(data) == 16 * 512, len(data)
size0 = 64 << 20
with open(out0, "wb") as f:
    f.write(data)
    sector = bytearray(512)
    for lba in range(16, size0 // 512):
        struct.pack_into("<I", sector, 0, lba)
        f.write(sector)
with open(out1, "wb") as f:
    f.truncate(200 << 30)
