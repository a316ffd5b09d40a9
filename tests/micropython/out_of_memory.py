# Out of memory while a socket call takes something from the stack: a
# MemoryError may come out, but nothing is lost. accept() may not take a
# connection, recv() data, recvfrom() a datagram and then fail to allocate
# its result: all of it is allocated before the call.
import gc
from _helpers import socket

hog = [None] * 4000


SIZES = (65536, 4096, 256, 16, 1, 1)


def exhaust():
    # Fill the heap: big pieces first, then smaller ones into the gaps. No
    # garbage may be left for the next allocation to collect (a for loop
    # would leave its iterator).
    n = 0
    i = 0
    while i < len(SIZES):
        gc.collect()
        try:
            while n < len(hog):
                hog[n] = bytearray(SIZES[i])
                n += 1
        except MemoryError:
            pass
        i += 1
    return n


def under_pressure(call):
    # Gives memory back a little at a time until the call gets through.
    n = exhaust()
    errors = 0
    while True:
        try:
            result = call()
            break
        except MemoryError:
            errors += 1
            n -= 1
            hog[n] = None
            gc.collect()
    for i in range(n):
        hog[i] = None
    return result, errors


N = 6
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(N)
l.settimeout(5)
clients = []
for i in range(N):
    c = socket.socket()
    c.connect(l.getsockname())
    c.send(b"%d" % i)
    clients.append(c)
got, errors = [], 0
for i in range(N):
    (a, peer), e = under_pressure(l.accept)
    errors += e
    a.settimeout(5)
    got.append(int(a.recv(10)))
    a.close()
print("accept", sorted(got), peer[0], errors > 0)

c = socket.socket()
c.connect(l.getsockname())
a, _ = l.accept()
a.settimeout(5)
data = bytes(range(40))
c.sendall(data)
c.close()
received, errors = b"", 0
while True:
    chunk, e = under_pressure(lambda: a.recv(1))  # the smallest buffer fits where its bytes object does not
    errors += e
    if not chunk:
        break
    received += chunk
print("recv", received == data, errors > 0)

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
u.settimeout(5)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
for i in range(N):
    s.sendto(b"datagram %d" % i, u.getsockname())
got, errors = [], 0
for i in range(N):
    (d, src), e = under_pressure(lambda: u.recvfrom(16))
    errors += e
    got.append((d, src == s.getsockname()))
print("recvfrom", got == [(b"datagram %d" % i, True) for i in range(N)], errors > 0)
