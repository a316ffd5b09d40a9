# Multicast on lwIP's socket API (ESP32's backend), delivered through lwIP's
# loopback interface (LWIP_LOOPIF_MULTICAST in this firmware's lwipopts.h):
# the request is bytes as CPython takes it; a group's datagrams arrive only
# between the join and the drop. lwIP has no IPV6_MULTICAST_* options, so
# the module does not offer them.
import errno, struct
from _helpers import socket

EADDRNOTAVAIL = 99  # Linux's and lwIP's value; MicroPython's errno module lacks it


def probe(sender, receiver, tag, dest):
    sender.sendto(tag, dest)
    try:
        data, source = receiver.recvfrom(64)
        print(tag, data, source[0])
    except OSError as e:
        print(tag, errno.errorcode[e.errno])


def membership(family, any_address, dest, interface, level, join, leave, mreq):
    r = socket.socket(family, socket.SOCK_DGRAM)
    r.bind((any_address, dest[1]))
    r.settimeout(0.3)
    s = socket.socket(family, socket.SOCK_DGRAM)
    if interface is not None:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, interface)
    probe(s, r, b"before", dest)
    r.setsockopt(level, join, mreq)
    probe(s, r, b"joined", dest)
    probe(s, r, b"again", dest)
    r.setsockopt(level, leave, mreq)
    probe(s, r, b"left", dest)
    r.close()
    s.close()


loopback4 = socket.inet_pton(socket.AF_INET, "127.0.0.1")
group4 = socket.inet_pton(socket.AF_INET, "239.1.2.3")
membership(socket.AF_INET, "0.0.0.0", ("239.1.2.3", 5007), loopback4,
           socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.IP_DROP_MEMBERSHIP, group4 + loopback4)

# the loopback interface is lwIP's interface 1
group6 = socket.inet_pton(socket.AF_INET6, "ff1e::1234")
membership(socket.AF_INET6, "::", ("ff1e::1234", 5008, 0, 1), None,
           socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.IPV6_LEAVE_GROUP, group6 + struct.pack("@I", 1))
print("IPV6_MULTICAST_IF" in dir(socket), "IPV6_MULTICAST_HOPS" in dir(socket))

# leaving a group never joined, and a request of the wrong size
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for name, value in (("not joined", group4 + loopback4), ("short", group4)):
    try:
        u.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, value)
        print(name, "ok")
    except OSError as e:
        print(name, "EADDRNOTAVAIL" if e.errno == EADDRNOTAVAIL else errno.errorcode[e.errno])

# the sending options are kept by the socket
u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 5)
u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
print("ttl", u.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL),
      "loop", u.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP))
u.close()
