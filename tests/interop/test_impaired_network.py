"""usocket over a bad network: loopback in a network namespace the test
creates, with a 1500-byte MTU (a transfer is many packets), a token bucket
(tc's tbf: 40 Mbit/s, a queue of 20 ms, so bursts wait and overflow) and
iptables rules that drop 3 % of packets at random on arrival (a drop on
the way out would be EPERM for the sender) and duplicate 3 % of UDP
datagrams (TEE back to loopback). CPython is the peer, in the same
namespace. (Linux's netem, which would also delay and reorder, is not in
every kernel: it is not in this machine's.)

- TCP, MicroPython as client and as server, with a finite timeout (so
  every call goes through the module's own wait loop, not the kernel's
  blocking call): 1 MiB each way arrives whole and in order while the
  kernel retransmits;
- the same echo through asyncio's streams (non-blocking sockets: short
  writes, EAGAIN and poll waits);
- UDP request/response with retries: a lost request or reply is an
  `OSError(ETIMEDOUT)` after the timeout, never another errno and never a
  wait far past it; duplicated replies and replies to an earlier try are
  read as datagrams (the client drops them by their number); every
  request is answered in the end.

Needs root (ip netns, tc, iptables-legacy: Debian's iproute2 and iptables)."""
import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import unittest

from mpy import ECHO_ROUND_TRIP, FIRMWARES, HASH_UNTIL_EOF, Script, TIMEOUT

FIRMWARE = FIRMWARES[0]
SIZE = 1 << 20
PATTERN = bytes(range(256)) * 16
# Set up inside the namespace; each is a command line.
IMPAIRMENTS = (
    "ip link set lo mtu 1500 up",
    "tc qdisc add dev lo root tbf rate 40mbit burst 20kb latency 20ms",
    "iptables-legacy -A INPUT -i lo -m statistic --mode random --probability 0.03 -j DROP",
    "iptables-legacy -t mangle -A OUTPUT -o lo -p udp -m statistic --mode random --probability 0.03"
    " -j TEE --gateway 127.0.0.1",
)

# CPython peers, run in the namespace. Each prints its port once listening.
TCP_ECHO = """
import socket
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
print(l.getsockname()[1], flush=True)
l.settimeout(60)
s, _ = l.accept()
s.settimeout(60)
while True:
    data = s.recv(65536)
    if not data:
        break
    s.sendall(data)
s.close()
"""

