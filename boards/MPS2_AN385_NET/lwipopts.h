// lwIP configuration of the MPS2_AN385_NET board: NO_SYS=1, run in PendSV
// (board_net.c), IPv4 with DHCP (static fallback), DNS and IGMP.
#ifndef MPS2_NET_LWIPOPTS_H
#define MPS2_NET_LWIPOPTS_H

#include <stdint.h>

#define NO_SYS                      1
#define SYS_LIGHTWEIGHT_PROT        0

// lwIP checks at the top of its raw API that it runs in its own context:
// here PendSV, or code that holds the lwIP lock. The board counts the calls
// that do not (board_net.c, lan.stats()['unlocked']; the tests check it).
// Its pools and pbuf reference counts make the same check where they would
// protect themselves from interrupts (SYS_ARCH_PROTECT, else empty with
// NO_SYS=1): pbuf_free and memp, which the raw API's check misses.
void mps2_lwip_check_core_locked(void);
#define LWIP_ASSERT_CORE_LOCKED()   mps2_lwip_check_core_locked()
#define SYS_ARCH_DECL_PROTECT(lev)
#define SYS_ARCH_PROTECT(lev)       mps2_lwip_check_core_locked()
#define SYS_ARCH_UNPROTECT(lev)
#define LWIP_NETCONN                0
#define LWIP_SOCKET                 0
#define LWIP_RAW                    0

#define LWIP_IPV4                   1
// `make cross` type-checks the lwIP raw backend with IPv6 too (-DLWIP_IPV6=1).
#ifndef LWIP_IPV6
#define LWIP_IPV6                   0
#endif
#if LWIP_IPV6
// The dual-stack board (beside modlwip, as rp2 configures lwIP) also has a
// loopback interface, so that IPv6 runs end to end inside the board (::1):
// QEMU's user network takes no IPv6 forwards here.
#define LWIP_NETIF_LOOPBACK         1
#define LWIP_HAVE_LOOPIF            1
#define LWIP_LOOPBACK_MAX_PBUFS     16
#endif
#define LWIP_ARP                    1
#define LWIP_ETHERNET               1
#define LWIP_DHCP                   1
#define LWIP_DHCP_DOES_ACD_CHECK    0
#define LWIP_ACD                    0
#define LWIP_AUTOIP                 0
#define LWIP_DNS                    1
#define DNS_MAX_SERVERS             2
#define LWIP_IGMP                   1
#define LWIP_NETIF_HOSTNAME         1
#define SO_REUSE                    1
#define TCP_LISTEN_BACKLOG          1
#define LWIP_TCP_KEEPALIVE          1
#define LWIP_CHKSUM_ALGORITHM       3

// Memory: enough for a few fast connections and a full TCP window each.
#define MEM_ALIGNMENT               4
#define MEM_SIZE                    (48 * 1024)
#define PBUF_POOL_SIZE              32
#define MEMP_NUM_PBUF               32
#define MEMP_NUM_TCP_PCB            12
#define MEMP_NUM_TCP_PCB_LISTEN     6
#define MEMP_NUM_UDP_PCB            8
#define MEMP_NUM_TCP_SEG            64
#define MEMP_NUM_SYS_TIMEOUT        (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 2)
#define TCP_MSS                     1460
#define TCP_WND                     (8 * TCP_MSS)
#define TCP_SND_BUF                 (8 * TCP_MSS)
#define TCP_SND_QUEUELEN            (4 * TCP_SND_BUF / TCP_MSS)

// Statistics: the tests read MEMP counters to prove nothing leaks.
#define LWIP_STATS                  1
#define MEMP_STATS                  1
#define MEM_STATS                   1
#define LWIP_STATS_DISPLAY          0
#define LINK_STATS                  0
#define IP_STATS                    0
#define ICMP_STATS                  0
#define IGMP_STATS                  0
#define UDP_STATS                   0
#define TCP_STATS                   0
#define ETHARP_STATS                0
#define SYS_STATS                   0

// Time and randomness from the board.
uint32_t mps2_net_ticks_ms(void);
uint32_t mps2_net_rand(void);
#define sys_now mps2_net_ticks_ms
#define LWIP_RAND() mps2_net_rand()

// MicroPython's modlwip (the comparison build) defines sys_arch_protect().
typedef uint32_t sys_prot_t;

#endif
