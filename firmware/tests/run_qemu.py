#!/usr/bin/env python3
"""Run QEMU for firmware/test.sh and type keys when the test asks.

usage: run_qemu.py LOG MONITOR_SOCKET -- qemu-system-i386 args...
Returns QEMU's exit status (124 on timeout).
"""
import os, socket, subprocess, sys, time

log, sock_path = sys.argv[1], sys.argv[2]
cmd = sys.argv[sys.argv.index("--") + 1:]
cmd += ["-serial", "file:" + log,
        "-monitor", "unix:%s,server=on,wait=off" % sock_path]
for p in (log, sock_path):
    if os.path.exists(p):
        os.unlink(p)
proc = subprocess.Popen(cmd)
deadline = time.time() + 60
typed = False
while proc.poll() is None and time.time() < deadline:
    time.sleep(0.2)
    if typed:
        continue
    try:
        text = open(log, "rb").read().decode("latin-1")
    except FileNotFoundError:
        continue
    if "[type keys now]" in text:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock_path)
        for key in ("a", "shift-b", "ret", "up", "f1"):
            s.sendall(("sendkey %s\n" % key).encode())
            time.sleep(0.3)
        s.close()
        typed = True
if proc.poll() is None:
    proc.kill()
    proc.wait()
    sys.exit(124)
sys.exit(proc.returncode)
