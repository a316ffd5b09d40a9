"""Third-party MicroPython libraries over usocket, against real servers:

- umqtt.simple (micropython-lib's MQTT client) with mosquitto: a subscriber
  and a publisher in one process, 200 messages at QoS 0 and 1 compared
  byte for byte, a 70,000-byte message (multi-byte length), check_msg's
  non-blocking poll, ping; and over mosquitto's TLS listener with the
  broker's certificate checked (a wrong host name is refused);
- umqtt.simple2 (non-blocking connect, select.poll on the socket and on the
  TLS object, write(buf, -1)) in clear and over TLS;
- urequests with CPython's http.server: a 300 KB binary body checked by
  SHA-256, JSON, a POST echoed back, a refused connection; over HTTP and
  HTTPS (the libraries import `ussl`, the firmware's alias of `ssl`); the
  same with micropython-lib's current `requests` (what `mip` installs, over
  `tls`), from the MicroPython source tree;
- urllib.urequest (micropython-lib's old HTTP/1.0 client, which returns
  the socket or TLS object itself to be read to the server's close) with
  the same server, over HTTP and HTTPS;
- mip (micropython-lib's package installer, from the same tree) installing a
  package with a dependency, a file by URL and a 150,000-byte file from a
  CPython index server, in clear and over HTTPS, every byte compared and
  files already there not fetched again;
- microdot (an asyncio web framework) serving curl and 50 concurrent
  CPython clients, in clear and over HTTPS (asyncio's TLS server);
- umqtt.robust riding out a broker restart: refused reconnects until the
  broker is back, then publish and subscribe again, no descriptor left over;
- async_websocket_client (asyncio, a non-blocking socket read with
  read/readline returning None) against a CPython WebSocket echo server, in
  clear and over TLS through the firmware's `ssl` module;
- micropython-lib's old `socket.py` (micropython-socket 0.5.3), a subclass
  of the socket type written for MicroPython's unix module: it resolves
  every address with getaddrinfo and decodes accepted ones with
  `sockaddr()` and `inet_ntop`; as a server for CPython clients and as a
  TCP and UDP client;
- phew (Pimoroni's web server for the Pico W): routes with a query, JSON
  and a form, a file served in 1 KB writes with `drain`, concurrent
  CPython clients, and its captive-portal DNS server, a UDP socket driven
  through asyncio's `_io_queue`, answering CPython's queries meanwhile.

The libraries are the pinned releases tools/fetch-pypi.py puts in
build/pylibs (`make pylibs`); they import `usocket` or, through asyncio,
`socket`, which on build/micropython are both this module."""
import base64
import errno
import hashlib
import http.client
import http.server
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from mpy import FIRMWARES, Script, TIMEOUT, concurrently, free_port, serve_one
from servers import MQTT_EXCHANGE, Mosquitto, make_certs, mqtt_digest, tls_server_context, wait_listening

FIRMWARE = FIRMWARES[0]  # `socket` is usocket on this one (asyncio uses it)
PYLIBS = os.environ.get("USOCKET_PYLIBS") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "pylibs")


