"""`ussl`, the module's name before MicroPython 1.21, for the libraries that
still import it (umqtt.simple and urequests from PyPI, umqtt.simple2): the
same as `ssl`. MicroPython finds `uxxx` for built-in modules by itself, but
`ssl` is frozen Python, so the old name needs this file."""
from ssl import *  # SSLContext, wrap_socket, PROTOCOL_*, CERT_*
