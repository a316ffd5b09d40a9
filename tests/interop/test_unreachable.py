"""What a real network says when a peer cannot be reached, through usocket:
MicroPython runs in a network namespace the test creates, joined by a veth
pair to a second namespace, the test host (192.0.2.2 and 2001:db8::2),
whose firewall drops the SYNs to port 9, answers those to port 10 with
ICMP host (ICMPv6 address) unreachable, and whose kernel refuses port 11
and answers UDP to port 12 with ICMP port unreachable. 192.0.2.9 answers
no ARP; 198.51.100.1 and 2001:db8:1::1 have no route.

- connect, blocking, with a timeout and non-blocking: ETIMEDOUT after the
  timeout for a dropped SYN (never EAGAIN, never far past it),
  EHOSTUNREACH, ECONNREFUSED and ENETUNREACH as the kernel reports them,
  promptly, and no timeout ever turned into another errno; a non-blocking
  connect's EINPROGRESS, EALREADY, poll's POLLERR and SO_ERROR;
- a connected UDP socket hears the ICMP port unreachable as ECONNREFUSED
  on its next recv (once), an unconnected one does not;
- an established connection whose path starts dropping: sendall and recv
  time out (ETIMEDOUT), then the host resets it and a blocked recv wakes
  with ECONNRESET;
- asyncio's open_connection: wait_for's timeout on a dropped SYN, the
  refusal surfacing on the first read, no route raised at once.

Errno numbers are Linux's (the unix port's); CPython's errno module names
them here. Needs root (ip netns, iptables-legacy, ip6tables-legacy)."""
import errno
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

from mpy import FIRMWARES, TIMEOUT, Script, delete_namespaces, make_namespaces

FIRMWARE = FIRMWARES[0]
HOST4, HOST6 = "192.0.2.2", "2001:db8::2"

# MicroPython helpers every script starts with: `attempt` prints a label,
# the errno (or "ok") and the milliseconds the call took.
PRELUDE = """
import select, socket, time
def attempt(label, call, *args):
    t0 = time.ticks_ms()
    try:
        r = call(*args)
        what = "ok"
    except OSError as e:
        r, what = None, e.errno
    print(label, what, time.ticks_diff(time.ticks_ms(), t0))
    return r
def tcp(family, timeout):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    return s
"""

CONNECTS = """
cases = [
    ("drop", socket.AF_INET, ("{h4}", 9), 0.5),
    ("drop6", socket.AF_INET6, ("{h6}", 9), 0.5),
    ("hostunreach", socket.AF_INET, ("{h4}", 10), 5),
    ("hostunreach-blocking", socket.AF_INET, ("{h4}", 10), None),
    ("hostunreach6", socket.AF_INET6, ("{h6}", 10), 5),
    ("refused", socket.AF_INET, ("{h4}", 11), 5),
    ("refused-blocking", socket.AF_INET, ("{h4}", 11), None),
    ("refused6", socket.AF_INET6, ("{h6}", 11), 5),
    ("noroute", socket.AF_INET, ("198.51.100.1", 11), 5),
    ("noroute-blocking", socket.AF_INET, ("198.51.100.1", 11), None),
    ("noroute-nonblocking", socket.AF_INET, ("198.51.100.1", 11), 0),
    ("noroute6", socket.AF_INET6, ("2001:db8:1::1", 11), 5),
    ("noneighbour", socket.AF_INET, ("192.0.2.9", 11), 1),
    ("noneighbour-blocking", socket.AF_INET, ("192.0.2.9", 11), None),
]
for label, family, addr, timeout in cases:
    s = tcp(family, timeout)
    attempt(label, s.connect, addr)
    s.close()

# non-blocking: in progress, then what poll, SO_ERROR and a second connect say
for label, port, wait in (("nb-drop", 9, 300), ("nb-hostunreach", 10, 5000), ("nb-refused", 11, 5000)):
    s = tcp(socket.AF_INET, 0)
    attempt(label, s.connect, ("{h4}", port))
    p = select.poll()
    p.register(s, select.POLLOUT)
    events = [ev for _, ev in p.poll(wait)]
    print(label + "-poll", "none" if not events else "POLLERR" if events[0] & select.POLLERR else events[0])
    if events:
        print(label + "-so_error", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
    else:
        attempt(label + "-again", s.connect, ("{h4}", port))
    s.close()

# UDP: the port unreachable reaches a connected socket once
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
u.connect(("{h4}", 12))
attempt("udp-send", u.send, b"x")
attempt("udp-recv", u.recv, 10)
attempt("udp-recv-again", u.recv, 10)
u.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(1)
attempt("udp-sendto", u.sendto, b"x", ("{h4}", 12))
attempt("udp-recvfrom", u.recvfrom, 10)
u.close()
print("end")
"""

