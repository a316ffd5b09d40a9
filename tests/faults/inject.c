/* Fault injection for the unix firmware, loaded with LD_PRELOAD: the C
 * library's socket calls misbehave the way a loaded kernel lets them, so
 * the tests can check that usocket copes (tests/faults/test_faults.py).
 *
 * Configured by the environment (unset: the call is passed through):
 *   USOCKET_FAULT_EINTR=N     every Nth recv/recvfrom/send/sendto/accept4/
 *                             poll fails with EINTR before doing anything, as
 *                             when a signal arrives first; every Nth connect
 *                             is made and then reports EINTR (Linux goes on
 *                             connecting in the background)
 *   USOCKET_FAULT_EAGAIN=N    every Nth recv/recvfrom/send/sendto/accept4
 *                             that could not block (a non-blocking socket
 *                             or MSG_DONTWAIT) fails with EAGAIN before doing
 *                             anything, as after a spurious wakeup: poll said
 *                             ready, then a datagram failed its checksum or
 *                             another process took the data. A blocking
 *                             socket says EAGAIN only when SO_RCVTIMEO or
 *                             SO_SNDTIMEO runs out, so it is left alone.
 *   USOCKET_FAULT_SHORT=1     stream send/recv move at most a few bytes per
 *                             call (partial transfers are always allowed)
 *   USOCKET_FAULT_SOCKET=E:N  every Nth socket() fails with errno E (a number)
 *   USOCKET_FAULT_ACCEPT=E:N  every Nth accept4 takes the connection, closes
 *                             it and fails with errno E (ECONNABORTED, ...)
 *   USOCKET_FAULT_SETSOCKOPT=E  every setsockopt fails with errno E
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static long setting(const char *name, long *second) {
    const char *v = getenv(name);
    if (second != NULL) {
        *second = 0;
    }
    if (v == NULL) {
        return 0;
    }
    char *end;
    long first = strtol(v, &end, 10);
    if (second != NULL) {
        *second = *end == ':' ? strtol(end + 1, NULL, 10) : 0;
    }
    return first;
}

/* True on every Nth call counted by `counter` (N from the environment). */
static int nth(atomic_long *counter, long every) {
    return every > 0 && (atomic_fetch_add(counter, 1) + 1) % every == 0;
}

static atomic_long eintr_calls;
static int inject_eintr(void) {
    return nth(&eintr_calls, setting("USOCKET_FAULT_EINTR", NULL));
}

static atomic_long eagain_calls;
/* EINTR first, then a spurious EAGAIN: the two counters are separate. */
static int inject(int fd, int flags) {
    if (inject_eintr()) {
        errno = EINTR;
        return 1;
    }
    long every = setting("USOCKET_FAULT_EAGAIN", NULL);
    if (every > 0 && ((flags & MSG_DONTWAIT) || (fcntl(fd, F_GETFL) & O_NONBLOCK))
        && nth(&eagain_calls, every)) {
        errno = EAGAIN;
        return 1;
    }
    return 0;
}

static int is_stream(int fd) {
    int type = 0;
    socklen_t len = sizeof(type);
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

/* A short length for stream transfers: 1 to 7 bytes, varying. */
static atomic_long short_calls;
static size_t shorten(int fd, size_t len) {
    if (len > 1 && setting("USOCKET_FAULT_SHORT", NULL) && is_stream(fd)) {
        size_t n = 1 + (size_t)(atomic_fetch_add(&short_calls, 1) % 7);
        return n < len ? n : len;
    }
    return len;
}

#define REAL(ret, name, ...) \
    static ret (*real)(__VA_ARGS__); \
    if (real == NULL) { \
        real = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name); \
    }

#define FAIL(e) do { errno = (e); return -1; } while (0)

ssize_t recv(int fd, void *buf, size_t len, int flags) {
    REAL(ssize_t, recv, int, void *, size_t, int);
    if (inject(fd, flags)) return -1;
    return real(fd, buf, shorten(fd, len), flags);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *alen) {
    REAL(ssize_t, recvfrom, int, void *, size_t, int, struct sockaddr *, socklen_t *);
    if (inject(fd, flags)) return -1;
    return real(fd, buf, shorten(fd, len), flags, addr, alen);
}

ssize_t send(int fd, const void *buf, size_t len, int flags) {
    REAL(ssize_t, send, int, const void *, size_t, int);
    if (inject(fd, flags)) return -1;
    return real(fd, buf, shorten(fd, len), flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr, socklen_t alen) {
    REAL(ssize_t, sendto, int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    if (inject(fd, flags)) return -1;
    return real(fd, buf, shorten(fd, len), flags, addr, alen);
}

int poll(struct pollfd *fds, nfds_t n, int timeout) {
    REAL(int, poll, struct pollfd *, nfds_t, int);
    if (timeout != 0 && inject_eintr()) FAIL(EINTR);
    return real(fds, n, timeout);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    REAL(int, connect, int, const struct sockaddr *, socklen_t);
    int r = real(fd, addr, len);
    if (r == 0 && is_stream(fd) && inject_eintr()) FAIL(EINTR);
    return r;
}

static atomic_long accept_calls;
int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    REAL(int, accept4, int, struct sockaddr *, socklen_t *, int);
    if (inject(fd, 0)) return -1;
    int r = real(fd, addr, len, flags);
    long every, e = setting("USOCKET_FAULT_ACCEPT", &every);
    if (r >= 0 && nth(&accept_calls, every)) {
        close(r);
        FAIL((int)e);
    }
    return r;
}

static atomic_long socket_calls;
int socket(int domain, int type, int protocol) {
    REAL(int, socket, int, int, int);
    long every, e = setting("USOCKET_FAULT_SOCKET", &every);
    if (nth(&socket_calls, every)) FAIL((int)e);
    return real(domain, type, protocol);
}

int setsockopt(int fd, int level, int name, const void *value, socklen_t len) {
    REAL(int, setsockopt, int, int, int, const void *, socklen_t);
    long e = setting("USOCKET_FAULT_SETSOCKOPT", NULL);
    if (e) FAIL((int)e);
    return real(fd, level, name, value, len);
}
