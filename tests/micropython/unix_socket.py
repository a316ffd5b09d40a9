# AF_UNIX sockets (unix port): addresses are paths, as in CPython. A file
# name is a str (bytes when it is not UTF-8), an abstract name (a leading
# NUL, Linux) is bytes, an unnamed socket is '', and a datagram from an
# unnamed socket has no address (None). Raw `struct sockaddr_un` bytes, as
# MicroPython's own unix module took them, still work.
import os
import random
import select
import struct
from _helpers import socket, expect, ename, views_survive

tag = "%08x" % random.getrandbits(30)
# A short directory for the file names (AF_UNIX allows 107 bytes): TMPDIR,
# unless it is long.
BASE = os.getenv("TMPDIR") or "/tmp"
if len(BASE) > 60:
    BASE = "/tmp"
DIR = BASE.rstrip("/") + "/usocket-unix-" + tag
os.mkdir(DIR)
path = DIR + "/stream"

print(socket.AF_UNIX)

# Stream: a file name, both ends.
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
print(repr(l).replace(str(l.fileno()), "N"))
print("unbound", repr(l.getsockname()))
l.bind(path)
print("bound", l.getsockname() == path, type(l.getsockname()).__name__)
l.listen()
c = socket.socket(socket.AF_UNIX)
c.connect(path)
s, peer = l.accept()
print("peer", repr(peer), c.getpeername() == path, s.getsockname() == path, repr(s.getpeername()))
c.sendall(b"line one\nline two\n")
f = s.makefile("rb")
print(f.readline(), f.read(9))
s.send(b"back")
data, addr = c.recvfrom(16)  # a connected stream: the peer's address
print(data, addr == path)
c.close()
print(s.recv(10))  # the peer closed
s.close()

# Errors: the right errno, a clear TypeError.
expect("bind again", socket.socket(socket.AF_UNIX).bind, path)
expect("no such file", socket.socket(socket.AF_UNIX).connect, DIR + "/none")
expect("file name of 108", socket.socket(socket.AF_UNIX).connect, "x" * 108)
expect("abstract name of 109", socket.socket(socket.AF_UNIX).connect, b"\0" + b"x" * 108)
expect("tuple", socket.socket(socket.AF_UNIX).connect, ("localhost", 80))
expect("int", socket.socket(socket.AF_UNIX).bind, 5)
expect("str on AF_INET", socket.socket().connect, path)

# A timeout applies as on any socket.
l.settimeout(0.05)
expect("accept timeout", l.accept)
l.setblocking(False)
expect("accept non-blocking", l.accept)

# Raw sockaddr_un bytes (family, path, NUL padding), as the C module took them.
r = socket.socket(socket.AF_UNIX)
r.connect(struct.pack("H", socket.AF_UNIX) + path.encode() + bytes(20))
l.setblocking(True)
print("raw", l.accept()[1] == "", r.getpeername() == path)
r.close()
l.close()

# The longest names that fit: 107 bytes and a NUL, and an abstract 108.
long_name = DIR + "/" + "n" * (107 - len(DIR) - 1)
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
u.bind(long_name)
print("107", len(u.getsockname()), u.getsockname() == long_name)
u.close()
os.remove(long_name)
u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
u.bind(b"\0" + tag.encode() + b"x" * (107 - len(tag)))
print("abstract 108", len(u.getsockname()), u.getsockname()[:1])
u.close()

# Datagrams in the abstract namespace: bytes addresses.
server_name = b"\0usocket-" + tag.encode()
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
d.bind(server_name)
print("abstract", d.getsockname() == server_name, type(d.getsockname()).__name__)
e = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
e.sendto(b"from unnamed", server_name)
print(d.recvfrom(64))
e.bind("")  # the kernel picks an abstract name
auto = e.getsockname()
print("autobind", type(auto).__name__, auto[:1], len(auto))
for i in range(3):
    e.sendto(b"n%d" % i, server_name)
    data, sender = d.recvfrom(64)
    print(data, sender == auto)
