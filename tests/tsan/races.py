#!/usr/bin/env python3
"""Runs the MicroPython-level tests that use threads, first_use.py (threads
making a socket's address cache at once) and random_threads_nogc.py (the
three-thread random calls), on a unix firmware built with ThreadSanitizer,
shim and core both instrumented, and fails if a data race is reported in
the module's code.

    races.py FIRMWARE

The unix port runs threads without a GIL, so MicroPython's own state is
raced on too (allocation statistics in m_malloc, map lookup caches, thread
start-up): those reports are counted and shown, not failed on. A report is
ours when the code that made either access (the first frame outside the
sanitizer's own interceptors, such as memset or recv) is in modusocket.c or
in the Rust core (a `usocket` function). One kind is the program's own and
not counted: the sanitizer models connect() as a new start of the
descriptor, so a thread receiving while another connects the same socket
(random_threads does) is reported; the kernel serialises the two. Each
test's output must also match its .exp file.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, "..", "micropython")
# Every test file that starts threads, with the directory it runs in and
# the firmware's options. random_threads.py itself is not among them: its
# collections deadlock under the sanitizer, which holds back the collector's
# signal to a thread waiting in pthread_mutex_lock for the heap's lock
# (docs/guarantees.md); random_threads_nogc.py runs it without collections.
FILES = [(TESTS, "threads.py", ()), (TESTS, "tcp_stream.py", ()), (TESTS, "peer_faults.py", ()),
         (TESTS, "unix_socket.py", ()), (HERE, "first_use.py", ()),
         (HERE, "random_threads_nogc.py", ("-X", "heapsize=512m"))]
SHIM = "modusocket.c"
ACCESS = re.compile(r"^\s*(previous )?(atomic )?(read|write) of size", re.I)
FRAME = re.compile(r"^\s*#\d+ (\S+) (\S+)")


def accessors(report):
    """Who made each access: the source file, or the function where there is
    no line information (the Rust core)."""
    found, looking = [], False
    for line in report.splitlines():
        if ACCESS.match(line):
            looking = True
            continue
        m = FRAME.match(line)
        if looking and m:
            function, where = m.groups()
            if "sanitizer" in where or "libtsan" in where:
                continue  # an interceptor (memset, recv): the caller made the access
            found.append(function if where == "<null>" else os.path.basename(where.split(":")[0]))
            looking = False
    return found


def is_ours(who):
    return who == SHIM or "usocket" in who


def connect_beside_a_read(report):
    """The sanitizer's model of connect() (see the module's doc), on a
    descriptor: a write by connect against a read by another call. (When
    the writer's stack is lost from the sanitizer's history, the
    descriptor's last creation, which names connect, says who wrote.)"""
    if "Location is file descriptor" not in report:
        return False
    writes = re.findall(r"(?m)^\s*(?:Previous )?[Ww]rite of size \d+ .*\n\s*(\S+ \S+)", report)
    if len(writes) != 1:
        return False
    if writes[0] == "#0 connect":
        return True
    created_by_connect = re.search(r"(?m)^\s*Location is file descriptor .*\n\s*#0 connect ", report)
    return writes[0] == "[failed to" and created_by_connect is not None


def main():
    firmware = os.path.abspath(sys.argv[1])
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=0 report_signal_unsafe=0 history_size=4")
    ours, theirs, program, failed = [], 0, 0, []
    for where, name, options in FILES:
        path = os.path.join(where, name)
        out = subprocess.run([firmware, *options, name], cwd=where, env=env, capture_output=True, timeout=600)
        with open(path + ".exp", "rb") as f:
            if out.stdout != f.read():
                failed.append(name)
                print("%s: output differs from %s.exp:\n%s" % (name, name, out.stdout.decode(errors="replace")))
        for report in out.stderr.decode(errors="replace").split("WARNING: ThreadSanitizer:")[1:]:
            if connect_beside_a_read(report):
                program += 1
            elif any(is_ours(who) for who in accessors(report)):
                ours.append((name, report.split("SUMMARY:")[0]))
            else:
                theirs += 1
        print("%s: %s" % (name, "ok" if name not in failed else "FAILED"), flush=True)
    print("%d race reports in MicroPython's own code (not ours to fix), %d of a connect beside a read on one "
          "socket (the program's), %d in the module" % (theirs, program, len(ours)))
    for name, report in ours:
        print("== %s: data race in the module:%s" % (name, report))
    return 1 if ours or failed else 0


if __name__ == "__main__":
    sys.exit(main())
