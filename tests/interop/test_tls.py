"""MicroPython's `tls` module (the system's mbedTLS) over usocket: server and
client in two MicroPython processes with 1 MiB checked end to end, a
non-blocking handshake driven by select.poll (which asks usocket through
the TLS object's ioctl), a MicroPython TLS server for CPython's ssl, and
asyncio's TLS streams (start_server and open_connection with ssl=), and
the firmware's `ssl` module (file names, CA checks by host name), TLS
over a Python subclass of the socket type, and the socket's timeout
reaching TLS as ETIMEDOUT.

Certificates are made at test time with the openssl command."""
import hashlib
import os
import shutil
import socket
import ssl
import tempfile
import threading
import unittest

from mpy import FIRMWARES, Script, TIMEOUT, concurrently
from servers import make_certs

SIZE = 1 << 20


SERVER = """
import usocket as socket, tls, hashlib
ctx = tls.SSLContext(tls.PROTOCOL_TLS_SERVER)
# the tls module takes the PEM data itself (ssl.py would read the files)
ctx.load_cert_chain(open({cert!r}, "rb").read(), open({key!r}, "rb").read())
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(1)
print("port", l.getsockname()[1])
s, _ = l.accept()
t = ctx.wrap_socket(s, server_side=True)
h = hashlib.sha256()
buf = bytearray(4096)
n = 0
while n < {size}:
    k = t.readinto(buf)
    if not k:
        break
    h.update(memoryview(buf)[:k])
    n += k
t.write(h.digest())
t.close()
l.close()
print("received", n)
"""


