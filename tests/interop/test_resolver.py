"""Name resolution against a DNS server in a network namespace the test
creates (only loopback inside; its resolv.conf points at 127.0.0.1, where
dns_server.py answers): names resolve, unknown names are OSError with a
negative EAI code, and Ctrl-C interrupts a lookup the server never answers
(glibc's getaddrinfo cannot be interrupted; the module's can).
Needs root (ip netns)."""
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
        self.dns = subprocess.Popen(["ip", "netns", "exec", self.ns, sys.executable, os.path.join(HERE, "dns_server.py")],
                                    stdout=subprocess.PIPE, text=True)
        self.assertEqual(self.dns.stdout.readline().strip(), "ready")
        self.prefix = ["ip", "netns", "exec", self.ns]

    def tearDown(self):
        self.dns.kill()
        self.dns.wait()
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

    def test_ctrl_c_interrupts_a_lookup(self):
        for fw in FIRMWARES:
            with self.subTest(firmware=fw):
                m = Script(fw, """
                    import usocket as socket
                    print("ready")
                    try:
                        socket.getaddrinfo("silent.test", 80)
                        print("answered?")
                    except KeyboardInterrupt:
                        print("interrupted")
                    print("after", socket.getaddrinfo("known.test", 80, socket.AF_INET, socket.SOCK_DGRAM)[0][-1])
                """, prefix=self.prefix)
                m.expect("ready")
                time.sleep(0.5)
                t0 = time.monotonic()
                m.proc.send_signal(signal.SIGINT)
                m.expect("interrupted", timeout=5)
                self.assertLess(time.monotonic() - t0, 2.0)
                self.assertEqual(m.expect("after"), "('10.9.8.7', 80)")
                self.assertEqual(m.finish()[0], 0)


if __name__ == "__main__":
    unittest.main()


class HelperThread(unittest.TestCase):
    """Numeric addresses need no DNS: they are answered without glibc's
    getaddrinfo_a helper thread, whose existence would make every later
    libc call of the process pay for thread safety. A name does start it
    (which shows the count below can see it)."""

    def threads(self, m):
        return len(os.listdir("/proc/%d/task" % m.proc.pid))

    def test_numeric_lookups_stay_single_threaded(self):
        m = Script(FIRMWARES[0], """
            import socket, time
            socket.getaddrinfo("127.0.0.1", 80)
            socket.getaddrinfo("::1", "http", 0, socket.SOCK_STREAM)
            socket.getaddrinfo(None, 80, socket.AF_INET)
            print("numeric")
            time.sleep(0.5)
            socket.getaddrinfo("localhost", 80)
            print("name")
            time.sleep(0.5)
        """)
        try:
            m.expect("numeric")
            self.assertEqual(self.threads(m), 1)
            m.expect("name")
            self.assertGreaterEqual(self.threads(m), 2)
            self.assertEqual(m.finish()[0], 0)
        finally:
            m.kill()
