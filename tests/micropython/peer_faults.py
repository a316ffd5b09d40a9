# What the peer does to us: reset, close, half-close, refuse; and connects
# that complete in the background.
import _thread, struct, time, select
from _helpers import socket, expect, tcp_pair

# (no global lookups in the thread: micropython#12698)
def reset(sock, delay_ms=0, time=time, socket=socket, struct=struct, select=select):
    time.sleep_ms(delay_ms)
    p = select.poll()
    p.register(sock, select.POLLIN)
    p.poll(1000)  # the data it will not read has arrived
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()

# reset while we are blocked in recv / read. The resetting side holds data it
# never read: closing then resets on every stack (lwIP sends RST for
# SO_LINGER 0 only when data is left, Linux always).
for name in ("recv", "read", "readline", "readinto"):
    c, s = tcp_pair()
    s.send(b"unread")
    _thread.start_new_thread(reset, (c, 100))
    op = {"recv": lambda: s.recv(10), "read": lambda: s.read(10), "readline": s.readline,
          "readinto": lambda: s.readinto(bytearray(10))}[name]
    expect("reset during blocking " + name, op)
    s.close()

# writing after the peer closed: EPIPE or ECONNRESET, and we keep running
# (SIGPIPE must not kill the process)
c, s = tcp_pair()
c.close()
errors = set()
for i in range(50):
    try:
        s.send(b"x" * 1000)
    except OSError as e:
        errors.add(e.errno)
        break
    time.sleep_ms(5)
print("write after close", sorted(errors) in ([32], [104]))
try:
    s.write(b"x" * 1000)
except OSError as e:
    print("again", e.errno in (32, 104))
s.close()

# half-close: the peer shuts its side; we read b'' and can still write
c, s = tcp_pair()
c.shutdown(socket.SHUT_WR)
print(s.recv(10), s.read(), s.readline())
print(s.send(b"reply"), c.recv(10))
c.close()
s.close()

# refused, blocking and with a timeout
l = socket.socket()
l.bind(("127.0.0.1", 0))
addr = l.getsockname()
l.close()
c = socket.socket()
expect("refused", c.connect, addr)
expect("refused again, same socket", c.connect, addr)
c.settimeout(2)
expect("refused with timeout", c.connect, addr)
c.close()

# non-blocking connect: EINPROGRESS, then poll says writable, then it works
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
c = socket.socket()
c.setblocking(False)
expect("non-blocking connect", c.connect, l.getsockname())
p = select.poll()
p.register(c, select.POLLOUT)
print("poll", p.poll(2000)[0][1] == select.POLLOUT)
print("SO_ERROR", c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
expect("connect again (reports the completion)", c.connect, l.getsockname())
s, _ = l.accept()
print(c.send(b"ok"), s.recv(2))
for x in (c, s, l):
    x.close()

# what came while a connection waited in the accept queue: a close with
# nothing sent, data and then a close, data only. Each is there after
# accept (lwIP's raw API had to be taught both: tests/qemu).
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(3)
closed, half, open_ = socket.socket(), socket.socket(), socket.socket()
for c in (closed, half, open_):
    c.connect(l.getsockname())
closed.close()
half.send(b"hello")
half.shutdown(socket.SHUT_WR)
open_.send(b"x")
got = {}
for i in range(3):
    s, _ = l.accept()
    s.settimeout(5)  # a lost close would be ETIMEDOUT
    got[s.recv(10)] = s
print("queued", sorted(got))
print("then", got[b""].recv(10), got[b"hello"].recv(10))
got[b"x"].settimeout(0)
expect("then, still open", got[b"x"].recv, 10)
for x in [half, open_, l] + list(got.values()):
    x.close()
