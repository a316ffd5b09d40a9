# inet_pton / inet_ntop (CPython's functions; MicroPython's unix module has
# them too), with the same text forms as glibc.
from _helpers import socket, expect

for text in ("0.0.0.0", "127.0.0.1", "255.255.255.255", "10.20.30.40"):
    packed = socket.inet_pton(socket.AF_INET, text)
    print(text, packed, socket.inet_ntop(socket.AF_INET, packed))
for text in ("::", "::1", "fe80::1", "2001:DB8:0:0:1:0:0:1", "::ffff:192.0.2.1", "1:2:3:4:5:6:7:8",
             "2001:0:0:1:0:0:0:1", "::192.0.2.1"):
    packed = socket.inet_pton(socket.AF_INET6, text)
    print(text, len(packed), socket.inet_ntop(socket.AF_INET6, packed))
print(socket.inet_ntop(socket.AF_INET6, bytearray(range(16))))
for bad in ("1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "", " 1.2.3.4"):
    expect(repr(bad), socket.inet_pton, socket.AF_INET, bad)
for bad in ("1::2::3", ":::", "12345::", "::g", "1:2:3:4:5:6:7:8:9", "::1 "):
    expect(repr(bad), socket.inet_pton, socket.AF_INET6, bad)

# Address text the module makes (accept, getsockname, inet_ntop) is a str
# like any other: equal to literals, hashable, usable as a dict key.
from _helpers import tcp_pair
c, s = tcp_pair()
h = s.getpeername()[0]
t = socket.inet_ntop(socket.AF_INET6, bytes(15) + b"\x01")
print(h == "127.0.0.1", "127.0.0.1" == h, hash(h) == hash("127.0.0.1"), {h: 1}.get("127.0.0.1"))
print({"127.0.0.1": 2}[h], {t: 3}["::1"], t in ("::1",), h + ":" + t, type(h), type(t))
c.close()
s.close()