# Established, then the path breaks: the test drops the host's incoming
# segments when it reads "established", then makes the host reset the
# connection when it reads "timed out". A file's existence says when.
BROKEN_PATH = """
import os
def wait_for(path):
    while True:
        try:
            os.stat(path)
            return
        except OSError:
            time.sleep_ms(20)
s = tcp(socket.AF_INET, 2)
s.connect(("{h4}", {port}))
s.sendall(b"ping!")
print("reply", s.recv(5))
print("established")
wait_for("{flag}.drop")
s.settimeout(1)
def fill(chunk=bytes(65536)):
    for i in range(256):  # 16 MiB: more than the kernel's buffers hold
        s.sendall(chunk)
attempt("sendall", fill)
attempt("recv", s.recv, 10)
print("timed out")
wait_for("{flag}.reset")
s.settimeout(20)
attempt("recv-reset", s.recv, 10)
s.close()
"""

# The host's side: answers "ping!" with "pong!", then reads until the end.
HOST_SERVER = """
import socket
l = socket.create_server(("{h4}", 0))
print(l.getsockname()[1], flush=True)
c, _ = l.accept()
c.recv(5)
c.sendall(b"pong!")
while c.recv(65536):
    pass
"""

ASYNCIO = """
import asyncio
async def main():
    t0 = time.ticks_ms()
    try:
        await asyncio.wait_for(asyncio.open_connection("{h4}", 9), 0.5)
        print("asyncio-drop connected")
    except asyncio.TimeoutError:
        print("asyncio-drop TimeoutError", time.ticks_diff(time.ticks_ms(), t0))
    r, w = await asyncio.open_connection("{h4}", 11)
    try:
        await r.read(10)
        print("asyncio-refused read")
    except OSError as e:
        print("asyncio-refused", e.errno)
    w.close()
    try:
        await asyncio.open_connection("198.51.100.1", 11)
        print("asyncio-noroute connected")
    except OSError as e:
        print("asyncio-noroute", e.errno)
asyncio.run(main())
print("end")
"""

HOST_RULES = (
    "iptables-legacy -A INPUT -p tcp --dport 9 -j DROP",
    "iptables-legacy -A INPUT -p tcp --dport 10 -j REJECT --reject-with icmp-host-unreachable",
    "ip6tables-legacy -A INPUT -p tcp --dport 9 -j DROP",
    "ip6tables-legacy -A INPUT -p tcp --dport 10 -j REJECT --reject-with icmp6-addr-unreachable",
)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("ip") and shutil.which("iptables-legacy")
                     and shutil.which("ip6tables-legacy"),
                     "needs root, iproute2 and iptables (ip netns, iptables-legacy, ip6tables-legacy)")