d.sendto(b"reply", auto)
print(e.recv(16))
# recvfrom_into, and poll readiness
p = select.poll()
p.register(d, select.POLLIN)
print("idle", p.poll(0))
e.sendto(b"12345", bytearray(server_name))  # a bytearray path works too
print("ready", p.poll(1000)[0][1] == select.POLLIN)
buf = bytearray(8)
n, sender = d.recvfrom_into(buf)
print(n, bytes(buf[:n]), sender == auto)
d.close()
e.close()

# A file name that is not UTF-8 comes back as bytes.
raw_name = DIR.encode() + b"/\xff\xfe"
w = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
w.bind(raw_name)
print("not UTF-8", w.getsockname() == raw_name)
w.close()
os.remove(raw_name)

# A datagram pair over file names, str on both sides.
a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
a.bind(DIR + "/a")
b = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
b.bind(DIR + "/b")
b.connect(DIR + "/a")
b.send(b"connected")
print(a.recvfrom(32)[1] == DIR + "/b")
b.settimeout(0.05)
expect("recv timeout", b.recv, 4)
a.close()
b.close()

# socketpair(): connected AF_UNIX sockets, stream by default (as CPython).
x, y = socket.socketpair()
x.sendall(b"ping")
print(y.recv(4))
y.send(b"pong")
print(x.recv(4), repr(x.getsockname()), repr(x.getpeername()))
x.close()
print(y.recv(4))  # the other end closed
y.close()
p, q = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
p.send(b"d1")
print(q.recvfrom(8))  # connected: the peer's address, here unnamed
p.close()
q.close()
# SOCK_SEQPACKET: a connection that keeps message boundaries
print(socket.SOCK_SEQPACKET)
p, q = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
print(repr(p).replace(str(p.fileno()), "N"))
p.send(b"one")
p.send(b"two!")
print(q.recv(16), q.recv(16))
p.close()
print(q.recv(16))
q.close()
expect("socketpair AF_INET", socket.socketpair, socket.AF_INET)
expect("socketpair SOCK_NONBLOCK", socket.socketpair, socket.AF_UNIX, socket.SOCK_STREAM | 0x800)
expect("socketpair str", socket.socketpair, "unix")
# Dropped pairs are closed by the collector (and where 6,000 descriptors are
# more than the limit allows, running out collects and tries again).
import gc
from _helpers import open_fds, fds_back


def drop_pairs(n):
    # (in a function, so its frame is gone before the collector runs)
    for i in range(n):
        socket.socketpair()


gc.collect()
before = open_fds()
drop_pairs(3000)
gc.collect()
print("descriptors back", fds_back(before, 2))

# close() from another thread wakes a thread blocked in the socket (EBADF),
# for each kind of AF_UNIX socket, as for TCP and UDP (threads.py).
import _thread
import time


def blocked(i, what, fn, out):
    # Each thread stores into its own slot: without a GIL (the unix port),
    # two threads appending to one list at once can lose an item.
    try:
        fn()
        out[i] = (what, "returned")
    except OSError as e:
        out[i] = (what, ename(e.errno))


def wake_all():
    # (in a function: module globals must not change while threads run,
    # micropython/micropython#12698)
    woken = [None, None, None]
    l = socket.socket(socket.AF_UNIX)
    l.bind(b"\0usocket-wake-" + tag.encode())
    l.listen()
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    c, d = socket.socketpair()
    _thread.start_new_thread(blocked, (0, "accept", l.accept, woken))
    _thread.start_new_thread(blocked, (1, "datagram recv", lambda: a.recv(10), woken))
    _thread.start_new_thread(blocked, (2, "stream recv", lambda: c.recv(10), woken))
    time.sleep(0.2)
    l.close()
    a.close()
    c.close()
    start = time.ticks_ms()
    while None in woken and time.ticks_diff(time.ticks_ms(), start) < 10000:
        time.sleep(0.01)
    print(woken)
    b.close()
    d.close()


# Paths the module returns own their data (tests/micropython/gc_views.py):
# a file name as str, an abstract name as bytes.
for name, kind in ((DIR + "/views", "file name"), (b"\0usocket-views-" + tag.encode(), "abstract name")):
    v = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    v.bind(name)
    views_survive(kind, lambda i: v.getsockname())
    v.close()
os.remove(DIR + "/views")


wake_all()

for name in ("stream", "a", "b"):
    os.remove(DIR + "/" + name)
os.rmdir(DIR)
