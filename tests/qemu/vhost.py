"""A virtual host on the emulated board's Ethernet segment, for what QEMU's
isolated user network (restrict=on) cannot carry: UDP from the guest to the
host, DNS, refused TCP connections and SYNs that are never answered.

QEMU's `-net socket,udp=...` puts the board's Ethernet frames into UDP
datagrams on the host's loopback; this class reads and writes those frames.
It answers ARP for its own address (10.0.2.50), runs a UDP echo (port 7), a
DNS responder (port 53) and a UDP sink (port 9), and resets TCP connections
(to any port: QEMU's user network on the same segment resets them too).
Nothing leaves 127.0.0.1.
"""
import socket
import struct
import threading

MAC = bytes.fromhex("525400000050")
IP = "10.0.2.50"
IP_BYTES = socket.inet_aton(IP)

TCP_REFUSE_PORT = 1
UDP_SINK_PORT = 9
UDP_ECHO_PORT = 7


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ip_header(proto, src, dst, payload_len):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 0, 0x4000, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", checksum(h)) + h[12:]


def dns_answer(query, names):
    """A DNS response to `query` from the {name: address} table: an A record
    for IPv4 text, an AAAA record for IPv6 text, no answer for the other
    type, NXDOMAIN for a name not in the table."""
    qid, flags, qd = struct.unpack("!HHH", query[:6])
    i, labels = 12, []
    while query[i]:
        labels.append(query[i + 1 : i + 1 + query[i]].decode())
        i += 1 + query[i]
    qtype, _qclass = struct.unpack("!HH", query[i + 1 : i + 5])
    question = query[12 : i + 5]
    name = ".".join(labels).lower()
    addr = names.get(name)
    family, rtype = (socket.AF_INET6, 28) if addr is not None and ":" in addr else (socket.AF_INET, 1)
    if addr is None or qtype != rtype:
        rcode, answers = (3 if addr is None else 0), b""
    else:
        rcode = 0
        data = socket.inet_pton(family, addr)
        answers = b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 60, len(data)) + data
    header = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, 1 if answers else 0, 0, 0)
    return header + question + answers


class VirtualHost:
    def __init__(self, names=None):
        self.names = {k.lower(): v for k, v in (names or {}).items()}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        # QEMU's end of the tunnel: a free loopback port for it to bind.
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        self.qemu_port = probe.getsockname()[1]
        probe.close()
        self.received = []  # (payload, (src_ip, src_port), dst_port) of UDP to the sink
        self.lock = threading.Lock()
        self.guest_mac = None
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def qemu_args(self):
        return ["-net", "socket,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d" % (self.sock.getsockname()[1], self.qemu_port)]

    def close(self):
        self.running = False
        self.sock.close()

    def send_frame(self, dst_mac, ethertype, payload):
        frame = dst_mac + MAC + struct.pack("!H", ethertype) + payload
        try:
            self.sock.sendto(frame, ("127.0.0.1", self.qemu_port))
        except OSError:
            pass

    def send_udp(self, dst_ip, src_port, dst_port, data, dst_mac=None):
        dst = socket.inet_aton(dst_ip)
        udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(data), 0) + data
        self.send_frame(dst_mac or self.guest_mac, 0x0800, ip_header(17, IP_BYTES, dst, len(udp)) + udp)

    def run(self):
        while self.running:
            try:
                frame, _ = self.sock.recvfrom(4096)
            except OSError:
                return
            if len(frame) < 14:
                continue
            src_mac, ethertype = frame[6:12], struct.unpack("!H", frame[12:14])[0]
            body = frame[14:]
            if ethertype == 0x0806 and len(body) >= 28 and body[6:8] == b"\0\1" and body[24:28] == IP_BYTES:
                reply = body[:6] + b"\0\2" + MAC + IP_BYTES + body[8:18]
                self.send_frame(src_mac, 0x0806, reply)
            elif ethertype == 0x0800 and len(body) >= 20 and body[16:20] == IP_BYTES:
                self.guest_mac = src_mac
                ihl = (body[0] & 15) * 4
                proto, src_ip = body[9], body[12:16]
                payload = body[ihl : struct.unpack("!H", body[2:4])[0]]
                if proto == 17:
                    self.on_udp(src_mac, src_ip, payload)
                elif proto == 6:
                    self.on_tcp(src_mac, src_ip, payload)

    def on_udp(self, src_mac, src_ip, seg):
        sport, dport, length = struct.unpack("!HHH", seg[:6])
        data = seg[8:length]
        src = socket.inet_ntoa(src_ip)
        if dport == 53:
            self.send_udp(src, 53, sport, dns_answer(data, self.names), src_mac)
        elif dport == UDP_ECHO_PORT:
            self.send_udp(src, dport, sport, data, src_mac)
        else:
            with self.lock:
                self.received.append((data, (src, sport), dport))

    def on_tcp(self, src_mac, src_ip, seg):
        sport, dport, seq = struct.unpack("!HHI", seg[:8])
        flags = seg[13]
        if not flags & 0x02:
            return  # only SYNs get an answer
        # RST|ACK: connection refused.
        tcp = struct.pack("!HHIIBBHHH", dport, sport, 0, seq + 1, 5 << 4, 0x14, 0, 0, 0)
        pseudo = IP_BYTES + src_ip + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
        self.send_frame(src_mac, 0x0800, ip_header(6, IP_BYTES, src_ip, len(tcp)) + tcp)

    def take_received(self):
        with self.lock:
            r, self.received = self.received, []
        return r
