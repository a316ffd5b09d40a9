# Sockets that are dropped without close() give their descriptors back when
# the garbage collector runs (the object has a finaliser).
import gc
from _helpers import socket, open_fds, fds_back, tcp_pair

gc.collect()
before = open_fds()

for i in range(200):
    socket.socket()
    socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
print("leaked while alive or unreachable", open_fds() - before > 0)
gc.collect()
print("after gc", fds_back(before, 2))

# accepted sockets and both ends of connections too
for i in range(50):
    c, s = tcp_pair()
    c.send(b"x")
del c, s
gc.collect()
print("connections after gc", fds_back(before, 3))

# a socket closed by hand and then collected is not closed twice (its fd
# number may already belong to another socket)
gc.collect()
before = open_fds()  # (not counting a socket above that a stale slot keeps)
keep = []
for i in range(50):
    s = socket.socket()
    s.close()
    keep.append(socket.socket())
    del s
gc.collect()
print("still open", all(k.fileno() >= 0 for k in keep))
k = keep[0]
k.bind(("127.0.0.1", 0))
print("usable", k.getsockname()[0])
for k in keep:
    k.close()
gc.collect()
print("all closed", fds_back(before, 0))

# a failed connect does not leak its descriptor either
before = open_fds()


def failed_connects():
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    addr = l.getsockname()
    l.close()
    for i in range(50):
        c = socket.socket()
        try:
            c.connect(addr)
        except OSError:
            pass


failed_connects()
gc.collect()
print("failed connects", fds_back(before, 1))
