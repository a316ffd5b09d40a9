"""Fault injection: the unix firmware runs with tests/faults/inject.c
preloaded, so the C library's socket calls fail or fall short the way a
busy kernel lets them, and usocket must hide what it should hide (EINTR,
partial transfers, an aborted connection in the accept queue, EMFILE when
garbage holds descriptors) and report the rest with the right errno,
without crashing, hanging or leaking a descriptor. CPython is the peer."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
from mpy import FIRMWARES, Script, echo_until_closed, free_port  # noqa: E402

FIRMWARE = FIRMWARES[0]
SCRIPTS = os.path.join(HERE, "..", "micropython")  # tests/micropython
# Linux's numbers, which the unix port uses
ERRNO = {"ENOMEM": 12, "EMFILE": 24, "ENOBUFS": 105, "ECONNABORTED": 103, "EPERM": 1, "EIO": 5, "none": 0,
         "EINVAL": 22, "EBADF": 9, "EACCES": 13, "ECONNRESET": 104, "EPIPE": 32, "ECONNREFUSED": 111,
         "ETIMEDOUT": 110, "EINPROGRESS": 115}


def setUpModule():
    global LIBRARY, WORK
    WORK = tempfile.mkdtemp(prefix="usocket-faults-")
    LIBRARY = os.path.join(WORK, "inject.so")
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-Wall", "-Werror", "-o", LIBRARY,
                    os.path.join(HERE, "inject.c"), "-ldl"], check=True)


def tearDownModule():
    os.unlink(LIBRARY)
    os.rmdir(WORK)


def fault_env(**faults):
    """The environment that preloads the injector with `faults` set."""
    env = {"LD_PRELOAD": LIBRARY}
    env.update({"USOCKET_FAULT_" + k.upper(): str(v) for k, v in faults.items()})
    return env


def faulty(source, **faults):
    return Script(FIRMWARE, source, env=fault_env(**faults))


class EchoPeer:
    """A CPython TCP and UDP echo server on one port."""

    def __init__(self):
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.silent = []
        threading.Thread(target=self.serve_tcp, daemon=True).start()
        threading.Thread(target=self.serve_udp, daemon=True).start()

    def serve_tcp(self):
        while True:
            try:
                c, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self.echo, args=(c,), daemon=True).start()

    def echo(self, c):
        with c:
            first = c.recv(1)
            if first == b"S":  # a silent connection: for the timeout check
                self.silent.append(c.dup())
                return
            c.sendall(first)
            echo_until_closed(c)

    def serve_udp(self):
        while True:
            try:
                d, a = self.udp.recvfrom(65536)
                self.udp.sendto(d, a)
            except OSError:
                return

    def close(self):
        self.tcp.close()
        self.udp.close()
        for c in self.silent:
            c.close()


TRAFFIC = """
import socket, time, errno
PORT = {port}
TIMEOUT = {timeout}  # None: the kernel waits; a number: usocket polls
data = bytes(range(256)) * 1024      # 256 KiB through the echo peer
s = socket.socket()
s.settimeout(TIMEOUT)
s.connect(("127.0.0.1", PORT))
s.sendall(data[:1000])
s.write(data[1000:100000])
n = s.send(data[100000:])
s.sendall(data[100000 + n:])
got = bytearray(len(data))
mv = memoryview(got)
k = 0
while k < len(data) // 2:
    k += s.readinto(mv[k:k + 5000])
while k < len(data):
    d = s.recv(65536)
    got[k:k + len(d)] = d
    k += len(d)
print("echo", got == data)
s.write(b"line one\\nline two\\n")
print("lines", s.readline(), s.readline())
s.close()

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(5)
ok = 0
for i in range(50):
    msg = b"%d," % i * 100
    u.sendto(msg, ("127.0.0.1", PORT))
    d, a = u.recvfrom(2000)
    ok += d == msg and a == ("127.0.0.1", PORT)
print("udp", ok)
u.close()

l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(4)
l.settimeout(TIMEOUT)
ok = 0
for i in range(20):
    c = socket.socket()
    c.settimeout(TIMEOUT)
    c.connect(l.getsockname())
    a, _ = l.accept()
    a.settimeout(TIMEOUT)
    c.write(b"hi %d" % i)
    ok += a.read(3 + len(str(i))) == b"hi %d" % i
    a.close()
    c.close()
print("accepted", ok)
l.close()

# EINTR must not restart the timeout: recv on a silent peer times out once
s = socket.socket()
s.connect(("127.0.0.1", PORT))
s.send(b"S")
s.settimeout(0.5)
t = time.ticks_ms()
try:
    s.recv(10)
    print("timeout none")
except OSError as e:
    print("timeout", e.errno == errno.ETIMEDOUT, time.ticks_diff(time.ticks_ms(), t) < 3000)
