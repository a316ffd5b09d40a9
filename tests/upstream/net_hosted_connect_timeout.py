# net_hosted/connect_timeout.py against a loopback listener that never
# answers (full accept queue), instead of an outside address.
import errno
from _loopback import upstream, silent_listener

l, filler, addr = silent_listener()
t = upstream("connect_timeout")
t.test(addr, 0, (errno.EINPROGRESS,))
t.test(addr, 1, (errno.ETIMEDOUT, "timed out"))
filler.close()
l.close()
