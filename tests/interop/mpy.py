"""Runs MicroPython scripts for the interop tests (CPython is the peer)."""
import os
import select
import socket
import subprocess
import tempfile
import textwrap
import threading
import time

FIRMWARES = [f for f in os.environ.get("USOCKET_FIRMWARES", "").split(os.pathsep) if f]
if not FIRMWARES:
    here = os.path.dirname(os.path.abspath(__file__))
    FIRMWARES = [os.path.join(here, "..", "..", "build", "micropython")]

# Every wait in these tests is bounded: a hung process fails the test.
TIMEOUT = 30


# MicroPython source a script can start with (Script's `prelude`): reads a
# stream to its end, `room` bytes at most per read; returns the byte count
# and the SHA-256 of the bytes.
HASH_UNTIL_EOF = """
import hashlib
def hash_until_eof(s, room=8192):
    h = hashlib.sha256()
    buf = bytearray(room)
    n = 0
    while True:
        k = s.readinto(buf)
        if not k:
            break
        h.update(memoryview(buf)[:k])
        n += k
    return n, h.digest()
"""

# MicroPython source, after HASH_UNTIL_EOF: sends `size` bytes of a known
# pattern through a connected stream socket from a second thread (neither
# side's buffers can block the other), then shuts down its writing side,
# while this thread reads the peer's echo to its end; prints "len N" and
# "sha HEX". Call it from a function: MicroPython's module globals must not
# change while another thread runs (micropython/micropython#12698).
ECHO_ROUND_TRIP = HASH_UNTIL_EOF + """
import _thread
def echo_round_trip(s, size):
    chunk = bytes(range(256)) * 16
    def send():
        for i in range(size // len(chunk)):
            s.sendall(chunk)
        s.shutdown(1)  # SHUT_WR
    _thread.start_new_thread(send, ())
    n, digest = hash_until_eof(s)
    print("len", n)
    print("sha", digest.hex())
"""


def make_namespaces(names, commands):
    """Creates the network namespaces `names` (needs root), then runs each
    command of `commands`, (namespace, command line), in its namespace. If
    one fails, deletes the namespaces and raises AssertionError with its
    error."""
    for ns in names:
        subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for ns, command in commands:
            subprocess.run(["ip", "netns", "exec", ns, *command.split()], check=True, capture_output=True)
    except subprocess.CalledProcessError as e:
        delete_namespaces(names)
        raise AssertionError("%s: %s" % (" ".join(e.cmd), e.stderr.decode().strip()))


def delete_namespaces(names):
    for ns in names:
        subprocess.run(["ip", "netns", "del", ns])


class Script:
    """A MicroPython process running `prelude` then `source`, with
    line-oriented stdout."""

    def __init__(self, firmware, source, max_fds=None, prefix=(), env=None, prelude=""):
        fd, self.path = tempfile.mkstemp(suffix=".py", prefix="usocket_interop_")
        with os.fdopen(fd, "w") as f:
            f.write(prelude + textwrap.dedent(source))
        def limits():
            if max_fds is not None:
                import resource
                resource.setrlimit(resource.RLIMIT_NOFILE, (max_fds, max_fds))

        self.proc = subprocess.Popen(
            [*prefix, firmware, self.path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0,
            preexec_fn=limits, env=None if env is None else dict(os.environ, **env),
        )
        self._buf = b""

    def readline(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()  # a hung process must not outlive its test
                raise TimeoutError("no line from MicroPython within %ss (got %r)" % (timeout, self._buf))
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    raise EOFError("MicroPython exited: %r" % self._buf)
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode().rstrip("\r")

    def expect(self, prefix, timeout=TIMEOUT):
        line = self.readline(timeout)
        if not line.startswith(prefix):
            try:
                rest = self.finish(5)[1]
            except subprocess.TimeoutExpired as e:
                rest = "(still running after 5 s: killed) " + e.output
            raise AssertionError("expected %r, got %r; then %r" % (prefix, line, rest))
        return line[len(prefix):].strip()

    def finish(self, timeout=TIMEOUT):
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as e:
            self.proc.kill()
            out, _ = self.proc.communicate()
            e.output = (self._buf + out).decode(errors="replace")
            raise
        finally:
            self._remove_script()
        return self.proc.returncode, (self._buf + out).decode()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        self._remove_script()  # a test that failed before finish() leaves none behind

    def _remove_script(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def free_port():
    """A loopback TCP port nobody listens on (for a server about to start)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_one(listener, handle):
    """Accepts one connection on `listener` (a listening CPython socket) in a
    thread and calls handle(connection, peer address); every wait is bounded
    by TIMEOUT, and both sockets are closed after. Returns the thread."""
    listener.settimeout(TIMEOUT)

    def serve():
        with listener:
            s, peer = listener.accept()
            with s:
                s.settimeout(TIMEOUT)
                handle(s, peer)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t


def echo_until_closed(sock):
    """Sends back everything a CPython peer socket receives until the other
    end closes."""
    while True:
        data = sock.recv(65536)
        if not data:
            return
        sock.sendall(data)


def concurrently(n, client):
    """Runs client(0) ... client(n-1) in n threads at once; returns their
    results in order and the exceptions they raised (as reprs)."""
    results, errors = [None] * n, []

    def run(i):
        try:
            results[i] = client(i)
        except Exception as e:  # reported to the caller
            errors.append(repr(e))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    return results, errors
