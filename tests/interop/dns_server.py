"""A DNS responder for tests, run inside a network namespace the test made:
answers a fixed table from 127.0.0.1:53, NXDOMAIN for other names, and
nothing at all for names starting with "silent" (a server that never
answers). Prints "ready" once listening."""
import os
import socket
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qemu"))
from vhost import dns_answer  # noqa: E402

NAMES = {"known.test": "10.9.8.7", "loop.test": "127.0.0.1"}

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
while True:
    q, addr = s.recvfrom(512)
    labels, i = [], 12
    while i < len(q) and q[i]:
        labels.append(q[i + 1 : i + 1 + q[i]].decode(errors="replace"))
        i += 1 + q[i]
    if labels and labels[0].startswith("silent"):
        continue
    s.sendto(dns_answer(q, NAMES), addr)