class Unreachable(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ns = "usocket-unreach-%d" % os.getpid()
        cls.host = "usocket-unreach-host-%d" % os.getpid()
        cls.prefix = ["ip", "netns", "exec", cls.ns]
        cls.host_prefix = ["ip", "netns", "exec", cls.host]
        make_namespaces((cls.ns, cls.host), (
            (cls.ns, "ip link set lo up"),
            (cls.host, "ip link set lo up"),
            (cls.ns, "ip link add va type veth peer name vb netns " + cls.host),
            (cls.ns, "ip addr add 192.0.2.1/24 dev va"),
            (cls.ns, "ip -6 addr add 2001:db8::1/64 dev va nodad"),
            (cls.host, "ip addr add %s/24 dev vb" % HOST4),
            (cls.host, "ip -6 addr add %s/64 dev vb nodad" % HOST6),
            (cls.ns, "ip link set va up"),
            (cls.host, "ip link set vb up"),
            # every ICMP error answered: the kernel's rate limit would drop
            # some of the test's dozen (one a second to a host)
            (cls.host, "sysctl -qw net.ipv4.icmp_ratelimit=0"),
            (cls.host, "sysctl -qw net.ipv6.icmp.ratelimit=0"),
            *((cls.host, rule) for rule in HOST_RULES),
        ))

    @classmethod
    def tearDownClass(cls):
        delete_namespaces((cls.ns, cls.host))

    def script(self, source, **fields):
        return Script(FIRMWARE, source.format(h4=HOST4, h6=HOST6, **fields), prelude=PRELUDE, prefix=self.prefix)

    def outcome(self, m, label):
        """(errno or "ok", milliseconds) of `attempt(label, ...)`."""
        what, ms = m.expect(label + " ").split()
        return (what if what == "ok" else int(what)), int(ms)

    def test_connect_and_udp_errors(self):
        m = self.script(CONNECTS)
        try:
            for label, code, least, most in (
                ("drop", errno.ETIMEDOUT, 450, 3000),
                ("drop6", errno.ETIMEDOUT, 450, 3000),
                ("hostunreach", errno.EHOSTUNREACH, 0, 4000),
                ("hostunreach-blocking", errno.EHOSTUNREACH, 0, 10000),
                ("hostunreach6", errno.EHOSTUNREACH, 0, 4000),
                ("refused", errno.ECONNREFUSED, 0, 2000),
                ("refused-blocking", errno.ECONNREFUSED, 0, 2000),
                ("refused6", errno.ECONNREFUSED, 0, 2000),
                ("noroute", errno.ENETUNREACH, 0, 500),
                ("noroute-blocking", errno.ENETUNREACH, 0, 500),
                ("noroute-nonblocking", errno.ENETUNREACH, 0, 500),
                ("noroute6", errno.ENETUNREACH, 0, 500),
                # ARP's three probes, a second apart, outlast the timeout
                ("noneighbour", errno.ETIMEDOUT, 950, 3000),
                ("noneighbour-blocking", errno.EHOSTUNREACH, 0, 10000),
            ):
                got, ms = self.outcome(m, label)
                self.assertEqual(got, code, "%s: %s, not %s" % (label, got, errno.errorcode[code]))
                self.assertTrue(least <= ms <= most, "%s took %d ms, not %d to %d" % (label, ms, least, most))
            self.assertEqual(self.outcome(m, "nb-drop")[0], errno.EINPROGRESS)
            self.assertEqual(m.expect("nb-drop-poll"), "none")
            self.assertEqual(self.outcome(m, "nb-drop-again")[0], errno.EALREADY)
            for label, code in (("nb-hostunreach", errno.EHOSTUNREACH), ("nb-refused", errno.ECONNREFUSED)):
                self.assertEqual(self.outcome(m, label)[0], errno.EINPROGRESS)
                self.assertEqual(m.expect(label + "-poll"), "POLLERR")
                self.assertEqual(int(m.expect(label + "-so_error")), code)
            self.assertEqual(self.outcome(m, "udp-send")[0], "ok")
            self.assertEqual(self.outcome(m, "udp-recv")[0], errno.ECONNREFUSED)
            got, ms = self.outcome(m, "udp-recv-again")
            self.assertEqual((got, ms >= 1900), (errno.ETIMEDOUT, True))
            self.assertEqual(self.outcome(m, "udp-sendto")[0], "ok")
            got, ms = self.outcome(m, "udp-recvfrom")
            self.assertEqual((got, ms >= 950), (errno.ETIMEDOUT, True))
            m.expect("end", TIMEOUT)
            self.assertEqual(m.finish()[0], 0)
        finally:
            m.kill()

    def test_established_connection_whose_path_breaks(self):
        host = subprocess.Popen([*self.host_prefix, sys.executable, "-c", HOST_SERVER.format(h4=HOST4)],
                                stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (host.kill(), host.wait(), host.stdout.close()))
        port = int(host.stdout.readline())
        flag = tempfile.mktemp(prefix="usocket-unreach-")
        m = self.script(BROKEN_PATH, port=port, flag=flag)
        rule = "INPUT -p tcp --dport %d -j " % port
        try:
            self.assertEqual(m.expect("reply"), "b'pong!'")
            m.expect("established")
            subprocess.run([*self.host_prefix, "iptables-legacy", "-I", *(rule + "DROP").split()], check=True)
            open(flag + ".drop", "w").close()
            for label in ("sendall", "recv"):
                got, ms = self.outcome(m, label)
                self.assertEqual(got, errno.ETIMEDOUT, label)
                self.assertTrue(950 <= ms <= 5000, "%s took %d ms" % (label, ms))
            m.expect("timed out")
            subprocess.run([*self.host_prefix, "iptables-legacy", "-R", "INPUT", "1",
                            *(rule + "REJECT --reject-with tcp-reset").split()[1:]], check=True)
            open(flag + ".reset", "w").close()
            # woken by the reset when the kernel retransmits, not by the timeout
            got, ms = self.outcome(m, "recv-reset")
            self.assertEqual(got, errno.ECONNRESET)
            self.assertLess(ms, 19000)
            self.assertEqual(m.finish()[0], 0)
        finally:
            m.kill()
            for suffix in (".drop", ".reset"):
                if os.path.exists(flag + suffix):
                    os.unlink(flag + suffix)

    def test_asyncio_open_connection(self):
        m = self.script(ASYNCIO)
        try:
            line = m.expect("asyncio-drop")
            self.assertTrue(line.startswith("TimeoutError"), line)
            self.assertTrue(450 <= int(line.split()[1]) <= 3000, line)
            self.assertEqual(int(m.expect("asyncio-refused")), errno.ECONNREFUSED)
            self.assertEqual(int(m.expect("asyncio-noroute")), errno.ENETUNREACH)
            m.expect("end")
            self.assertEqual(m.finish()[0], 0)
        finally:
            m.kill()


if __name__ == "__main__":
    unittest.main()