TCP_UPLOAD = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
chunk = bytes(range(256)) * 16
for i in range(%d // len(chunk)):
    s.sendall(chunk)
s.shutdown(socket.SHUT_WR)
print("reply", s.makefile("rb").readline().decode().strip(), flush=True)
s.close()
""" % SIZE

UDP_ECHO = """
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
print(u.getsockname()[1], flush=True)
u.settimeout(60)
while True:
    data, src = u.recvfrom(2048)
    if data == b"stop":
        break
    u.sendto(b"re:" + data, src)
"""

REQUESTS = 300


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("ip") and shutil.which("tc")
                     and shutil.which("iptables-legacy"),
                     "needs root, iproute2 and iptables (ip netns, tc, iptables-legacy)")
class ImpairedNetwork(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ns = "usocket-impaired-%d" % os.getpid()
        subprocess.run(["ip", "netns", "add", cls.ns], check=True)
        cls.prefix = ["ip", "netns", "exec", cls.ns]
        try:
            for command in IMPAIRMENTS:
                subprocess.run([*cls.prefix, *command.split()], check=True, capture_output=True)
        except subprocess.CalledProcessError as e:
            subprocess.run(["ip", "netns", "del", cls.ns])
            raise AssertionError("%s: %s" % (" ".join(e.cmd), e.stderr.decode().strip()))

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["ip", "netns", "del", cls.ns])

    def tcp_retransmissions(self):
        """The namespace's count of retransmitted TCP segments (proof that
        the transfer met losses, not an idle rule)."""
        snmp = subprocess.run([*self.prefix, "cat", "/proc/net/snmp"], capture_output=True, text=True,
                              check=True).stdout.splitlines()
        names, values = [line.split() for line in snmp if line.startswith("Tcp:")][:2]
        return int(values[names.index("RetransSegs")])

    def peer(self, source, *args):
        proc = subprocess.Popen([*self.prefix, sys.executable, "-c", textwrap.dedent(source), *map(str, args)],
                                stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (proc.kill(), proc.wait(), proc.stdout.close()))
        return proc

    def echo_1mib(self, source, prelude=""):
        """Runs `source` (formatted with the echo peer's `port`), which
        sends 1 MiB of PATTERN to CPython's echo and prints "len" and
        "sha" of what came back; checks both and that the kernel had to
        retransmit on the way."""
        retransmitted = self.tcp_retransmissions()
        echo = self.peer(TCP_ECHO)
        port = int(echo.stdout.readline())
        m = Script(FIRMWARE, prelude=prelude, prefix=self.prefix, source=source.format(port=port, size=SIZE))
        try:
            self.assertEqual(m.expect("len", TIMEOUT * 2), str(SIZE))
            self.assertEqual(m.expect("sha"), hashlib.sha256(PATTERN * (SIZE // len(PATTERN))).hexdigest())
            self.assertEqual(m.finish()[0], 0)
        finally:
            m.kill()
        self.assertGreater(self.tcp_retransmissions(), retransmitted)

    def test_tcp_client_1mib_echo(self):
        self.echo_1mib(prelude=ECHO_ROUND_TRIP, source="""
            import socket
            def main():
                s = socket.socket()
                s.settimeout(20)
                s.connect(("127.0.0.1", {port}))
                echo_round_trip(s, {size})
                s.close()
            main()
        """)

    def test_tcp_server_1mib_upload(self):
        retransmitted = self.tcp_retransmissions()
        m = Script(FIRMWARE, prelude=HASH_UNTIL_EOF, prefix=self.prefix, source="""
            import socket
            l = socket.socket()
            l.bind(("127.0.0.1", 0))
            l.listen(1)
            l.settimeout(20)
            print("port", l.getsockname()[1])
            s, peer = l.accept()
            s.settimeout(20)
            n, digest = hash_until_eof(s)
            s.write(b"%d %s\\n" % (n, digest.hex()))
            s.close()
            print("got", n)
        """)
        try:
            client = self.peer(TCP_UPLOAD, m.expect("port"))
            self.assertEqual(client.stdout.readline().split(),
                             ["reply", str(SIZE), hashlib.sha256(PATTERN * (SIZE // len(PATTERN))).hexdigest()])
            self.assertEqual(m.expect("got", TIMEOUT * 2), str(SIZE))
            self.assertEqual(m.finish()[0], 0)
        finally:
            m.kill()
        self.assertGreater(self.tcp_retransmissions(), retransmitted)

    def test_asyncio_echo_1mib(self):
        # asyncio's streams on non-blocking sockets: writes that stop short
        # and EAGAIN while the kernel retransmits, POLLOUT and POLLIN waits
        self.echo_1mib("""
            import asyncio, hashlib
            async def send(w):
                chunk = bytes(range(256)) * 64
                for i in range({size} // len(chunk)):
                    w.write(chunk)
                    await w.drain()
            async def main():
                r, w = await asyncio.open_connection("127.0.0.1", {port})
                sender = asyncio.create_task(send(w))
                h = hashlib.sha256()
                n = 0
                while n < {size}:
                    data = await r.read(8192)
                    if not data:
                        break
                    h.update(data)
                    n += len(data)
                await sender
                print("len", n)
                print("sha", h.digest().hex())
                w.close()
                await w.wait_closed()
            asyncio.run(main())
        """)

    def test_udp_requests_retried_after_etimedout(self):
        echo = self.peer(UDP_ECHO)
        port = int(echo.stdout.readline())
        m = Script(FIRMWARE, prefix=self.prefix, source=f"""
            import socket, errno, time
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(0.1)
            to = ("127.0.0.1", {port})
            timeouts = stale = other = late = 0
            answered = 0
            for i in range({REQUESTS}):
                want = b"re:%d" % i
                while True:
                    u.sendto(b"%d" % i, to)
                    t = time.ticks_ms()
                    try:
                        while True:
                            data, src = u.recvfrom(64)
                            if data == want and src == to:
                                break
                            stale += 1  # a duplicate or a reply to an earlier try
                        answered += 1
                        break
                    except OSError as e:
                        if e.errno != errno.ETIMEDOUT:
                            other += 1
                            print("unexpected", e)
                        # the wait covers the call: not shorter than the
                        # timeout, nor much longer (a loaded machine's
                        # scheduler may add some)
                        if not 90 <= time.ticks_diff(time.ticks_ms(), t) < 1000:
                            late += 1
                        timeouts += 1
            u.sendto(b"stop", to)
            print("answered", answered)
            print("errors", other, late)
            print("retried", timeouts > 0, stale > 0)
        """)
        try:
            self.assertEqual(m.expect("answered", TIMEOUT * 2), str(REQUESTS))
            self.assertEqual(m.expect("errors"), "0 0")
            # 3 % of 600 datagrams lost and 3 % duplicated: none of either
            # is a chance below 1e-7
            self.assertEqual(m.expect("retried"), "True True")
            self.assertEqual(m.finish()[0], 0)
        finally:
            m.kill()


if __name__ == "__main__":
    unittest.main()
