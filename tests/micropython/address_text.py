# Address text of every length on loopback: the longest dotted quad (15
# characters) fits exactly the room an AF_INET socket's addresses are made
# in, from recvfrom, accept, getsockname and getpeername, and a shorter one
# after it is whole too.
from _helpers import socket
far = "127.255.255.254"
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((far, 0))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v.bind(("127.0.0.1", 0))
u.sendto(b"far", v.getsockname())
print("recvfrom", v.recvfrom(10) == (b"far", u.getsockname()), u.getsockname()[0])
v.sendto(b"near", u.getsockname())
print("recvfrom", u.recvfrom(10) == (b"near", v.getsockname()))
u.close()
v.close()
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(2)
for host in (far, "127.0.0.2", far):
    c = socket.socket()
    c.bind((host, 0))
    c.connect(l.getsockname())
    s, peer = l.accept()
    print("accept", peer[0], peer == c.getsockname() == s.getpeername())
    s.close()
    c.close()
l.close()
