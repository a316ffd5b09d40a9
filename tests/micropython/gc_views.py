# Every str and bytes the module returns owns its data the way MicroPython's
# own objects do: a memoryview of one keeps what it shows alive after the
# object is gone. (MicroPython's collector keeps an allocation only through
# a pointer to its start; address text made in one allocation with its str
# object was freed under such a view, and the view then showed whatever
# reused the memory.)
from _helpers import socket, tcp_pair, views_survive


def accepted_hosts(family, host):
    """A new connection's peer host for each call, over loopback."""
    l = socket.socket(family)
    l.bind((host, 0))
    l.listen(4)

    def make(i):
        c = socket.socket(family)
        c.connect(l.getsockname())
        s, peer = l.accept()
        c.close()
        s.close()
        return peer[0]

    return l, make


for family, host, label in ((socket.AF_INET, "127.0.0.1", "IPv4"), (socket.AF_INET6, "::1", "IPv6")):
    l, make = accepted_hosts(family, host)
    views_survive("accept, %s host" % label, make)
    l.close()

c, s = tcp_pair()
views_survive("getsockname host", lambda i: c.getsockname()[0])
views_survive("getpeername host", lambda i: s.getpeername()[0])
c.send(b"0123456789" * 20)
views_survive("recv data", lambda i: s.recv(10))
c.close()
s.close()


def sender_host(i):
    # a new receiver each time: a socket keeps the last sender's address
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    v.sendto(b"x", u.getsockname())
    data, addr = u.recvfrom(10)
    u.close()
    v.close()
    return addr[0]


views_survive("recvfrom sender host", sender_host)
views_survive("getaddrinfo host", lambda i: socket.getaddrinfo("127.0.0.%d" % (i + 1), 80)[0][-1][0])
views_survive("getaddrinfo IPv6 host", lambda i: socket.getaddrinfo("::%d" % (i + 1), 80, socket.AF_INET6)[0][-1][0])
views_survive("inet_ntop", lambda i: socket.inet_ntop(socket.AF_INET, bytes([10, 0, 0, i])))
views_survive("inet_ntop IPv6", lambda i: socket.inet_ntop(socket.AF_INET6, bytes(15) + bytes([i])))
