# Memory pressure for the out-of-memory tests (tests/micropython and the
# emulated board's): under_pressure(call) fills the heap, then gives memory
# back a little at a time until call() gets through.
import gc

hog = [None] * 4000
SIZES = (65536, 4096, 256, 16, 1, 1)


def exhaust():
    # Fill the heap: big pieces first, then smaller ones into the gaps. No
    # garbage may be left for the next allocation to collect (a for loop
    # would leave its iterator).
    n = 0
    i = 0
    while i < len(SIZES):
        gc.collect()
        try:
            while n < len(hog):
                hog[n] = bytearray(SIZES[i])
                n += 1
        except MemoryError:
            pass
        i += 1
    return n


def under_pressure(call):
    # Gives memory back a little at a time until the call gets through.
    n = exhaust()
    errors = 0
    while True:
        try:
            result = call()
            break
        except MemoryError:
            errors += 1
            n -= 1
            hog[n] = None
            gc.collect()
    for i in range(n):
        hog[i] = None
    return result, errors
