# tests/micropython/random_threads.py with the collector kept from running:
# under ThreadSanitizer a collection deadlocks (the sanitizer holds back the
# collector's signal to a thread waiting for the heap's lock), so here the
# heap is large (races.py gives it 512 MB), collection is disabled and the
# pool's explicit gc.collect() does nothing. Dropped sockets are then
# finalised only at exit; everything else, three threads making random calls
# on one pool, is as in the original, with its expected output.
import sys

sys.path.insert(0, "../micropython")
import gc
import random_calls


class NoCollection:
    @staticmethod
    def collect():
        pass


random_calls.gc = NoCollection
gc.disable()
import random_threads  # noqa: E402,F401 (runs its seeds on import)
