# One timeout rule for every blocking call: timeout 0 -> EAGAIN (stream
# read/write: None), finite timeout expired -> ETIMEDOUT, None -> wait.
import time
from _helpers import socket, expect, tcp_pair


def elapsed_ms(t0):
    return time.ticks_diff(time.ticks_ms(), t0)


def timed(label, fn, *args):
    # Expect ETIMEDOUT after at least the timeout (0.2 s) and not much later.
    t0 = time.ticks_ms()
    expect(label, fn, *args)
    ms = elapsed_ms(t0)
    print(label, "waited", 190 <= ms < 3000)


def fill(sock):
    # Queue data until the peer's receive buffer and our send buffer are full.
    # A stack may make room again once the peer acknowledged what it holds
    # (lwIP does): full means still full a moment later.
    sock.setblocking(False)
    chunk = bytes(16384)
    total = 0
    while True:
        try:
            total += sock.send(chunk)
        except OSError:
            time.sleep_ms(50)
            try:
                total += sock.send(chunk)
            except OSError:
                return total


c, s = tcp_pair()
print("default", c.gettimeout())

# timeout 0
c.settimeout(0)
print("gettimeout", c.gettimeout())
expect("recv", c.recv, 10)
expect("recv_into", c.recv_into, bytearray(4))
expect("read", c.read, 10)
expect("readinto", c.readinto, bytearray(4))
expect("readline", c.readline)
c.setblocking(True)
print("setblocking(True)", c.gettimeout())
c.setblocking(False)
print("setblocking(False)", c.gettimeout())

# finite timeout
c.settimeout(0.2)
print("gettimeout", c.gettimeout())
timed("recv", c.recv, 10)
timed("recv_into", c.recv_into, bytearray(4))
timed("read", c.read, 10)
timed("readinto", c.readinto, bytearray(4))
timed("readline", c.readline)
# read(n) with less than n arriving still times out (the stream read raises)
s.send(b"partial")
timed("read more than arrives", c.read, 100)
s.send(b"no end of line")
timed("readline of part of a line", c.readline)

# sends on a full connection
# (small buffers fill sooner; lwIP has no SO_SNDBUF, and small buffers anyway)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
try:
    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
except OSError:
    pass
print("queued something", fill(c) > 0)
expect("send, non-blocking", c.send, b"x" * 1000)
expect("write, non-blocking", c.write, b"x" * 1000)
expect("sendall, non-blocking", c.sendall, b"x" * 1000)
c.settimeout(0.2)
timed("send", c.send, b"x" * 1000)
timed("write", c.write, b"x" * 1000)
timed("sendall", c.sendall, b"x" * 1000)
c.close()
s.close()

# accept
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
l.settimeout(0)
expect("accept, non-blocking", l.accept)
l.settimeout(0.2)
timed("accept", l.accept)
l.close()

# UDP
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
u.settimeout(0)
expect("recvfrom, non-blocking", u.recvfrom, 10)
expect("recvfrom_into, non-blocking", u.recvfrom_into, bytearray(10))
u.settimeout(0.2)
timed("recvfrom", u.recvfrom, 10)
timed("recvfrom_into", u.recvfrom_into, bytearray(10))
# data that is there is returned at once, whatever the timeout
u.sendto(b"ready", u.getsockname())
print(u.recvfrom(10)[0])
# a tiny timeout is still a timeout, never "non-blocking"
u.settimeout(0.0001)
expect("tiny timeout", u.recv, 10)
u.close()

# connect to a listener whose accept queue is full: its SYNs go unanswered
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(0)
filler = socket.socket()
filler.connect(l.getsockname())
time.sleep_ms(50)
c = socket.socket()
c.settimeout(0)
expect("connect, non-blocking", c.connect, l.getsockname())
c.close()
c = socket.socket()
c.settimeout(0.2)
timed("connect", c.connect, l.getsockname())
c.close()
filler.close()
l.close()

# bad timeouts
c = socket.socket()
expect("negative", c.settimeout, -1)
expect("nan", c.settimeout, float("nan"))
expect("str", c.settimeout, "1")
print("unchanged", c.gettimeout())
c.settimeout(1e12)
print("huge is finite", c.gettimeout() is not None)
c.close()
