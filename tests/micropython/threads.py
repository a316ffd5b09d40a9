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

    # Threads sharing one datagram socket: what recvfrom reports is the sender
    # of that datagram, and sendto sends where it was told, even when the
    # calls run side by side (the address cache and the room for a new
    # sender's address are taken and given back under a lock where there is
    # no GIL).
    shared = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    shared.bind(("127.0.0.1", 0))
    shared.settimeout(5)
    peers = []
    for i in range(4):
        p = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        p.bind(("127.0.0.1", 0))
        p.settimeout(5)
        peers.append(p)
    names = [p.getsockname() for p in peers]
    N = 100
    tally = {"received": 0, "wrong sender": 0, "errors": 0}

    def receiver():
        for _ in range(N):
            try:
                d, a = shared.recvfrom(16)
                ok = a == names[int(d)]
            except OSError:
                ok = None
            with lock:
                tally["received" if ok is not None else "errors"] += 1
                if ok is False:
                    tally["wrong sender"] += 1

    for _ in range(2):
        _thread.start_new_thread(receiver, ())
    for i in range(2 * N):
        # no more than 16 in flight: lwIP holds 32 datagrams in all
        while tally["received"] + tally["errors"] < i - 16:
            time.sleep_ms(1)
        peers[i % 4].sendto(b"%d" % (i % 4), shared.getsockname())
    for _ in range(500):
        if tally["received"] + tally["errors"] == 2 * N:
            break
        time.sleep_ms(10)
    print("shared recvfrom: received", tally["received"], "wrong sender", tally["wrong sender"],
          "errors", tally["errors"])

    sent = []

    def sender(k):
        dest = names[k]
        for _ in range(15):  # lwIP holds 32 datagrams in all
            shared.sendto(b"%d" % k, dest)
        with lock:
            sent.append(k)

    for k in range(2):
        _thread.start_new_thread(sender, (k,))
    for _ in range(500):
        if len(sent) == 2:
            break
        time.sleep_ms(10)
    time.sleep_ms(200)  # lwIP delivers on loopback from its own thread
    arrived = mixed = 0
    for k in range(2):
        peers[k].settimeout(0)
        try:
            while True:
                mixed += peers[k].recv(16) != b"%d" % k
                arrived += 1
        except OSError:
            pass
    print("shared sendto: arrived", arrived, "at the wrong peer", mixed)
    for x in peers + [shared]:
        x.close()

    # Two threads writing one connection: every byte arrives (in some order).
    c, s = tcp_pair()
    s.settimeout(5)
    done = []

    def writer(k):
        for _ in range(50):
            c.sendall(bytes([k]) * 1000)
        with lock:
            done.append(k)

    for k in range(2):
        _thread.start_new_thread(writer, (k,))
    got = [0, 0]
    while sum(got) < 100000:
        d = s.recv(4096)
        if not d:
            break
        for b in d:
            got[b] += 1
    for _ in range(500):
        if len(done) == 2:
            break
        time.sleep_ms(10)
    print("two writers on one connection:", got, sorted(done))
    c.close()
    s.close()

    def finished(test):
        # (under the lock: what the threads did happens before what follows)
        with lock:
            return test()

    # Two threads binding one socket at once, or one binding it while the
    # other listens (which binds an unbound socket): one binds, the other
    # may be refused with EINVAL, and the socket ends up bound once. (lwIP
    # put a TCP pcb bound twice on its bound list twice: a cycle, and the
    # next search for a free port hung the stack.)
    ready = []

    def binder(sock, op, out):
        with lock:  # (list operations are not atomic without a GIL)
            ready.append(1)
        while len(ready) < 2:
            pass  # start together
        try:
            sock.bind(("127.0.0.1", 0)) if op == "bind" else sock.listen()
            r = "ok"
        except OSError as e:
            r = ename(e.errno)
        with lock:
            out.append(r)

    as_linux = 0
    for i in range(200):
        x = socket.socket()
        ready, out = [], []
        second = "bind" if i % 2 else "listen"
        _thread.start_new_thread(binder, (x, "bind", out))
        _thread.start_new_thread(binder, (x, second, out))
        while not finished(lambda: len(out) == 2):
            time.sleep_ms(1)
        out.sort()
        # bind and bind: one is refused; bind and listen: both may succeed
        # (bind first), as may one alone
        good = [["EINVAL", "ok"]] + ([["ok", "ok"]] if second == "listen" else [])
        as_linux += out in good and x.getsockname()[1] != 0
        x.close()
    print("two binds at once: of 200 sockets, bound once", as_linux)

    # listen() while another thread calls recv() on the socket over and
    # over: listen works, the reader gets errors. (lwIP freed the receive
    # mailbox a reader was inside: a hang or an abort, "invalid mbox".)
    def reader(sock, state):
        while not state["stop"]:
            try:
                sock.recv(10)
            except OSError:
                pass
        with lock:
            state["done"] = True

    outcomes = {}
    for i in range(300):
        x = socket.socket()
        x.settimeout(0)
        state = {"stop": False, "done": False}
        _thread.start_new_thread(reader, (x, state))
        time.sleep_us(50 + i % 100)
        try:
            x.listen(1)
            r = "listening"
        except OSError as e:
            r = ename(e.errno)
        outcomes[r] = outcomes.get(r, 0) + 1
        state["stop"] = True
        while not finished(lambda: state["done"]):
            time.sleep_ms(1)
        x.close()
    print("listen while another thread reads, 300 sockets:", outcomes)

    l = socket.socket()
    l.bind(("127.0.0.1", 0))
    l.listen()
    c = socket.socket()
    c.connect(l.getsockname())
    print("the stack still binds, listens and connects:", l.getsockname()[1] != 0)
    for x in (c, l):
        x.close()


main()
