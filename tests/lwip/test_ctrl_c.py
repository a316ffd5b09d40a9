"""Ctrl-C (SIGINT) on the lwIP socket backend (build/micropython-lwip): lwIP's
waits do not see signals, so the module waits in slices and must still raise
KeyboardInterrupt promptly, keep the process alive and the socket usable.
Both ends of every connection are inside the firmware (lwIP's loopback)."""
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from mpy import Script  # noqa: E402

FIRMWARE = os.environ.get("USOCKET_LWIP_FIRMWARE") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "micropython-lwip")

PAIR = """
import usocket as socket
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
c = socket.socket()
c.connect(l.getsockname())
s, _ = l.accept()
"""

# the blocking call, then what proves the socket still works (the other end
# has sent b"after\\n" by then)
CASES = {
    "recv": (PAIR, "c.recv(100)", "s.send(b'after\\n'); print('after', c.recv(100))"),
    "readline": (PAIR, "c.readline()", "s.send(b'after\\n'); print('after', c.readline())"),
    "readinto": (PAIR, "c.readinto(bytearray(100))", "s.send(b'after\\n'); print('after', c.readline())"),
    "accept": (PAIR, "l.accept()",
               "d = socket.socket(); d.connect(l.getsockname()); print('after', l.accept()[1][0])"),
    "recvfrom": ("""
import usocket as socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
""", "u.recvfrom(100)", "u.sendto(b'after', u.getsockname()); print('after', u.recvfrom(100)[0])"),
    # a listener whose one-place backlog is taken drops further SYNs
    "connect": ("""
import usocket as socket
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(0)
f = socket.socket()
f.connect(l.getsockname())
c = socket.socket()
""", "c.connect(l.getsockname())", "print('after', c.getsockname()[0])"),
}


class CtrlC(unittest.TestCase):
    def test_every_blocking_call(self):
        for name, (setup, call, after) in CASES.items():
            with self.subTest(call=name):
                m = Script(FIRMWARE, setup + f"""
print("ready")
try:
    {call}
    print("not interrupted")
except KeyboardInterrupt:
    print("interrupted")
{after}
""")
                m.expect("ready")
                time.sleep(0.3)
                started = time.monotonic()
                m.proc.send_signal(signal.SIGINT)
                m.expect("interrupted")
                self.assertLess(time.monotonic() - started, 1.0)
                self.assertNotEqual(m.expect("after"), "")
                self.assertEqual(m.finish()[0], 0)


if __name__ == "__main__":
    unittest.main()
