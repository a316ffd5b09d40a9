// lwIP configured as ESP-IDF configures it for applications: NO_SYS=0, the
// BSD socket API with lwip_* names and POSIX names. Only for the espidf
// type-check build (make check-espidf): it lets build.rs evaluate the socket
// constants an esp32 firmware sees.
#ifndef USOCKET_ESPIDF_CHECK_LWIPOPTS_H
#define USOCKET_ESPIDF_CHECK_LWIPOPTS_H
#define NO_SYS                  0
#define LWIP_SOCKET             1
#define LWIP_NETCONN            1
#define LWIP_COMPAT_SOCKETS     1
#define LWIP_POSIX_SOCKETS_IO_NAMES 0
#define LWIP_IPV4               1
#define LWIP_IPV6               1
#define LWIP_DNS                1
#define LWIP_IGMP               1
#define LWIP_TCP_KEEPALIVE      1
#define LWIP_SO_RCVTIMEO        1
#define LWIP_SO_SNDTIMEO        1
#define LWIP_SO_RCVBUF          1
#define SO_REUSE                1
#define LWIP_SOCKET_OFFSET      54
#define LWIP_TIMEVAL_PRIVATE    0
#define LWIP_ERRNO_STDINCLUDE   1
#endif