s.close()
print("done")
"""


class Faults(unittest.TestCase):
    def traffic(self, timeout=None, **faults):
        peer = EchoPeer()
        mp = faulty(TRAFFIC.format(port=peer.port, timeout=timeout), **faults)
        try:
            self.assertEqual(mp.expect("echo"), "True")
            self.assertEqual(mp.expect("lines"), "b'line one\\n' b'line two\\n'")
            self.assertEqual(mp.expect("udp"), "50")
            self.assertEqual(mp.expect("accepted"), "20")
            self.assertEqual(mp.expect("timeout"), "True True")
            mp.expect("done")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()
            peer.close()

    def test_eintr_and_partial_transfers(self):
        """Every third call is interrupted before it starts, and streams move
        a few bytes per call: sendall, write, readinto, recv, readline,
        recvfrom, accept, connect and timeouts behave as without faults."""
        self.traffic(eintr=3, short=1)
        self.traffic(timeout=10, eintr=3, short=1)

    def test_eintr_every_other_call(self):
        self.traffic(eintr=2)

    def test_spurious_wakeups(self):
        """Every other call that poll said was ready finds nothing
        (EAGAIN): blocking calls wait again under the same timeout instead
        of failing or spinning, with partial transfers as well."""
        self.traffic(timeout=10, eagain=2)
        self.traffic(timeout=10, eagain=3, short=1, eintr=5)

    def test_asyncio_streams(self):
        """asyncio's non-blocking sockets under EINTR, spurious EAGAIN and
        1-7 byte transfers: 200,000 bytes echoed between a client and a
        server in one process, then two lines. Every third call fails, not
        every second: a non-blocking readline peeks and then takes, and an
        injector that fails every other call would fail one of the two
        forever (real spurious wakeups are not periodic)."""
        mp = faulty("""
        import asyncio
        PORT = %d
        async def handle(r, w):
            while True:
                d = await r.read(4096)
                if not d:
                    break
                w.write(d)
                await w.drain()
            w.close()
            await w.wait_closed()
        async def main():
            srv = await asyncio.start_server(handle, "127.0.0.1", PORT)
            r, w = await asyncio.open_connection("127.0.0.1", PORT)
            data = bytes(range(256)) * 800
            async def send():
                for i in range(0, len(data), 1000):
                    w.write(data[i:i + 1000])
                    await w.drain()
                w.write(b"first\\nlast line\\n")
                await w.drain()
            task = asyncio.create_task(send())
            print("echo", await r.readexactly(len(data)) == data)
            print("lines", await r.readline(), await r.readline())
            await task
            w.close()
            await w.wait_closed()
            srv.close()
            await srv.wait_closed()
        asyncio.run(main())
        """ % free_port(), eagain=3, eintr=5, short=1)
        try:
            self.assertEqual(mp.expect("echo"), "True")
            self.assertEqual(mp.expect("lines"), "b'first\\n' b'last line\\n'")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()

    def test_socket_fails(self):
        """socket() fails now and then: the errno is the C library's, the
        failure leaks nothing (the lowest free descriptor is reused), and
        EMFILE, ENFILE and ENOMEM are first answered by collecting garbage
        (sockets it holds) and trying again."""
        source = """
        import socket
        fds = set()
        for i in range(9):
            try:
                s = socket.socket()
                fds.add(s.fileno())
                s.close()
                print(i, "ok")
            except OSError as e:
                print(i, e.errno)  # a number: errno.errorcode lacks EMFILE
        print("fds", len(fds))
        """
        # (errno the C library sets, errno the user sees, every Nth fails, which)
        cases = (
            ("ENOBUFS", "ENOBUFS", 3, {2, 5, 8}),
            # these are first answered by gc.collect() and one more try
            ("EMFILE", "EMFILE", 2, set()), ("ENOMEM", "ENOMEM", 2, set()),
            # ... which fails too when the C library keeps failing
            ("EMFILE", "EMFILE", 1, set(range(9))),
            # a failure with no errno set is EIO, never a success
            ("none", "EIO", 3, {2, 5, 8}),
        )
        for e, seen, every, failing in cases:
            mp = faulty(source, socket="%d:%d" % (ERRNO[e], every))
            try:
                for i in range(9):
                    self.assertEqual(mp.readline(), "%d %s" % (i, ERRNO[seen] if i in failing else "ok"))
                self.assertEqual(mp.expect("fds"), "0" if len(failing) == 9 else "1")
                self.assertEqual(mp.finish()[0], 0)
            finally:
                mp.kill()

    def test_aborted_connection_in_accept_queue(self):
        """accept skips a connection that was reset while it waited (as lwIP
        does) and goes on waiting under the same timeout."""
        mp = faulty("""
        import socket, errno
        l = socket.socket()
        l.bind(("127.0.0.1", 0))
        l.listen(8)
        clients = []
        for i in range(4):
            c = socket.socket()
            c.connect(l.getsockname())
            c.settimeout(5)
            clients.append(c)
        l.settimeout(1)
        n = 0
        try:
            while True:
                a, peer = l.accept()
                a.write(b"accepted")
                a.close()
                n += 1
        except OSError as e:
            print("accepted", n, errno.errorcode[e.errno])
        replies = []
        for c in clients:
            try:
                replies.append(c.recv(100))
            except OSError as e:
                replies.append(errno.errorcode[e.errno])
        print("replies", sorted(replies))
        """, accept="%d:2" % ERRNO["ECONNABORTED"])
        try:
            self.assertEqual(mp.expect("accepted"), "2 ETIMEDOUT")
            # the aborted ones were closed by the injector before accept returned
            self.assertEqual(mp.expect("replies"), "[b'', b'', b'accepted', b'accepted']")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()

    def test_setsockopt_fails(self):
        mp = faulty("""
        import socket, errno
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        except OSError as e:
            print("setsockopt", errno.errorcode[e.errno])
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        c = socket.socket()
        c.connect(s.getsockname())
        a, _ = s.accept()
        c.write(b"still works")
        print(a.read(11))
        """, setsockopt=ERRNO["EPERM"])
        try:
            self.assertEqual(mp.expect("setsockopt"), "EPERM")
            self.assertEqual(mp.readline(), "b'still works'")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()


class RandomCallsUnderFaults(unittest.TestCase):
    """tests/micropython's random call sequences (one thread, then three on
    one pool) with the C library misbehaving throughout: every third call
    interrupted, every second one that could not block says EAGAIN,
    streams move a few bytes a call, every seventh socket() is EMFILE (the
    module collects and tries again) and every third accepted connection
    was aborted. Only the allowed exceptions may come out, every thread must
    end, and the output is the scripts' own expected output."""

    FAULTS = {"eintr": 3, "eagain": 2, "short": 1, "socket": "%d:7" % ERRNO["EMFILE"],
              "accept": "%d:3" % ERRNO["ECONNABORTED"]}

    def run_script(self, name):
        env = dict(os.environ, **fault_env(**self.FAULTS))
        out = subprocess.run([FIRMWARE, name], cwd=SCRIPTS, env=env, capture_output=True, text=True, timeout=300)
        with open(os.path.join(SCRIPTS, name + ".exp")) as f:
            self.assertEqual(out.stdout + out.stderr, f.read())
        self.assertEqual(out.returncode, 0)

    def test_random_calls(self):
        self.run_script("random_calls.py")

    def test_random_threads(self):
        self.run_script("random_threads.py")


