"""Interop with CPython's socket module as the peer: TCP and UDP, IPv4 and
IPv6, MicroPython as client and as server. Data is checked end to end."""
import hashlib
import os
import socket
import unittest

from mpy import ECHO_ROUND_TRIP, FIRMWARES, HASH_UNTIL_EOF, Script, TIMEOUT, echo_until_closed, serve_one

FAMILIES = [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
SIZE = 1 << 20


def cpython_echo_server(family, host):
    """A CPython TCP echo server for one connection; returns (port, thread)."""
    l = socket.socket(family, socket.SOCK_STREAM)
    l.bind((host, 0))
    l.listen(1)
    port = l.getsockname()[1]
    return port, serve_one(l, lambda s, peer: echo_until_closed(s))


class TcpClientOfCPython(unittest.TestCase):
    def test_echo_1mib(self):
        for fw in FIRMWARES:
            for family, host in FAMILIES:
                with self.subTest(firmware=fw, family=family):
                    port, t = cpython_echo_server(family, host)
                    m = Script(fw, prelude=ECHO_ROUND_TRIP, source=f"""
                        import usocket as socket
                        def main():
                            s = socket.socket({family}, socket.SOCK_STREAM)
                            s.connect(("{host}", {port}))
                            print("peer", s.getpeername()[:2])
                            echo_round_trip(s, {SIZE})
                            s.close()
                        main()
                    """)
                    expect = (bytes(range(256)) * 16) * (SIZE // 4096)
                    self.assertEqual(m.expect("peer"), repr((host, port)))
                    self.assertEqual(m.expect("len"), str(SIZE))
                    self.assertEqual(m.expect("sha"), hashlib.sha256(expect).hexdigest())
                    self.assertEqual(m.finish()[0], 0)
                    t.join(TIMEOUT)


class TcpServerForCPython(unittest.TestCase):
    def test_serves_cpython_clients(self):
        for fw in FIRMWARES:
            for family, host in FAMILIES:
                with self.subTest(firmware=fw, family=family):
                    m = Script(fw, f"""
                        import usocket as socket
                        l = socket.socket({family}, socket.SOCK_STREAM)
                        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                        l.bind(("{host}", 0))
                        l.listen(5)
                        print("port", l.getsockname()[1])
                        for i in range(3):
                            s, addr = l.accept()
                            line = s.readline()
                            s.write(b"echo:" + line)
                            print("peer", addr[0], len(addr))
                            s.close()
                        l.close()
                    """)
                    port = int(m.expect("port"))
                    for i in range(3):
                        with socket.create_connection((host, port), timeout=TIMEOUT) as c:
                            c.sendall(b"hello %d\n" % i)
                            f = c.makefile("rb")
                            self.assertEqual(f.readline(), b"echo:hello %d\n" % i)
                            self.assertEqual(c.recv(10), b"")  # the server closed
                        self.assertEqual(m.expect("peer"), "%s %d" % (host, 2 if family == socket.AF_INET else 4))
                    self.assertEqual(m.finish()[0], 0)

    def test_large_upload_checked(self):
        for fw in FIRMWARES:
            with self.subTest(firmware=fw):
                m = Script(fw, prelude=HASH_UNTIL_EOF, source="""
                    import usocket as socket
                    l = socket.socket()
                    l.bind(("127.0.0.1", 0))
                    l.listen()
                    print("port", l.getsockname()[1])
                    s, _ = l.accept()
                    n, digest = hash_until_eof(s)
                    s.sendall(digest)
                    s.close()
                    print("got", n)
                """)
                port = int(m.expect("port"))
                payload = os.urandom(SIZE)
                with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as c:
                    c.sendall(payload)
                    c.shutdown(socket.SHUT_WR)
                    digest = b""
                    while len(digest) < 32:
                        chunk = c.recv(32)
                        if not chunk:
                            break
                        digest += chunk
                self.assertEqual(digest, hashlib.sha256(payload).digest())
                self.assertEqual(m.expect("got"), str(SIZE))
                self.assertEqual(m.finish()[0], 0)


class Udp(unittest.TestCase):
    def test_both_roles(self):
        for fw in FIRMWARES:
            for family, host in FAMILIES:
                with self.subTest(firmware=fw, family=family):
                    peer = socket.socket(family, socket.SOCK_DGRAM)
                    peer.bind((host, 0))
                    peer.settimeout(TIMEOUT)
                    m = Script(fw, f"""
                        import usocket as socket
                        u = socket.socket({family}, socket.SOCK_DGRAM)
                        u.bind(("{host}", 0))
                        print("port", u.getsockname()[1])
                        u.settimeout({TIMEOUT})
                        for i in range(20):
                            data, addr = u.recvfrom(2048)
                            u.sendto(b"re:" + data, addr)
                        u.sendto(b"first from micropython", ("{host}", {peer.getsockname()[1]}))
                        print("done", addr[:2])
                    """)
                    port = int(m.expect("port"))
                    for i in range(20):
                        msg = os.urandom(1 + i * 50)
                        peer.sendto(msg, (host, port))
                        data, addr = peer.recvfrom(4096)
                        self.assertEqual(data, b"re:" + msg)
                        self.assertEqual(addr[1], port)
                    data, addr = peer.recvfrom(4096)
                    self.assertEqual(data, b"first from micropython")
                    self.assertEqual(m.expect("done"), repr((host, peer.getsockname()[1])))
                    self.assertEqual(m.finish()[0], 0)
                    peer.close()


if __name__ == "__main__":
    unittest.main()
