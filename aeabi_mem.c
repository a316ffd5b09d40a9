// The ARM EABI memory helpers (__aeabi_memcpy & co.) that LLVM calls from
// the Rust core, forwarded to the firmware's own memcpy/memmove/memset.
//
// Rust's compiler_builtins carries its own copies (about 1.3 KB on Cortex-M),
// which would duplicate the C library's: micropython.mk hides those from the
// linker, and these take their place. Weak, so that a C library that has
// them (newlib does) is used instead. Built for bare-metal ARM targets only.

#include <stddef.h>
#include <string.h>

#if defined(__ARM_EABI__)

#define WEAK __attribute__((weak))
#define WEAK_ALIAS(name) __attribute__((weak, alias(#name)))

WEAK void __aeabi_memcpy(void *dest, const void *src, size_t n) {
    memcpy(dest, src, n);
}
WEAK_ALIAS(__aeabi_memcpy) void __aeabi_memcpy4(void *dest, const void *src, size_t n);
WEAK_ALIAS(__aeabi_memcpy) void __aeabi_memcpy8(void *dest, const void *src, size_t n);

WEAK void __aeabi_memmove(void *dest, const void *src, size_t n) {
    memmove(dest, src, n);
}
WEAK_ALIAS(__aeabi_memmove) void __aeabi_memmove4(void *dest, const void *src, size_t n);
WEAK_ALIAS(__aeabi_memmove) void __aeabi_memmove8(void *dest, const void *src, size_t n);

// Note the EABI argument order: (dest, n, c), not memset's (dest, c, n).
WEAK void __aeabi_memset(void *dest, size_t n, int c) {
    memset(dest, c, n);
}
WEAK_ALIAS(__aeabi_memset) void __aeabi_memset4(void *dest, size_t n, int c);
WEAK_ALIAS(__aeabi_memset) void __aeabi_memset8(void *dest, size_t n, int c);

WEAK void __aeabi_memclr(void *dest, size_t n) {
    memset(dest, 0, n);
}
WEAK_ALIAS(__aeabi_memclr) void __aeabi_memclr4(void *dest, size_t n);
WEAK_ALIAS(__aeabi_memclr) void __aeabi_memclr8(void *dest, size_t n);

#endif
