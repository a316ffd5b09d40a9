# Seeded random sequences of calls on a pool of sockets in every state:
# listeners, connections made and accepted among themselves, UDP pairs
# (and, where the module has AF_UNIX, the same over abstract names),
# closed and collected sockets, each method with good and bad arguments.
# Only OSError, TypeError, ValueError, OverflowError and MemoryError may come
# out; the process must not crash or hang. In the first runs every socket is
# non-blocking; in the last ones each gets a timeout of 0, 3 or 20 ms, so
# that calls wait, time out (ETIMEDOUT) and are woken by the peer's data or
# close. Traffic stays on the loopback: the only addresses dialled are the
# pool's own and loopback text in other forms ("127.1" is 127.0.0.1 to the C
# library; a short form of any other address would be dialled too).
import gc
import os
import random
import time
from _helpers import socket

KINDS = [(socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_DGRAM),
         (socket.AF_INET6, socket.SOCK_STREAM), (socket.AF_INET6, socket.SOCK_DGRAM)]
BAD = [None, -1, 2**31, 2**64, 1.5, "", "x", b"", (), [], object()]
DATA = [b"", b"x", b"0123456789" * 100, bytearray(b"abc"), memoryview(b"hello world")[2:7], b"y" * 70000]
SIZES = [0, 1, 7, 100, 4096, 70000, -1]
OPTS = [(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1), (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 0),
        (socket.SOL_SOCKET, socket.SO_BROADCAST, 1), (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),
        (socket.SOL_SOCKET, socket.SO_RCVBUF, 8192), (socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0"),
        (socket.SOL_SOCKET, socket.SO_ERROR, 0), (socket.IPPROTO_IP, socket.IP_TTL, 300)]
LOOPBACK = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}
AF_UNIX = getattr(socket, "AF_UNIX", None)
if AF_UNIX is not None:
    KINDS += [(AF_UNIX, socket.SOCK_STREAM), (AF_UNIX, socket.SOCK_DGRAM)]
# abstract AF_UNIX names (no files), apart from other runs' (the clock's)
TAG = b"\0usocket-random-%x-" % time.ticks_us()