@unittest.skipUnless(shutil.which("openssl"), "needs the openssl command")
class Tls(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.key, self.cert, self.der = make_certs(self.dir)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def server(self, fw):
        m = Script(fw, SERVER.format(cert=self.cert, key=self.key, size=SIZE))
        return m, int(m.expect("port"))

    # The client's socket: the module's type, or a Python subclass of it
    # (micropython-lib's socket.py is one), where TLS calls the stream
    # protocol with the subclass's instance, whose socket is its native part.
    PLAIN = "s = socket.socket()"
    SUBCLASS = "class Sock(socket.socket):\n    pass\ns = Sock()"

    def client_and_server_1mib(self, make_socket):
        for fw in FIRMWARES:
            with self.subTest(firmware=fw):
                srv, port = self.server(fw)
                cli = Script(fw, f"""
import usocket as socket, tls, hashlib
ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
ctx.verify_mode = tls.CERT_REQUIRED
ctx.load_verify_locations(open({self.der!r}, "rb").read())  # cadata, DER
{make_socket}
s.connect(("127.0.0.1", {port}))
t = ctx.wrap_socket(s, server_hostname="localhost")
chunk = bytes(range(256)) * 64
h = hashlib.sha256()
for i in range({SIZE} // len(chunk)):
    t.write(chunk)
    h.update(chunk)
got = t.read(32)
print("digest", got == h.digest())
t.close()
""")
                self.assertEqual(cli.expect("digest"), "True")
                self.assertEqual(srv.expect("received"), str(SIZE))
                self.assertEqual(cli.finish()[0], 0)
                self.assertEqual(srv.finish()[0], 0)

    def test_micropython_client_and_server_1mib(self):
        self.client_and_server_1mib(self.PLAIN)

    def test_subclassed_socket(self):
        self.client_and_server_1mib(self.SUBCLASS)

    def test_nonblocking_handshake_driven_by_poll(self):
        for fw in FIRMWARES:
            with self.subTest(firmware=fw):
                srv, port = self.server(fw)
                cli = Script(fw, f"""
                    import usocket as socket, tls, hashlib, select, errno
                    s = socket.socket()
                    s.setblocking(False)
                    try:
                        s.connect(("127.0.0.1", {port}))
                    except OSError as e:
                        assert e.errno == errno.EINPROGRESS
                    p = select.poll()
                    p.register(s, select.POLLOUT)
                    assert p.poll(5000)
                    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
                    ctx.verify_mode = tls.CERT_NONE
                    t = ctx.wrap_socket(s, server_hostname="localhost", do_handshake_on_connect=False)
                    p = select.poll()
                    p.register(t, select.POLLOUT)
                    data = bytes(range(256)) * ({SIZE} // 256)
                    mv = memoryview(data)
                    polls = 0
                    while mv:
                        n = t.write(mv[:4096])
                        if n is None:   # handshake or buffer not ready: wait
                            polls += 1
                            assert p.poll(5000), "poll timed out"
                            continue
                        mv = mv[n:]
                    p.modify(t, select.POLLIN)
                    got = b""
                    while len(got) < 32:
                        d = t.read(32 - len(got))
                        if d is None:
                            assert p.poll(5000), "poll timed out"
                            continue
                        got += d
                    print("digest", got == hashlib.sha256(data).digest())
                    print("waited", polls > 0)
                    t.close()
                """)
                self.assertEqual(cli.expect("digest"), "True")
                self.assertEqual(cli.expect("waited"), "True")
                self.assertEqual(srv.expect("received"), str(SIZE))
                self.assertEqual(cli.finish()[0], 0)
                srv.finish()

    def test_socket_timeouts_reach_tls_as_etimedout(self):
        """A finite timeout on the socket under TLS: a handshake with a peer
        that never answers, and a read with nothing sent, raise
        OSError(ETIMEDOUT) after the timeout. (modtls then keeps the error:
        docs/behaviour.md.)"""
        mute = socket.socket()  # connections complete in the backlog, unanswered
        mute.bind(("127.0.0.1", 0))
        mute.listen(1)
        self.addCleanup(mute.close)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        self.addCleanup(listener.close)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)

        def quiet_tls_server():
            listener.settimeout(TIMEOUT)
            with listener.accept()[0] as raw, ctx.wrap_socket(raw, server_side=True) as t:
                t.settimeout(TIMEOUT)
                try:
                    t.recv(1)  # until the client goes
                except OSError:
                    pass
        server = threading.Thread(target=quiet_tls_server, daemon=True)
        server.start()
        cli = Script(FIRMWARES[0], f"""
            import usocket as socket, tls, time, errno
            ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
            ctx.verify_mode = tls.CERT_NONE
            def timed(label, f):
                t0 = time.ticks_ms()
                try:
                    f()
                    print(label, "returned")
                except OSError as e:
                    print(label, errno.errorcode.get(e.errno, e.errno), 490 <= time.ticks_diff(time.ticks_ms(), t0) < 3000)
            s = socket.socket()
            s.settimeout(0.5)
            s.connect(("127.0.0.1", {mute.getsockname()[1]}))
            timed("handshake", lambda: ctx.wrap_socket(s, server_hostname="localhost"))
            s.close()
            s = socket.socket()
            s.settimeout(0.5)
            s.connect(("127.0.0.1", {listener.getsockname()[1]}))
            t = ctx.wrap_socket(s, server_hostname="localhost")
            timed("read", lambda: t.read(10))
            t.close()
        """)
        self.assertEqual(cli.expect("handshake"), "ETIMEDOUT True")
        self.assertEqual(cli.expect("read"), "ETIMEDOUT True")
        self.assertEqual(cli.finish()[0], 0)
        server.join(TIMEOUT)

    def test_micropython_server_for_cpython_ssl_client(self):
        for fw in FIRMWARES:
            with self.subTest(firmware=fw):
                srv, port = self.server(fw)
                ctx = ssl.create_default_context(cafile=self.cert)
                payload = os.urandom(SIZE)
                with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
                    with ctx.wrap_socket(raw, server_hostname="localhost") as t:
                        t.sendall(payload)
                        digest = b""
                        while len(digest) < 32:
                            d = t.recv(32 - len(digest))
                            if not d:
                                break
                            digest += d
                self.assertEqual(digest, hashlib.sha256(payload).digest())
                self.assertEqual(srv.expect("received"), str(SIZE))
                self.assertEqual(srv.finish()[0], 0)

    def test_asyncio_tls_server_and_client(self):
        """asyncio streams with ssl= over usocket: 20 concurrent CPython ssl
        clients of a MicroPython asyncio TLS server, then a MicroPython
        asyncio TLS client of the same server."""
        clients = 20
        srv = Script(FIRMWARES[0], """
            import asyncio, tls, socket
            ctx = tls.SSLContext(tls.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(open({cert!r}, "rb").read(), open({key!r}, "rb").read())
            served = 0
            async def handle(r, w):
                global served
                n = int(await r.readline())
                data = await r.readexactly(n)
                w.write(b"%d %d\\n" % (n, sum(data)))
                await w.drain()
                w.close()
                await w.wait_closed()
                served += 1
            async def main():
                l = socket.socket()
                l.bind(("127.0.0.1", 0))
                port = l.getsockname()[1]
                l.close()
                server = await asyncio.start_server(handle, "127.0.0.1", port, ssl=ctx, backlog={clients})
                print("port", port)
                while served < {clients}:
                    await asyncio.sleep_ms(20)
                cctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
                cctx.load_verify_locations(open({der!r}, "rb").read())  # cadata, positional
                r, w = await asyncio.open_connection("127.0.0.1", port, ssl=cctx, server_hostname="localhost")
                w.write(b"3\\nabc")
                await w.drain()
                print("own client", (await r.readline()).decode().strip())
                w.close()
                server.close()
                await server.wait_closed()
            asyncio.run(main())
            print("served", served)
        """.format(cert=self.cert, key=self.key, der=self.der, clients=clients))
        try:
            port = int(srv.expect("port"))
            ctx = ssl.create_default_context(cafile=self.cert)
            def client(i):
                data = os.urandom(1000 + 997 * i)
                with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
                    with ctx.wrap_socket(raw, server_hostname="localhost") as t:
                        t.sendall(b"%d\n" % len(data) + data)
                        reply = t.makefile("rb").readline()
                return reply == b"%d %d\n" % (len(data), sum(data))

            results, errors = concurrently(clients, client)
            self.assertEqual(errors, [])
            self.assertEqual(results, [True] * clients)
            self.assertEqual(srv.expect("own client"), "3 294")
            self.assertEqual(srv.expect("served"), str(clients + 1))
            self.assertEqual(srv.finish()[0], 0)
        finally:
            srv.kill()

    def test_ssl_module_with_file_names(self):
        """The firmware's `ssl` (CPython's API over `tls`): a server made by
        ssl.wrap_socket from file names for a CPython client, and a client
        context verifying CPython's server from a CA file, by host name."""
        listener = socket.create_server(("127.0.0.1", 0))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)

        def serve(n):
            conn, _ = listener.accept()
            try:
                with context.wrap_socket(conn, server_side=True) as t:
                    t.sendall(b"hello %d\n" % n)
            except (ssl.SSLError, OSError):
                pass  # the client that checks the wrong name gives up

        threads = [threading.Thread(target=serve, args=(n,), daemon=True) for n in range(2)]
        for t in threads:
            t.start()
        mp = Script(FIRMWARES[0], """
            import socket, ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            print("verify", ctx.verify_mode == ssl.CERT_REQUIRED)
            ctx.load_verify_locations(cafile={cert!r})
            for name in ("localhost", "wrong.example"):
                s = socket.socket()
                s.connect(("127.0.0.1", {port}))
                try:
                    t = ctx.wrap_socket(s, server_hostname=name)
                    print(name, t.readline())
                    t.close()
                except ValueError as e:  # how MicroPython's tls reports a failed check
                    print(name, "refused", "CN" in str(e))
                    s.close()
            l = socket.socket()
            l.bind(("127.0.0.1", 0))
            l.listen(1)
            print("port", l.getsockname()[1])
            c, _ = l.accept()
            t = ssl.wrap_socket(c, server_side=True, cert={cert!r}, key={key!r})
            t.write(t.readline().upper())
            t.close()
            l.close()
        """.format(cert=self.cert, key=self.key, port=listener.getsockname()[1]))
        try:
            self.assertEqual(mp.expect("verify"), "True")
            self.assertEqual(mp.expect("localhost"), "b'hello 0\\n'")
            self.assertEqual(mp.expect("wrong.example"), "refused True")
            port = int(mp.expect("port"))
            client = ssl.create_default_context(cafile=self.cert)
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
                with client.wrap_socket(raw, server_hostname="localhost") as t:
                    t.sendall(b"shout\n")
                    self.assertEqual(t.makefile("rb").readline(), b"SHOUT\n")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()
            listener.close()


if __name__ == "__main__":
    unittest.main()
