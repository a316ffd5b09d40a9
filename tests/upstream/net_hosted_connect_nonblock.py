# net_hosted/connect_nonblock.py against a loopback listener.
from _loopback import upstream, listener

l, addr = listener()
upstream("connect_nonblock").test(addr)
l.close()
