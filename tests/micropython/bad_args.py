# Bad input raises TypeError / ValueError / OSError with the right errno:
# never a crash, a hang or MemoryError. No name here is looked up in DNS:
# malformed numeric addresses fail without a query.
from _helpers import socket, expect, tcp_pair

print("-- socket()")
expect("family", socket.socket, 12345)
expect("type", socket.socket, socket.AF_INET, 999)
expect("family str", socket.socket, "AF_INET")
expect("type float", socket.socket, socket.AF_INET, 1.5)
expect("proto", socket.socket, socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_UDP)
expect("huge family", socket.socket, 2**40)
expect("too many args", socket.socket, 2, 1, 0, 0)
# Linux's SOCK_NONBLOCK (2048) or'ed into the type: the kernel would take it,
# the module does not (blocking is what settimeout says).
expect("type | SOCK_NONBLOCK", socket.socket, socket.AF_INET, socket.SOCK_STREAM | 2048)
expect("proto 70000", socket.socket, socket.AF_INET, socket.SOCK_STREAM, 70000)
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
print("numbers", repr(s).split()[2:5])
s.close()

s = socket.socket()
print("-- addresses")
for addr in (
    123, None, "127.0.0.1", ("127.0.0.1",), ("127.0.0.1", 80, 0), (), [],
    (127, 80), ("127.0.0.1", "80"), ("127.0.0.1", 80.0), ("127.0.0.1", None),
    ("127.0.0.1", -1), ("127.0.0.1", 65536), ("127.0.0.1", 2**70),
    ("256.0.0.1", 80), ("1.2.3.4.5", 80), ("::1", 80), ("", 2**16),
    b"\x02", b"\x99\x00" + bytes(14), bytearray(3),
):
    expect(repr(addr), s.connect, addr)
# A name that cannot be one: longer than any the resolvers take, so it fails
# before any lookup (a name that reached DNS would be a query to whatever
# server the machine has).
expect("('x' * 300, 80)", s.connect, ("x" * 300, 80))
s.close()

s6 = socket.socket(socket.AF_INET6)
for addr in (
    ("::1",), ("::1", 80, 0, 0, 0), ("::1::2", 80), ("gggg::1", 80), ("::1", 80, -1),
    ("::1", 80, 2**20), ("::1", 80, 0, -1), ("::1", 80, 0, 2**32), ("::1", 80, "0"),
):
    expect(repr(addr), s6.connect, addr)
s6.close()

print("-- sizes")
c, srv = tcp_pair()
c.send(b"abc")
expect("recv(-1)", srv.recv, -1)
expect("recv(2**40)", srv.recv, 2**40)
c.send(b"abc")
expect("recv(2**100)", srv.recv, 2**100)
expect("recv('1')", srv.recv, "1")
expect("recv(1.0)", srv.recv, 1.0)
expect("recv(0)", srv.recv, 0)
expect("recvfrom(-5)", srv.recvfrom, -5)
expect("recv_into(bytes)", srv.recv_into, b"immutable")
expect("recv_into(buf, -1)", srv.recv_into, bytearray(4), -1)
expect("recv_into(buf, 5)", srv.recv_into, bytearray(4), 5)
expect("send(str) (MicroPython accepts str)", c.send, "text")
expect("send(int)", c.send, 5)
expect("sendall(None)", c.sendall, None)
expect("write(list)", c.write, [1, 2])
expect("read(str)", srv.read, "x")
expect("listen('x')", srv.listen, "x")
expect("recv flags str", srv.recv, 1, "x")
expect("recv flags huge", srv.recv, 1, 2**40)

print("-- options")
expect("setsockopt str level", c.setsockopt, "x", socket.SO_REUSEADDR, 1)
expect("setsockopt str value", c.setsockopt, socket.SOL_SOCKET, socket.SO_REUSEADDR, "1")
expect("setsockopt None value", c.setsockopt, socket.SOL_SOCKET, socket.SO_REUSEADDR, None)
expect("setsockopt huge value", c.setsockopt, socket.SOL_SOCKET, socket.SO_REUSEADDR, 2**40)
expect("setsockopt short buffer", c.setsockopt, socket.SOL_SOCKET, socket.SO_LINGER, b"\x01")
expect("getsockopt buflen 0", c.getsockopt, socket.SOL_SOCKET, socket.SO_LINGER, 0)
expect("getsockopt buflen huge", c.getsockopt, socket.SOL_SOCKET, socket.SO_LINGER, 2**31)
expect("shutdown 99", c.shutdown, 99)
expect("shutdown str", c.shutdown, "x")
expect("makefile mode int", c.makefile, 1)

print("-- states")
fresh = socket.socket()
expect("recv on new socket", fresh.recv, 1)
expect("send on new socket", fresh.send, b"x")
expect("getpeername on new socket", fresh.getpeername)
expect("accept on new socket", fresh.accept)
fresh.bind(("127.0.0.1", 0))
expect("bind twice", fresh.bind, ("127.0.0.1", 0))
l = socket.socket()
expect("bind to a port in use", l.bind, fresh.getsockname())
fresh.listen()
expect("recv on listener", fresh.recv, 1)
expect("connect on listener", fresh.connect, fresh.getsockname())
l.close()
fresh.close()
c.close()
srv.close()

print("-- module functions")
expect("getaddrinfo no args", socket.getaddrinfo)
expect("getaddrinfo host int", socket.getaddrinfo, 1, 80)
expect("getaddrinfo port float", socket.getaddrinfo, "127.0.0.1", 1.5)
try:
    socket.getaddrinfo("127.0.0.1", 1.5)
except TypeError as e:
    print("getaddrinfo port float:", e)  # says what a port may be
expect("getaddrinfo port range", socket.getaddrinfo, "127.0.0.1", 70000)
expect("getaddrinfo family", socket.getaddrinfo, "127.0.0.1", 80, 12345)
expect("getaddrinfo bad numeric", socket.getaddrinfo, "1.2.3.4.5", 80)
expect("getaddrinfo bad v6", socket.getaddrinfo, "::1::", 80)
expect("getaddrinfo service", socket.getaddrinfo, "127.0.0.1", "no-such-service")
expect("inet_pton family", socket.inet_pton, 12345, "1.2.3.4")
expect("inet_pton text", socket.inet_pton, socket.AF_INET, "1.2.3")
expect("inet_pton type", socket.inet_pton, socket.AF_INET, 1234)
expect("inet_ntop length", socket.inet_ntop, socket.AF_INET, b"\x01\x02\x03")
expect("inet_ntop v6 length", socket.inet_ntop, socket.AF_INET6, bytes(15))
expect("inet_ntop type", socket.inet_ntop, socket.AF_INET, "1234")
print("alive")
