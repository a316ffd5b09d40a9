#!/usr/bin/env python3
"""Runs the MicroPython-level tests that use threads, and first_use.py
(threads making a socket's address cache at once), on a unix firmware built
with ThreadSanitizer, and fails if a data race is reported in the shim's
code.

    races.py FIRMWARE

The unix port runs threads without a GIL, so MicroPython's own state is
raced on too (allocation statistics in m_malloc, map lookup caches, thread
start-up): those reports are counted and shown, not failed on. A report is
ours when the code that made either access (the first frame outside the
sanitizer's own interceptors, such as memset) is in modusocket.c. The Rust
core is not instrumented (its shared state is atomics). Each test's output
must also match its .exp file.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, "..", "micropython")
# Every test file that starts threads, with the directory it runs in, but
# random_threads.py: its collections deadlock under the sanitizer, which
# holds back the collector's signal to a thread waiting in
# pthread_mutex_lock for the heap's lock (docs/guarantees.md).
FILES = [(TESTS, "threads.py"), (TESTS, "tcp_stream.py"), (TESTS, "peer_faults.py"),
         (TESTS, "unix_socket.py"), (HERE, "first_use.py")]
OURS = ("modusocket.c",)
ACCESS = re.compile(r"^\s*(previous )?(atomic )?(read|write) of size", re.I)
FRAME = re.compile(r"^\s*#\d+ \S+ (\S+)")


def accessors(report):
    """The source file of the code that made each access."""
    found, looking = [], False
    for line in report.splitlines():
        if ACCESS.match(line):
            looking = True
            continue
        m = FRAME.match(line)
        if looking and m:
            if "sanitizer" in m.group(1) or "libtsan" in m.group(1):
                continue  # an interceptor (memset, memcpy): the caller made the access
            found.append(os.path.basename(m.group(1).split(":")[0]))
            looking = False
    return found


def main():
    firmware = os.path.abspath(sys.argv[1])
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=0 report_signal_unsafe=0 history_size=4")
    ours, theirs, failed = [], 0, []
    for where, name in FILES:
        path = os.path.join(where, name)
        out = subprocess.run([firmware, name], cwd=where, env=env, capture_output=True, timeout=600)
        with open(path + ".exp", "rb") as f:
            if out.stdout != f.read():
                failed.append(name)
                print("%s: output differs from %s.exp:\n%s" % (name, name, out.stdout.decode(errors="replace")))
        for report in out.stderr.decode(errors="replace").split("WARNING: ThreadSanitizer:")[1:]:
            if any(f in OURS for f in accessors(report)):
                ours.append((name, report.split("SUMMARY:")[0]))
            else:
                theirs += 1
        print("%s: %s" % (name, "ok" if name not in failed else "FAILED"), flush=True)
    print("%d race reports in MicroPython's own code (not ours to fix), %d in the shim" % (theirs, len(ours)))
    for name, report in ours:
        print("== %s: data race in the shim:%s" % (name, report))
    return 1 if ours or failed else 0


if __name__ == "__main__":
    sys.exit(main())
