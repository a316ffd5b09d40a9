# net_hosted/connect_poll.py against a loopback listener.
from _loopback import upstream, listener

l, addr = listener()
upstream("connect_poll").test(addr)
l.close()
