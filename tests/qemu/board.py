"""The emulated MPS2-AN385 board: boots the firmware in qemu-system-arm with
an isolated user network (restrict=on, only the forwards asked for) and runs
MicroPython code on it through the raw REPL on its UART (QEMU's stdio)."""
import os
import re
import select
import subprocess
import time

QEMU = os.environ.get("QEMU_SYSTEM_ARM", "qemu-system-arm")
SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "micropython")


def micropython_test_source(name):
    """tests/micropython/<name> as one program for the board: the board has no
    files to import from, so its import of _helpers is replaced by that file."""
    with open(os.path.join(SCRIPTS, "_helpers.py")) as f:
        helpers = f.read()
    with open(os.path.join(SCRIPTS, name)) as f:
        return re.sub(r"(?m)^from _helpers import .*$", lambda m: helpers, f.read())


class BoardError(Exception):
    pass


class Board:
    def __init__(self, firmware, hostfwd=(), guestfwd=(), extra_net=(), boot_timeout=30, link=None, qemu_args=()):
        """hostfwd: "tcp:127.0.0.1:5000-:80"; guestfwd: "tcp:10.0.2.100:80-cmd:socat -
        TCP:127.0.0.1:5000"; extra_net: more -net options on the same segment
        (a VirtualHost's tunnel); link: what every frame to and from the
        board's NIC goes through (lossy.LossyLink), on the NIC's port of the
        segment the user network and extra_net share; qemu_args: more of
        QEMU's options."""
        user = "user,restrict=on"
        for f in hostfwd:
            user += ",hostfwd=" + f
        for f in guestfwd:
            user += ",guestfwd=" + f
        if link is None:
            net = ["-net", "nic,model=lan9118", "-net", user]
        else:
            # the NIC on a port of hub 0 of its own, where -net puts the rest
            net = ["-netdev", "hubport,id=nicport,hubid=0", "-net", "nic,model=lan9118,netdev=nicport",
                   *link.qemu_args("nicport"), "-net", user]
        self.proc = subprocess.Popen(
            [QEMU, "-machine", "mps2-an385", "-nographic", "-monitor", "null", "-semihosting",
             "-serial", "stdio", *net, *extra_net, *qemu_args, "-kernel", firmware],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0,
        )
        self.buf = b""
        self.listening = 0
        try:
            self.read_until(b">>> ", boot_timeout)
            self.write(b"\r\x01")  # Ctrl-A: raw REPL
            self.read_until(b"raw REPL; CTRL-B to exit\r\n>", 10)
        except Exception:
            self.close()
            raise

    def write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    # A line the board's code prints once a listener of its is ready (the
    # tests' listening()): counted and taken out of the output wherever it
    # comes. lwIP runs in interrupts on the board, so a connection that
    # arrives before listen() is reset, as on a real board.
    LISTENING = b"[listening]\r\n"

    def _read(self, done, timeout, what):
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise BoardError("board timed out waiting for %s; got %r" % (what, self.buf[-500:]))
            r, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.5))
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    raise BoardError("QEMU exited: %r" % self.buf[-500:])
                self.buf += chunk
                n = self.buf.count(self.LISTENING)
                if n:
                    self.listening += n
                    self.buf = self.buf.replace(self.LISTENING, b"")

    def read_until(self, ending, timeout):
        self._read(lambda: ending in self.buf, timeout, repr(ending))
        i = self.buf.index(ending) + len(ending)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def wait_listening(self, timeout):
        """Waits until the board's code has said it listens (once since
        the board started: a listener outlives the code that made it)."""
        self._read(lambda: self.listening > 0, timeout, "the board's code to listen")

    def soft_reset(self):
        """A fresh interpreter (lwIP and the network stay up); finalisers close
        whatever sockets the last code left open."""
        self.write(b"\x04")
        self.read_until(b"raw REPL; CTRL-B to exit\r\n>", 30)

    def start(self, code):
        """Sends code to run; returns once the board has taken it."""
        self.write(code.encode() + b"\x04")
        self.read_until(b"OK", 30)

    def follow(self, timeout=60):
        """Waits for the code started last to finish: (stdout, error text)."""
        out = self.read_until(b"\x04", timeout)[:-1]
        err = self.read_until(b"\x04>", timeout)[:-2]
        return out.decode(errors="replace"), err.decode(errors="replace")

    def exec(self, code, timeout=60):
        """Runs code; returns its output, raising BoardError if it raised."""
        self.start(code)
        out, err = self.follow(timeout)
        if err:
            raise BoardError("exception on the board:\n" + err + "\noutput:\n" + out)
        return out

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
