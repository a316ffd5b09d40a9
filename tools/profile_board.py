#!/usr/bin/env python3
"""Where a module's instructions go on the emulated board: QEMU traces every
translated block it executes (`-d in_asm,exec,nochain`), and each execution
is counted as its block's instructions, summed per function of the firmware.
A run of N operations minus a run of none, divided by N, is per operation.

    tools/profile_board.py [--firmware ELF] [--module usocket|lwip] [--workload tcp|udp|bulk|conn|aio] [-n N]

The workloads are bench_board.py's (an operation as there: a round trip, 4 KiB
or a connection); each run includes the workload's own set-up and close,
which the run of none cancels out.

Compare the two modules of build/firmware-qemu-beside-modlwip.elf by running
it once with each; docs/benchmarks.md reads such runs. The trace is large
(about 25 MB per thousand operations) and goes to a temporary folder.

The board's clock is the host's here, not instructions as in bench_board.py:
with -icount QEMU also translates shortened blocks at the same addresses,
which this count cannot tell apart. So SysTick's share varies, and totals
differ by about 2 % from run to run; the module's own functions do not.
"""
import argparse
import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "qemu"))
from board import Board  # noqa: E402
sys.path.insert(0, HERE)
from bench_board import WORKLOADS, WORKLOADS_CODE  # noqa: E402

def functions(firmware):
    """Sorted start addresses and names of the firmware's functions."""
    out = subprocess.run(["arm-none-eabi-nm", "-n", "-C", firmware], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        f = line.split(maxsplit=2)
        if len(f) == 3 and f[1] in "tTwW":
            syms.append((int(f[0], 16) & ~1, f[2]))
    return [a for a, _ in syms], [n for _, n in syms]


def trace(firmware, module, workload, n, log):
    """Runs `n` operations of bench_board.py's workload with the trace on;
    the trace's byte range for them."""
    board = Board(firmware, qemu_args=("-d", "in_asm,exec,nochain", "-D", log))
    try:
        board.exec("import %s as m\n" % module + WORKLOADS_CODE + "%s(m, 20)\n" % workload, 120)
        start = os.path.getsize(log)
        board.exec("%s(m, %d)\n" % (workload, n), 600)
        return start, os.path.getsize(log)
    finally:
        board.close()


def per_function(log, start, end, addrs, names):
    """Instructions executed per function between the two offsets. A block's
    size is that of its latest translation (blocks are translated again when
    QEMU flushes its cache)."""
    size, counts, block = {}, collections.Counter(), None
    insn = re.compile(rb"0x([0-9a-f]{8}):\s")
    pos = 0
    with open(log, "rb") as f:
        for line in f:
            pos += len(line)
            m = insn.match(line)
            if m:
                pc = int(m.group(1), 16)
                if block is None:
                    block = pc
                    size[block] = 0
                size[block] += 1
                continue
            block = None
            if line.startswith(b"Trace") and start < pos <= end:
                pc = int(line.split(b"[", 1)[1].split(b"/")[1], 16)
                counts[names[bisect.bisect_right(addrs, pc) - 1]] += size.get(pc, 0)
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--firmware", default=os.path.join(TOP, "build", "firmware-qemu-beside-modlwip.elf"))
    ap.add_argument("--module", default="usocket", help="usocket, or lwip for modlwip")
    ap.add_argument("--workload", default="tcp", choices=sorted(WORKLOADS))
    ap.add_argument("-n", type=int, default=100, help="operations, as bench_board.py counts them (a round trip, 4 KiB, a connection)")
    args = ap.parse_args()
    addrs, names = functions(args.firmware)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (0, args.n):
            log = os.path.join(tmp, "trace-%d.log" % n)
            start, end = trace(args.firmware, args.module, args.workload, n, log)
            runs.append(per_function(log, start, end, addrs, names))
            os.unlink(log)
    per_op = {k: (runs[1][k] - runs[0][k]) / args.n for k in set(runs[0]) | set(runs[1])}
    print("%s, %s: %.0f instructions per operation" % (args.module, args.workload, sum(per_op.values())))
    for name, v in sorted(per_op.items(), key=lambda kv: -kv[1]):
        if abs(v) >= 4:
            print("%8.0f  %s" % (v, name))


if __name__ == "__main__":
    main()