def micropython_lib(*parts):
    """A directory of micropython-lib in the MicroPython source tree."""
    micropython = os.environ.get("USOCKET_MICROPYTHON_DIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "micropython")
    path = os.path.join(micropython, "lib", "micropython-lib", *parts)
    if not os.path.isdir(path):
        raise AssertionError("%s is missing: run `make micropython-source`" % path)
    return path


def library_path(name):
    path = os.path.abspath(os.path.join(PYLIBS, name))
    if not os.path.isdir(path):
        raise AssertionError("%s is not in %s: run `make pylibs`" % (name, PYLIBS))
    return path


MQTT_CLIENT = """
import sys, hashlib, binascii, time
sys.path.insert(0, {lib!r})
from umqtt.simple import MQTTClient
got = []
sub = MQTTClient("usocket-sub", "127.0.0.1", port={port}, keepalive=30)
sub.set_callback(lambda topic, msg: got.append((topic, msg)))
print("connect", sub.connect())
sub.subscribe(b"usocket/test", qos=1)
pub = MQTTClient("usocket-pub", "localhost", port={port}, keepalive=30)
pub.connect()
for i in range(200):
    pub.publish(b"usocket/test", b"m%d;" % i * (i * 3), qos=i % 2)
while len(got) < 200:
    sub.wait_msg()
h = hashlib.sha256()
for m in sorted(m for t, m in got):
    h.update(m)
print("topics", set(t for t, m in got))
print("digest", binascii.hexlify(h.digest()).decode())
print("idle", sub.check_msg())
sub.ping()
print("pingresp", sub.wait_msg())
pub.publish(b"usocket/test", b"z" * 70000, qos=1)
start = time.ticks_ms()
while len(got) == 200 and time.ticks_diff(time.ticks_ms(), start) < {timeout_ms}:
    sub.check_msg()
print("big", len(got[-1][1]), got[-1][1] == b"z" * 70000)
sub.disconnect()
pub.disconnect()
print("done")
"""


@unittest.skipUnless(shutil.which("mosquitto"), "needs mosquitto (Debian package mosquitto)")
class UmqttWithMosquitto(unittest.TestCase):
    def setUp(self):
        self.lib = library_path("umqtt.simple")
        self.mosquitto = Mosquitto()
        self.addCleanup(self.mosquitto.close)
        self.port = self.mosquitto.port

    def test_publish_subscribe(self):
        mp = Script(FIRMWARE, MQTT_CLIENT.format(lib=self.lib, port=self.port, timeout_ms=TIMEOUT * 1000))
        try:
            self.assertEqual(mp.expect("connect"), "0")  # no session was present
            self.assertEqual(mp.expect("topics"), "{b'usocket/test'}")
            self.assertEqual(mp.expect("digest"), mqtt_digest(200))
            self.assertEqual(mp.expect("idle"), "None")
            self.assertEqual(mp.expect("pingresp"), "None")
            self.assertEqual(mp.expect("big"), "70000 True")
            mp.expect("done")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()


MQTT_TLS_CLIENT = MQTT_EXCHANGE + """
import sys, ussl
sys.path.insert(0, {lib!r})
from umqtt.simple import MQTTClient
cadata = open({der!r}, "rb").read()
def client(name, server_hostname):
    return MQTTClient(name, "127.0.0.1", port={port}, keepalive=30, ssl=True, ssl_params={{
        "server_hostname": server_hostname, "cert_reqs": ussl.CERT_REQUIRED, "cadata": cadata}})
got = []
c = client("usocket-tls", "localhost")
c.set_callback(lambda topic, msg: got.append(msg))
print("connect", c.connect())
exchange(c, got, b"usocket/tls", 50, 70000)
c.disconnect()
# the certificate names localhost and 127.0.0.1, not this
try:
    client("usocket-bad", "mqtt.example").connect()
    print("wrong name accepted")
except ValueError as e:  # how MicroPython's tls reports a failed verification
    print("wrong name refused", "CN" in str(e))
"""

SIMPLE2_CLIENT = MQTT_EXCHANGE + """
import sys
sys.path.insert(0, {lib!r})
from umqtt.simple2 import MQTTClient
for port, tls in (({port}, False), ({tls_port}, True)):
    got = []
    c = MQTTClient("usocket-s2", "localhost", port=port, keepalive=30, ssl=tls,
                   ssl_params={{"server_hostname": "localhost"}})
    c.set_callback(lambda topic, msg, retained, dup: got.append(msg))
    print("connect", tls, c.connect())  # a non-blocking connect, then poll
    exchange(c, got, b"usocket/s2", 100, 70000, " " + str(tls))
    c.disconnect()
"""


@unittest.skipUnless(shutil.which("mosquitto") and shutil.which("openssl"), "needs mosquitto and openssl")
class MqttOverTls(unittest.TestCase):
    """MQTT clients from PyPI over mosquitto's TLS listener. Both import the
    old name `ussl`; umqtt.simple2 connects non-blocking and waits with
    select.poll on the socket, then on the TLS object."""

    def setUp(self):
        self.mosquitto = Mosquitto(tls=True)
        self.addCleanup(self.mosquitto.close)

    def test_umqtt_simple_verifies_the_broker(self):
        m = self.mosquitto
        mp = Script(FIRMWARE, MQTT_TLS_CLIENT.format(lib=library_path("umqtt.simple"), port=m.tls_port,
                                                     der=m.cert_der))
        try:
            self.assertEqual(mp.expect("connect"), "0")
            self.assertEqual(mp.expect("digest"), mqtt_digest(50))
            self.assertEqual(mp.expect("idle"), "None")
            self.assertEqual(mp.expect("big"), "70000 True")
            self.assertEqual(mp.expect("wrong name refused"), "True")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()

    def test_umqtt_simple2_clear_and_tls(self):
        m = self.mosquitto
        mp = Script(FIRMWARE, SIMPLE2_CLIENT.format(lib=library_path("umqtt.simple2"), port=m.port,
                                                    tls_port=m.tls_port))
        try:
            for tls in ("False", "True"):
                self.assertEqual(mp.expect("connect"), tls + " 0")
                self.assertEqual(mp.expect("digest"), tls + " " + mqtt_digest(100))
                self.assertEqual(mp.expect("idle"), tls + " None")
                self.assertEqual(mp.expect("big"), tls + " 70000 True")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()


BLOB = os.urandom(300_000)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, body, ctype="application/octet-stream"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/blob":
            self.reply(BLOB)
        elif self.path == "/json":
            self.reply(json.dumps({"list": [1, 2, 3], "host": self.headers["Host"]}).encode(),
                       "application/json")
        else:
            self.send_error(404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.reply(self.headers.get("X-Test", "").encode() + b"|" + body)


URLLIB_CLIENT = """
import sys, hashlib, binascii, errno
sys.path.insert(0, {lib!r})
import {module} as urequests
r = urequests.get("{scheme}://127.0.0.1:{port}/blob")
print("blob", r.status_code, len(r.content), binascii.hexlify(hashlib.sha256(r.content).digest()).decode())
r = urequests.get("{scheme}://localhost:{port}/json")
j = r.json()
print("json", r.status_code, j["list"], j["host"])
r = urequests.post("{scheme}://127.0.0.1:{port}/echo", data=b"x" * 5000, headers={{"X-Test": "t1"}})
print("post", r.status_code, r.text[:3], len(r.text))
r = urequests.get("{scheme}://127.0.0.1:{port}/missing")
print("missing", r.status_code)
r.close()
try:
    urequests.get("{scheme}://127.0.0.1:{closed}/")
except OSError as e:
    print("refused", e.errno == errno.ECONNREFUSED)
"""


class OverHttpAndHttps:
    """Mixed into a TestCase: CPython's threading HTTP server on loopback
    with `self.handler`, and the test's MicroPython client,
    `run_client(scheme)`, run against it in clear and over TLS."""
    handler = Handler

    def setUp(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self.handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)

    def test_http(self):
        self.run_client("http")

    @unittest.skipUnless(shutil.which("openssl"), "needs the openssl command")
    def test_https(self):
        self.server.socket = tls_server_context(self).wrap_socket(self.server.socket, server_side=True)
        self.run_client("https")


class UrequestsWithHttpServer(OverHttpAndHttps, unittest.TestCase):
    # urequests does `import ussl` for https: the firmware's alias of `ssl`
    module = "urequests"

    def setUp(self):
        self.lib = library_path("urequests")
        super().setUp()

    def run_client(self, scheme):
        port = self.server.server_address[1]
        mp = Script(FIRMWARE, URLLIB_CLIENT.format(lib=self.lib, module=self.module, scheme=scheme, port=port,
                                                   closed=free_port()))
        try:
            self.assertEqual(mp.expect("blob"), "200 300000 " + hashlib.sha256(BLOB).hexdigest())
            self.assertEqual(mp.expect("json"), "200 [1, 2, 3] localhost")
            self.assertEqual(mp.expect("post"), "200 t1| 5003")
            self.assertEqual(mp.expect("missing"), "404")
            self.assertEqual(mp.expect("refused"), "True")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()


class RequestsWithHttpServer(UrequestsWithHttpServer):
    """The same with micropython-lib's current `requests` (0.10.0, what `mip`
    installs; it uses `tls` directly), from the MicroPython source tree."""
    module = "requests"

    def setUp(self):
        super().setUp()
        self.lib = micropython_lib("micropython", "requests")


URLOPEN_CLIENT = """
import sys, hashlib, binascii, errno
sys.path.insert(0, {lib!r})
from urllib.urequest import urlopen
f = urlopen("{scheme}://127.0.0.1:{port}/blob")
body = f.read()  # the connection itself: read() to the server's close
print("blob", len(body), binascii.hexlify(hashlib.sha256(body).digest()).decode())
f.close()
f = urlopen("{scheme}://localhost:{port}/echo", data=b"y" * 20000)
print("post", f.read(3), len(f.read()))
f.close()
f = urlopen("{scheme}://localhost:{port}/json", method="GET")
print("json", f.readline())
f.close()
try:
    urlopen("{scheme}://127.0.0.1:{closed}/")
except OSError as e:
    print("refused", e.errno == errno.ECONNREFUSED)
"""


class UrllibUrequestWithHttpServer(OverHttpAndHttps, unittest.TestCase):
    """micropython-lib's old urllib.urequest (0.6.3): it speaks HTTP/1.0 on
    `usocket` itself (or on `ussl.wrap_socket`'s object) and returns that
    stream, which the caller reads to the server's close."""

    def setUp(self):
        self.lib = library_path("urllib.urequest")
        super().setUp()

    def run_client(self, scheme):
        mp = Script(FIRMWARE, URLOPEN_CLIENT.format(lib=self.lib, scheme=scheme, port=self.server.server_address[1],
                                                    closed=free_port()))
        try:
            self.assertEqual(mp.expect("blob"), "300000 " + hashlib.sha256(BLOB).hexdigest())
            self.assertEqual(mp.expect("post"), "b'|yy' 19998")
            self.assertEqual(mp.expect("json"), repr(b'{"list": [1, 2, 3], "host": "localhost"}'))
            self.assertEqual(mp.expect("refused"), "True")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()


MIP_CLIENT = """
import sys
sys.path.insert(0, {requests!r})
sys.path.insert(0, {mip!r})
import mip
index = "{scheme}://localhost:{port}/pi"
print("mpy", sys.implementation._mpy & 0xFF)
mip.install("app", index=index, target={target!r})
print("-- again")
mip.install("app", index=index, target={target!r})
print("-- url")
mip.install("{scheme}://127.0.0.1:{port}/raw/single.py", target={target!r})
print("-- missing")
mip.install("nothere", index=index, target={target!r})
print("-- refused")
try:
    mip.install("app", index="{scheme}://127.0.0.1:{closed}/pi", target={target!r})
except OSError as e:
    print("refused", e.errno)
sys.path.insert(0, {target!r})
import app
print("imported", app.VALUE, app.helper_value())
"""


class MipIndex(http.server.BaseHTTPRequestHandler):
    """A package index in the layout of micropython.org/pi/v2, which `mip`
    reads: package/<mpy version>/<name>/latest.json, whose "hashes" name
    files served at file/<first two>/<short hash>, "urls" files fetched as
    they are and "deps" other packages. Records the paths asked for."""
    files = {}
    packages = {}
    asked = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.asked.append(self.path)
        parts = self.path.split("/")
        body = None
        if parts[1:3] == ["pi", "package"] and len(parts) == 6 and parts[5] == "latest.json":
            package = self.packages.get(parts[4])
            if package is not None:
                body = json.dumps(package).encode().replace(b"PORT", str(self.server.server_address[1]).encode())
        elif parts[1:3] == ["pi", "file"] and len(parts) == 5:
            body = self.files.get(parts[4])
        elif parts[1] == "raw" and len(parts) == 3:
            body = self.files.get(parts[2])
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def short_hash(data):
    return hashlib.sha256(data).hexdigest()[:8]  # as the index gives it


class MipInstall(OverHttpAndHttps, unittest.TestCase):
    """micropython-lib's `mip` (the package installer every MicroPython user
    meets first, from the MicroPython source tree) installing a package with
    a dependency, a file by URL and a 150,000-byte file from a CPython index
    server over `requests`, in clear and over HTTPS: every byte compared,
    files already there not fetched again, a missing package and a refused
    connection reported as mip reports them."""

    def setUp(self):
        self.requests = micropython_lib("micropython", "requests")
        self.mip = micropython_lib("python-ecosys", "mip")
        self.target = tempfile.mkdtemp(prefix="usocket-mip-")
        self.addCleanup(shutil.rmtree, self.target, True)
        self.contents = {
            "app/__init__.py": b"from helper import helper_value\nVALUE = 42\n",
            "app/model.bin": os.urandom(150_000),
            "helper.py": b"def helper_value():\n    return 'helper'\n",
            "extra.txt": b"fetched by URL\n" * 100,
            "single.py": b"# installed from a URL\n",
        }
        files = {short_hash(data): data for data in self.contents.values()}
        files["extra.txt"] = self.contents["extra.txt"]
        files["single.py"] = self.contents["single.py"]
        hashes = lambda *names: [[n, short_hash(self.contents[n])] for n in names]
        self.handler = type("Index", (MipIndex,), {"files": files, "asked": [], "packages": {
            "app": {"hashes": hashes("app/__init__.py", "app/model.bin"),
                    "deps": [["helper", "latest"]], "v": 1, "version": "1.0"},
            "helper": {"hashes": hashes("helper.py"), "v": 1, "version": "0.1",
                       "urls": [["extra.txt", "SCHEME://127.0.0.1:PORT/raw/extra.txt"]]},
        }})
        super().setUp()

    def run_client(self, scheme):
        helper = self.handler.packages["helper"]
        helper["urls"][0][1] = helper["urls"][0][1].replace("SCHEME", scheme)
        port = self.server.server_address[1]
        mp = Script(FIRMWARE, MIP_CLIENT.format(requests=self.requests, mip=self.mip, scheme=scheme, port=port,
                                                target=self.target, closed=free_port()))
        rc, out = mp.finish(TIMEOUT * 2)
        lines = out.splitlines()
        self.assertEqual(rc, 0, out)
        mpy = lines[0].split()[1]
        first, again, url, missing, refused = "\n".join(lines[1:]).split("\n-- ")
        index = "%s://localhost:%d/pi" % (scheme, port)

        def report(hashed):  # what mip says of the hashed files: Copying or Exists
            return [
                "Installing app (latest) from %s to %s" % (index, self.target),
                "%s: %s/app/__init__.py" % (hashed, self.target),
                "%s: %s/app/model.bin" % (hashed, self.target),
                "Installing helper (latest) from %s to %s" % (index, self.target),
                "%s: %s/helper.py" % (hashed, self.target),
                "Copying: %s/extra.txt" % self.target,  # by URL: every time
                "Done"]
        self.assertEqual(first.splitlines(), report("Copying"))
        # the second time only the file listed by URL is fetched
        self.assertEqual(again.splitlines(), ["again"] + report("Exists"))
        self.assertEqual(url.splitlines()[1:], [
            "Downloading %s://127.0.0.1:%d/raw/single.py to %s" % (scheme, port, self.target),
            "Copying: %s/single.py" % self.target,
            "Done"])
        self.assertEqual(missing.splitlines()[1:], [
            "Installing nothere (latest) from %s to %s" % (index, self.target),
            "Package not found: %s/package/%s/nothere/latest.json" % (index, mpy),
            "Package may be partially installed"])
        self.assertEqual(refused.splitlines()[-2:], ["refused %d" % errno.ECONNREFUSED, "imported 42 helper"])
        for name, data in self.contents.items():
            with open(os.path.join(self.target, name), "rb") as f:
                self.assertEqual(f.read(), data, name)
        files = [p for p in self.handler.asked if p.startswith("/pi/file/")]
        self.assertEqual(len(files), 3)  # each hashed file once, not again
        self.assertEqual(self.handler.asked.count("/raw/extra.txt"), 2)


MICRODOT_APP = """
import sys
sys.path.insert(0, {lib!r})
from microdot import Microdot
app = Microdot()

@app.route("/")
async def index(request):
    return "Hello from usocket"

@app.post("/echo")
async def echo(request):
    return request.body

@app.route("/big")
async def big(request):
    return b"0123456789" * 20000

@app.route("/n/<int:n>")
async def number(request, n):
    return {{"n": n, "square": n * n}}

@app.route("/shutdown")
async def shutdown(request):
    request.app.shutdown()
    return "bye"

context = None
if {cert!r}:
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain({cert!r}, {key!r})
print("serving")
app.run(host="127.0.0.1", port={port}, ssl=context)
print("stopped")
"""

CLIENTS = 50


@unittest.skipUnless(shutil.which("curl"), "needs curl")
class MicrodotServer(unittest.TestCase):
    def serve(self, tls):
        port = free_port()
        key = cert = ""
        if tls:
            d = tempfile.mkdtemp(prefix="usocket-certs-")
            self.addCleanup(shutil.rmtree, d)
            key, cert, _ = make_certs(d)
        mp = Script(FIRMWARE, MICRODOT_APP.format(lib=library_path("microdot"), port=port, cert=cert, key=key))
        try:
            mp.expect("serving")
            base = "%s://127.0.0.1:%d" % ("https" if tls else "http", port)
            verify = ("--cacert", cert) if tls else ()

            def curl(*args, until_listening=False):
                end = time.monotonic() + 10
                while True:
                    out = subprocess.run(["curl", "-sS", "--max-time", str(TIMEOUT), *verify, *args],
                                         capture_output=True, timeout=TIMEOUT + 5)
                    if out.returncode != 7 or not until_listening or time.monotonic() > end:
                        break
                    time.sleep(0.05)  # 7: not listening yet
                self.assertEqual(out.returncode, 0, out.stderr)
                return out.stdout

            # (the first request waits for the listener: a bare TCP probe
            # would be a TLS handshake cut short, which modtls reports as
            # OSError(MBEDTLS_ERR_SSL_CONN_EOF) in microdot's task, on
            # MicroPython's C socket module too)
            self.assertEqual(curl(base + "/", until_listening=True), b"Hello from usocket")
            body = os.urandom(12000)  # microdot refuses bodies over 16 KB by default
            with tempfile.NamedTemporaryFile() as f:
                f.write(body)
                f.flush()
                self.assertEqual(curl("--data-binary", "@" + f.name, "-H",
                                      "Content-Type: application/octet-stream", base + "/echo"), body)
            self.assertEqual(curl(base + "/big"), b"0123456789" * 20000)

            def client(n):
                if tls:
                    context = ssl.create_default_context(cafile=cert)
                    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=TIMEOUT, context=context)
                else:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
                conn.request("GET", "/n/%d" % n)
                r = conn.getresponse()
                reply = (r.status, json.loads(r.read()))
                conn.close()
                return reply

            results, errors = concurrently(CLIENTS, client)
            self.assertEqual(errors, [])
            self.assertEqual([r[1]["n"] for r in results], list(range(CLIENTS)))
            self.assertTrue(all(s == 200 and r["square"] == r["n"] ** 2 for s, r in results))

            # microdot stops the server before it writes this body (also on
            # MicroPython's C socket module): only the status line comes
            self.assertEqual(curl("-o", "/dev/null", "-w", "%{http_code}", base + "/shutdown"), b"200")
            mp.expect("stopped")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()

    def test_serves_curl_and_concurrent_clients(self):
        self.serve(tls=False)

    def test_https(self):
        # asyncio's TLS server (the firmware's `ssl` over `tls`): each
        # handshake runs on a non-blocking accepted socket
        self.serve(tls=True)


ROBUST_CLIENT = """
import sys, os, time, gc
sys.path.insert(0, {lib!r})
from umqtt.robust import MQTTClient
def fds():
    return len(os.listdir("/proc/self/fd"))
log = []
class Client(MQTTClient):
    DELAY = 0.05
    def log(self, in_reconnect, e):
        log.append(in_reconnect)
        if in_reconnect and log.count(True) == 1:
            print("reconnecting", e.errno)
got = []
c = Client("usocket-robust", "127.0.0.1", port={port}, keepalive=30)
c.set_callback(lambda t, m: got.append(m))
c.connect()
c.subscribe(b"usocket/robust", qos=1)
c.publish(b"usocket/robust", b"before", qos=1)
while not got:  # the broker's PUBACK and its copy to us come in either order
    c.wait_msg()
before = fds()
print("connected", got)
def stopped():
    try:
        return bool(os.stat({marker!r}))
    except OSError:
        return False
while not stopped():
    time.sleep_ms(10)
# The broker is gone: this publish fails, then robust reconnects until the
# restarted broker answers, and publishes again.
c.publish(b"usocket/robust", b"lost", qos=1)
c.subscribe(b"usocket/robust", qos=1)  # a clean session lost the subscription
c.publish(b"usocket/robust", b"after", qos=1)
while got[-1] != b"after":
    c.wait_msg()
gc.collect()  # robust drops each failed socket without closing it: the finaliser does
print("after", got[-1], log.count(True) > 3, fds() - before)
c.disconnect()
"""


@unittest.skipUnless(shutil.which("mosquitto"), "needs mosquitto (Debian package mosquitto)")
class UmqttRobustBrokerRestart(unittest.TestCase):
    def setUp(self):
        self.mosquitto = Mosquitto()
        self.addCleanup(self.mosquitto.close)
        self.dir, self.port = self.mosquitto.dir, self.mosquitto.port

    def test_reconnects_after_restart(self):
        # umqtt.robust subclasses umqtt.simple from inside one `umqtt`
        # package (its release links simple.py in): put the two together
        package = os.path.join(self.dir, "lib", "umqtt")
        os.makedirs(package)
        for name in ("umqtt.simple", "umqtt.robust"):
            for f in os.listdir(os.path.join(library_path(name), "umqtt")):
                shutil.copy(os.path.join(library_path(name), "umqtt", f), package)
        marker = os.path.join(self.dir, "stopped")
        mp = Script(FIRMWARE, ROBUST_CLIENT.format(lib=os.path.dirname(package), port=self.port,
                                                   marker=marker))
        try:
            self.assertEqual(mp.expect("connected"), "[b'before']")
            self.mosquitto.stop()
            open(marker, "w").close()
            # ECONNRESET/EPIPE or an end of stream ends the old session; the
            # first reconnect finds nobody listening
            self.assertEqual(mp.expect("reconnecting"), str(errno.ECONNREFUSED))
            time.sleep(0.5)  # about ten refused attempts, 50 ms apart
            self.mosquitto.start()
            # every socket robust dropped was closed by its finaliser
            self.assertEqual(mp.expect("after"), "b'after' True 0")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()


def ws_recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def ws_echo(conn):
    """A WebSocket echo peer (RFC 6455) for one connection: frames come back
    unmasked with the client's opcode; a close frame is answered and ends it."""
    request = b""
    while b"\r\n\r\n" not in request:
        request += conn.recv(1)
    key = [line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
           if line.lower().startswith(b"sec-websocket-key:")][0]
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    try:
        while True:
            b1, b2 = ws_recv_exactly(conn, 2)
            n = b2 & 0x7F
            if n == 126:
                n, = struct.unpack("!H", ws_recv_exactly(conn, 2))
            elif n == 127:
                n, = struct.unpack("!Q", ws_recv_exactly(conn, 8))
            mask = ws_recv_exactly(conn, 4) if b2 & 0x80 else b"\0\0\0\0"
            data = bytes(c ^ mask[i % 4] for i, c in enumerate(ws_recv_exactly(conn, n)))
            if b1 & 0x0F == 8:
                conn.sendall(b"\x88\x00")
                return
            if n < 126:
                head = bytes([0x80 | b1 & 0x0F, n])
            elif n < 65536:
                head = bytes([0x80 | b1 & 0x0F, 126]) + struct.pack("!H", n)
            else:
                head = bytes([0x80 | b1 & 0x0F, 127]) + struct.pack("!Q", n)
            conn.sendall(head + data)
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


WEBSOCKET_CLIENT = """
import sys, asyncio, hashlib, binascii
sys.path.insert(0, {lib!r})
from async_websocket_client.ws import AsyncWebsocketClient
async def main(url):
    ws = AsyncWebsocketClient(1)
    await ws.handshake(url)
    for n in (5, 300, 5000, 70000):
        msg = "".join(chr(65 + i % 26) for i in range(n))
        await ws.send(msg)
        reply = await ws.recv()
        print("echo", n, len(reply), reply == msg)
    await ws.close()
    print("closed", ws.sock)
asyncio.run(main({url!r}))
"""


@unittest.skipUnless(shutil.which("openssl"), "needs the openssl command")
class WebsocketClient(unittest.TestCase):
    def serve(self, context=None):
        listener = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(listener.close)

        def accept_loop():
            while True:
                try:
                    conn, _ = listener.accept()
                    if context:
                        conn = context.wrap_socket(conn, server_side=True)
                except OSError:
                    return  # closed by the cleanup, or a failed handshake
                threading.Thread(target=ws_echo, args=(conn,), daemon=True).start()

        threading.Thread(target=accept_loop, daemon=True).start()
        return listener.getsockname()[1]

    def run_client(self, url):
        mp = Script(FIRMWARE, WEBSOCKET_CLIENT.format(lib=library_path("async_websocket_client"), url=url))
        try:
            for n in (5, 300, 5000, 70000):
                self.assertEqual(mp.expect("echo"), "%d %d True" % (n, n))
            self.assertEqual(mp.expect("closed"), "None")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()

    def test_clear(self):
        self.run_client("ws://127.0.0.1:%d/echo" % self.serve())

    def test_tls(self):
        context = tls_server_context(self)
        # the library wraps the socket after making it non-blocking:
        # the TLS handshake runs over a socket that answers EAGAIN
        self.run_client("wss://localhost:%d/echo" % self.serve(context))


class OldSocketWrapper(unittest.TestCase):
    def test_server_and_client(self):
        # CPython's side: a line server for the wrapper's create_connection,
        # and a UDP socket for its sendto
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv_port = srv.getsockname()[1]
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(TIMEOUT)
        t = serve_one(srv, lambda s, peer: s.sendall(b"got:" + s.makefile("rb").readline()))
        m = Script(FIRMWARE, f"""
            import sys
            sys.path.insert(0, {library_path("micropython-socket")!r})
            import socket
            print("wrapper", socket.__file__.endswith("/socket.py"), isinstance(socket.socket(), socket.socket))
            l = socket.socket()
            l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            l.bind(("", 0))  # "": 0.0.0.0, resolved by the wrapper
            l.listen(2)
            print("port", l.getsockname()[1])
            for i in range(2):
                s, addr = l.accept()
                line = s.readline()
                s.send(b"echo:" + line)
                print("peer", addr)
                s.close()
            l.close()
            c = socket.create_connection(("localhost", {srv_port}))
            c.sendall(b"from the wrapper\\n")
            print("reply", c.recv(64))
            c.close()
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.sendto(b"datagram", ("localhost", {udp.getsockname()[1]}))
            print("done")
        """)
        self.assertEqual(m.expect("wrapper"), "True True")
        port = int(m.expect("port"))
        for i in range(2):
            with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as c:
                c.sendall(b"line %d\n" % i)
                self.assertEqual(c.makefile("rb").readline(), b"echo:line %d\n" % i)
                self.assertEqual(m.expect("peer"), repr(c.getsockname()))
        self.assertEqual(m.expect("reply"), repr(b"got:from the wrapper\n"))
        self.assertEqual(udp.recvfrom(64)[0], b"datagram")
        self.assertEqual(m.expect("done"), "")
        self.assertEqual(m.finish()[0], 0)
        t.join(TIMEOUT)
        udp.close()


PHEW_APP = """
import sys, os
sys.path.insert(0, {boards!r})
sys.path.insert(0, {lib!r})
os.chdir({work!r})  # phew writes log.txt into the current directory
from phew import server, dns

@server.route("/hello", methods=["GET"])
def hello(request):
    return "hi " + request.query.get("n", "?"), 200, "text/plain"

@server.route("/sum", methods=["POST"])
def total(request):
    return str(sum(request.data["values"])), 200, "text/plain"

@server.route("/form", methods=["POST"])
def form(request):
    return request.form["a"] + "|" + request.form["b"], 200, "text/plain"

@server.route("/file", methods=["GET"])
def file(request):
    return server.serve_file("blob.bin")

@server.route("/n/<n>", methods=["GET"])
def number(request, n):
    return str(int(n) ** 2), 200, "text/plain"

dns.run_catchall("127.0.0.1", {dns_port})
print("serving")
server.run(host="127.0.0.1", port={port})
"""

# phew imports the board's `machine` (for RTC, in its log lines) and
# `network` (for Wi-Fi set-up, not called here); the unix port has
# neither, so these stand in for the board, not for the network stack.
PHEW_BOARD = {
    "machine.py": "class RTC:\n    def datetime(self):\n        return (2026, 1, 1, 0, 0, 0, 0, 0)\n",
    "network.py": "",
}


def dns_query(name, qid):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0\0\1\0\1"


class PhewServer(unittest.TestCase):
    def test_web_server_and_catchall_dns(self):
        work = tempfile.mkdtemp(prefix="usocket-phew-")
        self.addCleanup(shutil.rmtree, work, True)
        for name, text in PHEW_BOARD.items():
            with open(os.path.join(work, name), "w") as f:
                f.write(text)
        blob = os.urandom(200000)
        with open(os.path.join(work, "blob.bin"), "wb") as f:
            f.write(blob)
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            dns_port = probe.getsockname()[1]
        mp = Script(FIRMWARE, PHEW_APP.format(boards=work, lib=library_path("phew"), work=work,
                                              port=port, dns_port=dns_port))
        try:
            while mp.readline() != "serving":  # after phew's log line
                pass
            wait_listening(port)

            def request(method, path, body=None, headers={}):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
                conn.request(method, path, body, headers)
                r = conn.getresponse()
                reply = (r.status, r.read())
                conn.close()
                return reply

            self.assertEqual(request("GET", "/hello?n=usocket%21"), (200, b"hi usocket!"))
            self.assertEqual(request("POST", "/sum", json.dumps({"values": list(range(500))}),
                                     {"Content-Type": "application/json"}), (200, b"124750"))
            self.assertEqual(request("POST", "/form", "a=x+y&b=%3D",
                                     {"Content-Type": "application/x-www-form-urlencoded"}),
                             (200, b"x y|="))
            status, body = request("GET", "/file")
            self.assertEqual((status, len(body)), (200, len(blob)))
            self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(blob).digest())

            # DNS queries answered while HTTP clients keep the server busy
            resolver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.addCleanup(resolver.close)
            resolver.settimeout(TIMEOUT)

            def client(n):
                if n % 2:
                    return request("GET", "/n/%d" % n)
                qid = 0x4000 + n
                resolver.sendto(dns_query("device%d.example" % n, qid), ("127.0.0.1", dns_port))
                return qid

            results, errors = concurrently(CLIENTS, client)
            self.assertEqual(errors, [])
            answers = {}
            for _ in range(CLIENTS // 2):
                reply, source = resolver.recvfrom(512)
                self.assertEqual(source, ("127.0.0.1", dns_port))
                answers[struct.unpack(">H", reply[:2])[0]] = reply
            for n, result in enumerate(results):
                if n % 2:
                    self.assertEqual(result, (200, str(n * n).encode()))
                    continue
                reply = answers[result]
                self.assertIn(dns_query("device%d.example" % n, result)[12:], reply)
                self.assertEqual(reply[2:4], b"\x81\x80")
                self.assertEqual(reply[-4:], socket.inet_aton("127.0.0.1"))
            # phew logs a request after its response has gone: the last
            # line may come a moment after the last client has its answer
            deadline = time.monotonic() + TIMEOUT
            while True:
                with open(os.path.join(work, "log.txt")) as f:
                    log = f.read()
                if log.count("> GET /n/") >= CLIENTS // 2 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertEqual(log.count("> GET /n/"), CLIENTS // 2, log)
        finally:
            mp.kill()


if __name__ == "__main__":
    unittest.main()
