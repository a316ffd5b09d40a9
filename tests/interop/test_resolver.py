"""Name resolution against a DNS server in a network namespace the test
creates (only loopback inside; its resolv.conf points at 127.0.0.1, where
dns_server.py answers, and it has its own hosts and nsswitch.conf): names
resolve, unknown names are OSError with a negative EAI code, and Ctrl-C
interrupts a lookup the server never answers (glibc's getaddrinfo cannot be
interrupted; the module's can).

Names that need no DNS (numeric, or in /etc/hosts when nsswitch.conf asks
`files` first) are answered on the calling thread, without glibc's
getaddrinfo_a helper thread: handing a lookup over costs a thread wake-up
each way, and once the helper exists every libc call of the process pays
for thread safety. The tests count the process's threads to see which way
a lookup went. Needs root (ip netns)."""
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

from mpy import FIRMWARES, Script

HERE = os.path.dirname(os.path.abspath(__file__))


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("ip"), "needs root and iproute2 (ip netns)")
class Resolver(unittest.TestCase):
    def setUp(self):
        self.ns = "usocket-dns-%d" % os.getpid()
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        # `ip netns exec` mounts this over /etc/resolv.conf inside the namespace.
        self.etc = "/etc/netns/" + self.ns
        os.makedirs(self.etc, exist_ok=True)
        with open(os.path.join(self.etc, "resolv.conf"), "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:5 attempts:2\n")
        with open(os.path.join(self.etc, "hosts"), "w") as f:
            f.write("127.0.0.1 localhost\n# 10.0.0.1 commented.test\n10.1.2.3\thosts.test alias.test # v4 only\n"
                    "not-an-address bad.test\n10.4.5.6 silent-listed.test\n")
        self.nsswitch("hosts: files dns")
        self.dns = subprocess.Popen(["ip", "netns", "exec", self.ns, sys.executable, os.path.join(HERE, "dns_server.py")],
                                    stdout=subprocess.PIPE, text=True)
        self.assertEqual(self.dns.stdout.readline().strip(), "ready")
        self.prefix = ["ip", "netns", "exec", self.ns]

    def nsswitch(self, hosts_line):
        """The namespace's nsswitch.conf (read when a process starts in it)."""
        with open(os.path.join(self.etc, "nsswitch.conf"), "w") as f:
            f.write("passwd: files\n%s\n" % hosts_line)

    def tearDown(self):
        self.dns.kill()
        self.dns.wait()
        self.dns.stdout.close()
        shutil.rmtree(self.etc, ignore_errors=True)
        subprocess.run(["ip", "netns", "del", self.ns])

    def test_names_and_errors(self):
        for fw in FIRMWARES:
            with self.subTest(firmware=fw):
                m = Script(fw, """
                    import usocket as socket
                    print("known", socket.getaddrinfo("known.test", 80, socket.AF_INET, socket.SOCK_STREAM))
                    try:
                        socket.getaddrinfo("unknown.test", 80)
                    except OSError as e:
                        print("unknown", e.errno, e.args[1])
                    l = socket.socket()
                    l.bind(("127.0.0.1", 0))
                    l.listen()
                    c = socket.socket()
                    c.connect(("loop.test", l.getsockname()[1]))
                    print("connected by name", l.accept()[1][0])
                """, prefix=self.prefix)
                self.assertEqual(m.expect("known"), "[(2, 1, 6, '', ('10.9.8.7', 80))]")
                self.assertEqual(m.expect("unknown"), "-2 Name or service not known")
                self.assertEqual(m.expect("connected by name"), "127.0.0.1")
                self.assertEqual(m.finish()[0], 0)

    def lookup_is_interrupted(self, fw, host):
        """getaddrinfo(host), which the DNS server never answers, ends within
        2 s of Ctrl-C, and the next lookup works."""
        m = Script(fw, """
            import usocket as socket
            print("ready")
            try:
                socket.getaddrinfo(%r, 80)
                print("answered?")
            except KeyboardInterrupt:
                print("interrupted")
            print("after", socket.getaddrinfo("known.test", 80, socket.AF_INET, socket.SOCK_DGRAM)[0][-1])
        """ % host, prefix=self.prefix)
        try:
            m.expect("ready")
            time.sleep(0.5)
            t0 = time.monotonic()
            m.proc.send_signal(signal.SIGINT)
            m.expect("interrupted", timeout=5)
            self.assertLess(time.monotonic() - t0, 2.0)
            self.assertEqual(m.expect("after"), "('10.9.8.7', 80)")
            self.assertEqual(m.finish()[0], 0)
        finally:
            m.kill()

    def test_ctrl_c_interrupts_a_lookup(self):
        for fw in FIRMWARES:
            with self.subTest(firmware=fw):
                self.lookup_is_interrupted(fw, "silent.test")

    def test_names_without_dns_stay_on_this_thread(self):
        # (host, family) -> (addresses or errno, answered on this thread?)
        cases = [
            (("127.0.0.1", 0), ("[('127.0.0.1', 80)]", True)),
            (("::1", 0), ("[('::1', 80, 0, 0)]", True)),
            (("hosts.test", 0), ("[('10.1.2.3', 80)]", True)),
            (("ALIAS.Test", 2), ("[('10.1.2.3', 80)]", True)),
            (("localhost", 2), ("[('127.0.0.1', 80)]", True)),
            # no IPv6 address in the file: glibc asks DNS (NXDOMAIN here)
            (("hosts.test", 10), ("-2", False)),
            # a line whose address glibc ignores, and a commented-out one
            (("bad.test", 0), ("-2", False)),
            (("commented.test", 0), ("-2", False)),
            (("known.test", 2), ("[('10.9.8.7', 80)]", False)),
        ]
        for (host, family), (want, local) in cases:
            with self.subTest(host=host, family=family):
                m = Script(FIRMWARES[0], """
                    import os, usocket as socket
                    try:
                        r = [a[-1] for a in socket.getaddrinfo(%r, 80, %d, socket.SOCK_STREAM)]
                    except OSError as e:
                        r = e.errno
                    print("result", r, len(os.listdir("/proc/self/task")))
                """ % (host, family), prefix=self.prefix)
                result, threads = m.expect("result").rsplit(" ", 1)
                self.assertEqual(result, want)
                self.assertEqual(threads == "1", local, "threads: " + threads)
                self.assertEqual(m.finish()[0], 0)

    def test_hosts_file_not_trusted_when_dns_comes_first(self):
        # With DNS first, a name in /etc/hosts still waits for the DNS server,
        # so the lookup must stay interruptible (the file lists
        # silent-listed.test; the server never answers for it).
        self.nsswitch("hosts: dns files")
        self.lookup_is_interrupted(FIRMWARES[0], "silent-listed.test")


if __name__ == "__main__":
    unittest.main()
