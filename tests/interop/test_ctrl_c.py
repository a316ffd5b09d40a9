"""Ctrl-C (SIGINT) while MicroPython is blocked in a socket call: a prompt
KeyboardInterrupt, the process lives, and the socket is still usable."""
import signal
import socket
import time
import unittest

from mpy import FIRMWARES, Script

# Each case: the blocking call, then what proves the socket still works once
# CPython's side (`peer`) has sent b"after\n".
CASES = {
    "recv": ("c.recv(100)", "c.recv(100)"),
    "read": ("c.read(100)", "c.readline()"),
    "readline": ("c.readline()", "c.readline()"),
    "readinto": ("c.readinto(bytearray(100))", "c.readline()"),
    "recv_into": ("c.recv_into(bytearray(100))", "c.readline()"),
}


class CtrlC(unittest.TestCase):
    def interrupt(self, m, started):
        m.expect("ready")
        time.sleep(0.3)
        m.proc.send_signal(signal.SIGINT)
        line = m.expect("interrupted")
        took = time.monotonic() - started - 0.3
        self.assertLess(took, 2.0, "KeyboardInterrupt took %.2fs" % took)
        return line

    def test_blocked_reads(self):
        for fw in FIRMWARES:
            for name, (call, after) in CASES.items():
                with self.subTest(firmware=fw, call=name):
                    l = socket.create_server(("127.0.0.1", 0))
                    m = Script(fw, f"""
                        import usocket as socket
                        c = socket.socket()
                        c.connect(("127.0.0.1", {l.getsockname()[1]}))
                        print("ready")
                        try:
                            {call}
                            print("not interrupted")
                        except KeyboardInterrupt:
                            print("interrupted")
                        print("after", {after})
                        # the interrupted call left no operation open on
                        # the socket: close() releases the descriptor
                        import os
                        before = len(os.listdir("/proc/self/fd"))
                        c.close()
                        print("released", len(os.listdir("/proc/self/fd")) == before - 1)
                    """)
                    peer, _ = l.accept()
                    self.interrupt(m, time.monotonic())
                    peer.sendall(b"after\n")
                    self.assertEqual(m.expect("after"), "b'after\\n'")
                    self.assertEqual(m.expect("released"), "True")
                    self.assertEqual(m.finish()[0], 0)
                    peer.close()
                    l.close()

    def test_blocked_accept_recvfrom_and_connect(self):
        for fw in FIRMWARES:
            with self.subTest(firmware=fw, call="accept"):
                m = Script(fw, """
                    import usocket as socket
                    l = socket.socket()
                    l.bind(("127.0.0.1", 0))
                    l.listen()
                    print("port", l.getsockname()[1])
                    print("ready")
                    try:
                        l.accept()
                    except KeyboardInterrupt:
                        print("interrupted")
                    s, a = l.accept()
                    print("accepted", a[0])
                """)
                port = int(m.expect("port"))
                self.interrupt(m, time.monotonic())
                c = socket.create_connection(("127.0.0.1", port))
                self.assertEqual(m.expect("accepted"), "127.0.0.1")
                self.assertEqual(m.finish()[0], 0)
                c.close()

            with self.subTest(firmware=fw, call="recvfrom"):
                m = Script(fw, """
                    import usocket as socket
                    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    u.bind(("127.0.0.1", 0))
                    print("port", u.getsockname()[1])
                    print("ready")
                    try:
                        u.recvfrom(10)
                    except KeyboardInterrupt:
                        print("interrupted")
                    print("got", u.recvfrom(10)[0])
                """)
                port = int(m.expect("port"))
                self.interrupt(m, time.monotonic())
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.sendto(b"dgram", ("127.0.0.1", port))
                self.assertEqual(m.expect("got"), "b'dgram'")
                self.assertEqual(m.finish()[0], 0)

            with self.subTest(firmware=fw, call="connect"):
                # A listener whose accept queue is full never answers the SYN.
                l = socket.socket()
                l.bind(("127.0.0.1", 0))
                l.listen(0)
                filler = socket.create_connection(l.getsockname())
                time.sleep(0.05)
                m = Script(fw, f"""
                    import usocket as socket
                    c = socket.socket()
                    print("ready")
                    try:
                        c.connect(("127.0.0.1", {l.getsockname()[1]}))
                        print("connected?")
                    except KeyboardInterrupt:
                        print("interrupted")
                    c.close()
                    c = socket.socket()
                    c.settimeout(0.3)
                    try:
                        c.connect(("127.0.0.1", {l.getsockname()[1]}))
                    except OSError as e:
                        print("then", e.errno)
                """)
                self.interrupt(m, time.monotonic())
                self.assertEqual(m.expect("then"), "110")  # ETIMEDOUT
                self.assertEqual(m.finish()[0], 0)
                filler.close()
                l.close()

    def test_blocked_send_on_full_connection(self):
        for fw in FIRMWARES:
            with self.subTest(firmware=fw):
                l = socket.create_server(("127.0.0.1", 0))
                m = Script(fw, f"""
                    import usocket as socket
                    c = socket.socket()
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
                    c.connect(("127.0.0.1", {l.getsockname()[1]}))
                    print("ready")
                    try:
                        while True:
                            c.write(bytes(65536))
                    except KeyboardInterrupt:
                        print("interrupted")
                    c.sendall(b"END")
                    c.close()
                    print("closed")
                """)
                peer, _ = l.accept()
                peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                self.interrupt(m, time.monotonic())
                data = b""
                while True:
                    chunk = peer.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.assertTrue(data.endswith(b"END"))
                self.assertEqual(m.expect("closed"), "")
                self.assertEqual(m.finish()[0], 0)
                peer.close()
                l.close()


if __name__ == "__main__":
    unittest.main()
