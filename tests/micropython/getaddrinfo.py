# getaddrinfo: tuples in CPython's shape, filters honoured, IPv4 and IPv6.
# Only numeric hosts, None and "localhost" (from /etc/hosts): no DNS traffic.
from _helpers import socket, expect

def show(results):
    for fam, typ, proto, canon, addr in sorted(results, key=lambda r: (r[0], r[1], r[2])):
        print(" ", fam, typ, proto, repr(canon), addr)

print("numeric v4, stream")
show(socket.getaddrinfo("127.0.0.1", 80, 0, socket.SOCK_STREAM))
print("numeric v6, dgram, by keyword")
show(socket.getaddrinfo("::1", 5353, type=socket.SOCK_DGRAM))
print("af= keyword (MicroPython docs) and family= (CPython)")
show(socket.getaddrinfo("127.0.0.1", 1, af=socket.AF_INET, type=socket.SOCK_STREAM))
show(socket.getaddrinfo("::1", 1, family=socket.AF_INET6, type=socket.SOCK_STREAM))
print("proto filter")
show(socket.getaddrinfo("127.0.0.1", 7, socket.AF_INET, 0, socket.IPPROTO_UDP))
print("family filter excludes the other family")
expect("v4 text, AF_INET6", socket.getaddrinfo, "127.0.0.1", 80, socket.AF_INET6)
print("all types when type is 0:", sorted(set(r[1] for r in socket.getaddrinfo("127.0.0.1", 80))))
print("port as str, bytes host, service None")
show(socket.getaddrinfo(b"127.0.0.1", "8080", 0, socket.SOCK_STREAM))
show(socket.getaddrinfo("127.0.0.1", None, 0, socket.SOCK_STREAM))
print("host None: loopback, or the wildcard with AI_PASSIVE")
show(socket.getaddrinfo(None, 80, socket.AF_INET, socket.SOCK_STREAM))
show(socket.getaddrinfo(None, 80, socket.AF_INET6, socket.SOCK_STREAM, 0, socket.AI_PASSIVE))
print("localhost has IPv4 (and the result connects)")
r = socket.getaddrinfo("localhost", 0, socket.AF_INET, socket.SOCK_STREAM)
print(r[0][4][0])
l = socket.socket(r[0][0], r[0][1], r[0][2])
l.bind(r[0][4])
l.listen()
c = socket.socket(r[0][0], r[0][1], r[0][2])
c.connect(socket.getaddrinfo("127.0.0.1", l.getsockname()[1])[0][-1])
print("connected", l.accept()[1][0])
c.close()
l.close()
print("canonical name with AI_CANONNAME")
r = socket.getaddrinfo("127.0.0.1", 80, 0, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)
print(r[0][3])
print("AI_NUMERICHOST refuses names without looking them up")
try:
    socket.getaddrinfo("localhost", 80, 0, 0, 0, socket.AI_NUMERICHOST)
except OSError as e:
    print(e.errno == socket.EAI_NONAME, e.errno < 0, isinstance(e.args[1], str))
print("every argument by keyword, as CPython takes them")
show(socket.getaddrinfo(host="127.0.0.1", port=80, family=socket.AF_INET, type=socket.SOCK_STREAM, proto=0, flags=0))
show(socket.getaddrinfo("127.0.0.1", port=80, type=socket.SOCK_DGRAM))
for args, kw in (((), {}), (("127.0.0.1",), {}), ((), {"port": 80})):
    try:
        socket.getaddrinfo(*args, **kw)
    except TypeError:
        print("TypeError without host or port")
print("the usual MicroPython idiom")
addr = socket.getaddrinfo("127.0.0.1", 8000)[0][-1]
print(addr)
