#!/usr/bin/env python3
"""Side-by-side benchmarks: this module (`usocket`) against MicroPython's C
socket module (`socket`), both in build/micropython-dual, same compiler flags.

Every workload runs both ends of each connection in separate MicroPython
processes that use the module under test, on loopback, alternating the two
modules round by round, each going first in every other round (A B, B A,
...: the second run of a pair can be the faster one). Reported per workload: the median of
each module and the median of the per-round ratios ours/C (higher is better
for ours). These machines are noisy: only ratios from one run mean anything.

    tools/bench.py [--rounds N] [--scale F] [--write docs/benchmarks.md]
"""
import argparse
import collections
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)

# Both ends import the module under test as `m`. Addresses come from the
# module's own getaddrinfo (the C module wants raw sockaddr bytes).
PRELUDE = """
import sys, time, gc
m = __import__(sys.argv[1])
PORT = int(sys.argv[2])
N = int(sys.argv[3])
ADDR = m.getaddrinfo('127.0.0.1', PORT)[0][-1]
def server():
    l = m.socket()
    l.setsockopt(m.SOL_SOCKET, m.SO_REUSEADDR, 1)
    l.bind(ADDR)
    l.listen(128)
    print('ready')
    return l
def connect():
    for i in range(200):
        c = m.socket()
        try:
            c.connect(ADDR)
            return c
        except OSError:
            c.close()
            time.sleep_ms(10)
    raise OSError('server did not come up')
"""

# asyncio's streams at both ends, here and on the board (tools/bench_board.py):
# echo() serves a connection, round_trips() times n 32-byte round trips to
# a server on `port` (the streams `import socket`: callers point it at the
# module under test).
ASYNCIO_ECHO = """
async def echo(r, w):
    while True:
        d = await r.read(64)
        if not d:
            break
        w.write(d)
        await w.drain()
    w.close()
    await w.wait_closed()
async def round_trips(port, n):
    r, w = await asyncio.open_connection('127.0.0.1', port)
    msg = b'x' * 32
    t = time.ticks_us()
    for i in range(n):
        w.write(msg)
        await w.drain()
        await r.read(64)
    dt = time.ticks_diff(time.ticks_us(), t)
    w.close()
    await w.wait_closed()
    return dt
"""

def lookups(host):
    """A workload of N calls of getaddrinfo(host, PORT) (no server)."""
    return ("lookups/s", "print('ready')\n", """
t = time.ticks_us()
for i in range(N):
    m.getaddrinfo('%s', PORT)
print(time.ticks_diff(time.ticks_us(), t))
""" % host, lambda s, n: n / s)


