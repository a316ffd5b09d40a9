"""Real servers the tests run on loopback for MicroPython clients (the
interop tests, and the emulated board's through QEMU's guestfwd)."""
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

from mpy import TIMEOUT, free_port


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


def make_certs(d):
    key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-keyout", key, "-out", cert, "-days", "2", "-nodes", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    der = os.path.join(d, "cert.der")
    subprocess.run(["openssl", "x509", "-in", cert, "-outform", "der", "-out", der], check=True)
    return key, cert, der


def tls_server_context(test):
    """A CPython TLS server context with a fresh certificate for localhost
    and 127.0.0.1, in a directory removed when `test` ends."""
    d = tempfile.mkdtemp(prefix="usocket-certs-")
    test.addCleanup(shutil.rmtree, d)
    key, cert, _ = make_certs(d)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


class Mosquitto:
    """A mosquitto broker on loopback, in its own directory: a plain listener
    on `port` and, with `tls`, a TLS listener on `tls_port` whose
    certificate (for localhost and 127.0.0.1) is `cert`/`cert_der`."""

    def __init__(self, tls=False):
        self.dir = tempfile.mkdtemp(prefix="usocket-mqtt-")
        self.port = free_port()
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        lines = ["listener %d 127.0.0.1" % self.port]
        if tls:
            # mosquitto started as root reads the key after dropping to its own user
            os.chmod(self.dir, 0o755)
            key, self.cert, self.cert_der = make_certs(self.dir)
            os.chmod(key, 0o644)
            self.tls_port = free_port()
            lines += ["listener %d 127.0.0.1" % self.tls_port, "certfile " + self.cert, "keyfile " + key]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines + ["allow_anonymous true", "persistence false", ""]))
        self.start()

    def start(self):
        self.broker = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
        wait_listening(self.port)

    def stop(self):
        self.broker.terminate()
        self.broker.wait(TIMEOUT)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir)


# MicroPython source: one MQTT client's checked exchange with the broker, for
# scripts that define `c` (connected, its callback appending to `got`).
# Prints "digest<tag> <sha256 of the sorted messages>", "idle<tag> None" (a
# non-blocking check with nothing there) and "big<tag> <size> True".
MQTT_EXCHANGE = """
import hashlib, binascii
def exchange(c, got, topic, n, big, tag=""):
    c.subscribe(topic, qos=1)
    for i in range(n):
        c.publish(topic, b"m%d;" % i * (i * 3), qos=i % 2)
    while len(got) < n:
        c.wait_msg()
    h = hashlib.sha256()
    for m in sorted(got):
        h.update(m)
    print("digest" + tag, binascii.hexlify(h.digest()).decode())
    print("idle" + tag, c.check_msg())
    c.publish(topic, b"z" * big, qos=1)
    while len(got) == n:
        c.wait_msg()
    print("big" + tag, len(got[-1]), got[-1] == b"z" * big)
"""


def mqtt_message(i):
    """The i-th message MQTT_EXCHANGE publishes."""
    return b"m%d;" % i * (i * 3)


def mqtt_digest(n):
    """What MQTT_EXCHANGE prints after "digest" for n messages."""
    return hashlib.sha256(b"".join(sorted(mqtt_message(i) for i in range(n)))).hexdigest()
