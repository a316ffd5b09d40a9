// Starts lwIP's tcpip thread when the firmware starts, before MicroPython's
// main runs: the loopback interface (127.0.0.1, ::1) is up from the first
// line of Python on.

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "lwip/sys.h"
#include "lwip/tcpip.h"

static void started(void *arg) {
    sys_sem_signal((sys_sem_t *)arg);
}

__attribute__((constructor)) static void boot(void) {
    // lwIP's thread takes no signals: Ctrl-C is MicroPython's business, and
    // a signal handled on lwIP's thread would not interrupt the main one.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    sys_sem_t sem;
    if (sys_sem_new(&sem, 0) != ERR_OK) {
        fputs("lwIP: cannot start\n", stderr);
        abort();
    }
    tcpip_init(started, &sem);
    sys_sem_wait(&sem);
    sys_sem_free(&sem);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

// Named with -Wl,--undefined so the linker takes this file out of the
// archive (nothing else refers to it).
void usocket_lwip_boot(void) {
}
