# Out of memory while a socket call takes something from the stack: a
# MemoryError may come out, but nothing is lost. accept() may not take a
# connection, recv(), read(n) or readline() data, recvfrom() a datagram and
# then fail to allocate its result: all of it is allocated before the call.
from _helpers import socket
from _pressure import under_pressure

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

# the stream methods: readline() and read(n)
c = socket.socket()
c.connect(l.getsockname())
a, _ = l.accept()
a.settimeout(5)
lines = b"".join(b"line %d\n" % i for i in range(5))
c.sendall(lines + data)
c.close()
received, errors = b"", 0
for i in range(5):
    line, e = under_pressure(a.readline)
    errors += e
    received += line
while True:
    chunk, e = under_pressure(lambda: a.read(3))
    errors += e
    if not chunk:
        break
    received += chunk
print("readline, read", received == lines + data, errors > 0)

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
