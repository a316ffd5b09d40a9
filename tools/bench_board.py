#!/usr/bin/env python3
"""Side-by-side benchmarks on the emulated Cortex-M board: usocket against
MicroPython's modlwip, in one firmware (build/firmware-qemu-beside-modlwip.elf,
where usocket is `socket` and modlwip is `lwip`, same compiler flags and the
same lwIP), over lwIP's loopback interface inside the board.

QEMU runs with `-icount shift=0`: the emulated CPU's clock advances one
nanosecond per instruction executed, so a time the board measures is a count
of instructions, the same on every run and on a loaded machine. That is the
work each module makes the CPU do; a real microcontroller adds flash wait
states and caches, which this does not model.

Both ends of every connection are in the one MicroPython process, taking
turns (a board has one interpreter). The modules alternate workload by
workload (A B A B ...), several rounds; reported per workload: instructions
per operation for each module and the median of the per-round ratios
modlwip/ours (the speed ratio ours/C: higher is better for ours).

    tools/bench_board.py [--rounds N] [--scale F] [--write docs/benchmarks.md]
"""
import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "qemu"))
from board import Board  # noqa: E402
sys.path.insert(0, HERE)
from bench import ASYNCIO_ECHO, write_results  # noqa: E402

# The workloads, on the board: each f(m, n) runs n operations with module m
# and returns the board's microseconds (tools/profile_board.py runs them too).
WORKLOADS_CODE = """
import time, gc, sys, asyncio
""" + ASYNCIO_ECHO + """
LISTENERS = {}
def listener(m):
    # One per module for the whole run: modlwip (1.25) calls tcp_err() on a
    # listening pcb when it closes it, which this board's lwIP asserts on.
    if m not in LISTENERS:
        l = m.socket()
        l.setsockopt(m.SOL_SOCKET, m.SO_REUSEADDR, 1)
        port = 7000 + len(LISTENERS)
        l.bind(('127.0.0.1', port))
        l.listen(2)
        LISTENERS[m] = (l, port)
    return LISTENERS[m]
def elapsed(t, *socks):
    dt = time.ticks_diff(time.ticks_us(), t)
    for x in socks:
        x.close()
    return dt
def pair(m):
    l, port = listener(m)
    c = m.socket()
    c.connect(('127.0.0.1', port))
    s, _ = l.accept()
    return c, s
def tcp(m, n):
    c, s = pair(m)
    msg = b'x' * 32
    t = time.ticks_us()
    for i in range(n):
        c.send(msg)
        s.send(s.recv(32))
        c.recv(32)
    return elapsed(t, c, s)
def udp(m, n):
    a = m.socket(m.AF_INET, m.SOCK_DGRAM)
    b = m.socket(m.AF_INET, m.SOCK_DGRAM)
    a.bind(('127.0.0.1', 7100))
    b.bind(('127.0.0.1', 7101))
    to_b = ('127.0.0.1', 7101)
    msg = b'x' * 32
    t = time.ticks_us()
    for i in range(n):
        a.sendto(msg, to_b)
        d, src = b.recvfrom(64)
        b.sendto(d, src)
        a.recvfrom(64)
    return elapsed(t, a, b)
def bulk(m, n):
    c, s = pair(m)
    data = bytes(4096)
    mv = memoryview(bytearray(4096))
    t = time.ticks_us()
    for i in range(n):
        c.write(data)
        got = 0
        while got < 4096:
            got += s.readinto(mv[got:])
    return elapsed(t, c, s)
def conn(m, n):
    l, port = listener(m)
    addr = ('127.0.0.1', port)
    t = time.ticks_us()
    for i in range(n):
        c = m.socket()
        c.connect(addr)
        s, _ = l.accept()
        s.close()
        c.close()
    return elapsed(t)
SERVERS = {}
def aio(m, n):
    # asyncio's streams, as a web framework or an MQTT client on a board uses
    # the module: an echo server and a client in one event loop.
    async def main():
        if m not in SERVERS:
            # One per module for the whole run, never closed (as listener()):
            # its task serves on in later asyncio.run() calls.
            SERVERS[m] = 7200 + len(SERVERS)
            await asyncio.start_server(echo, '127.0.0.1', SERVERS[m])
        return await round_trips(SERVERS[m], n)
    # asyncio's streams `import socket` when they make a socket
    before = sys.modules.get('socket')
    sys.modules['socket'] = m
    try:
        return asyncio.run(main())
    finally:
        if before is None:
            del sys.modules['socket']
        else:
            sys.modules['socket'] = before
def heap(m):
    c, s = pair(m)
    buf = bytearray(1024)
    data = bytes(1024)
    ack = bytearray(1)
    def once(op):
        c.write(data)
        op()
        # An answer carries the ACK at once: without it, Nagle holds the
        # next write for the receiver's delayed ACK (250 ms of the
        # emulated clock: seconds of emulation).
        s.write(b'k')
        c.readinto(ack)
    res = []
    for op in (lambda: s.recv(1024), lambda: s.readinto(buf)):
        once(op)
        gc.collect()
        before = gc.mem_alloc()
        for i in range(20):
            once(op)
        res.append((gc.mem_alloc() - before) // 20)
    c.close()
    s.close()
    return res
"""

