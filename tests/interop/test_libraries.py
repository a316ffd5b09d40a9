"""Third-party MicroPython libraries over usocket, against real servers:

- umqtt.simple (micropython-lib's MQTT client) with mosquitto: a subscriber
  and a publisher in one process, 200 messages at QoS 0 and 1 compared
  byte for byte, a 70,000-byte message (multi-byte length), check_msg's
  non-blocking poll, ping;
- urequests with CPython's http.server: a 300 KB binary body checked by
  SHA-256, JSON, a POST echoed back, a refused connection;
- microdot (an asyncio web framework) serving curl and 50 concurrent
  CPython clients.

The libraries are the pinned releases tools/fetch-pypi.py puts in
build/pylibs (`make pylibs`); they import `usocket` or, through asyncio,
`socket`, which on build/micropython are both this module."""
import hashlib
import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from mpy import FIRMWARES, Script, TIMEOUT, concurrently, free_port

FIRMWARE = FIRMWARES[0]  # `socket` is usocket on this one (asyncio uses it)
PYLIBS = os.environ.get("USOCKET_PYLIBS") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "pylibs")


def wait_listening(port, deadline=10):
    end = time.monotonic() + deadline
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def library_path(name):
    path = os.path.abspath(os.path.join(PYLIBS, name))
    if not os.path.isdir(path):
        raise AssertionError("%s is not in %s: run `make pylibs`" % (name, PYLIBS))
    return path


def message(i):
    return b"m%d;" % i * (i * 3)


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
        self.dir = tempfile.mkdtemp(prefix="usocket-mqtt-")
        self.port = free_port()
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % self.port)
        self.broker = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        wait_listening(self.port)

    def tearDown(self):
        self.broker.terminate()
        self.broker.wait(TIMEOUT)
        shutil.rmtree(self.dir)

    def test_publish_subscribe(self):
        mp = Script(FIRMWARE, MQTT_CLIENT.format(lib=self.lib, port=self.port, timeout_ms=TIMEOUT * 1000))
        try:
            self.assertEqual(mp.expect("connect"), "0")  # no session was present
            self.assertEqual(mp.expect("topics"), "{b'usocket/test'}")
            want = hashlib.sha256(b"".join(sorted(message(i) for i in range(200)))).hexdigest()
            self.assertEqual(mp.expect("digest"), want)
            self.assertEqual(mp.expect("idle"), "None")
            self.assertEqual(mp.expect("pingresp"), "None")
            self.assertEqual(mp.expect("big"), "70000 True")
            mp.expect("done")
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
import urequests
r = urequests.get("http://127.0.0.1:{port}/blob")
print("blob", r.status_code, len(r.content), binascii.hexlify(hashlib.sha256(r.content).digest()).decode())
r = urequests.get("http://localhost:{port}/json")
j = r.json()
print("json", r.status_code, j["list"], j["host"])
r = urequests.post("http://127.0.0.1:{port}/echo", data=b"x" * 5000, headers={{"X-Test": "t1"}})
print("post", r.status_code, r.text[:3], len(r.text))
r = urequests.get("http://127.0.0.1:{port}/missing")
print("missing", r.status_code)
r.close()
try:
    urequests.get("http://127.0.0.1:{closed}/")
except OSError as e:
    print("refused", e.errno == errno.ECONNREFUSED)
"""


class UrequestsWithHttpServer(unittest.TestCase):
    def setUp(self):
        self.lib = library_path("urequests")
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()

    def test_requests(self):
        port = self.server.server_address[1]
        mp = Script(FIRMWARE, URLLIB_CLIENT.format(lib=self.lib, port=port, closed=free_port()))
        try:
            self.assertEqual(mp.expect("blob"), "200 300000 " + hashlib.sha256(BLOB).hexdigest())
            self.assertEqual(mp.expect("json"), "200 [1, 2, 3] localhost")
            self.assertEqual(mp.expect("post"), "200 t1| 5003")
            self.assertEqual(mp.expect("missing"), "404")
            self.assertEqual(mp.expect("refused"), "True")
            self.assertEqual(mp.finish()[0], 0)
        finally:
            mp.kill()


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

print("serving")
app.run(host="127.0.0.1", port={port})
print("stopped")
"""

CLIENTS = 50


@unittest.skipUnless(shutil.which("curl"), "needs curl")
class MicrodotServer(unittest.TestCase):
    def test_serves_curl_and_concurrent_clients(self):
        port = free_port()
        mp = Script(FIRMWARE, MICRODOT_APP.format(lib=library_path("microdot"), port=port))
        try:
            mp.expect("serving")
            wait_listening(port)
            base = "http://127.0.0.1:%d" % port

            def curl(*args):
                out = subprocess.run(["curl", "-sS", "--max-time", str(TIMEOUT), *args],
                                     capture_output=True, timeout=TIMEOUT + 5)
                self.assertEqual(out.returncode, 0, out.stderr)
                return out.stdout

            self.assertEqual(curl(base + "/"), b"Hello from usocket")
            body = os.urandom(12000)  # microdot refuses bodies over 16 KB by default
            with tempfile.NamedTemporaryFile() as f:
                f.write(body)
                f.flush()
                self.assertEqual(curl("--data-binary", "@" + f.name, "-H",
                                      "Content-Type: application/octet-stream", base + "/echo"), body)
            self.assertEqual(curl(base + "/big"), b"0123456789" * 20000)

            def client(n):
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


if __name__ == "__main__":
    unittest.main()
