# CPython's socket API where MicroPython's C modules have none (documented
# as extensions in docs/behaviour.md), beyond what tcp_stream.py and
# udp.py already use.
import struct
from _helpers import socket, expect, tcp_pair

c, s = tcp_pair()
# shutdown(SHUT_RD): our reads end; the peer can still be written to
c.shutdown(socket.SHUT_RD)
print("after SHUT_RD", c.recv(10))
print(c.send(b"out"), s.recv(10))
# shutdown(SHUT_RDWR): the peer sees end of stream
c.shutdown(socket.SHUT_RDWR)
print("peer sees", s.recv(10))
expect("send after SHUT_RDWR", c.send, b"x")
c.close()
s.close()

# shutdown() without a connection is ENOTCONN, as on Linux. lwIP's socket
# layer applied it to the unconnected pcb: after a connect and our
# shutdown(SHUT_WR), the peer's close made lwIP (as ESP-IDF builds it) abort
# the firmware.
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 0))
l.listen(1)
for how in (socket.SHUT_WR, socket.SHUT_RDWR):
    expect("shutdown unconnected %d" % how, socket.socket().shutdown, how)
c = socket.socket()
expect("shutdown unconnected %d" % socket.SHUT_RD, c.shutdown, socket.SHUT_RD)
c.connect(l.getsockname())
s, _ = l.accept()
c.shutdown(socket.SHUT_WR)
print("peer sees", s.recv(10))
s.close()
print("after the peer's close", c.recv(10))
for x in (c, l):
    x.close()

# connect() on a connected socket is EISCONN (106 on Linux; MicroPython's
# errno has no name for it), also after shutdown(SHUT_RD), after a
# non-blocking connect, and on an accepted socket. lwIP's socket layer gave
# the pcb back the receive handler SHUT_RD took (before refusing), and after
# SHUT_WR the peer's close aborted the firmware ("recv_tcp must have an
# argument").
import select
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(2)
for blocking in (True, False):
    c = socket.socket()
    c.setblocking(blocking)
    try:
        c.connect(l.getsockname())
    except OSError:
        pass  # EINPROGRESS
    s, _ = l.accept()
    p = select.poll()
    p.register(c, select.POLLOUT)
    p.poll(1000)
    c.shutdown(socket.SHUT_RD)
    expect("connect again after SHUT_RD", c.connect, l.getsockname())
    expect("connect an accepted socket", s.connect, l.getsockname())
    c.shutdown(socket.SHUT_WR)
    print("peer sees", s.recv(10))
    s.close()
    c.setblocking(True)
    print("after the peer's close", c.recv(10))
    c.close()
l.close()

# listen() on an unbound socket takes an ephemeral port, as on Linux, and a
# connect to port 0 is refused. lwIP listened on port 0, where such a
# connect landed (on the emulated board it went on to hang lwIP's loopback).
l = socket.socket()
l.listen(1)
port = l.getsockname()[1]
print("unbound listener's port", port != 0)
c = socket.socket()
c.connect(("127.0.0.1", port))
s, _ = l.accept()
print("accepted on it", s.getsockname()[1] == port)
expect("connect to port 0", socket.socket().connect, ("127.0.0.1", 0))
for x in (c, s, l):
    x.close()

# getsockopt with a buffer length returns the raw bytes
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 7)
print("IP_MULTICAST_TTL", u.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL))
u.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 33)
raw = u.getsockopt(socket.IPPROTO_IP, socket.IP_TTL, 4)
print("IP_TTL raw", type(raw).__name__, struct.unpack("i", raw)[0])
u.close()

# TCP_NODELAY on a connected socket
c, s = tcp_pair()
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print("TCP_NODELAY", c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)
# recv with MSG_DONTWAIT on a blocking socket, with and without data
expect("MSG_DONTWAIT, nothing", s.recv, 5, socket.MSG_DONTWAIT)
c.sendall(b"abc")
import time
time.sleep_ms(20)
print("MSG_DONTWAIT, data", s.recv(5, socket.MSG_DONTWAIT))
# recv_into with MSG_PEEK leaves the data
c.sendall(b"peek")
time.sleep_ms(20)
buf = bytearray(8)
print(s.recv_into(buf, 4, socket.MSG_PEEK), buf[:4], s.recv(4))
print("gettimeout", s.gettimeout())
c.close()
s.close()

# IPv6-only socket option, and a dual-stack listener reached over IPv4
l6 = socket.socket(socket.AF_INET6)
l6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
l6.bind(("::", 0))
l6.listen()
c = socket.socket()
c.connect(("127.0.0.1", l6.getsockname()[1]))
a, peer = l6.accept()
print("dual-stack peer", peer[0], len(peer))
for x in (a, c, l6):
    x.close()

# error aliases and types
print(socket.error is OSError)
try:
    socket.getaddrinfo("", 80, 0, 0, 0, socket.AI_NUMERICHOST)
except OSError as e:
    print("getaddrinfo error", e.errno < 0, type(e.args[1]).__name__)
