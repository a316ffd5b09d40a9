# Every constant the usocket documentation names exists with the platform's
# value, and the socket options among them really work on a socket.
from _helpers import socket, expect

for name in ("AF_INET", "AF_INET6", "SOCK_STREAM", "SOCK_DGRAM", "IPPROTO_TCP", "IPPROTO_UDP",
             "SOL_SOCKET", "SO_REUSEADDR", "SO_BROADCAST", "SO_KEEPALIVE", "SO_ERROR",
             "SO_LINGER", "SO_RCVBUF", "SO_SNDBUF"):
    print(name, getattr(socket, name))

# Extensions that CPython has (values are Linux's).
for name in ("AF_UNSPEC", "SOCK_RAW", "IPPROTO_IP", "IPPROTO_IPV6", "TCP_NODELAY", "IP_ADD_MEMBERSHIP",
             "IP_DROP_MEMBERSHIP", "IP_MULTICAST_TTL", "IPV6_V6ONLY", "MSG_PEEK", "MSG_DONTWAIT",
             "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "AI_PASSIVE", "AI_CANONNAME", "AI_NUMERICHOST",
             "EAI_NONAME", "SO_REUSEPORT", "SO_RCVTIMEO", "SO_SNDTIMEO"):
    print(name, getattr(socket, name))
# (lwIP has no SOMAXCONN: its listen() takes up to 255)
print("SOMAXCONN", socket.SOMAXCONN >= 128 if hasattr(socket, "SOMAXCONN") else "absent")

print(socket.error is OSError)

# Each boolean option set on a real socket reads back as set.
s = socket.socket()
for name in ("SO_REUSEADDR", "SO_KEEPALIVE"):
    opt = getattr(socket, name)
    s.setsockopt(socket.SOL_SOCKET, opt, 1)
    print(name, s.getsockopt(socket.SOL_SOCKET, opt) != 0)
    s.setsockopt(socket.SOL_SOCKET, opt, 0)
    print(name, s.getsockopt(socket.SOL_SOCKET, opt))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
print("TCP_NODELAY", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)
print("SO_ERROR", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
# Linux doubles the requested buffer size; what matters is that it grew.
# (lwIP has no SO_SNDBUF: OSError, as on ESP32.)
for name in ("SO_RCVBUF", "SO_SNDBUF"):
    opt = getattr(socket, name)
    try:
        s.setsockopt(socket.SOL_SOCKET, opt, 4096)
    except OSError as e:
        print(name, "OSError", e.errno)
        continue
    small = s.getsockopt(socket.SOL_SOCKET, opt)
    s.setsockopt(socket.SOL_SOCKET, opt, 65536)
    print(name, s.getsockopt(socket.SOL_SOCKET, opt) > small)
# SO_LINGER takes struct linger (two ints) as bytes.
import struct
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 7))
print("SO_LINGER", struct.unpack("ii", s.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8)))
s.close()

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
print("SO_BROADCAST", u.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST) != 0)
print("SO_TYPE", u.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_DGRAM)
u.close()

u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
print("IPV6_V6ONLY", u6.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY))
u6.close()

# An option the stack does not know: OSError, not a crash.
s = socket.socket()
expect("unknown option", s.setsockopt, socket.SOL_SOCKET, 12345, 1)
expect("unknown level", s.getsockopt, 12345, 1)
s.close()
