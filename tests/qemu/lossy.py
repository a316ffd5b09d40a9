"""A lossy link between the emulated board's NIC and the rest of its segment
(QEMU's user network, and a virtual host if there is one).

QEMU's filter-redirector hands every frame that crosses a netdev (here the
NIC's port of the segment's hub) in one direction to a socket chardev (a
4-byte big-endian length, then the frame) and takes frames back from
another. LossyLink sits on both directions and drops every period-th frame
from the offset-th on: the same frames on every run, so a test that expects
losses always gets them, and no two drops in a row, so each lost segment
costs lwIP or the host one retransmission. Nothing leaves 127.0.0.1.
"""
import socket
import struct
import threading


class _Direction:
    """One direction (QEMU's `queue`: tx is towards the board, rx from it)."""

    def __init__(self, queue, period, offset):
        self.queue, self.period, self.offset = queue, period, offset
        self.frames = self.dropped = 0
        self.out_server = socket.create_server(("127.0.0.1", 0))  # QEMU writes frames here
        self.in_server = socket.create_server(("127.0.0.1", 0))  # and reads them back here
        self.conns = []
        threading.Thread(target=self._run, daemon=True).start()

    def qemu_args(self, netdev):
        tag = "lossy" + self.queue
        return ["-chardev", "socket,id=%so,host=127.0.0.1,port=%d" % (tag, self.out_server.getsockname()[1]),
                "-chardev", "socket,id=%si,host=127.0.0.1,port=%d" % (tag, self.in_server.getsockname()[1]),
                "-object", "filter-redirector,id=%s,netdev=%s,queue=%s,outdev=%so,indev=%si"
                % (tag, netdev, self.queue, tag, tag)]

    def _run(self):
        try:
            out, _ = self.out_server.accept()
            back, _ = self.in_server.accept()
        except OSError:
            return  # closed before QEMU came
        self.conns += [out, back]
        buf = b""
        while True:
            try:
                data = out.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while len(buf) >= 4:
                n = struct.unpack("!I", buf[:4])[0]
                if len(buf) < 4 + n:
                    break
                frame, buf = buf[4:4 + n], buf[4 + n:]
                self.frames += 1
                if self.frames >= self.offset and (self.frames - self.offset) % self.period == 0:
                    self.dropped += 1
                    continue
                try:
                    back.sendall(struct.pack("!I", n) + frame)
                except OSError:
                    return

    def close(self):
        for s in [self.out_server, self.in_server] + self.conns:
            s.close()


class LossyLink:
    """Drops one frame in `period` each way; Board(link=...) puts it on the
    board's NIC."""

    def __init__(self, period=40, offset=5):
        self.directions = [_Direction("tx", period, offset), _Direction("rx", period, offset + period // 2)]

    def qemu_args(self, netdev):
        return [a for d in self.directions for a in d.qemu_args(netdev)]

    def dropped(self):
        """{"tx": frames dropped towards the board, "rx": from it}."""
        return {d.queue: d.dropped for d in self.directions}

    def close(self):
        for d in self.directions:
            d.close()
