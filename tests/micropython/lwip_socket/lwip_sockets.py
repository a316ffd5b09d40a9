# lwIP's sockets come from a fixed pool (16 here, MEMP_NUM_NETCONN, as on an
# ESP32): running out is OSError(ENFILE), and closing, or dropping a socket
# and collecting it (the finaliser), gives its place back. Nothing leaks.
import _thread
import gc
import time
from _helpers import socket, tcp_pair


ENFILE = 23  # Linux's and newlib's value; MicroPython's errno module lacks it


def free_sockets(limit=40):
    """How many sockets can be opened now (all closed again after)."""
    got, err = [], None
    try:
        while len(got) < limit:
            got.append(socket.socket())
    except OSError as e:
        err = e.errno
    for s in got:
        s.close()
    return len(got), err


gc.collect()
n, err = free_sockets()
print("pool", n, err == ENFILE)

# live sockets hold their places: the next one fails, however often asked
live = [socket.socket() for i in range(n)]
for i in range(3):
    try:
        socket.socket()
        print("opened beyond the pool")
    except OSError as e:
        print("full", e.errno == ENFILE)
live.pop().close()
live.append(socket.socket())
print("one closed, one opened")
for s in live:
    s.close()

# dropped without close(): socket() collects them when the pool runs dry
for i in range(200):
    socket.socket(socket.AF_INET if i % 2 else socket.AF_INET6, socket.SOCK_STREAM if i % 3 else socket.SOCK_DGRAM)
print("200 dropped sockets opened")
live = [socket.socket() for i in range(n)]
del live
gc.collect()
print("after gc", free_sockets()[0] == n)

# 100 connections, each with data both ways, closed by either side first
for i in range(100):
    c, s = tcp_pair()
    c.send(b"ping")
    s.send(s.recv(4))
    c.recv(4)
    if i % 2:
        c.close()
        s.close()
    else:
        s.close()
        c.close()
print("100 connections, pool", free_sockets()[0] == n)

# connected pairs dropped without close(): their finalisers close both ends
# (socket() collects when the pool runs dry).
def dropped_pairs():
    for i in range(5):
        c, s = tcp_pair()
        c.send(b"x")


dropped_pairs()
gc.collect()
print("5 dropped connections, pool", free_sockets()[0] == n)

# A server that drops what it accepts: an incoming connection needs a free
# netconn when it arrives, before any call of ours could collect for it, and
# lwIP resets it (its accept() then says ECONNABORTED). accept() collects
# then, so the connections after it find room: 60 served, in a thread, to a
# client that tries again when refused (two refusals each time the pool runs
# dry here: the one lwIP refused and the next, made before the server's
# accept() ran). It stopped at 14 before.
def dropping_server():
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen()
    served = [0]
    def serve():
        for i in range(60):
            s, _ = l.accept()
            s.send(b"x")  # and dropped
            served[0] += 1
    _thread.start_new_thread(serve, ())
    ok = refused = 0
    while ok < 60 and refused < 30:
        c = socket.socket()
        c.settimeout(5)
        try:
            c.connect(l.getsockname())
            ok += c.recv(1) == b"x"
        except OSError as e:
            refused += 1
        c.close()
    for i in range(100):
        if served[0] == 60:
            break
        time.sleep_ms(10)
    l.close()
    return ok, served[0], refused < 30


print("dropping server", dropping_server())
gc.collect()
print("pool", free_sockets()[0] == n)

# names: "localhost" from lwIP's local host list; any other name fails at once
# (no DNS server is configured, so no query leaves) with OSError(negative code)
print("localhost", socket.getaddrinfo("localhost", 80)[0][-1])
try:
    socket.getaddrinfo("no-such-host.invalid", 80)
except OSError as e:
    print("unknown name", e.errno < 0, isinstance(e.args[1], str))

# lwIP has no AF_UNIX: the module does not offer it, and family 1 is refused.
print("AF_UNIX", hasattr(socket, "AF_UNIX"))
try:
    socket.socket(1, socket.SOCK_STREAM)
    print("AF_UNIX opened")
except OSError as e:
    print("family 1", e.errno == 97)  # EAFNOSUPPORT

# Our side shut first, then the peer's: the pcb goes to TIME_WAIT, where lwIP
# frees it without telling its netconn (after 2 MSL, 2 s in this firmware's
# lwipopts.h), and the next socket gets its memory. Closing the old socket
# then touched the new one's pcb: lwIP hung. The module makes the netconn let
# go of the pcb when it reads the end of such a connection.
import time

time.sleep(3)  # the TIME_WAIT pcbs of the tests above are gone: ours is the one freed next
c, s = tcp_pair()
c.send(b"request")
c.shutdown(socket.SHUT_WR)
print("half-close", s.recv(10), s.recv(10))
s.send(b"reply")
s.close()
print("reply", c.recv(10), c.recv(10))
time.sleep(3)  # TIME_WAIT is over: lwIP frees the pcb
x = socket.socket()  # the freed pcb's memory
c.close()
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
x.settimeout(5)
x.connect(l.getsockname())
y, _ = l.accept()
x.send(b"after")
print("new socket", y.recv(10))
for z in (x, y, l):
    z.close()