ANY_FAILURE = """
import sys, os, gc
import random_calls as rc
add = rc.Pool.add
def add_settable(pool, s, family):
    try:
        add(pool, s, family)
    except OSError:  # settimeout's FIONBIO failed: the socket would block
        s.close()
rc.Pool.add = add_settable
def fds():
    return len(os.listdir("/proc/self/fd"))
before = fds()
for seed in range(1, 5):
    n = rc.run(seed, 1500, rc.TIMEOUTS if seed % 2 else None)
    gc.collect()
    print("seed", seed, n > 100, fds() - before)
"""


class RandomCallsUnderAnyFailure(unittest.TestCase):
    """random_calls.py's sequences with every Nth call of the socket API
    failing at once with errors the module has no special case for (memory,
    I/O, permissions, a peer's reset, a descriptor gone): each must come out
    as an OSError (or the call's documented result), nothing may crash or
    hang, most calls still succeed, and no descriptor may be left open."""

    def run_with(self, errnos, every):
        env = dict(os.environ, **fault_env(any="%s:%d" % (",".join(str(ERRNO[e]) for e in errnos), every)))
        out = subprocess.run([FIRMWARE, "-c", "import sys; sys.path.insert(0, '.')\n" + ANY_FAILURE],
                             cwd=SCRIPTS, env=env, capture_output=True, text=True, timeout=300)
        self.assertEqual(out.stderr, "")
        self.assertEqual(out.stdout, "".join("seed %d True 0\n" % seed for seed in range(1, 5)))
        self.assertEqual(out.returncode, 0)

    def test_resources_and_io(self):
        self.run_with(["ENOMEM", "EIO", "ENOBUFS", "EINVAL"], 3)

    def test_permissions_peers_and_descriptors(self):
        self.run_with(["EPERM", "EBADF", "EACCES", "ECONNRESET", "EPIPE", "ECONNREFUSED", "ETIMEDOUT", "EINPROGRESS"], 7)


if __name__ == "__main__":
    unittest.main()
