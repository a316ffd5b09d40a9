// Board support for MPS2_AN385_NET: the clock, bringing the network up
// (LAN9118 + lwIP, DHCP with a static fallback), running lwIP in interrupts
// as real boards do, and a small `lan` module to inspect it.
#include <stdio.h>
#include <string.h>

#include "py/mphal.h"
#include "py/runtime.h"

#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/init.h"
#include "lwip/memp.h"
#include "lwip/netif.h"
#include "lwip/stats.h"
#include "lwip/timeouts.h"
#include "lwip/priv/tcp_priv.h"
#include "netif/ethernet.h"

#include "lan9118.h"
#include "uart.h"

#if LWIP_IPV6
// lwIP's netif_find() (IPv6 scope names) calls atoi(); this port links no
// C library.
int atoi(const char *s) {
    int sign = 1, v = 0;
    if (*s == '-' || *s == '+') {
        sign = *s++ == '-' ? -1 : 1;
    }
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s++ - '0');
    }
    return sign * v;
}
#endif

// ---- time -----------------------------------------------------------------
// The MPS2 FPGA's prescaled counter: with PRESCALE = 25 MHz / 1 kHz - 1 its
// COUNTER register counts milliseconds, no interrupt needed.
#define FPGAIO_COUNTER  (*(volatile uint32_t *)0x40028018)
#define FPGAIO_PSCNTR   (*(volatile uint32_t *)0x4002801c)
#define FPGAIO_PRESCALE (*(volatile uint32_t *)0x40028020)
#define SYSCLK_HZ       (25000000)

static void ticks_init(void) {
    static bool done;
    if (!done) {
        // The prescaler takes the new period when it next reloads: restart it.
        FPGAIO_PRESCALE = SYSCLK_HZ / 1000 - 1;
        FPGAIO_PSCNTR = SYSCLK_HZ / 1000 - 1;
        done = true;
    }
}

uint32_t mps2_net_ticks_ms(void) {
    ticks_init();
    return FPGAIO_COUNTER;
}

mp_uint_t mp_hal_ticks_ms(void) {
    return mps2_net_ticks_ms();
}

mp_uint_t mp_hal_ticks_us(void) {
    ticks_init();
    uint32_t ms, sub;
    do {
        ms = FPGAIO_COUNTER;
        sub = (SYSCLK_HZ / 1000 - 1) - FPGAIO_PSCNTR; // cycles into this millisecond
    } while (ms != FPGAIO_COUNTER);
    return ms * 1000 + sub / (SYSCLK_HZ / 1000000);
}

mp_uint_t mp_hal_ticks_cpu(void) {
    return mp_hal_ticks_us();
}

uint64_t mp_hal_time_ns(void) {
    return (uint64_t)mp_hal_ticks_us() * 1000;
}

void mp_hal_delay_us(mp_uint_t us) {
    mp_uint_t t0 = mp_hal_ticks_us();
    while (mp_hal_ticks_us() - t0 < us) {
    }
}

void mp_hal_delay_ms(mp_uint_t ms) {
    mp_uint_t t0 = mp_hal_ticks_ms();
    while (mp_hal_ticks_ms() - t0 < ms) {
        mp_event_wait_ms(1); // keeps the network going; Ctrl-C may raise here
    }
}

