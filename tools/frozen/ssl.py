"""`ssl` for the unix firmware: the CPython-style API over MicroPython's `tls`.

MicroPython's unix port freezes micropython-lib's `ssl` module, but Debian's
source package strips micropython-lib, so this firmware carries its own: the
same surface (SSLContext with file names or bytes, wrap_socket with the old
keyword arguments), written for this project."""
import tls
from tls import *  # PROTOCOL_*, CERT_*, MBEDTLS_VERSION


def _data(value):
    # A str names a file (as in CPython); bytes are the certificate or key itself.
    if isinstance(value, str):
        with open(value, "rb") as f:
            return f.read()
    return value


class SSLContext:
    def __init__(self, protocol=PROTOCOL_TLS_CLIENT):
        self._context = tls.SSLContext(protocol)

    @property
    def verify_mode(self):
        return self._context.verify_mode

    @verify_mode.setter
    def verify_mode(self, mode):
        self._context.verify_mode = mode

    def load_cert_chain(self, certfile, keyfile=None):
        self._context.load_cert_chain(_data(certfile), _data(keyfile if keyfile is not None else certfile))

    def load_verify_locations(self, cafile=None, cadata=None):
        self._context.load_verify_locations(_data(cafile) if cafile is not None else cadata)

    def set_ciphers(self, ciphers):
        self._context.set_ciphers(ciphers)

    def get_ciphers(self):
        return self._context.get_ciphers()

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True, server_hostname=None):
        return self._context.wrap_socket(
            sock, server_side=server_side, do_handshake_on_connect=do_handshake_on_connect,
            server_hostname=server_hostname)


def wrap_socket(sock, server_side=False, key=None, cert=None, cert_reqs=CERT_NONE, cadata=None,
                server_hostname=None, do_handshake=True):
    context = SSLContext(PROTOCOL_TLS_SERVER if server_side else PROTOCOL_TLS_CLIENT)
    if cert is not None or key is not None:
        context.load_cert_chain(cert, key)
    if cadata is not None:
        context.load_verify_locations(cadata=cadata)
    context.verify_mode = cert_reqs
    return context.wrap_socket(sock, server_side=server_side, do_handshake_on_connect=do_handshake,
                               server_hostname=server_hostname)
