# sockaddr() (unix port): what MicroPython's unix module made of raw sockaddr
# bytes, for code written for it (micropython-lib's old socket.py decodes
# every accepted address with it); it takes this module's address tuples
# and AF_UNIX paths too.
import struct
from _helpers import socket, expect, tcp_pair

print(socket.sockaddr(("127.0.0.1", 80)))
print(socket.sockaddr(["10.1.2.3", 65535]))
print(socket.sockaddr(("::1", 8080)))
print(socket.sockaddr(("fe80::1", 1, 7, 2)))
raw = struct.pack("<H", socket.AF_INET) + struct.pack(">H", 8080) + bytes([192, 0, 2, 1]) + bytes(8)
print(socket.sockaddr(raw), socket.sockaddr(bytearray(raw[:8])))
raw6 = struct.pack("<H", socket.AF_INET6) + struct.pack(">H", 443) + struct.pack(">I", 5) + bytes(15) + b"\x01" + struct.pack("<I", 3)
print(socket.sockaddr(raw6))
print(socket.sockaddr("/run/x.sock"), socket.sockaddr(b"\x01\x00\x00abstract"))
# a connection's peer address (as accept gives it), decoded as the old
# wrapper does
c, s = tcp_pair()
fam, packed, port = socket.sockaddr(s.getpeername())
print(fam == socket.AF_INET, socket.inet_ntop(fam, packed), port == c.getsockname()[1])
c.close()
s.close()

expect("int", socket.sockaddr, 5)
expect("1-tuple", socket.sockaddr, ("1.2.3.4",))
expect("bad port", socket.sockaddr, ("1.2.3.4", 70000))
expect("bad text", socket.sockaddr, ("1.2.3.256", 1))
expect("unknown family", socket.sockaddr, struct.pack("<H", 99) + bytes(14))
expect("short", socket.sockaddr, raw[:5])
