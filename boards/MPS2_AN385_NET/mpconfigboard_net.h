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

// lwIP runs when MicroPython waits: the event hook polls the Ethernet
// controller and lwIP's timers (no interrupts, one thread), so the lwIP lock
// has nothing to exclude.
void mps2_net_init(void);
void mps2_net_poll(void);
#define MICROPY_PORT_INIT_FUNC mps2_net_init()
#define MICROPY_INTERNAL_EVENT_HOOK mps2_net_poll()
#define MICROPY_INTERNAL_WFE(timeout_ms)
#define MICROPY_PY_LWIP_ENTER
#define MICROPY_PY_LWIP_REENTER
#define MICROPY_PY_LWIP_EXIT