# name: (unit, server code, client code, value from (elapsed_s, n))
WORKLOADS = {
    "bulk stream (write 16 KiB / readinto)": ("MB/s", """
l = server()
s, _ = l.accept()
buf = bytearray(16384)
got = 0
while got < N:
    k = s.readinto(buf)
    if not k:
        break
    got += k
s.write(b'k')
""", """
c = connect()
data = bytes(16384)
t = time.ticks_us()
for i in range(N // 16384):
    c.write(data)
c.read(1)
print(time.ticks_diff(time.ticks_us(), t))
""", lambda s, n: n / s / 1e6),
    "bulk recv (send / recv(16384))": ("MB/s", """
l = server()
s, _ = l.accept()
got = 0
while got < N:
    d = s.recv(16384)
    if not d:
        break
    got += len(d)
s.send(b'k')
""", """
c = connect()
data = bytes(16384)
t = time.ticks_us()
for i in range(N // 16384):
    v = memoryview(data)
    while v:
        v = v[c.send(v):]
c.recv(1)
print(time.ticks_diff(time.ticks_us(), t))
""", lambda s, n: n / s / 1e6),
    "TCP ping-pong, 32 bytes": ("round trips/s", """
l = server()
s, _ = l.accept()
for i in range(N):
    s.send(s.recv(32))
""", """
c = connect()
msg = b'x' * 32
t = time.ticks_us()
for i in range(N):
    c.send(msg)
    c.recv(32)
print(time.ticks_diff(time.ticks_us(), t))
""", lambda s, n: n / s),
    "UDP ping-pong, 32 bytes": ("round trips/s", """
u = m.socket(m.AF_INET, m.SOCK_DGRAM)
u.bind(ADDR)
print('ready')
for i in range(N):
    d, a = u.recvfrom(64)
    u.sendto(d, a)
""", """
u = m.socket(m.AF_INET, m.SOCK_DGRAM)
msg = b'x' * 32
time.sleep_ms(50)
t = time.ticks_us()
for i in range(N):
    u.sendto(msg, ADDR)
    u.recvfrom(64)
print(time.ticks_diff(time.ticks_us(), t))
""", lambda s, n: n / s),
    # The server answers each connection with one byte, which the client
    # waits for: connections go in lockstep and never overflow the listen
    # backlog (a dropped SYN costs a 1 s retransmit and would measure the
    # kernel's timer, not the module).
    "connect/accept/close": ("connections/s", """
l = server()
for i in range(N):
    s, _ = l.accept()
    s.send(b'k')
    s.close()
""", """
c = connect()
c.recv(1)
c.close()
t = time.ticks_us()
for i in range(N - 1):
    c = m.socket()
    c.connect(ADDR)
    c.recv(1)
    c.close()
print(time.ticks_diff(time.ticks_us(), t))
""", lambda s, n: (n - 1) / s),
    "poll: 1 active among 64 idle": ("round trips/s", """
import select
l = server()
conns = [l.accept()[0] for i in range(65)]
p = select.poll()
for s in conns:
    p.register(s, select.POLLIN)
active = conns[-1]
done = 0
while done < N:
    for s, ev in p.poll(5000):
        s.send(s.recv(32))
        done += 1
""", """
idle = [connect() for i in range(64)]
c = connect()
msg = b'x' * 32
t = time.ticks_us()
for i in range(N):
    c.send(msg)
    c.recv(32)
print(time.ticks_diff(time.ticks_us(), t))
""", lambda s, n: n / s),
    # asyncio's streams (which `import socket` when they make a socket) on
    # the module under test, at both ends: what a web framework, an MQTT
    # client or a WebSocket server does with it.
    "asyncio streams echo, 32 bytes": ("round trips/s", """
import asyncio
sys.modules['socket'] = m
""" + ASYNCIO_ECHO + """
done = asyncio.Event()
async def handle(r, w):
    await echo(r, w)
    done.set()
async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', PORT)
    print('ready')
    await done.wait()
    srv.close()
    await srv.wait_closed()
asyncio.run(main())
""", """
import asyncio
sys.modules['socket'] = m
""" + ASYNCIO_ECHO + """
print(asyncio.run(round_trips(PORT, N)))
""", lambda s, n: n / s),
    # A numeric host, as MicroPython's documentation and most client
    # libraries (urequests, umqtt) turn (host, port) into an address.
    "getaddrinfo('127.0.0.1', port)": lookups("127.0.0.1"),
    # A name from /etc/hosts, as clients look up their server.
    "getaddrinfo('localhost', port)": lookups("localhost"),
}

SIZES = {  # workload -> count at scale 1
    "bulk stream (write 16 KiB / readinto)": 64 << 20,
    "bulk recv (send / recv(16384))": 64 << 20,
    "TCP ping-pong, 32 bytes": 20000,
    "UDP ping-pong, 32 bytes": 20000,
    "connect/accept/close": 2000,
    "poll: 1 active among 64 idle": 10000,
    "getaddrinfo('127.0.0.1', port)": 200000,
    "getaddrinfo('localhost', port)": 20000,
    "asyncio streams echo, 32 bytes": 20000,
}

