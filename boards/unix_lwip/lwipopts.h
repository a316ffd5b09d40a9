// lwIP for the unix firmware with usocket's lwip_socket backend
// (build/micropython-lwip): lwIP's BSD socket layer running inside the
// MicroPython process, configured the way ESP-IDF configures it for the
// esp32 port (components/lwip/port/include/lwipopts.h is the model), so
// that the backend ESP32 firmware uses is tested here.
//
// Only loopback exists (127.0.0.1 and ::1 inside lwIP): no packet ever
// leaves the process.
#ifndef USOCKET_UNIX_LWIPOPTS_H
#define USOCKET_UNIX_LWIPOPTS_H

// An operating system with threads: lwIP's tcpip thread does the protocol
// work; callers take the core lock (as ESP-IDF with
// CONFIG_LWIP_TCPIP_CORE_LOCKING).
#define NO_SYS                          0
#define SYS_LIGHTWEIGHT_PROT            1
#define LWIP_TCPIP_CORE_LOCKING         1
#define LWIP_TCPIP_CORE_LOCKING_INPUT   0
#define TCPIP_MBOX_SIZE                 64
#define TCPIP_THREAD_STACKSIZE          16384
#define DEFAULT_TCP_RECVMBOX_SIZE       64
#define DEFAULT_UDP_RECVMBOX_SIZE       32
#define DEFAULT_ACCEPTMBOX_SIZE         16

// The BSD socket API under its lwip_* names only (ESP-IDF maps the POSIX
// names itself; here they would collide with the C library's).
#define LWIP_SOCKET                     1
#define LWIP_NETCONN                    1
#define LWIP_COMPAT_SOCKETS             0
#define LWIP_POSIX_SOCKETS_IO_NAMES     0
#define LWIP_SOCKET_SELECT              1
#define LWIP_SOCKET_POLL                1
#define LWIP_NETCONN_FULLDUPLEX         1
#define LWIP_NETCONN_SEM_PER_THREAD     1
#define LWIP_SO_RCVTIMEO                1
#define LWIP_SO_SNDTIMEO                1
#define LWIP_SO_RCVBUF                  1
#define LWIP_SO_LINGER                  1
#define SO_REUSE                        1
#define LWIP_TCP_KEEPALIVE              1
#define LWIP_FIONREAD_LINUXMODE         1
// As on ESP-IDF: socket numbers start above the C library's descriptors
// (there, FD_SETSIZE - CONFIG_LWIP_MAX_SOCKETS), and there are 16 of them.
#define LWIP_SOCKET_OFFSET              48
#define MEMP_NUM_NETCONN                16

// The C library's errno values (Linux's): MicroPython's unix port reports
// those, and lwIP sets the C library's errno.
#define LWIP_ERRNO_STDINCLUDE           1

// Memory: the C library's malloc for lwIP's heap; fixed pools for the rest,
// so running out of sockets or PCBs behaves as on a device.
#define MEM_LIBC_MALLOC                 1
#define MEMP_MEM_MALLOC                 0
#define MEM_ALIGNMENT                   8
#define MEMP_NUM_TCP_PCB                32
// TIME_WAIT for 2 s instead of 2 minutes (lwIP's default TCP_MSL is 60 s),
// so that a test can see lwIP free a TIME_WAIT pcb (lwip_sockets.py).
#define TCP_MSL                         1000
#define MEMP_NUM_TCP_PCB_LISTEN         16
#define MEMP_NUM_UDP_PCB                16
#define MEMP_NUM_TCP_SEG                256
#define MEMP_NUM_NETBUF                 32
#define MEMP_NUM_PBUF                   64
#define MEMP_NUM_TCPIP_MSG_API          32
#define MEMP_NUM_TCPIP_MSG_INPKT        64
#define MEMP_NUM_SYS_TIMEOUT            (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 8)
#define PBUF_POOL_SIZE                  64

// IPv4 and IPv6, loopback only.
#define LWIP_IPV4                       1
#define LWIP_IPV6                       1
#define LWIP_ARP                        0
#define LWIP_ETHERNET                   0
#define LWIP_ICMP                       1
#define LWIP_RAW                        0
#define LWIP_DHCP                       0
#define LWIP_AUTOIP                     0
#define LWIP_IGMP                       1
#define LWIP_IPV6_MLD                   1
#define LWIP_IPV6_AUTOCONFIG            0
#define LWIP_IPV6_DHCP6                 0
// The loopback interface has no MTU: nothing is ever fragmented.
#define IP_REASSEMBLY                   0
#define IP_FRAG                         0
#define LWIP_IPV6_FRAG                  0
#define LWIP_IPV6_REASS                 0
#define LWIP_NETIF_LOOPBACK             1
#define LWIP_HAVE_LOOPIF                1
// Multicast joins on the loopback interface, for the multicast tests.
#define LWIP_LOOPIF_MULTICAST           1
#define LWIP_LOOPBACK_MAX_PBUFS         0
#define LWIP_NETIF_LOOPBACK_MULTITHREADING 1

// TCP sized like ESP-IDF's defaults (5744-byte windows on a 1436-byte MSS).
#define LWIP_TCP                        1
#define TCP_MSS                         1436
#define TCP_WND                         (4 * TCP_MSS)
#define TCP_SND_BUF                     (4 * TCP_MSS)
#define TCP_SND_QUEUELEN                (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_LISTEN_BACKLOG              1
#define LWIP_TCP_TIMESTAMPS             0
#define TCP_QUEUE_OOSEQ                 1

// UDP
#define LWIP_UDP                        1
#define LWIP_BROADCAST_PBUFS            0

// DNS: names from a local list ("localhost"); no server is configured, so
// any other name fails at once and no query ever leaves.
#define LWIP_DNS                        1
#define DNS_LOCAL_HOSTLIST              1
#define DNS_LOCAL_HOSTLIST_IS_DYNAMIC   0
#define DNS_LOCAL_HOSTLIST_INIT         { DNS_LOCAL_HOSTLIST_ELEM("localhost", IPADDR4_INIT_BYTES(127, 0, 0, 1)) }
#define LWIP_DNS_SUPPORT_MDNS_QUERIES   0

#define LWIP_STATS                      0

#define LWIP_NETIF_API                  0
#define LWIP_NETIF_STATUS_CALLBACK      0

#endif
