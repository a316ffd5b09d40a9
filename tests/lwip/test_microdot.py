"""A real asyncio library on the lwIP socket backend (build/micropython-lwip,
the socket layer ESP32 builds use): the microdot web framework serving
asyncio clients in the same process, over lwIP's loopback, in clear and over
TLS (the firmware's `ssl` on lwIP's sockets, both ends non-blocking)."""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from mpy import Script  # noqa: E402
from servers import make_certs  # noqa: E402
from test_libraries import library_path  # noqa: E402

FIRMWARE = os.environ.get("USOCKET_LWIP_FIRMWARE") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "micropython-lwip")

# Five clients at once: asyncio's listen backlog is 5, and lwIP drops a SYN
# beyond it (its client tries again after lwIP's initial 3 s RTO). With the
# listener and the server's ends that is 11 of the 16 sockets this build's
# lwIP has (as an ESP32's).
APP = """
import sys, asyncio, ssl
sys.path.insert(0, {lib!r})
from microdot import Microdot
app = Microdot()

@app.route("/n/<int:n>")
async def number(request, n):
    return {{"n": n, "square": n * n}}

@app.route("/big")
async def big(request):
    return b"0123456789" * 20000

@app.post("/echo")
async def echo(request):
    return request.body

server_ctx = client_ctx = None
if {cert!r}:
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain({cert!r}, {key!r})
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cafile={cert!r})

async def request(method, path, body=b""):
    if client_ctx:
        r, w = await asyncio.open_connection("127.0.0.1", 5001, ssl=client_ctx, server_hostname="localhost")
    else:
        r, w = await asyncio.open_connection("127.0.0.1", 5001)
    w.write(b"%s %s HTTP/1.0\\r\\nHost: x\\r\\nContent-Length: %d\\r\\n"
            b"Content-Type: application/octet-stream\\r\\n\\r\\n" % (method, path, len(body)))
    w.write(body)
    await w.drain()
    reply = b""
    while True:
        data = await r.read(4096)
        if not data:
            break
        reply += data
    w.close()
    await w.wait_closed()
    return reply.split(b"\\r\\n\\r\\n", 1)[1]

async def main():
    server = asyncio.create_task(app.start_server(host="127.0.0.1", port=5001, ssl=server_ctx))
    await asyncio.sleep(0.1)
    squares = await asyncio.gather(*[request(b"GET", b"/n/%d" % i) for i in range(5)])
    print("squares", [eval(s)["square"] for s in squares])
    big = await request(b"GET", b"/big")
    print("big", len(big), big == b"0123456789" * 20000)
    body = bytes(range(256)) * 40
    print("echo", await request(b"POST", b"/echo", body) == body)
    app.shutdown()
    await server

asyncio.run(main())
print("done")
"""


class MicrodotOnLwip(unittest.TestCase):
    def run_app(self, cert="", key=""):
        mp = Script(FIRMWARE, APP.format(lib=library_path("microdot"), cert=cert, key=key))
        try:
            self.assertEqual(mp.expect("squares"), "[0, 1, 4, 9, 16]")
            self.assertEqual(mp.expect("big"), "200000 True")
            self.assertEqual(mp.expect("echo"), "True")
            self.assertEqual(mp.expect("done"), "")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()

    def test_clear(self):
        self.run_app()

    def test_tls(self):
        d = tempfile.mkdtemp(prefix="usocket-certs-")
        self.addCleanup(shutil.rmtree, d)
        key, cert, _ = make_certs(d)
        self.run_app(cert, key)


if __name__ == "__main__":
    unittest.main()
