# Loopback peers for MicroPython's net_hosted tests that dial an internet
# host: tests/upstream/*.py call the upstream test() with these instead.
import socket, sys


def upstream(name):
    """Imports tests/net_hosted/<name>.py from MicroPython's tree (its path
    comes from USOCKET_UPSTREAM_TESTS, set by tests/run.py)."""
    import os
    sys.path.insert(0, os.getenv("USOCKET_UPSTREAM_TESTS") + "/net_hosted")
    return __import__(name)


def listener():
    """A loopback listener that accepts connections (the kernel completes
    the handshake); returns (socket, address)."""
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(4)
    return l, l.getsockname()


def silent_listener():
    """A loopback listener that never answers a new connection: its accept
    queue (backlog 0) is already full, so further SYNs are dropped."""
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen(0)
    filler = socket.socket()
    filler.connect(l.getsockname())
    return l, filler, l.getsockname()
