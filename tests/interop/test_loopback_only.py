"""The tests keep their traffic on the loopback: every MicroPython-level
test script (tests/micropython/*.py: the fuzzers with their malformed and
short-form addresses, the bad-argument grids, the resolver tests) runs on
the unix firmware in a network namespace the test creates, whose only way
off the loopback is a default route (IPv4 and IPv6) out of one end of a
veth pair. Whatever a script dials that is not loopback, and any name
lookup that reaches for the machine's DNS server (the namespace keeps
/etc/resolv.conf), leaves there as a packet; a sniffer on that interface
records it, and the test fails naming it. The far end of the pair is in a
second namespace with no address: nothing answers, nothing is forwarded.

A fuzzer's malformed address once was `1.2.3`, which the C library reads
as 1.2.0.3 (inet_aton's short form), and a bad-argument test once looked
up a name in DNS: this is the check that would have caught both. Needs
root and iproute2 (ip netns)."""
import glob
import os
import shutil
import subprocess
import sys
import unittest

from mpy import FIRMWARES, delete_namespaces, make_namespaces

FIRMWARE = FIRMWARES[0]
HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "..", "micropython")

# Prints "ready", then a line for every IP packet sent out of the interface
# argv[1], but the kernel's own IPv6 link-local multicast (neighbour
# discovery, MLD), which interfaces send when they come up.
SNIFFER = r"""
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
s.bind((sys.argv[1], 0))
print("ready", flush=True)
while True:
    p, (_, _, kind, *_) = s.recvfrom(65536)
    if kind != socket.PACKET_OUTGOING:
        continue
    ethertype = struct.unpack("!H", p[12:14])[0]
    if ethertype == 0x0800:
        proto, dst = p[23], socket.inet_ntoa(p[30:34])
        port = struct.unpack("!H", p[36:38])[0] if proto in (6, 17) else 0
    elif ethertype == 0x86DD:
        proto, dst = p[20], socket.inet_ntop(socket.AF_INET6, p[38:54])
        if dst.startswith("ff02:"):
            continue
        port = struct.unpack("!H", p[56:58])[0] if proto in (6, 17) else 0
    else:
        proto, dst, port = ethertype, "(not IP)", 0
    print("to %s port %d (protocol %d)" % (dst, port, proto), flush=True)
"""


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("ip"), "needs root and iproute2 (ip netns)")
class LoopbackOnly(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ns = "usocket-loopback-%d" % os.getpid()
        cls.sink = "usocket-sink-%d" % os.getpid()
        make_namespaces((cls.ns, cls.sink), (
            (cls.ns, "ip link set lo up"),
            (cls.ns, "ip link add out type veth peer name in netns " + cls.sink),
            (cls.ns, "sysctl -qw net.ipv6.conf.out.accept_dad=0"),
            (cls.ns, "ip link set out up"),
            (cls.sink, "ip link set in up"),
            (cls.ns, "ip addr add 198.18.0.2/24 dev out"),
            (cls.ns, "ip -6 addr add fd00:18::2/64 dev out nodad"),
            # the gateways' link addresses fixed: every packet routed off the
            # loopback goes out at once, none waits for ARP or NDP
            (cls.ns, "ip neigh replace 198.18.0.1 lladdr 02:00:00:00:00:01 dev out nud permanent"),
            (cls.ns, "ip -6 neigh replace fd00:18::1 lladdr 02:00:00:00:00:01 dev out nud permanent"),
            (cls.ns, "ip route add default via 198.18.0.1"),
            (cls.ns, "ip -6 route add default via fd00:18::1"),
        ))

    @classmethod
    def tearDownClass(cls):
        delete_namespaces((cls.ns, cls.sink))

    def mark(self, port):
        """Sends a datagram off the loopback to `port` from MicroPython in
        the namespace, and gives what the sniffer saw before it."""
        subprocess.run(["ip", "netns", "exec", self.ns, FIRMWARE, "-c",
                        "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
                        ".sendto(b'x', ('203.0.113.9', %d))" % port], check=True, timeout=30)
        seen = []
        for line in self.sniffer.stdout:
            if line == "to 203.0.113.9 port %d (protocol 17)\n" % port:
                return seen
            seen.append(line.strip())
        raise AssertionError("the sniffer stopped")

    def test_scripts_send_nothing_off_the_loopback(self):
        self.sniffer = subprocess.Popen(["ip", "netns", "exec", self.ns, sys.executable, "-c", SNIFFER, "out"],
                                        stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(self.sniffer.stdout.readline(), "ready\n")
            self.assertEqual(self.mark(9), [])  # (the check itself works)
            sent, failed = {}, []
            scripts = sorted(glob.glob(os.path.join(SCRIPTS, "[!_]*.py")))
            self.assertGreater(len(scripts), 20)
            for i, path in enumerate(scripts):
                name = os.path.basename(path)
                run = subprocess.run(["ip", "netns", "exec", self.ns, FIRMWARE, name], cwd=SCRIPTS,
                                     capture_output=True, timeout=300)
                if run.returncode != 0:
                    failed.append(name)
                # each script's packets are in the pipe once a datagram sent
                # after it has come through
                packets = self.mark(10000 + i)
                if packets:
                    sent[name] = packets
            self.assertEqual(sent, {}, "these scripts sent packets off the loopback")
            self.assertEqual(failed, [], "these scripts failed in the namespace")
        finally:
            self.sniffer.kill()
            self.sniffer.wait()
            self.sniffer.stdout.close()


if __name__ == "__main__":
    unittest.main()
