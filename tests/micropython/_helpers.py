# Shared by the MicroPython-level tests (files starting with "_" are not tests).
try:
    import usocket as socket
except ImportError:
    import socket
import errno

# errno value -> name, for printing portable results
_NAMES = {}
for _n in dir(errno):
    if _n.startswith("E"):
        _NAMES.setdefault(getattr(errno, _n), _n)


# negative getaddrinfo codes -> the module's EAI_* names
for _n in dir(socket):
    if _n.startswith("EAI_"):
        _NAMES.setdefault(getattr(socket, _n), _n)


def ename(code):
    return _NAMES.get(code, code)


def expect(label, fn, *args):
    """Calls fn(*args) and prints the outcome: the result, or the exception
    type with the errno name for OSError."""
    try:
        r = fn(*args)
    except OSError as e:
        print(label, "OSError", ename(e.errno) if isinstance(e.errno, int) else e.errno)
        return None
    except Exception as e:
        print(label, type(e).__name__)
        return None
    print(label, "->", r)
    return r


def tcp_pair(family=socket.AF_INET, host="127.0.0.1"):
    """A connected (client, server-side) pair over loopback, no threads."""
    l = socket.socket(family, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((host, 0))
    l.listen(1)
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect(l.getsockname())
    s, _ = l.accept()
    l.close()
    return c, s


def open_fds():
    import os
    return len(os.listdir("/proc/self/fd"))


def fds_back(before, last):
    """After gc.collect(): 0 when every dropped socket's descriptor came
    back, else how many more than `before` are open. Up to `last` may stay:
    the collector is conservative, and a stale copy of the last socket's
    address in a C stack slot can keep that one alive (CI's ASan build did,
    and under load here). A missing finaliser keeps them all. Fewer than
    `before` is fine too: an earlier test's kept socket may go now."""
    n = open_fds() - before
    return 0 if n <= last else n


def views_survive(label, make, n=20):
    """Takes a memoryview of each of n objects make(i) returns, drops the
    objects, collects, allocates every free block, and prints whether the
    views still show what the objects held."""
    import gc

    views, copies = [], []
    for i in range(n):
        o = make(i)
        views.append(memoryview(o))
        copies.append(bytes(memoryview(o)))
    o = None
    gc.collect()
    # Allocate every free block (zeroed), whatever was freed and wherever.
    junk = []
    try:
        while True:
            junk.append(bytearray(8))
    except MemoryError:
        pass
    junk = None
    bad = [(bytes(v), c) for v, c in zip(views, copies) if bytes(v) != c]
    print(label, "intact" if not bad else bad[:2])
