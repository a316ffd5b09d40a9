# random_calls.py's random calls made by three threads on one shared pool
# of sockets: a socket one thread is waiting in (a 0, 3 or 20 ms timeout) is
# sent to, read, connected, shut down or closed by another, and the pool
# closes its oldest socket whatever the others are doing with it. Only
# random_calls.py's allowed exceptions may come out of a call; the process
# must not crash or hang, and every thread must finish. The pool's
# bookkeeping is under a lock, the socket calls are not. Which thread gets
# the pool when is the scheduler's, so no two runs make the same calls.
# Other seeds: micropython random_threads.py FIRST END (to fuzz by hand).
import _thread
import random
import sys
import time
from random_calls import Pool, pick, record, ALLOWED, TIMEOUTS

THREADS = 3
CALLS = 600  # per thread and seed


# Everything in functions: module globals must not change while other
# threads look names up (micropython/micropython#12698).
def worker(pool, lock, done):
    succeeded = None  # (an exception other than the allowed ones)
    try:
        n = 0
        for i in range(CALLS):
            with lock:
                call = pick(pool, random)
            if call is None:
                continue
            s, family, name, args = call
            try:
                result = getattr(s, name)(*args)
                n += 1
            except ALLOWED:
                continue
            with lock:
                record(pool, s, family, name, result)
        succeeded = n
    finally:
        with lock:
            done.append(succeeded)


def run(seed):
    random.seed(seed)
    pool = Pool(random, TIMEOUTS)
    lock = _thread.allocate_lock()
    done = []
    for _ in range(THREADS):
        _thread.start_new_thread(worker, (pool, lock, done))
    t0 = time.ticks_ms()
    while len(done) < THREADS and time.ticks_diff(time.ticks_ms(), t0) < 120000:
        time.sleep_ms(10)
    with lock:
        pool.close()
    with lock:
        return done[:]


def main():
    seeds = range(int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else range(1, 11)
    for seed in seeds:
        done = run(seed)
        # a thread missing is hung; one that raised other than the allowed
        # exceptions (printed by the thread) is None
        n = sum(d for d in done if d is not None)
        print("seed", seed, "threads finished", len([d for d in done if d is not None]),
              "busy" if n > 300 else "idle (%d calls succeeded)" % n)


main()
