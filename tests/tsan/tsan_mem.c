/* Entry points the Rust core's ThreadSanitizer instrumentation calls and
 * GCC 12's libtsan does not have (LLVM's compiler-rt added them later): its
 * copies and fills of memory, passed to memcpy/memset/memmove, which the
 * sanitizer intercepts and checks. Linked into build/micropython-tsan only. */
#include <string.h>

void *__tsan_memcpy(void *dst, const void *src, size_t n) {
    return memcpy(dst, src, n);
}

void *__tsan_memset(void *dst, int c, size_t n) {
    return memset(dst, c, n);
}

void *__tsan_memmove(void *dst, const void *src, size_t n) {
    return memmove(dst, src, n);
}
