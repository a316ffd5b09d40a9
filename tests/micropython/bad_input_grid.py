# Every method, in every state a socket can be in, called with a grid of bad
# values: only TypeError, ValueError or OSError may come out, and the
# process must survive. (No value here is a host name: nothing is looked up.)
import gc
from _helpers import socket, tcp_pair

BAD = [None, True, -1, 0, 2**31, 2**64, 2**100, -2**100, 1.5, float("nan"), "", "1.2.3", "::1::",
       b"", b"\x02\x00", bytearray(3), (), ("127.0.0.1",), ("256.1.1.1", 80), ("127.0.0.1", 70000),
       ("::1", 1, 2, 3, 4), [], {}, object()]
METHODS = ["bind", "listen", "accept", "connect", "send", "sendall", "sendto", "recv", "recv_into",
           "recvfrom", "recvfrom_into", "setsockopt", "getsockopt", "settimeout", "gettimeout",
           "setblocking", "makefile", "read", "readinto", "readline", "write", "fileno", "shutdown",
           "getsockname", "getpeername"]
EXPECTED = (TypeError, ValueError, OSError)


def sockets():
    """One socket per state, all non-blocking so nothing in the grid waits."""
    c, s = tcp_pair()
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    closed = socket.socket()
    closed.close()
    socks = {"new": socket.socket(), "connected": c, "accepted": s, "listening": l, "udp": u,
             "udp6": u6, "closed": closed}
    for k in socks:
        if k != "closed":
            socks[k].setblocking(False)
    return socks


def args_grid():
    yield ()
    for a in BAD:
        yield (a,)
    for a in BAD:
        for b in BAD:
            yield (a, b)
    for a in BAD[::3]:
        for b in BAD[::3]:
            for c in BAD[::3]:
                yield (a, b, c)


calls = 0
unexpected = []
for state, sock in sockets().items():
    for name in METHODS:
        meth = getattr(sock, name)
        for args in args_grid():
            calls += 1
            try:
                meth(*args)
            except EXPECTED:
                pass
            except Exception as e:
                unexpected.append((state, name, args, type(e).__name__))
            # Whatever the call did, put the socket back: nothing may block.
            if sock.fileno() >= 0:
                sock.setblocking(False)
    gc.collect()

# Module functions too.
for func in (socket.getaddrinfo, socket.inet_pton, socket.inet_ntop, socket.socket):
    for args in args_grid():
        calls += 1
        try:
            r = func(*args)
            if isinstance(r, socket.socket):
                r.close()
        except EXPECTED:
            pass
        except Exception as e:
            unexpected.append(("module", func, args, type(e).__name__))

# The unix port's own functions, where the module has them (counted apart:
# the call count above is the same on every backend).
unix_funcs = [getattr(socket, n) for n in ("socketpair", "sockaddr") if hasattr(socket, n)]
unix_calls = 0
for func in unix_funcs:
    for args in args_grid():
        unix_calls += 1
        try:
            r = func(*args)
            if isinstance(r, tuple) and r and isinstance(r[0], socket.socket):
                for x in r:
                    x.close()
        except EXPECTED:
            pass
        except Exception as e:
            unexpected.append(("module", func, args, type(e).__name__))
gc.collect()

print("calls", calls)
# (both exactly where AF_UNIX is: the C library's sockets)
print("unix functions", len(unix_funcs) == (2 if hasattr(socket, "AF_UNIX") else 0), unix_calls >= 1000 * len(unix_funcs))
print("unexpected", unexpected)