class Pool:
    def __init__(self, rng, timeouts):
        self.rng = rng
        self.timeouts = timeouts  # None: every socket non-blocking
        self.socks = []
        # bound ports of the pool (AF_UNIX: bound names)
        self.ports = {socket.AF_INET: [], socket.AF_INET6: [], AF_UNIX: []}
        # Bad arguments such as "x" and b"\2\0\0\0" are file names to an
        # AF_UNIX socket: bind() makes those files in the current directory.
        # The pool works in a directory of its own, removed by close(), so
        # that no run leaves files among the tests or finds an earlier run's.
        self.home = None
        if AF_UNIX is not None:
            base = (os.getenv("TMPDIR") or "/tmp").rstrip("/")
            self.home = (os.getcwd(), "%s/usocket-random-%s" % (base, os.urandom(4).hex()))
            os.mkdir(self.home[1])
            os.chdir(self.home[1])

    def close(self):
        for s, _ in self.socks:
            s.close()
        if self.home is not None:
            for name in os.listdir():
                os.remove(name)
            os.chdir(self.home[0])
            os.rmdir(self.home[1])
            self.home = None

    def add(self, s, family):
        s.settimeout(self.rng.choice(self.timeouts) if self.timeouts else 0)
        self.socks.append((s, family))
        if len(self.socks) > 24:
            self.socks.pop(0)[0].close()

    def new(self):
        family, kind = self.rng.choice(KINDS)
        try:
            self.add(socket.socket(family, kind), family)
        except OSError:
            pass  # no IPv6 on this stack

    def addr(self, family):
        r = self.rng.random()
        if family == AF_UNIX:
            if r < 0.6 and self.ports[family]:
                return self.rng.choice(self.ports[family])
            if r < 0.8:
                return TAG + b"%d" % self.rng.randint(0, 20)
            return self.rng.choice(["", b"", "x" * 108, b"\0" * 109, bytearray(TAG + b"b"), b"\1\0" + TAG,
                                    b"\1\0", ("127.0.0.1", 0), None, 5])
        if r < 0.6 and self.ports[family]:
            return (LOOPBACK[family], self.rng.choice(self.ports[family]))
        if r < 0.8:
            return (LOOPBACK[family], 0)
        return self.rng.choice([("127.0.0.1", 0), ("::1", 0, 0, 0), ("127.0.0.1", 70000), ("127.1", 1),
                                ("::1", 0, 2**21, 0), ("127.0.0.1",), b"\2\0\0\0", None, ("", 0)])

    def args(self, family, name):
        rng = self.rng
        if rng.random() < 0.1 and name not in ("settimeout", "setblocking"):  # (bad values may mean "block")
            return [rng.choice(BAD) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.05:
            family = socket.AF_INET6 if family == socket.AF_INET else socket.AF_INET
        if name in ("bind", "connect"):
            return [self.addr(family)]
        if name == "listen":
            return rng.choice([[], [0], [1], [8], [-1]])
        if name in ("send", "sendall", "write"):
            return [rng.choice(DATA)]
        if name == "sendto":
            return [rng.choice(DATA), self.addr(family)]
        if name in ("recv", "recvfrom", "read"):
            return [rng.choice(SIZES)]
        if name in ("recv_into", "recvfrom_into", "readinto"):
            n = rng.choice([0, 1, 100, 5000])
            buf = bytearray(n) if n else memoryview(bytearray(1))[:0]  # (bytearray(0) is UB in MicroPython)
            return [buf] if rng.random() < 0.5 else [buf, rng.choice(SIZES)]
        if name == "setsockopt":
            return list(rng.choice(OPTS))
        if name == "getsockopt":
            level, opt, _ = rng.choice(OPTS)
            return [level, opt] if rng.random() < 0.7 else [level, opt, rng.choice([0, 4, 8, 100])]
        if name == "shutdown":
            return [rng.choice([0, 1, 2, 3])]
        if name == "settimeout":
            return [rng.choice([0, 0.0])]
        if name == "setblocking":
            return [False]
        if name == "makefile":
            return [rng.choice(["rb", "wb", "rwb"])]
        if name == "readline":
            return rng.choice([[], [1], [50]])
        return []


METHODS = ["bind", "listen", "accept", "connect", "send", "sendall", "sendto", "recv", "recvfrom",
           "recv_into", "recvfrom_into", "setsockopt", "getsockopt", "settimeout", "gettimeout",
           "setblocking", "makefile", "read", "readinto", "readline", "write", "close", "fileno",
           "shutdown", "getsockname", "getpeername"]
# MemoryError too: read() to the end of a busy stream can outgrow a board's
# heap (bad sizes are checked by bad_input_grid.py).
ALLOWED = (OSError, TypeError, ValueError, OverflowError, MemoryError)


def pick(pool, rng):
    """The next call: (socket, family, method name, arguments), or None
    when the stack is out of sockets for now."""
    if len(pool.socks) < 4 or rng.random() < 0.05:
        pool.new()
    if rng.random() < 0.02 and pool.socks:
        pool.socks.pop(rng.randint(0, len(pool.socks) - 1))  # dropped: the finaliser closes it
        gc.collect()
    if not pool.socks:
        return None
    s, family = rng.choice(pool.socks)
    name = rng.choice(METHODS)
    return s, family, name, pool.args(family, name)


def record(pool, s, family, name, result):
    """Keeps what a call that succeeded made: accepted sockets, bound ports."""
    if name == "accept":
        pool.add(result[0], family)
    elif name == "bind" or name == "listen":
        try:
            port = s.getsockname()
            # (AF_UNIX: only abstract names, bytes, are kept)
            port = (port if isinstance(port, bytes) else None) if family == AF_UNIX else port[1]
            if port and port not in pool.ports[family]:
                pool.ports[family].append(port)
        except OSError:
            pass


def run(seed, calls, timeouts):
    rng = random
    rng.seed(seed)
    pool = Pool(rng, timeouts)
    succeeded = 0
    for i in range(calls):
        call = pick(pool, rng)
        if call is None:
            continue
        s, family, name, args = call
        try:
            result = getattr(s, name)(*args)
            succeeded += 1
        except ALLOWED:
            continue
        record(pool, s, family, name, result)
    pool.close()
    return succeeded


TIMEOUTS = (0, 0.003, 0.02)
if __name__ == "__main__":  # (random_threads.py imports the pool)
    for seed, timeouts in ((1, None), (2, None), (3, None), (4, None), (5, None), (6, None),
                           (7, TIMEOUTS), (8, TIMEOUTS)):
        n = run(seed, 2500, timeouts)
        # a run where most calls fail on their arguments would test little
        print("seed", seed, "busy" if n > 500 else "idle (%d calls succeeded)" % n)