uint32_t mps2_net_rand(void) {
    // xorshift seeded from the clock: lwIP only needs unpredictable-ish ports
    // and sequence numbers, and the emulator has no entropy source.
    static uint32_t x;
    if (x == 0) {
        x = mp_hal_ticks_us() | 1;
    }
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

void mps2_net_assert(const char *msg, const char *file, int line) {
    printf("lwIP assertion \"%s\" failed at %s:%d\n", msg, file, line);
    for (;;) {
    }
}

// ---- the network ----------------------------------------------------------

static struct netif mps2_netif;
static bool net_started;

// lwIP runs in interrupts, as on stm32 and rp2: PendSV, at the lowest
// priority, moves received frames into lwIP, runs lwIP's timers and
// loopback. SysTick pends it every millisecond (lan.preempt() changes the
// period), so lwIP pre-empts the program wherever it is, except while the
// lwIP lock is held; MicroPython's waits pend it too, so a wait sees what
// came in at once. (stm32 takes frames in the Ethernet interrupt, at
// PendSV's priority, and runs lwIP's timers every 128 ms.)
#define SCB_ICSR (*(volatile uint32_t *)0xe000ed04)
#define SCB_VTOR (*(volatile uint32_t *)0xe000ed08)
#define SCB_SHPR3 (*(volatile uint32_t *)0xe000ed20) // PendSV 23:16, SysTick 31:24
#define SYST_CSR (*(volatile uint32_t *)0xe000e010)
#define SYST_RVR (*(volatile uint32_t *)0xe000e014)
#define SYST_CVR (*(volatile uint32_t *)0xe000e018)
#define ICSR_PENDSVSET (1u << 28)
#define SYST_CSR_RUN (7u) // processor clock, interrupt, enabled
#define PRI_PENDSV (0xe0u) // the lowest with 3 or more priority bits
#define PRI_SYSTICK (0x00u)

static uint32_t lwip_runs; // PendSV runs of lwIP (lan.stats()['lwip_runs'])
// Of those, the runs SysTick pended (lan.stats()['lwip_ticks']): lwIP
// pre-empting the program wherever it was, not brought by a wait. A run
// PendSV deferred (the lock held) counts when it comes.
static volatile bool tick_pended;
static uint32_t lwip_ticks;
static uint32_t lwip_period_us; // SysTick's period, which lan.preempt sets

static inline void pend_lwip(void) {
    SCB_ICSR = ICSR_PENDSVSET;
    __asm volatile ("dsb\n isb" ::: "memory"); // taken now unless masked
}

#if !MPS2_NET_BESIDE_MODLWIP
#if !__ARM_ARCH_7M__
#error "the lwIP lock in stm32's shape needs BASEPRI (ARMv7-M)"
#endif
// The lwIP lock in stm32's shape: raise BASEPRI to PendSV's priority, which
// holds PendSV off in hardware; restore gives back the level it raised from.
static inline uint32_t get_basepri(void) {
    uint32_t v;
    __asm volatile ("mrs %0, basepri" : "=r" (v));
    return v;
}

unsigned int mps2_lwip_lock(void) {
    uint32_t old = get_basepri();
    __asm volatile ("msr basepri_max, %0" : : "r" (PRI_PENDSV) : "memory");
    return old;
}

void mps2_lwip_restore(unsigned int old) {
    __asm volatile ("msr basepri, %0" : : "r" (old) : "memory");
}

static unsigned int lwip_locked(void) {
    return get_basepri() != 0;
}

static bool lwip_deferred(void) {
    return false; // BASEPRI holds PendSV pending in hardware
}

static void lock_for_board(unsigned int *state) {
    *state = mps2_lwip_lock();
}

static void unlock_for_board(unsigned int state) {
    mps2_lwip_restore(state);
}
#else
// The build beside modlwip (built for an RP2040's CPU, ARMv6-M, which has
// no BASEPRI): the lwIP lock in rp2's shape, plain calls around a depth.
// PendSV finding the lock held returns at once and the last unlock pends
// it again, as rp2's pendsv.c defers its dispatch while pendsv_suspend()
// holds it.
static volatile unsigned int lwip_lock_depth;
static volatile bool lwip_pending;

unsigned int mps2_lwip_lock(void) {
    return lwip_lock_depth++;
}

void mps2_lwip_unlock(void) {
    if (--lwip_lock_depth == 0 && lwip_pending) {
        pend_lwip();
    }
}

static unsigned int lwip_locked(void) {
    return lwip_lock_depth;
}

static bool lwip_deferred(void) {
    if (lwip_lock_depth != 0) {
        lwip_pending = true;
        return true;
    }
    lwip_pending = false;
    return false;
}

static void lock_for_board(unsigned int *state) {
    (void)state;
    mps2_lwip_lock();
}

static void unlock_for_board(unsigned int state) {
    (void)state;
    mps2_lwip_unlock();
}
#endif

// lwIP's check of its context (LWIP_ASSERT_CORE_LOCKED in lwipopts.h): a
// raw API call neither from PendSV nor under the lwIP lock races with
// PendSV, as it would on stm32 and rp2. Counted, with the address in the
// lwIP function that saw the first one (for addr2line).
static uint32_t unlocked_calls;
static uint32_t unlocked_first;

void mps2_lwip_check_core_locked(void) {
    uint32_t ipsr;
    __asm volatile ("mrs %0, ipsr" : "=r" (ipsr));
    if ((ipsr & 0x1ff) == 14 || lwip_locked()) {
        return;
    }
    if (unlocked_calls++ == 0) {
        unlocked_first = (uint32_t)__builtin_return_address(0);
    }
}

static void mps2_pendsv(void) {
    if (!net_started || lwip_deferred()) {
        return;
    }
    ++lwip_runs;
    if (tick_pended) {
        tick_pended = false;
        ++lwip_ticks;
    }
    lan9118_poll(&mps2_netif);
    #if LWIP_NETIF_LOOPBACK
    netif_poll_all(); // what was sent to the board itself
    #endif
    sys_check_timeouts();
}

static void mps2_systick(void);

// lwIP every `us` microseconds of the 25 MHz clock (up to 671 ms).
static void set_lwip_period(uint32_t us) {
    lwip_period_us = us;
    SYST_CSR = 0;
    SYST_RVR = us * (SYSCLK_HZ / 1000000) - 1;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_RUN;
}

// The qemu port's vector table is in flash with the 16 system exceptions
// only: a copy in RAM with ours (aligned for VTOR: 16 + 32 external).
static uint32_t ram_vectors[48] __attribute__((aligned(256)));

// UART0's receive interrupt (external interrupt 0 on the AN385), at
// SysTick's priority: both read the UART.
#define UART0_CTRL (*(volatile uint32_t *)0x40004008)
#define UART0_INTCLEAR (*(volatile uint32_t *)0x4000400c)
#define UART_CTRL_RX_INTEN (1u << 3)
#define UART_INT_RX (1u << 1)
#define NVIC_ISER0 (*(volatile uint32_t *)0xe000e100)
#define NVIC_IPR0 (*(volatile uint32_t *)0xe000e400)
#define IRQ_UART0_RX 0

static void mps2_uart_rx(void);

static void interrupts_init(void) {
    const uint32_t *flash = (const uint32_t *)SCB_VTOR;
    for (size_t i = 0; i < MP_ARRAY_SIZE(ram_vectors); ++i) {
        ram_vectors[i] = i < 16 ? flash[i] : flash[3]; // HardFault's handler
    }
    ram_vectors[14] = (uint32_t)mps2_pendsv;
    ram_vectors[15] = (uint32_t)mps2_systick;
    ram_vectors[16 + IRQ_UART0_RX] = (uint32_t)mps2_uart_rx;
    SCB_VTOR = (uint32_t)ram_vectors;
    SCB_SHPR3 = (PRI_SYSTICK << 24) | (PRI_PENDSV << 16);
    NVIC_IPR0 = (NVIC_IPR0 & ~0xffu) | PRI_SYSTICK;
    UART0_CTRL |= UART_CTRL_RX_INTEN;
    NVIC_ISER0 = 1u << IRQ_UART0_RX;
    set_lwip_period(1000);
}

// Ctrl-C while code runs, as real boards see it: in the UART's receive
// interrupt (the qemu port's UART driver has none; the board enables it),
// and also every SysTick, every read of stdin and every wait. A Ctrl-C
// while code runs (the interrupt character is set only then) schedules
// KeyboardInterrupt; any other byte is held for the next read of stdin
// (QEMU holds the ones after it, and interrupts again when it is read).
// The UART is read with interrupts off outside them, so a byte is taken
// once.
static int stdin_held = -1;

static void poll_uart(void) {
    if (stdin_held >= 0) {
        return;
    }
    int c = uart_rx_chr();
    if (c < 0) {
        return;
    }
    if (c == mp_interrupt_char) {
        mp_sched_keyboard_interrupt();
    } else {
        stdin_held = c;
    }
}

static inline uint32_t irq_off(void) {
    uint32_t primask;
    __asm volatile ("mrs %0, primask\n cpsid i" : "=r" (primask) : : "memory");
    return primask;
}

static inline void irq_restore(uint32_t primask) {
    __asm volatile ("msr primask, %0" : : "r" (primask) : "memory");
}

// Waiting for a character of stdin (the REPL between commands, input())
// leaves lwIP to SysTick, as real boards do whatever the program does: a
// connection closed with data still unacknowledged goes on retransmitting
// after the code that closed it has ended.
// It sleeps until the next interrupt (a byte, or SysTick), as real boards
// do: with interrupts masked between the look and the wfi, which a
// pending interrupt still ends, so a byte that comes in between is not
// slept through.
int __wrap_mp_hal_stdin_rx_chr(void) {
    for (;;) {
        uint32_t primask = irq_off();
        poll_uart();
        int c = stdin_held;
        stdin_held = -1;
        if (c < 0) {
            __asm volatile ("wfi" ::: "memory");
        }
        irq_restore(primask);
        if (c >= 0) {
            return c;
        }
        mp_handle_pending(true); // a Ctrl-C during input() raises here
    }
}

static void mps2_uart_rx(void) {
    UART0_INTCLEAR = UART_INT_RX;
    poll_uart();
}

static void mps2_systick(void) {
    tick_pended = true;
    SCB_ICSR = ICSR_PENDSVSET;
    poll_uart();
}

void mps2_net_poll(void) {
    uint32_t primask = irq_off();
    poll_uart();
    irq_restore(primask);
    pend_lwip();
}

#if !MPS2_NET_BESIDE_MODLWIP
static uint32_t sleeps; // lan.stats()['sleeps']

// The old event hook's sleep, as stm32 has it (__WFI): until the next
// interrupt, which SysTick brings within a millisecond. Only with SysTick
// at its millisecond: with lwIP slowed past that (lan.preempt) nothing
// would wake the board in time, and with lwIP every few microseconds QEMU
// wakes a halted CPU later than that on a loaded machine, where a busy
// wait pends lwIP at every turn.
void mps2_net_sleep(void) {
    if (lwip_period_us == 1000) {
        ++sleeps;
        __asm volatile ("wfi" ::: "memory");
    }
}

// An exception pending just as the hook runs what is pending, as if an
// interrupt had made it so then (lan.pend_in_hook): once.
void mps2_net_hook_pend(void) {
    if (MP_STATE_VM(mps2_net_hook_exception) != MP_OBJ_NULL) {
        mp_sched_exception(MP_STATE_VM(mps2_net_hook_exception));
        MP_STATE_VM(mps2_net_hook_exception) = MP_OBJ_NULL;
    }
}

// lan.pend_in_hook(exc): the next run of the event hook finds `exc`
// pending when it runs what is pending (and raises it there).
static mp_obj_t lan_pend_in_hook(mp_obj_t exc) {
    MP_STATE_VM(mps2_net_hook_exception) = mp_make_raise_obj(exc);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(lan_pend_in_hook_obj, lan_pend_in_hook);
MP_REGISTER_ROOT_POINTER(mp_obj_t mps2_net_hook_exception);
#endif

void mps2_net_init(void) {
    // lwIP keeps running across soft resets; start it once. A soft reset
    // gives lwIP its usual period back.
    ticks_init();
    #if !MPS2_NET_BESIDE_MODLWIP
    MP_STATE_VM(mps2_net_hook_exception) = MP_OBJ_NULL;
    #endif
    if (net_started) {
        set_lwip_period(1000);
        return;
    }
    interrupts_init();
    unsigned int state;
    lock_for_board(&state);
    lwip_init();
    if (netif_add(&mps2_netif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, NULL,
        lan9118_netif_init, ethernet_input) == NULL) {
        unlock_for_board(state);
        printf("net: no LAN9118 found\n");
        return;
    }
    netif_set_hostname(&mps2_netif, "mps2");
    netif_set_default(&mps2_netif);
    netif_set_up(&mps2_netif);
    netif_set_link_up(&mps2_netif);
    net_started = true;
    dhcp_start(&mps2_netif);
    unlock_for_board(state);
    // QEMU's user network answers DHCP at once; fall back to its usual
    // addresses if nothing came within 3 s.
    uint32_t t0 = mps2_net_ticks_ms();
    while (!dhcp_supplied_address(&mps2_netif) && mps2_net_ticks_ms() - t0 < 3000) {
        mps2_net_poll();
    }
    lock_for_board(&state);
    if (!dhcp_supplied_address(&mps2_netif)) {
        dhcp_stop(&mps2_netif);
        ip4_addr_t ip, mask, gw;
        ip_addr_t dns;
        IP4_ADDR(&ip, 10, 0, 2, 15);
        IP4_ADDR(&mask, 255, 255, 255, 0);
        IP4_ADDR(&gw, 10, 0, 2, 2);
        IP_ADDR4(&dns, 10, 0, 2, 3);
        netif_set_addr(&mps2_netif, &ip, &mask, &gw);
        dns_setserver(0, &dns);
    }
    unlock_for_board(state);
}

// ---- the `lan` module -----------------------------------------------------

static mp_obj_t ip_str(const ip4_addr_t *a) {
    char buf[IP4ADDR_STRLEN_MAX];
    ip4addr_ntoa_r(a, buf, sizeof(buf));
    return mp_obj_new_str(buf, strlen(buf));
}

// lan.ifconfig() -> (ip, netmask, gateway, dns), or lan.ifconfig(tuple) to set
// them (static configuration). lwIP is read and changed under its lock
// (it runs in interrupts), and nothing raises while the lock is held.
static mp_obj_t lan_ifconfig(size_t n_args, const mp_obj_t *args) {
    ip4_addr_t a[4];
    unsigned int state;
    if (n_args == 1) {
        mp_obj_t *items;
        mp_obj_get_array_fixed_n(args[0], 4, &items);
        for (int i = 0; i < 4; ++i) {
            if (!ip4addr_aton(mp_obj_str_get_str(items[i]), &a[i])) {
                mp_raise_ValueError(MP_ERROR_TEXT("bad address"));
            }
        }
        ip_addr_t dns;
        ip_addr_copy_from_ip4(dns, a[3]);
        lock_for_board(&state);
        dhcp_stop(&mps2_netif);
        netif_set_addr(&mps2_netif, &a[0], &a[1], &a[2]);
        dns_setserver(0, &dns);
        unlock_for_board(state);
        return mp_const_none;
    }
    lock_for_board(&state);
    ip4_addr_copy(a[0], *netif_ip4_addr(&mps2_netif));
    ip4_addr_copy(a[1], *netif_ip4_netmask(&mps2_netif));
    ip4_addr_copy(a[2], *netif_ip4_gw(&mps2_netif));
    ip4_addr_copy(a[3], *ip_2_ip4(dns_getserver(0)));
    unlock_for_board(state);
    mp_obj_t t[4];
    for (int i = 0; i < 4; ++i) {
        t[i] = ip_str(&a[i]);
    }
    return mp_obj_new_tuple(4, t);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(lan_ifconfig_obj, 0, 1, lan_ifconfig);

// lan.stats() -> {'tcp_pcb': used, 'udp_pcb': used, 'pbuf_pool': used, ...}:
// what lwIP has allocated right now (the leak tests compare these), read
// at one moment under lwIP's lock.
static mp_obj_t lan_stats(void) {
    static const struct {
        const char *name;
        memp_t pool;
    } pools[] = {
        { "tcp_pcb", MEMP_TCP_PCB },
        { "tcp_pcb_listen", MEMP_TCP_PCB_LISTEN },
        { "tcp_seg", MEMP_TCP_SEG },
        { "udp_pcb", MEMP_UDP_PCB },
        { "pbuf", MEMP_PBUF },
        { "pbuf_pool", MEMP_PBUF_POOL },
    };
    int used[MP_ARRAY_SIZE(pools)];
    // The lwIP lock as the calling code left it: 0, or lwIP never runs again.
    unsigned int locked = lwip_locked();
    unsigned int state;
    lock_for_board(&state);
    for (size_t i = 0; i < MP_ARRAY_SIZE(pools); ++i) {
        used[i] = memp_pools[pools[i].pool]->stats->used;
    }
    int mem = lwip_stats.mem.used;
    // TCP pcbs by list: TIME_WAIT ones are lwIP's to reuse, active ones are
    // connections someone still holds.
    int active = 0, tw = 0;
    for (struct tcp_pcb *p = tcp_active_pcbs; p != NULL; p = p->next) {
        ++active;
    }
    for (struct tcp_pcb *p = tcp_tw_pcbs; p != NULL; p = p->next) {
        ++tw;
    }
    uint32_t runs = lwip_runs, ticks = lwip_ticks;
    uint32_t unlocked = unlocked_calls, unlocked_at = unlocked_first;
    unlock_for_board(state);
    mp_obj_t d = mp_obj_new_dict(0);
    for (size_t i = 0; i < MP_ARRAY_SIZE(pools); ++i) {
        mp_obj_dict_store(d, mp_obj_new_str(pools[i].name, strlen(pools[i].name)), MP_OBJ_NEW_SMALL_INT(used[i]));
    }
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_mem), MP_OBJ_NEW_SMALL_INT(mem));
    mp_obj_dict_store(d, mp_obj_new_str("tcp_active", 10), MP_OBJ_NEW_SMALL_INT(active));
    mp_obj_dict_store(d, mp_obj_new_str("tcp_time_wait", 13), MP_OBJ_NEW_SMALL_INT(tw));
    mp_obj_dict_store(d, mp_obj_new_str("lock", 4), MP_OBJ_NEW_SMALL_INT(locked));
    // How often lwIP has run in PendSV since the board started.
    mp_obj_dict_store(d, mp_obj_new_str("lwip_runs", 9), mp_obj_new_int_from_uint(runs));
    // How many of those SysTick brought.
    mp_obj_dict_store(d, mp_obj_new_str("lwip_ticks", 10), mp_obj_new_int_from_uint(ticks));
    // lwIP calls made outside its context (0), and where the first was.
    mp_obj_dict_store(d, mp_obj_new_str("unlocked", 8), mp_obj_new_int_from_uint(unlocked));
    mp_obj_dict_store(d, mp_obj_new_str("unlocked_at", 11), mp_obj_new_int_from_uint(unlocked_at));
    #if !MPS2_NET_BESIDE_MODLWIP
    // How often the event hook has slept (stm32's shape only).
    mp_obj_dict_store(d, mp_obj_new_str("sleeps", 6), mp_obj_new_int_from_uint(sleeps));
    #endif
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(lan_stats_obj, lan_stats);

// lan.pcbs() -> [(state, local port, remote port, accepts pending), ...]:
// lwIP's TCP pcbs, listeners first (their accept backlog count), then
// active and TIME_WAIT ones (for failure messages). At most 24.
static mp_obj_t lan_pcbs(void) {
    struct {
        uint16_t state, local, remote, pending;
    } p[24];
    size_t n = 0;
    unsigned int state;
    lock_for_board(&state);
    for (struct tcp_pcb_listen *l = tcp_listen_pcbs.listen_pcbs; l != NULL && n < MP_ARRAY_SIZE(p); l = l->next) {
        p[n].state = l->state;
        p[n].local = l->local_port;
        p[n].remote = 0;
        #if TCP_LISTEN_BACKLOG
        p[n].pending = l->accepts_pending;
        #else
        p[n].pending = 0;
        #endif
        ++n;
    }
    struct tcp_pcb *lists[] = { tcp_active_pcbs, tcp_tw_pcbs };
    for (size_t i = 0; i < MP_ARRAY_SIZE(lists); ++i) {
        for (struct tcp_pcb *c = lists[i]; c != NULL && n < MP_ARRAY_SIZE(p); c = c->next) {
            p[n].state = c->state;
            p[n].local = c->local_port;
            p[n].remote = c->remote_port;
            p[n].pending = 0;
            ++n;
        }
    }
    unlock_for_board(state);
    mp_obj_t list = mp_obj_new_list(0, NULL);
    for (size_t i = 0; i < n; ++i) {
        const char *name = tcp_debug_state_str(p[i].state);
        mp_obj_t t[4] = {
            mp_obj_new_str(name, strlen(name)),
            MP_OBJ_NEW_SMALL_INT(p[i].local), MP_OBJ_NEW_SMALL_INT(p[i].remote), MP_OBJ_NEW_SMALL_INT(p[i].pending),
        };
        mp_obj_list_append(list, mp_obj_new_tuple(4, t));
    }
    return list;
}
static MP_DEFINE_CONST_FUN_OBJ_0(lan_pcbs_obj, lan_pcbs);

// lan.poll(): let lwIP run once now (tests use it to settle the stack).
static mp_obj_t lan_poll(void) {
    mps2_net_poll();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(lan_poll_obj, lan_poll);

// lan.preempt(us): lwIP runs every `us` microseconds (1 to 671,000; 1000
// after a soft reset). Short periods make lwIP pre-empt the program at many
// more points: tests use it to look for code that touches lwIP or what its
// callbacks change without holding the lwIP lock.
static mp_obj_t lan_preempt(mp_obj_t us_in) {
    mp_int_t us = mp_obj_get_int(us_in);
    if (us < 1 || us > 0xffffff / (SYSCLK_HZ / 1000000)) {
        mp_raise_ValueError(MP_ERROR_TEXT("period out of range"));
    }
    set_lwip_period(us);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(lan_preempt_obj, lan_preempt);

static const mp_rom_map_elem_t lan_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_lan) },
    { MP_ROM_QSTR(MP_QSTR_ifconfig), MP_ROM_PTR(&lan_ifconfig_obj) },
    { MP_ROM_QSTR(MP_QSTR_stats), MP_ROM_PTR(&lan_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_poll), MP_ROM_PTR(&lan_poll_obj) },
    { MP_ROM_QSTR(MP_QSTR_preempt), MP_ROM_PTR(&lan_preempt_obj) },
    { MP_ROM_QSTR(MP_QSTR_pcbs), MP_ROM_PTR(&lan_pcbs_obj) },
    #if !MPS2_NET_BESIDE_MODLWIP
    { MP_ROM_QSTR(MP_QSTR_pend_in_hook), MP_ROM_PTR(&lan_pend_in_hook_obj) },
    #endif
};
static MP_DEFINE_CONST_DICT(lan_module_globals, lan_module_globals_table);

const mp_obj_module_t lan_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&lan_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_lan, lan_module);

#if MPS2_NET_MODLWIP
// MicroPython's modlwip (the comparison build) takes this from the `network`
// module, which this board does not have.
int mp_mod_network_prefer_dns_use_ip_version = 4;
#endif
