"""CPython's end of the multicast tests, run inside the test's network
namespace (test_multicast.py starts it with `ip netns exec`):

    multicast_peer.py send GROUP PORT IFACE SECONDS
        sends b"c0", b"c1", ... to GROUP every 20 ms for SECONDS; prints
        "sending" after the first datagram and "done" at the end
    multicast_peer.py recv GROUP PORT IFACE SECONDS
        joins GROUP, prints "ready", then "got PAYLOAD HOST" for each
        datagram until SECONDS have passed, then "done"
    multicast_peer.py mdns-query NAME IFACE SECONDS
        asks for NAME's A record on 224.0.0.251:5353 and prints
        "answer NAME ADDRESS" for each A record heard until SECONDS have
        passed, then "done"

IFACE is the interface's IPv4 address for an IPv4 group and the
interface's name for an IPv6 group."""
import socket
import struct
import sys
import time


def open_socket(group, port, iface, join):
    family = socket.AF_INET6 if ":" in group else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface))
        if join:
            s.bind(("0.0.0.0", port))
            mreq = socket.inet_aton(group) + socket.inet_aton(iface)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        return s, (group, port)
    index = socket.if_nametoindex(iface)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    if join:
        s.bind(("::", port))
        mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", index)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    return s, (group, port, 0, index)


def send(group, port, iface, seconds):
    s, dest = open_socket(group, int(port), iface, join=False)
    end = time.monotonic() + float(seconds)
    n = 0
    while time.monotonic() < end:
        s.sendto(b"c%d" % n, dest)
        if n == 0:
            print("sending", flush=True)
        n += 1
        time.sleep(0.02)
    print("done", flush=True)


def receive(s, seconds, each):
    end = time.monotonic() + float(seconds)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, source = s.recvfrom(2048)
        except socket.timeout:
            break
        each(data, source)
    print("done", flush=True)


def recv(group, port, iface, seconds):
    s, _ = open_socket(group, int(port), iface, join=True)
    print("ready", flush=True)
    receive(s, seconds, lambda data, source: print("got", data.decode(), source[0], flush=True))


def dns_name(packet, at):
    """The (possibly compressed) name at `at`, and where the record goes on."""
    labels, end = [], None
    while True:
        n = packet[at]
        if n >= 0xC0:
            if end is None:
                end = at + 2
            at = ((n & 0x3F) << 8) | packet[at + 1]
            continue
        if n == 0:
            return ".".join(labels), (at + 1 if end is None else end)
        labels.append(packet[at + 1:at + 1 + n].decode())
        at += 1 + n


def a_records(packet):
    _, flags, questions, answers, authorities, additional = struct.unpack_from(">6H", packet)
    if not flags & 0x8000:
        return []  # a question (ours, looped back), not a response
    at = 12
    for _ in range(questions):
        at = dns_name(packet, at)[1] + 4
    found = []
    for _ in range(answers + authorities + additional):
        name, at = dns_name(packet, at)
        rtype, _, _, length = struct.unpack_from(">HHIH", packet, at)
        at += 10
        if rtype == 1 and length == 4:
            found.append((name, socket.inet_ntoa(packet[at:at + 4])))
        at += length
    return found


def mdns_query(name, iface, seconds):
    s, dest = open_socket("224.0.0.251", 5353, iface, join=True)
    question = b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    s.sendto(struct.pack(">6H", 0, 0, 1, 0, 0, 0) + question + struct.pack(">HH", 1, 1), dest)

    def each(data, source):
        for record_name, address in a_records(data):
            print("answer", record_name, address, flush=True)
    receive(s, seconds, each)


if __name__ == "__main__":
    {"send": send, "recv": recv, "mdns-query": mdns_query}[sys.argv[1]](*sys.argv[2:])
