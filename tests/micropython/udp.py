# UDP over IPv4 and IPv6 loopback: sendto/recvfrom, the _into variants,
# connected UDP, empty and truncated datagrams, and flags.
from _helpers import socket, expect

for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    print("family", family)
    a = socket.socket(family, socket.SOCK_DGRAM)
    a.bind((host, 0))
    b = socket.socket(family, socket.SOCK_DGRAM)
    b.bind((host, 0))
    a_addr, b_addr = a.getsockname(), b.getsockname()

    print(b.sendto(b"one", a_addr))
    data, src = a.recvfrom(100)
    print(data, src == b_addr, len(src))

    # sendto(bytes, flags, address)
    print(b.sendto(b"two", 0, a_addr))
    buf = bytearray(10)
    n, src = a.recvfrom_into(buf)
    print(n, buf[:n], src == b_addr)

    # recvfrom_into with nbytes: the datagram is truncated to it
    b.sendto(b"three", a_addr)
    n, src = a.recvfrom_into(buf, 2)
    print(n, buf[:n])

    # recv smaller than the datagram truncates it; the rest is gone
    b.sendto(b"truncated", a_addr)
    print(a.recv(5))

    # an empty datagram is b'', not end of stream
    b.sendto(b"", a_addr)
    print(a.recv(10))

    # MSG_PEEK then the real read; recv_into
    b.sendto(b"peeked", a_addr)
    print(a.recv(10, socket.MSG_PEEK), a.recv_into(buf), buf[:6])

    # connect fixes the peer: send/recv, and read/write as a stream
    a.connect(b_addr)
    b.connect(a_addr)
    print(a.send(b"conn"), b.recv(10))
    print(b.write(b"stream"), a.read(6))
    print(a.getpeername() == b_addr)

    # MSG_DONTWAIT on a blocking socket with nothing queued
    expect("dontwait", a.recv, 10, socket.MSG_DONTWAIT)
    a.close()
    b.close()

# a UDP socket that was never bound gets an address on first sendto
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", 0))
u.sendto(b"auto", r.getsockname())
data, src = r.recvfrom(10)
print(data, src[1] == u.getsockname()[1], src[1] != 0)
u.close()
r.close()

# Alternating peers: every datagram goes to, and is reported from, the right
# address even when the same tuple objects are reused (the shim remembers the
# last address of each direction).
hub = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
hub.bind(("127.0.0.1", 0))
p1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
p1.bind(("127.0.0.1", 0))
p2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
p2.bind(("127.0.0.1", 0))
t1, t2 = p1.getsockname(), p2.getsockname()
for s in (hub, p1, p2):
    s.settimeout(2)  # a misdirected datagram fails the test instead of hanging
ok = True
for i in range(6):
    peer, to = (p1, t1) if i % 3 else (p2, t2)
    hub.sendto(b"%d" % i, to if i % 2 else (to[0], to[1]))
    data, src = peer.recvfrom(10)
    ok = ok and data == b"%d" % i
    peer.sendto(data, hub.getsockname())
    data, src = hub.recvfrom(10)
    ok = ok and data == b"%d" % i and src == peer.getsockname()
print("alternating peers", ok)
# a list address is read afresh each time: changing it redirects the send
to = list(t1)
hub.sendto(b"x", to)
to[1] = t2[1]
hub.sendto(b"y", to)
print(p1.recv(10), p2.recv(10))
hub.close()
p1.close()
p2.close()
