# Older unix-port code passes raw `struct sockaddr` bytes (what MicroPython's
# unix getaddrinfo used to return); they still work, next to tuples.
import struct
from _helpers import socket, expect

l = socket.socket()
l.bind(struct.pack("<H", socket.AF_INET) + struct.pack(">H", 0) + bytes([127, 0, 0, 1]) + bytes(8))
l.listen()
port = l.getsockname()[1]
raw = struct.pack("<H", socket.AF_INET) + struct.pack(">H", port) + bytes([127, 0, 0, 1]) + bytes(8)
c = socket.socket()
c.connect(raw)
s, peer = l.accept()
print(peer[0], type(peer))
# without the trailing padding, and as a bytearray
c2 = socket.socket()
c2.connect(bytearray(raw[:8]))
print(l.accept()[1][0])

l6 = socket.socket(socket.AF_INET6)
l6.bind(("::1", 0))
l6.listen()
p6 = l6.getsockname()[1]
raw6 = struct.pack("<H", socket.AF_INET6) + struct.pack(">H", p6) + bytes(4) + bytes(15) + b"\x01" + bytes(4)
c6 = socket.socket(socket.AF_INET6)
c6.connect(raw6)
print(l6.accept()[1][0])
expect("truncated v6", socket.socket(socket.AF_INET6).connect, raw6[:20])
expect("unknown family", c6.connect, struct.pack("<H", 99) + bytes(14))
for x in (c, c2, s, l, c6, l6):
    x.close()
