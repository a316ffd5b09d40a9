#!/usr/bin/env python3
"""Runs the project's tests against one or more firmwares:

1. MicroPython-level tests (tests/micropython/*.py with .py.exp), through
   MicroPython's own tests/run-tests.py, once per firmware;
2. interop tests with CPython as the peer (tests/interop/test_*.py);
3. the lwIP raw backend on the emulated MPS2-AN385 board (tests/qemu/), if a
   firmware for it is given.

Exits non-zero if anything fails or is skipped.
"""
import argparse
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, **kw).returncode


def micropython_tests(micropython_dir, firmware, result_dir):
    tests = sorted(
        t for t in glob.glob(os.path.join(HERE, "micropython", "*.py"))
        if not os.path.basename(t).startswith("_")
    )
    env = dict(os.environ, MICROPY_MICROPYTHON=os.path.abspath(firmware))
    out = subprocess.run(
        [sys.executable, "run-tests.py", "-r", result_dir] + tests,
        cwd=os.path.join(micropython_dir, "tests"), env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    print(out.stdout, end="")
    ok = out.returncode == 0 and "skipped" not in out.stdout.split("tests performed")[-1]
    if not ok:
        subprocess.run([sys.executable, "run-tests.py", "-r", result_dir, "--print-failures"],
                       cwd=os.path.join(micropython_dir, "tests"))
    return ok


def interop_tests(firmwares):
    env = dict(os.environ, USOCKET_FIRMWARES=os.pathsep.join(os.path.abspath(f) for f in firmwares),
               PYTHONWARNINGS="ignore::ResourceWarning")
    return run([sys.executable, "-m", "unittest", "discover", "-v", "-s", os.path.join(HERE, "interop"),
                "-t", os.path.join(HERE, "interop")], env=env) == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--micropython-dir", required=True, help="MicroPython source tree (for run-tests.py)")
    ap.add_argument("--firmware", action="append", required=True, help="firmware to test (repeatable)")
    ap.add_argument("--qemu-firmware", help="firmware-qemu.elf for the emulated board tests")
    ap.add_argument("--only", choices=["micropython", "interop", "qemu"], help="run one group only")
    args = ap.parse_args()

    failed = []
    if args.only in (None, "micropython"):
        for fw in args.firmware:
            name = os.path.basename(fw)
            result_dir = os.path.abspath(os.path.join(os.path.dirname(fw), "test-results", name))
            print("== MicroPython-level tests on", fw, flush=True)
            if not micropython_tests(args.micropython_dir, fw, result_dir):
                failed.append("micropython tests on " + name)
    if args.only in (None, "interop"):
        print("== interop tests (CPython peer)", flush=True)
        if not interop_tests(args.firmware):
            failed.append("interop tests")

    if args.qemu_firmware and args.only in (None, "qemu"):
        print("== lwIP raw backend on the emulated board", flush=True)
        env = dict(os.environ, USOCKET_QEMU_FIRMWARE=os.path.abspath(args.qemu_firmware),
                   USOCKET_MICROPY_DIR=os.path.abspath(args.micropython_dir))
        if run([sys.executable, "-m", "unittest", "discover", "-v", "-s", os.path.join(HERE, "qemu"),
                "-t", os.path.join(HERE, "qemu")], env=env) != 0:
            failed.append("emulated board tests")

    if failed:
        print("FAILED:", ", ".join(failed))
        return 1
    print("all tests passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
