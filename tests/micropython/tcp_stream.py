# TCP over IPv4 loopback: every socket and stream method on a connected pair.
import time
from _helpers import socket, expect, tcp_pair, ename

l = socket.socket()
print(l.fileno() >= 0)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
print(l.bind(("127.0.0.1", 0)))
print(l.listen())
host, port = l.getsockname()
print("listener", host, 0 < port < 65536)

c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print(c.connect((host, port)))
s, peer = l.accept()
print("peer", peer[0], peer[1] == c.getsockname()[1], len(peer))
print("getpeername", c.getpeername() == (host, port), s.getpeername() == peer)
print("accepted blocks", s.gettimeout())
print(type(s).__name__, type(s) is socket.socket)

# send / recv
print(c.send(b"hello"))
print(s.recv(5))
print(c.send(bytearray(b"ba")), c.send(memoryview(b"xyz")[1:]))
print(s.recv(100))
# sendall with a large buffer from another thread (no stack buffers 256 KiB:
# lwIP's hold a few KiB), read back in full with read(n)
import _thread
data = bytes(range(256)) * 1024
sent = []
# (the thread looks up no globals: MicroPython's module globals must not be
# read by one thread while another adds to them, micropython#12698)
_thread.start_new_thread(lambda c, data, sent: sent.append(c.sendall(data)), (c, data, sent))
got = s.read(len(data))
while not sent:
    time.sleep_ms(1)
print(sent[0])
print(len(got), got == data)

# recv_into, readinto with and without a size
c.write(b"0123456789")
buf = bytearray(4)
print(s.recv_into(buf), buf)
print(s.recv_into(buf, 2), buf)
print(s.readinto(buf), buf)

# write never writes short; readline
print(c.write(b"line one\nline two\nno newline"))
print(s.readline())
print(s.readline())
c.shutdown(socket.SHUT_WR)
print(s.readline())
print(s.readline())

# after the peer's SHUT_WR: b'' every time, and the other direction still works
print(s.recv(10), s.recv(10), s.read(), s.read(5))
print(s.send(b"still open"))
print(c.recv(100))

# MSG_PEEK leaves the data
s.send(b"peek")
print(c.recv(4, socket.MSG_PEEK), c.recv(4))

# makefile returns a binary stream over the same socket
f = s.makefile("rwb", 0)
print(f is s)
f.write(b"via file\n")
print(c.readline())

# iterating the socket yields lines
s.send(b"a\nb\n")
s.shutdown(socket.SHUT_WR)
print([line for line in c])

print(repr(c).startswith("<socket fd="), "AF_INET SOCK_STREAM" in repr(c))

# close is idempotent; then everything says EBADF
c.close()
c.close()
print("fileno after close", c.fileno())
expect("recv", c.recv, 1)
expect("send", c.send, b"x")
expect("read", c.read, 1)
expect("write", c.write, b"x")
expect("connect", c.connect, (host, port))
expect("setsockopt", c.setsockopt, socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
expect("settimeout", c.settimeout, 1)
s.close()
l.close()

# the context manager closes
with socket.socket() as t:
    print(t.fileno() >= 0)
print(t.fileno())

# socket(af=...) as the MicroPython docs name the argument, and CPython's names
print(socket.socket(af=socket.AF_INET6).getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
print(socket.socket(family=socket.AF_INET, type=socket.SOCK_DGRAM).getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
print(socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP).getsockopt(socket.SOL_SOCKET, socket.SO_TYPE))