MEMORY = """
import sys, gc
m = __import__(sys.argv[1])
PORT = int(sys.argv[2])
ADDR = m.getaddrinfo('127.0.0.1', PORT)[0][-1]
l = m.socket()
l.setsockopt(m.SOL_SOCKET, m.SO_REUSEADDR, 1)
l.bind(ADDR)
l.listen(1)
c = m.socket()
c.connect(ADDR)
s, _ = l.accept()
buf = bytearray(16384)
data = bytes(16384)
def measure(op):
    c.write(data)
    op()                      # warm up
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for i in range(50):
        c.write(data)
        op()
    per = (gc.mem_alloc() - before) // 50
    gc.enable()
    return per
print('recv', measure(lambda: s.recv(16384)))
print('readinto', measure(lambda: s.readinto(buf)))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_pair(firmware, module, server_code, client_code, n):
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        srv_path, cli_path = os.path.join(d, "server.py"), os.path.join(d, "client.py")
        with open(srv_path, "w") as f:
            f.write(PRELUDE + textwrap.dedent(server_code))
        with open(cli_path, "w") as f:
            f.write(PRELUDE + textwrap.dedent(client_code))
        srv = subprocess.Popen([firmware, "-X", "heapsize=8m", srv_path, module, str(port), str(n)],
                               stdout=subprocess.PIPE, text=True)
        try:
            if srv.stdout.readline().strip() != "ready":
                raise RuntimeError("server failed to start")
            out = subprocess.run([firmware, "-X", "heapsize=8m", cli_path, module, str(port), str(n)],
                                 capture_output=True, text=True, timeout=600)
            if out.returncode != 0:
                raise RuntimeError("client failed: " + out.stderr + out.stdout)
            srv.wait(timeout=60)
            return int(out.stdout.split()[-1]) / 1e6
        finally:
            if srv.poll() is None:
                srv.kill()
                srv.wait()


def memory(firmware, module):
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(MEMORY)
    try:
        out = subprocess.run([firmware, f.name, module, str(free_port())], capture_output=True, text=True, timeout=60)
        return dict((k, int(v)) for k, v in (line.split() for line in out.stdout.splitlines()))
    finally:
        os.unlink(f.name)


def size(path):
    out = subprocess.run(["size", path], capture_output=True, text=True, check=True).stdout.splitlines()[1].split()
    return int(out[0]) + int(out[1])


def flash_report(build):
    rows = []
    none, default, dual = (os.path.join(build, n) for n in ("micropython-none", "micropython", "micropython-dual"))
    if all(os.path.exists(p) for p in (none, default, dual)):
        ours = size(default) - size(none)
        both = size(dual) - size(none)
        rows.append(("unix x86-64 (text+data)", ours, both - ours))
    qn, qu, qm = (os.path.join(build, n) for n in ("firmware-qemu-none.elf", "firmware-qemu.elf", "firmware-qemu-modlwip.elf"))
    if all(os.path.exists(p) for p in (qn, qu, qm)):
        rows.append(("MPS2-AN385 Cortex-M3, lwIP (text+data)", size(qu) - size(qn), size(qm) - size(qn)))
    return rows


# Output sections that hold no flash (or nothing at run time at all).
NOT_FLASH = (".debug", ".comment", ".bss", ".tbss", ".note", ".ARM.attributes", ".stab", ".gnu.attributes", "/DISCARD/")


def map_contributions(path):
    """Bytes of flash each part of a module takes in a linked firmware, from
    the linker's map (input sections kept after --gc-sections): the Rust
    archive by crate, and the C objects by name."""
    out = collections.Counter()
    in_map, section, pending = False, None, None
    with open(path, errors="replace") as f:
        for line in f:
            if not in_map:
                in_map = line.startswith("Linker script and memory map")
                continue
            if line[:1] not in (" ", "\t", ""):
                section = line.split()[0] if line.split() else None
                continue
            if section is None or section.startswith(NOT_FLASH):
                continue
            # " .text.name 0xADDR 0xSIZE file", or the name alone on one line
            # and the rest on the next when the name is long.
            m = re.match(r"^ (\S+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S.*)$", line)
            if m:
                name, size, obj = m.group(1), int(m.group(2), 16), m.group(3)
            else:
                m = re.match(r"^\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S.*)$", line)
                if not (m and pending):
                    m = re.match(r"^ (\S+)\s*$", line)
                    pending = m.group(1) if m else None
                    continue
                name, size, obj = pending, int(m.group(1), 16), m.group(2)
            pending = None
            if name.startswith((".bss", "COMMON", ".tbss")):
                continue
            crate = re.search(r"libusocket\.a\(([a-z_]+)-", obj)
            if crate:
                out["Rust: " + crate.group(1)] += size
            elif obj.endswith(("/modusocket.o", "/aeabi_mem.o", "/modsocket.o", "/modlwip.o")):
                out[obj.rsplit("/", 1)[1]] += size
    return out


def parts_report(build):
    """(firmware, {part: bytes}) for every linked firmware whose map exists."""
    maps = [("unix x86-64, usocket", "unix-default/micropython.map"),
            ("unix x86-64, C module (dual firmware)", "unix-dual/micropython.map"),
            ("MPS2-AN385 Cortex-M3, usocket", "qemu/firmware.map"),
            ("MPS2-AN385 Cortex-M3, modlwip", "qemu-modlwip/firmware.map")]
    rows = []
    for label, rel in maps:
        path = os.path.join(build, rel)
        if os.path.exists(path):
            parts = map_contributions(path)
            if "dual" in label:
                parts = {k: v for k, v in parts.items() if k == "modsocket.o"}
            rows.append((label, parts))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--firmware", default=os.path.join(TOP, "build", "micropython-dual"))
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the full workload sizes")
    ap.add_argument("--write", help="write the results as markdown to this file")
    ap.add_argument("--only", help="run only the workloads whose name contains this (no memory or flash report)")
    args = ap.parse_args()

    lines = ["| workload | unit | usocket (median) | C module (median) | ratio ours/C (median of rounds) |",
             "|---|---|---|---|---|"]
    for name, (unit, server, client, value) in WORKLOADS.items():
        if args.only and args.only not in name:
            continue
        n = max(int(SIZES[name] * args.scale), 2)
        if "bulk" in name:
            n = max(n // 16384, 1) * 16384
        ours, theirs, ratios = [], [], []
        for r in range(args.rounds):
            # Each module goes first in every other round: the second run of
            # a pair can be the faster one (asyncio echo: 0.96 to 1.02 with
            # ours always first, 0.99 to 1.04 with it always second).
            order = ("usocket", "socket") if r % 2 == 0 else ("socket", "usocket")
            got = {m: value(run_pair(args.firmware, m, server, client, n), n) for m in order}
            a, b = got["usocket"], got["socket"]
            ours.append(a)
            theirs.append(b)
            ratios.append(a / b)
        row = "| %s | %s | %.1f | %.1f | %.2f |" % (name, unit, statistics.median(ours), statistics.median(theirs),
                                                     statistics.median(ratios))
        print(row, flush=True)
        lines.append(row)
    if args.only:
        return 0

    mem_ours, mem_c = memory(args.firmware, "usocket"), memory(args.firmware, "socket")
    lines += ["", "| GC heap bytes allocated per call | usocket | C module |", "|---|---|---|"]
    for op in ("recv", "readinto"):
        label = "recv(16384) of 16 KiB" if op == "recv" else "readinto(16 KiB buffer)"
        lines.append("| %s | %d | %d |" % (label, mem_ours[op], mem_c[op]))
    flash = flash_report(os.path.dirname(os.path.abspath(args.firmware)))
    if flash:
        lines += ["", "| flash the module adds to the firmware | usocket | MicroPython's C module |", "|---|---|---|"]
        for label, ours, theirs in flash:
            lines.append("| %s | %d bytes | %d bytes |" % (label, ours, theirs))
    parts = parts_report(os.path.dirname(os.path.abspath(args.firmware)))
    if parts:
        lines += ["", "| linked firmware | module's parts after --gc-sections (text+rodata+data, from the linker map) |",
                  "|---|---|"]
        for label, p in parts:
            desc = ", ".join("%s %d" % (k, v) for k, v in sorted(p.items(), key=lambda kv: -kv[1]) if v)
            lines.append("| %s | %s (total %d bytes) |" % (label, desc, sum(p.values())))
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_results(args.write, text)


BEGIN, END = "<!-- make bench: begin -->", "<!-- make bench: end -->"


def write_results(path, text, begin=BEGIN, end=END):
    """Put the tables between the markers of an existing document (keeping
    the prose around them), or write them as a new file. A document without
    the markers is left alone: writing it whole would lose its prose."""
    old = open(path).read() if os.path.exists(path) else None
    if old is not None:
        if begin not in old or end not in old:
            raise SystemExit("%s has no %s ... %s markers" % (path, begin, end))
        head, rest = old.split(begin, 1)
        text = head + begin + "\n" + text + end + rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
