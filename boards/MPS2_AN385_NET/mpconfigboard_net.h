// Configuration of the MPS2_AN385_NET board: the qemu port's own settings
// (mpconfigport.h), plus what a networked board needs. Selected with
// -DMP_CONFIGFILE by mpconfigboard.mk.
#include "mpconfigport.h"

// select.poll, time and asyncio, for sockets.
#undef MICROPY_PY_SELECT
#define MICROPY_PY_SELECT (1)
#undef MICROPY_PY_TIME
#define MICROPY_PY_TIME (1)
#undef MICROPY_PY_ASYNCIO
#define MICROPY_PY_ASYNCIO (1)

// lwIP is compiled in either way; MicroPython's own lwIP socket module
// (extmod/modlwip.c) only in the comparison build.
#if !MPS2_NET_MODLWIP
#undef MICROPY_PY_LWIP
#define MICROPY_PY_LWIP (0)
#endif
// Both modules, as on stm32 and rp2 (where MICROPY_PY_LWIP also runs lwIP):
// usocket made `socket` the way a cmake port's board would do it.
#if MPS2_NET_BESIDE_MODLWIP
#define USOCKET_ALSO_SOCKET (1)
#endif

// lwIP runs in PendSV, pended by SysTick every millisecond and by the
// event hook whenever MicroPython waits (board_net.c).
void mps2_net_init(void);
void mps2_net_poll(void);
#define MICROPY_PORT_INIT_FUNC mps2_net_init()
#if MPS2_NET_BESIDE_MODLWIP
// rp2's shape of the hooks (the newer macros). rp2 sleeps in
// MICROPY_INTERNAL_WFE; this board does not, so that the benchmarks (run
// on this build, QEMU counting instructions) count no time asleep.
#define MICROPY_INTERNAL_EVENT_HOOK mps2_net_poll()
#define MICROPY_INTERNAL_WFE(timeout_ms)
#else
// stm32's shape (1.25, also mimxrt and renesas-ra): the old macro, which
// runs what is pending, which may raise, and sleeps until the next
// interrupt. (mps2_net_hook_pend stands for an interrupt that makes
// something pending just then: lan.pend_in_hook.)
void mps2_net_hook_pend(void);
void mps2_net_sleep(void);
#define MICROPY_EVENT_POLL_HOOK \
    do { \
        extern void mp_handle_pending(bool); \
        mps2_net_hook_pend(); \
        mp_handle_pending(true); \
        mps2_net_poll(); \
        mps2_net_sleep(); \
    } while (0);
#endif

// The lwIP lock, in the two shapes real ports give it, each with the
// meaning it has there: PendSV, where lwIP runs, is held off while the lock
// is held, so a socket call that waited for lwIP while holding it would
// hang here as it would there. stm32 and mimxrt: ENTER declares the state
// EXIT restores (`atomic_state`, BASEPRI as on stm32). rp2: plain calls
// around a depth, PendSV deferred until the last unlock.
unsigned int mps2_lwip_lock(void);
void mps2_lwip_restore(unsigned int basepri);
void mps2_lwip_unlock(void);
#if MPS2_NET_BESIDE_MODLWIP
#define MICROPY_PY_PENDSV_ENTER mps2_lwip_lock()
#define MICROPY_PY_PENDSV_EXIT mps2_lwip_unlock()
#define MICROPY_PY_LWIP_ENTER mps2_lwip_lock();
#define MICROPY_PY_LWIP_REENTER mps2_lwip_lock();
#define MICROPY_PY_LWIP_EXIT mps2_lwip_unlock();
#else
#define MICROPY_PY_PENDSV_ENTER unsigned int atomic_state = mps2_lwip_lock();
#define MICROPY_PY_PENDSV_REENTER atomic_state = mps2_lwip_lock();
#define MICROPY_PY_PENDSV_EXIT mps2_lwip_restore(atomic_state);
#define MICROPY_PY_LWIP_ENTER MICROPY_PY_PENDSV_ENTER
#define MICROPY_PY_LWIP_REENTER MICROPY_PY_PENDSV_REENTER
#define MICROPY_PY_LWIP_EXIT MICROPY_PY_PENDSV_EXIT
#endif
