#!/usr/bin/env python3
"""Runs the project's tests against one or more firmwares:

1. MicroPython-level tests (tests/micropython/*.py with .py.exp), through
   MicroPython's own tests/run-tests.py, once per firmware, and MicroPython's
   own socket tests listed in tests/upstream.txt;
2. interop tests with CPython and real servers as peers (tests/interop/test_*.py),
   third-party MicroPython libraries among them (`make pylibs` fetches them);
3. fault injection: the C library's socket calls fail or fall short
   (tests/faults/inject.c, preloaded into the unix firmware);
4. the lwIP raw backend on the emulated MPS2-AN385 board (tests/qemu/), if a
   firmware for it is given, and again on the same board built as stm32 and
   rp2 boards get the module (modlwip kept, usocket as `socket`, all built
   for the RP2040's Cortex-M0+), if that one is given;
5. the lwIP socket backend (the ESP32 one) on the unix firmware that runs
   lwIP in-process, if given: the MicroPython-level tests again, with the
   expected outputs in tests/micropython/lwip_socket/ where lwIP's differ
   (each difference is listed in docs/behaviour.md) and that directory's own
   tests, then tests/lwip/ (Ctrl-C, driven from CPython; microdot
   serving asyncio clients in clear and over TLS, in one process).

Exits non-zero if anything fails or is skipped.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, **kw).returncode


def micropython_tests(micropython_dir, firmware, result_dir, tests=None):
    if tests is None:
        tests = sorted(
            t for t in glob.glob(os.path.join(HERE, "micropython", "*.py"))
            if not os.path.basename(t).startswith("_")
        )
    env = dict(os.environ, MICROPY_MICROPYTHON=os.path.abspath(firmware))
    shutil.rmtree(result_dir, ignore_errors=True)  # --print-failures lists all it finds there
    # Scripts run in their own folder: one that left a file there (an AF_UNIX
    # socket bound to a relative name) would change the next run's results.
    folders = {d: set(os.listdir(d)) for d in {os.path.dirname(t) for t in tests}}
    out = subprocess.run(
        [sys.executable, "run-tests.py", "-r", result_dir] + tests,
        cwd=os.path.join(micropython_dir, "tests"), env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    print(out.stdout, end="")
    ok = out.returncode == 0 and "skipped" not in out.stdout.split("tests performed")[-1]
    for d, before in folders.items():
        left = sorted(set(os.listdir(d)) - before)
        if left:
            print("FAILED: the scripts left %s in %s" % (", ".join(map(repr, left)), d))
            ok = False
    if not ok:
        subprocess.run([sys.executable, "run-tests.py", "-r", result_dir, "--print-failures"],
                       cwd=os.path.join(micropython_dir, "tests"))
    return ok


def lwip_socket_tests(micropython_dir, firmware, result_dir):
    """The MicroPython-level tests on the lwIP socket backend: the common
    tests with lwIP's expected output where it differs, minus those
    tests/micropython/lwip_socket/skip.txt names (with why), plus that
    directory's own tests."""
    common = os.path.join(HERE, "micropython")
    overlay = os.path.join(common, "lwip_socket")
    skip = set()
    with open(os.path.join(overlay, "skip.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                skip.add(line)
    work = tempfile.mkdtemp(prefix="usocket-lwip-tests-")
    try:
        for src in (common, overlay):
            for path in glob.glob(os.path.join(src, "*.py")) + glob.glob(os.path.join(src, "*.py.exp")):
                if os.path.basename(path).split(".py")[0] + ".py" not in skip:
                    shutil.copy(path, work)
        tests = sorted(t for t in glob.glob(os.path.join(work, "*.py")) if not os.path.basename(t).startswith("_"))
        return micropython_tests(micropython_dir, firmware, result_dir, tests)
    finally:
        shutil.rmtree(work)


def read_upstream_list():
    groups, current = {}, None
    with open(os.path.join(HERE, "upstream.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line.startswith("[") and line.endswith("]"):
                current = groups.setdefault(line[1:-1], [])
            elif line:
                current.append(line)
    return groups


def upstream_tests(micropython_dir, firmware, result_dir):
    """MicroPython's own tests (tests/upstream.txt) on the firmware where
    `socket` is usocket."""
    groups = read_upstream_list()
    tests_dir = os.path.abspath(os.path.join(micropython_dir, "tests"))
    env = dict(os.environ, MICROPY_MICROPYTHON=os.path.abspath(firmware), USOCKET_UPSTREAM_TESTS=tests_dir)
    files = groups["run-tests"] + [os.path.join(HERE, "upstream", t) for t in groups["wrapped"]]
    out = subprocess.run([sys.executable, "run-tests.py", "-j", "1", "-r", result_dir] + files,
                         cwd=tests_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(out.stdout, end="")
    ok = out.returncode == 0 and "skip " not in out.stdout
    if not ok:
        subprocess.run([sys.executable, "run-tests.py", "-r", result_dir, "--print-failures"], cwd=tests_dir)
    # Multi-instance tests pick "the host IP" by routing to an outside
    # address: in a namespace with only loopback up they use 127.0.0.1, and
    # no packet can leave.
    ns = "usocket-multi-%d" % os.getpid()
    if subprocess.run(["ip", "netns", "add", ns]).returncode != 0:
        print("FAILED: the multi-instance tests need a network namespace (run as root with iproute2)")
        return False
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "run-multitests.py",
                              "-i", "micropython", "-i", "micropython"] + groups["multitests"],
                             cwd=tests_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=600)
        print(out.stdout, end="")
        ok = ok and out.returncode == 0 and "skip" not in out.stdout.lower().split("tests performed")[0].replace("skipped", "")
    finally:
        subprocess.run(["ip", "netns", "del", ns])
    return ok


def unittest_dir(name, **env):
    """Runs the unittest modules of tests/<name> with `env` added; True if all pass."""
    d = os.path.join(HERE, name)
    return run([sys.executable, "-m", "unittest", "discover", "-v", "-s", d, "-t", d],
               env=dict(os.environ, **env)) == 0


def pylibs_beside(firmware):
    """Third-party libraries: `make pylibs` puts them beside the firmware."""
    return os.path.join(os.path.dirname(os.path.abspath(firmware)), "pylibs")


def interop_tests(firmwares, micropython_dir):
    return unittest_dir("interop", USOCKET_FIRMWARES=os.pathsep.join(os.path.abspath(f) for f in firmwares),
                        USOCKET_MICROPYTHON_DIR=os.path.abspath(micropython_dir),
                        USOCKET_PYLIBS=os.environ.get("USOCKET_PYLIBS", pylibs_beside(firmwares[0])),
                        PYTHONWARNINGS="ignore::ResourceWarning")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--micropython-dir", required=True, help="MicroPython source tree (for run-tests.py)")
    ap.add_argument("--firmware", action="append", required=True,
                    help="firmware to test (repeatable); the first must have usocket as `socket`")
    ap.add_argument("--qemu-firmware", help="firmware-qemu.elf for the emulated board tests")
    ap.add_argument("--qemu-beside-modlwip-firmware",
                    help="the board built with modlwip kept and usocket as `socket`, as stm32/rp2 get it")
    ap.add_argument("--lwip-firmware", help="micropython-lwip (the lwIP socket backend) to test")
    ap.add_argument("--only", choices=["micropython", "upstream", "interop", "faults", "qemu", "lwip"],
                    help="run one group only")
    args = ap.parse_args()

    failed = []
    if args.only in (None, "micropython"):
        for fw in args.firmware:
            name = os.path.basename(fw)
            result_dir = os.path.abspath(os.path.join(os.path.dirname(fw), "test-results", name))
            print("== MicroPython-level tests on", fw, flush=True)
            if not micropython_tests(args.micropython_dir, fw, result_dir):
                failed.append("micropython tests on " + name)
    if args.only in (None, "upstream"):
        fw = args.firmware[0]
        print("== MicroPython's own socket tests on", fw, flush=True)
        result_dir = os.path.abspath(os.path.join(os.path.dirname(fw), "test-results", "upstream"))
        if not upstream_tests(args.micropython_dir, fw, result_dir):
            failed.append("upstream tests")
    if args.only in (None, "interop"):
        print("== interop tests (CPython peer)", flush=True)
        if not interop_tests(args.firmware, args.micropython_dir):
            failed.append("interop tests")

    if args.only in (None, "faults"):
        print("== fault injection (LD_PRELOAD) on", args.firmware[0], flush=True)
        if not unittest_dir("faults", USOCKET_FIRMWARES=os.path.abspath(args.firmware[0]),
                            PYTHONWARNINGS="ignore::ResourceWarning"):
            failed.append("fault injection tests")

    if args.only in (None, "qemu"):
        # The board with usocket alone, then (if given) the board as stm32 and
        # rp2 get it: modlwip kept, usocket as `socket`, built for the
        # Cortex-M0+. The whole suite runs on each; the BesideModlwip
        # class needs the second.
        beside = args.qemu_beside_modlwip_firmware and os.path.abspath(args.qemu_beside_modlwip_firmware)
        boards = [("usocket alone", args.qemu_firmware), ("beside modlwip, Cortex-M0+", beside)]
        for what, fw in boards:
            if not fw:
                continue
            print("== lwIP raw backend on the emulated board:", what, flush=True)
            env = {"USOCKET_QEMU_BESIDE_MODLWIP_FIRMWARE": beside} if beside else {}
            if not unittest_dir("qemu", USOCKET_QEMU_FIRMWARE=os.path.abspath(fw), **env,
                                USOCKET_MICROPY_DIR=os.path.abspath(args.micropython_dir),
                                USOCKET_PYLIBS=os.environ.get("USOCKET_PYLIBS", pylibs_beside(args.firmware[0])),
                                PYTHONWARNINGS="ignore::ResourceWarning"):
                failed.append("emulated board tests (%s)" % what)

    if args.lwip_firmware and args.only in (None, "lwip"):
        fw = args.lwip_firmware
        print("== lwIP socket backend (in-process lwIP) on", fw, flush=True)
        result_dir = os.path.abspath(os.path.join(os.path.dirname(fw), "test-results", "lwip"))
        if not lwip_socket_tests(args.micropython_dir, fw, result_dir):
            failed.append("lwIP socket backend tests")
        if not unittest_dir("lwip", USOCKET_LWIP_FIRMWARE=os.path.abspath(fw),
                            USOCKET_PYLIBS=os.environ.get("USOCKET_PYLIBS", pylibs_beside(fw)),
                            PYTHONWARNINGS="ignore::ResourceWarning"):
            failed.append("lwIP socket backend Ctrl-C and microdot tests")

    if failed:
        print("FAILED:", ", ".join(failed))
        return 1
    print("all tests passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
