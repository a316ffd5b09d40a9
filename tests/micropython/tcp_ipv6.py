# TCP over IPv6 loopback: 4-tuple addresses in both directions, 2-tuples
# accepted, and data both ways.
from _helpers import socket, expect

l = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
l.bind(("::1", 0))
l.listen(2)
addr = l.getsockname()
print(len(addr), addr[0], addr[2], addr[3])

# 2-tuple connect
c1 = socket.socket(socket.AF_INET6)
c1.connect(("::1", addr[1]))
# 4-tuple connect with flowinfo and scope id
c2 = socket.socket(socket.AF_INET6)
c2.connect(("::1", addr[1], 0, 0))
s1, p1 = l.accept()
s2, p2 = l.accept()
print(len(p1), p1[0], p1[1] == c1.getsockname()[1])
print(len(p2), p2[0], p2[1] == c2.getsockname()[1])
c1.sendall(b"six" * 1000)
print(s1.read(3000) == b"six" * 1000)
s2.write(b"back")
print(c2.read(4))
print(c2.getpeername()[:2] == addr[:2])

# A v4-mapped address reaches an IPv4 listener through a dual-stack socket.
l4 = socket.socket()
l4.bind(("127.0.0.1", 0))
l4.listen()
c3 = socket.socket(socket.AF_INET6)
c3.connect(("::ffff:127.0.0.1", l4.getsockname()[1]))
s3, p3 = l4.accept()
print(p3[0], c3.getpeername()[0])

# Wildcard bind with "" and a 3-tuple (flowinfo only)
w = socket.socket(socket.AF_INET6)
w.bind(("", 0, 0))
print(w.getsockname()[0])
for sock in (c1, c2, c3, s1, s2, s3, l, l4, w):
    sock.close()

# IPv4 text on an IPv6 socket fails cleanly (the resolver sees a numeric
# address of the wrong family; nothing is looked up), and a 4-tuple on an
# IPv4 socket is a TypeError.
c = socket.socket(socket.AF_INET6)
expect("v6 socket, v4 text", c.connect, ("127.0.0.1", 1, 0, 0))
c.close()
c = socket.socket()
expect("v4 socket, 4-tuple", c.connect, ("::1", 1, 0, 0))
c.close()
