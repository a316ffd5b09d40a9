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
 *   USOCKET_FAULT_ANY=E1,E2,...:N  every Nth call of any socket function
 *                             here (and bind, listen, getsockopt,
 *                             getsockname, getpeername, shutdown, socketpair,
 *                             ioctl(FIONBIO)) fails at once, doing nothing,
 *                             with the next errno of the list in turn: the
 *                             errors a kernel may give that the module has no
 *                             special case for
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
    static int (*real_getsockopt)(int, int, int, void *, socklen_t *);
    if (real_getsockopt == NULL) {
        real_getsockopt = (int (*)(int, int, int, void *, socklen_t *))dlsym(RTLD_NEXT, "getsockopt");
    }
    int type = 0;
    socklen_t len = sizeof(type);
    return real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

/* USOCKET_FAULT_ANY: true (errno set) when this call is to fail. */
static atomic_long any_calls, any_failures;
static int fail_any(void) {
    const char *v = getenv("USOCKET_FAULT_ANY");
    const char *every = v == NULL ? NULL : strchr(v, ':');
    if (every == NULL || !nth(&any_calls, strtol(every + 1, NULL, 10))) {
        return 0;
    }
    long errnos[16], n = 0;
    char *p = (char *)v;
    do {
        errnos[n++] = strtol(p, &p, 10);
    } while (*p++ == ',' && n < 16);
    errno = (int)errnos[atomic_fetch_add(&any_failures, 1) % n];
    return 1;
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
    if (fail_any()) return -1;
    if (inject(fd, flags)) return -1;
    return real(fd, buf, shorten(fd, len), flags);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *alen) {
    REAL(ssize_t, recvfrom, int, void *, size_t, int, struct sockaddr *, socklen_t *);
    if (fail_any()) return -1;
    if (inject(fd, flags)) return -1;
    return real(fd, buf, shorten(fd, len), flags, addr, alen);
}

ssize_t send(int fd, const void *buf, size_t len, int flags) {
    REAL(ssize_t, send, int, const void *, size_t, int);
    if (fail_any()) return -1;
    if (inject(fd, flags)) return -1;
    return real(fd, buf, shorten(fd, len), flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr, socklen_t alen) {
    REAL(ssize_t, sendto, int, const void *, size_t, int, const struct sockaddr *, socklen_t);
    if (fail_any()) return -1;
    if (inject(fd, flags)) return -1;
    return real(fd, buf, shorten(fd, len), flags, addr, alen);
}

int poll(struct pollfd *fds, nfds_t n, int timeout) {
    REAL(int, poll, struct pollfd *, nfds_t, int);
    if (fail_any()) return -1;
    if (timeout != 0 && inject_eintr()) FAIL(EINTR);
    return real(fds, n, timeout);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    REAL(int, connect, int, const struct sockaddr *, socklen_t);
    if (fail_any()) return -1;
    int r = real(fd, addr, len);
    if (r == 0 && is_stream(fd) && inject_eintr()) FAIL(EINTR);
    return r;
}

static atomic_long accept_calls;
int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    REAL(int, accept4, int, struct sockaddr *, socklen_t *, int);
    if (fail_any()) return -1;
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
    if (fail_any()) return -1;
    long every, e = setting("USOCKET_FAULT_SOCKET", &every);
    if (nth(&socket_calls, every)) FAIL((int)e);
    return real(domain, type, protocol);
}

int setsockopt(int fd, int level, int name, const void *value, socklen_t len) {
    REAL(int, setsockopt, int, int, int, const void *, socklen_t);
    if (fail_any()) return -1;
    long e = setting("USOCKET_FAULT_SETSOCKOPT", NULL);
    if (e) FAIL((int)e);
    return real(fd, level, name, value, len);
}

/* The rest only fail under USOCKET_FAULT_ANY. */

int socketpair(int domain, int type, int protocol, int sv[2]) {
    REAL(int, socketpair, int, int, int, int *);
    if (fail_any()) return -1;
    return real(domain, type, protocol, sv);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    REAL(int, bind, int, const struct sockaddr *, socklen_t);
    if (fail_any()) return -1;
    return real(fd, addr, len);
}

int listen(int fd, int backlog) {
    REAL(int, listen, int, int);
    if (fail_any()) return -1;
    return real(fd, backlog);
}

int getsockopt(int fd, int level, int name, void *value, socklen_t *len) {
    REAL(int, getsockopt, int, int, int, void *, socklen_t *);
    if (fail_any()) return -1;
    return real(fd, level, name, value, len);
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
    REAL(int, getsockname, int, struct sockaddr *, socklen_t *);
    if (fail_any()) return -1;
    return real(fd, addr, len);
}

int getpeername(int fd, struct sockaddr *addr, socklen_t *len) {
    REAL(int, getpeername, int, struct sockaddr *, socklen_t *);
    if (fail_any()) return -1;
    return real(fd, addr, len);
}

int shutdown(int fd, int how) {
    REAL(int, shutdown, int, int);
    if (fail_any()) return -1;
    return real(fd, how);
}

/* Only FIONBIO (settimeout, setblocking): the terminal's requests pass. */
int ioctl(int fd, unsigned long request, ...) {
    REAL(int, ioctl, int, unsigned long, ...);
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (request == FIONBIO && fail_any()) return -1;
    return real(fd, request, arg);
}
