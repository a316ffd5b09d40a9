# Threads: a thread blocked in recv/accept does not stop the others doing
# socket I/O (the GIL, where the port has one, is released while waiting).
import _thread, time
from _helpers import socket, tcp_pair, ename


# Everything in a function: MicroPython's module globals must not change
# while other threads look names up (micropython/micropython#12698).
def main():
    results = []
    lock = _thread.allocate_lock()

    def blocked_recv(sock):
        data = sock.recv(10)
        with lock:
            results.append(("recv", data))

    def blocked_accept(l):
        s, addr = l.accept()
        with lock:
            results.append(("accept", addr[0]))
        s.close()

    idle_c, idle_s = tcp_pair()
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen()
    _thread.start_new_thread(blocked_recv, (idle_s,))
    _thread.start_new_thread(blocked_accept, (l,))
    time.sleep_ms(100)

    # meanwhile this thread does 200 round trips on its own connection
    c, s = tcp_pair()
    for i in range(200):
        c.send(b"ping")
        assert s.recv(4) == b"ping"
        s.send(b"pong")
        assert c.recv(4) == b"pong"
    print("main thread ran while others were blocked, results so far:", results)

    # now wake the blocked threads
    idle_c.send(b"wake")
    c2 = socket.socket()
    c2.connect(l.getsockname())
    for _ in range(200):
        if len(results) == 2:
            break
        time.sleep_ms(10)
    print(sorted(results))
    for x in (idle_c, idle_s, c, s, c2, l):
        x.close()

    # close() from another thread wakes a thread blocked in the socket with
    # OSError(EBADF), instead of leaving it hanging on a descriptor number that
    # may be reused.
    def blocked(name, op):
        try:
            op()
            r = "returned"
        except OSError as e:
            r = ename(e.errno)
        with lock:
            results.append((name, r))

    results = []
    c, s = tcp_pair()
    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    t = socket.socket()
    t.settimeout(30)
    t.bind(("127.0.0.1", 0))
    t.listen()
    _thread.start_new_thread(blocked, ("recv", lambda: s.recv(10)))
    _thread.start_new_thread(blocked, ("accept", l.accept))
    _thread.start_new_thread(blocked, ("recvfrom", lambda: u.recvfrom(10)))
    _thread.start_new_thread(blocked, ("accept with timeout", t.accept))
    time.sleep_ms(200)
    for x in (s, l, u, t):
        x.close()
    for _ in range(300):
        if len(results) == 4:
            break
        time.sleep_ms(10)
    print(sorted(results))
    c.close()


main()