# Runs on the board; MODS, SCALE and ROUNDS are prepended.
GUEST = WORKLOADS_CODE + """
WORK = [('tcp', tcp, 20000), ('udp', udp, 20000), ('bulk', bulk, 4096), ('conn', conn, 4000), ('aio', aio, 2000)]
for r in range(ROUNDS):
    for name, f, n in WORK:
        n = max(1, int(n * SCALE))
        for m in MODS:
            gc.collect()
            print('result', name, m.__name__, n, f(m, n))
for m in MODS:
    print('heap', m.__name__, *heap(m))
"""

# name in the guest: (label, what one operation is)
WORKLOADS = {
    "tcp": ("TCP ping-pong, 32 bytes", "round trip"),
    "udp": ("UDP ping-pong, 32 bytes", "round trip"),
    "bulk": ("bulk stream (write 4 KiB / readinto)", "4 KiB"),
    "conn": ("connect/accept/close", "connection"),
    "aio": ("asyncio streams echo, 32 bytes", "round trip"),
}
OURS, C = "socket", "lwip"  # the modules' names on this firmware


def run(firmware, rounds, scale):
    board = Board(firmware, qemu_args=("-icount", "shift=0"))
    try:
        code = "import usocket, lwip\nMODS = (usocket, lwip)\nSCALE = %r\nROUNDS = %d\n" % (scale, rounds) + GUEST
        out = board.exec(code, 3600)
    finally:
        board.close()
    times, heap = {}, {}
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "result":
            # microseconds of the board's clock = thousands of instructions
            times.setdefault(f[1], {}).setdefault(f[2], []).append(int(f[4]) * 1000 / int(f[3]))
        elif f and f[0] == "heap":
            heap[f[1]] = (int(f[2]), int(f[3]))
    return times, heap


def table(times, heap, rounds, scale):
    lines = ["| workload (on the board) | instructions per | usocket (median) | modlwip (median) "
             "| ratio modlwip/ours (median of rounds) |", "|---|---|---|---|---|"]
    for key, (label, unit) in WORKLOADS.items():
        ours, c = times[key][OURS], times[key][C]
        ratio = statistics.median(b / a for a, b in zip(ours, c))
        lines.append("| %s | %s | %.0f | %.0f | %.2f |" % (label, unit, statistics.median(ours), statistics.median(c), ratio))
    lines += ["", "| GC heap bytes allocated per call (on the board) | usocket | modlwip |", "|---|---|---|",
              "| recv(1024) of 1 KiB | %d | %d |" % (heap[OURS][0], heap[C][0]),
              "| readinto(1 KiB buffer) | %d | %d |" % (heap[OURS][1], heap[C][1]),
              "", "(%d rounds, scale %g; `-icount shift=0`: instructions, not wall time)" % (rounds, scale)]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--firmware", default=os.path.join(TOP, "build", "firmware-qemu-beside-modlwip.elf"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--write", metavar="MARKDOWN")
    args = ap.parse_args()
    times, heap = run(args.firmware, args.rounds, args.scale)
    text = table(times, heap, args.rounds, args.scale)
    print(text)
    if args.write:
        write_results(args.write, text + "\n", "<!-- make bench-board: begin -->", "<!-- make bench-board: end -->")


if __name__ == "__main__":
    main()
