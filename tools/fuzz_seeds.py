#!/usr/bin/env python3
"""More seeds of tests/micropython/random_calls.py than `make test` runs: the
campaigns docs/guarantees.md reports.

    tools/fuzz_seeds.py FIRST END [--firmware build/micropython] [--board ELF] [--per-run 25]

Seeds FIRST to END-1, odd ones with every socket non-blocking and even ones
with each socket's timeout 0, 3 or 20 ms. With --firmware a unix firmware
runs them (in tests/micropython, as the test does); with --board the emulated
board does (QEMU, isolated network as in tests/qemu), booted afresh for every
--per-run seeds. A run that raises, crashes or takes more than 30 s a seed
is reported with its seeds and the last output, and the campaign goes on;
rerun a failing seed alone with FIRST=seed END=seed+1 --per-run 1. The exit
status is 1 if any run failed.
"""
import argparse
import os
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(TOP, "tests", "micropython")
sys.path.insert(0, os.path.join(TOP, "tests", "qemu"))

LOOP = """
for seed in %r:
    n = run(seed, 2500, None if seed %% 2 else TIMEOUTS)
    print("seed", seed, n)
"""


def on_unix(firmware, seeds):
    code = "import sys\nsys.path.insert(0, '.')\nfrom random_calls import run, TIMEOUTS\n" + LOOP % (seeds,)
    try:
        out = subprocess.run([firmware, "-c", code], cwd=SCRIPTS, capture_output=True, text=True,
                             timeout=30 * len(seeds))
    except subprocess.TimeoutExpired as e:
        return "timed out after %r" % (e.stdout or "")[-300:]
    if out.returncode != 0 or out.stdout.count("seed") != len(seeds):
        return "status %d: %s" % (out.returncode, (out.stdout + out.stderr)[-600:])
    return None


def on_board(elf, seeds):
    from board import Board, micropython_test_source  # tests/qemu/board.py

    # the module, not its seeds
    src = micropython_test_source("random_calls.py").split('if __name__ == "__main__":')[0]
    board = Board(elf)
    try:
        out = board.exec(src + LOOP % (seeds,), timeout=30 * len(seeds))
    except Exception as e:  # a hang (BoardError) or an exception on the board
        return "%s: %s" % (type(e).__name__, str(e)[-600:])
    finally:
        board.close()
    return None if out.count("seed") == len(seeds) else "output: " + out[-600:]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("first", type=int)
    p.add_argument("end", type=int)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--firmware", default=os.path.join(TOP, "build", "micropython"))
    where.add_argument("--board", help="an emulated board's ELF, e.g. build/firmware-qemu.elf")
    p.add_argument("--per-run", type=int, default=25)
    a = p.parse_args()
    failed = 0
    for start in range(a.first, a.end, a.per_run):
        seeds = list(range(start, min(a.end, start + a.per_run)))
        t = time.monotonic()
        why = on_board(a.board, seeds) if a.board else on_unix(os.path.abspath(a.firmware), seeds)
        if why:
            failed += 1
            print("FAIL seeds %d-%d: %s" % (seeds[0], seeds[-1], why), flush=True)
        else:
            print("ok seeds %d-%d (%.0f s)" % (seeds[0], seeds[-1], time.monotonic() - t), flush=True)
    print("%d runs failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
