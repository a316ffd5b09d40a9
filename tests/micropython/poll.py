# select.poll / ipoll with usocket sockets: readiness from the socket's own
# state, and ERR/HUP/NVAL reported whether asked for or not.
import errno, select, time
from _helpers import socket, tcp_pair

RD, WR, ERR, HUP, NVAL = select.POLLIN, select.POLLOUT, select.POLLERR, select.POLLHUP, 32


def events(sock, mask=RD | WR, timeout=0):
    p = select.poll()
    p.register(sock, mask)
    r = p.poll(timeout)
    return r[0][1] if r else 0


def names(ev):
    return "|".join(n for n, b in (("RD", RD), ("WR", WR), ("ERR", ERR), ("HUP", HUP), ("NVAL", NVAL)) if ev & b) or "-"


# A new TCP socket: writable and hung up (not connected), as on every port.
s = socket.socket()
print("new tcp", names(events(s)))
s.close()
print("closed", names(events(s)))

# A bound UDP socket: writable only.
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
print("udp", names(events(u)))
u.sendto(b"x", u.getsockname())
events(u, RD, 1000)  # arrived (lwIP's loopback delivers from its own thread)
print("udp with data", names(events(u, RD | WR)))
print("udp, RD only", names(events(u, RD)))
u.close()

c, s = tcp_pair()
print("connected, idle", names(events(s)))
print("RD only, idle", names(events(s, RD)))
c.send(b"data")
print("data waiting", names(events(s, RD, 1000)))
print(s.recv(10))
c.close()
print("peer closed", names(events(s, RD, 1000)))
print(s.recv(10))
s.close()

# Listener: readable when a connection waits.
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
print("listener idle", names(events(l, RD)))
c = socket.socket()
c.connect(l.getsockname())
print("listener pending", names(events(l, RD, 1000)))
a, _ = l.accept()
a.close()
c.close()
l.close()

# Refused non-blocking connect: the failure shows as ERR|HUP without asking.
l = socket.socket()
l.bind(("127.0.0.1", 0))
addr = l.getsockname()
l.close()
c = socket.socket()
c.setblocking(False)
try:
    c.connect(addr)
except OSError as e:
    print("connect", e.errno == errno.EINPROGRESS)
print("refused", names(events(c, RD, 1000) & ~RD & ~WR))
print("SO_ERROR", c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNREFUSED)
c.close()

# Peer reset: ERR/HUP reported even with an empty mask.
import struct
c, s = tcp_pair()
s.send(b"unread")  # closing with unread data resets on every stack
events(c, RD, 1000)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
events(s, 0, 1000)  # until the reset has arrived
print("reset, empty mask", names(events(s, 0)))
s.close()

# ipoll: one-shot flag, several sockets, and the timeout is honoured.
c, s = tcp_pair()
p = select.poll()
p.register(s, RD)
p.register(c, RD)
t0 = time.ticks_ms()
print("nothing ready", list(p.ipoll(100)), 90 <= time.ticks_diff(time.ticks_ms(), t0) < 2000)
c.send(b"1")
for obj, ev in p.ipoll(1000, 1):
    print("ipoll", obj is s, names(ev))
print("one-shot, not reported again", list(p.ipoll(0)))
p.modify(s, RD)
print("re-armed", [(obj is s, names(ev)) for obj, ev in p.ipoll(0)])
c.close()
s.close()

# A Python subclass of the socket type (micropython-lib's socket.py is one):
# select asks the instance, and the answer is its socket's.
class Sub(socket.socket):
    pass


l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
c = Sub()
c.connect(l.getsockname())
s, _ = l.accept()
p = select.poll()
p.register(c, RD)
print("subclass, nothing sent", p.poll(0))
s.send(b"x")
print("subclass, one byte", [(obj is c, names(ev)) for obj, ev in p.poll(1000)])
print("subclass read", c.read(1))
c.close()
print("subclass closed", [(obj is c, names(ev)) for obj, ev in p.poll(0)])
s.close()
l.close()


# ... and one whose __init__ registers itself before its socket exists
class Early(socket.socket):
    def __init__(self):
        p = select.poll()
        p.register(self, RD)
        print("before super().__init__", [names(ev) for obj, ev in p.poll(0)])
        super().__init__()


e = Early()
print("after", e.fileno() >= 0)
e.close()
