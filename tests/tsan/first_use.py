# Threads using a fresh datagram socket's address cache at the same moment:
# the cache is made on first use, and two threads may make it at once
# (races.py runs this under ThreadSanitizer). Every datagram must arrive
# from the right sender either way.
import _thread, time
import socket

THREADS = 3
ROUNDS = 40


def main():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(5)
    to = rx.getsockname()
    state = {"go": 0, "done": 0}
    lock = _thread.allocate_lock()

    def sender(s, n):
        while state["go"] != n:
            pass
        s.sendto(b"%d" % n, to)
        with lock:
            state["done"] += 1

    good = 0
    for n in range(1, ROUNDS + 1):
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.bind(("127.0.0.1", 0))
        state["done"] = 0
        for _ in range(THREADS):
            _thread.start_new_thread(sender, (tx, n))
        time.sleep_ms(2)
        state["go"] = n
        # (the count read under the lock: the senders' calls then happen
        # before this thread's close, for ThreadSanitizer too)
        while True:
            with lock:
                if state["done"] == THREADS:
                    break
            time.sleep_ms(1)
        for _ in range(THREADS):
            data, src = rx.recvfrom(16)
            good += data == b"%d" % n and src == tx.getsockname()
        tx.close()
    print("datagrams from the right sender:", good, "of", ROUNDS * THREADS)


main()
