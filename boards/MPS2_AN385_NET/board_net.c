// Board support for MPS2_AN385_NET: the clock, bringing the network up
// (LAN9118 + lwIP, DHCP with a static fallback), polling it while MicroPython
// waits, and a small `lan` module to inspect it.
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
static bool polling;

// The lwIP lock's depth (see mpconfigboard_net.h).
static unsigned int lwip_lock_depth;

unsigned int mps2_lwip_lock(void) {
    return lwip_lock_depth++;
}

void mps2_lwip_restore(unsigned int depth) {
    lwip_lock_depth = depth;
}

void mps2_lwip_unlock(void) {
    lwip_lock_depth--;
}

// Ctrl-C while code runs. Real boards see it in their UART's receive
// interrupt; the qemu port reads its UART only for stdin, so this board
// looks at it whenever MicroPython waits (the event hook below). Any other
// byte is held for the next read of stdin (QEMU holds the ones after it).
static int stdin_held = -1;

static void poll_ctrl_c(void) {
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

static void run_lwip(void);

// Waiting for a character of stdin (the REPL between commands, input())
// keeps lwIP running, as real boards run it from a timer interrupt whatever
// the program does: a connection closed with data still unacknowledged
// goes on retransmitting after the code that closed it has ended, and
// connections keep arriving for a listener. (Not through the event hook: a
// Ctrl-C typed here is the REPL's character, not a KeyboardInterrupt.)
int __wrap_mp_hal_stdin_rx_chr(void) {
    for (;;) {
        if (stdin_held >= 0) {
            int c = stdin_held;
            stdin_held = -1;
            return c;
        }
        int c = uart_rx_chr();
        if (c >= 0) {
            return c;
        }
        run_lwip();
    }
}

void mps2_net_poll(void) {
    poll_ctrl_c();
    run_lwip();
}

static void run_lwip(void) {
    // lwIP callbacks never wait, but guard anyway: lwIP is not reentrant.
    // Nor does lwIP run while its lock is held (deferred, as PendSV is).
    if (!net_started || polling || lwip_lock_depth != 0) {
        return;
    }
    polling = true;
    lan9118_poll(&mps2_netif);
    #if LWIP_NETIF_LOOPBACK
    netif_poll_all(); // what was sent to the board itself
    #endif
    sys_check_timeouts();
    polling = false;
}

void mps2_net_init(void) {
    // lwIP keeps running across soft resets; start it once.
    ticks_init();
    if (net_started) {
        return;
    }
    lwip_init();
    if (netif_add(&mps2_netif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, NULL,
        lan9118_netif_init, ethernet_input) == NULL) {
        printf("net: no LAN9118 found\n");
        return;
    }
    netif_set_hostname(&mps2_netif, "mps2");
    netif_set_default(&mps2_netif);
    netif_set_up(&mps2_netif);
    netif_set_link_up(&mps2_netif);
    net_started = true;
    dhcp_start(&mps2_netif);
    // QEMU's user network answers DHCP at once; fall back to its usual
    // addresses if nothing came within 3 s.
    uint32_t t0 = mps2_net_ticks_ms();
    while (!dhcp_supplied_address(&mps2_netif) && mps2_net_ticks_ms() - t0 < 3000) {
        mps2_net_poll();
    }
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
}

// ---- the `lan` module -----------------------------------------------------

static mp_obj_t ip_str(const ip4_addr_t *a) {
    char buf[IP4ADDR_STRLEN_MAX];
    ip4addr_ntoa_r(a, buf, sizeof(buf));
    return mp_obj_new_str(buf, strlen(buf));
}

// lan.ifconfig() -> (ip, netmask, gateway, dns), or lan.ifconfig(tuple) to set
// them (static configuration).
static mp_obj_t lan_ifconfig(size_t n_args, const mp_obj_t *args) {
    if (n_args == 1) {
        mp_obj_t *items;
        mp_obj_get_array_fixed_n(args[0], 4, &items);
        ip4_addr_t a[4];
        for (int i = 0; i < 4; ++i) {
            if (!ip4addr_aton(mp_obj_str_get_str(items[i]), &a[i])) {
                mp_raise_ValueError(MP_ERROR_TEXT("bad address"));
            }
        }
        dhcp_stop(&mps2_netif);
        netif_set_addr(&mps2_netif, &a[0], &a[1], &a[2]);
        ip_addr_t dns;
        ip_addr_copy_from_ip4(dns, a[3]);
        dns_setserver(0, &dns);
        return mp_const_none;
    }
    const ip_addr_t *dns = dns_getserver(0);
    mp_obj_t t[4] = {
        ip_str(netif_ip4_addr(&mps2_netif)),
        ip_str(netif_ip4_netmask(&mps2_netif)),
        ip_str(netif_ip4_gw(&mps2_netif)),
        ip_str(ip_2_ip4(dns)),
    };
    return mp_obj_new_tuple(4, t);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(lan_ifconfig_obj, 0, 1, lan_ifconfig);

// lan.stats() -> {'tcp_pcb': used, 'udp_pcb': used, 'pbuf_pool': used, ...}:
// what lwIP has allocated right now (the leak tests compare these).
static mp_obj_t lan_stats(void) {
    mp_obj_t d = mp_obj_new_dict(0);
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
    for (size_t i = 0; i < MP_ARRAY_SIZE(pools); ++i) {
        mp_obj_dict_store(d, mp_obj_new_str(pools[i].name, strlen(pools[i].name)),
            MP_OBJ_NEW_SMALL_INT(memp_pools[pools[i].pool]->stats->used));
    }
    mp_obj_dict_store(d, MP_OBJ_NEW_QSTR(MP_QSTR_mem), MP_OBJ_NEW_SMALL_INT(lwip_stats.mem.used));
    // TCP pcbs by list: TIME_WAIT ones are lwIP's to reuse, active ones are
    // connections someone still holds.
    int active = 0, tw = 0;
    for (struct tcp_pcb *p = tcp_active_pcbs; p != NULL; p = p->next) {
        ++active;
    }
    for (struct tcp_pcb *p = tcp_tw_pcbs; p != NULL; p = p->next) {
        ++tw;
    }
    mp_obj_dict_store(d, mp_obj_new_str("tcp_active", 10), MP_OBJ_NEW_SMALL_INT(active));
    mp_obj_dict_store(d, mp_obj_new_str("tcp_time_wait", 13), MP_OBJ_NEW_SMALL_INT(tw));
    // The lwIP lock's depth: 0 here, or lwIP never runs again.
    mp_obj_dict_store(d, mp_obj_new_str("lock", 4), MP_OBJ_NEW_SMALL_INT(lwip_lock_depth));
    return d;
}
static MP_DEFINE_CONST_FUN_OBJ_0(lan_stats_obj, lan_stats);

// lan.poll(): let lwIP run once (tests use it to settle the stack).
static mp_obj_t lan_poll(void) {
    mps2_net_poll();
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(lan_poll_obj, lan_poll);

static const mp_rom_map_elem_t lan_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_lan) },
    { MP_ROM_QSTR(MP_QSTR_ifconfig), MP_ROM_PTR(&lan_ifconfig_obj) },
    { MP_ROM_QSTR(MP_QSTR_stats), MP_ROM_PTR(&lan_stats_obj) },
    { MP_ROM_QSTR(MP_QSTR_poll), MP_ROM_PTR(&lan_poll_obj) },
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
