"""AF_UNIX with CPython as the peer: streams over file names (MicroPython as
client and as server, data checked end to end) and datagrams in Linux's
abstract namespace, where addresses are bytes. Every name lives in a
directory the test creates, or is abstract with a random part."""
import hashlib
import os
import shutil
import socket
import tempfile
import unittest

from mpy import ECHO_ROUND_TRIP, FIRMWARES, Script, TIMEOUT, echo_until_closed, serve_one

SIZE = 1 << 20


class UnixSockets(unittest.TestCase):
    def setUp(self):
        # /tmp, not $TMPDIR: an AF_UNIX file name has 107 bytes at most
        self.dir = tempfile.mkdtemp(prefix="usocket-unix-", dir="/tmp")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_stream_client_of_cpython(self):
        for i, fw in enumerate(FIRMWARES):
            with self.subTest(firmware=fw):
                path = os.path.join(self.dir, "echo%d" % i)
                l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                l.bind(path)
                l.listen(1)
                peers = []

                def echo(s, peer):
                    peers.append(peer)
                    echo_until_closed(s)

                t = serve_one(l, echo)
                m = Script(fw, prelude=ECHO_ROUND_TRIP, source=f"""
                    import usocket as socket
                    def main():
                        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                        s.bind({self.dir + "/client%d" % i!r})
                        s.connect({path!r})
                        print("peer", s.getpeername())
                        echo_round_trip(s, {SIZE})
                        s.close()
                    main()
                """)
                expect = (bytes(range(256)) * 16) * (SIZE // 4096)
                self.assertEqual(m.expect("peer"), path)
                self.assertEqual(m.expect("len"), str(SIZE))
                self.assertEqual(m.expect("sha"), hashlib.sha256(expect).hexdigest())
                self.assertEqual(m.finish()[0], 0)
                t.join(TIMEOUT)
                # the client's bound name, as CPython sees it
                self.assertEqual(peers, [self.dir + "/client%d" % i])

    def test_stream_server_for_cpython(self):
        for i, fw in enumerate(FIRMWARES):
            with self.subTest(firmware=fw):
                path = os.path.join(self.dir, "server%d" % i)
                m = Script(fw, f"""
                    import usocket as socket
                    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    l.bind({path!r})
                    l.listen(5)
                    print("listening", l.getsockname())
                    for i in range(3):
                        s, addr = l.accept()
                        line = s.readline()
                        s.write(b"echo:" + line)
                        print("peer", repr(addr))
                        s.close()
                    l.close()
                """)
                self.assertEqual(m.expect("listening"), path)
                for k in range(3):
                    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                        c.settimeout(TIMEOUT)
                        if k == 2:
                            c.bind(b"\0usocket-test-" + os.urandom(6).hex().encode())
                        c.connect(path)
                        c.sendall(b"hello %d\n" % k)
                        f = c.makefile("rb")
                        self.assertEqual(f.readline(), b"echo:hello %d\n" % k)
                        self.assertEqual(c.recv(10), b"")  # the server closed
                        # unnamed clients are '', a named one its (abstract: bytes) name
                        self.assertEqual(m.expect("peer"), repr(c.getsockname()))
                self.assertEqual(m.finish()[0], 0)

    def test_datagrams_in_the_abstract_namespace(self):
        for fw in FIRMWARES:
            with self.subTest(firmware=fw):
                peer_name = b"\0usocket-peer-" + os.urandom(6).hex().encode()
                mp_name = b"\0usocket-mp-" + os.urandom(6).hex().encode()
                peer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                peer.bind(peer_name)
                peer.settimeout(TIMEOUT)
                m = Script(fw, f"""
                    import usocket as socket
                    u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    u.bind({mp_name!r})
                    print("bound", u.getsockname() == {mp_name!r})
                    u.settimeout({TIMEOUT})
                    for i in range(20):
                        data, addr = u.recvfrom(4096)
                        u.sendto(b"re:" + data, addr)
                    data, addr = u.recvfrom(4096)
                    print("unnamed sender", data, addr)
                    u.sendto(b"first from micropython", {peer_name!r})
                    print("done")
                """)
                self.assertEqual(m.expect("bound"), "True")
                for i in range(20):
                    msg = os.urandom(1 + i * 200)
                    peer.sendto(msg, mp_name)
                    data, addr = peer.recvfrom(8192)
                    self.assertEqual(data, b"re:" + msg)
                    self.assertEqual(addr, mp_name)
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as unnamed:
                    unnamed.sendto(b"anonymous", mp_name)
                self.assertEqual(m.expect("unnamed sender"), "b'anonymous' None")
                data, addr = peer.recvfrom(4096)
                self.assertEqual((data, addr), (b"first from micropython", mp_name))
                self.assertEqual(m.expect("done"), "")
                self.assertEqual(m.finish()[0], 0)
                peer.close()


if __name__ == "__main__":
    unittest.main()
