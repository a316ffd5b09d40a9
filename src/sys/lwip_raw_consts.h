// Socket constants for the lwIP raw-API backend, which has no BSD socket
// headers to take them from. The values are lwIP's own (lwip/sockets.h and
// lwip/netdb.h, as ESP-IDF's lwIP uses them), so code that moves between an
// esp32 and a bare-metal lwIP board sees the same numbers. Only what the
// backend implements is defined here; src/constants.h lists every name.
#ifndef USOCKET_LWIP_RAW_CONSTS_H
#define USOCKET_LWIP_RAW_CONSTS_H

#define AF_UNSPEC       0
#define AF_INET         2
#if LWIP_IPV6
#define AF_INET6        10
#else
// Still defined so code can name it; socket(AF_INET6) raises EAFNOSUPPORT.
#define AF_INET6        10
#endif

#define SOCK_STREAM     1
#define SOCK_DGRAM      2

#define IPPROTO_IP      0
#define IPPROTO_TCP     6
#define IPPROTO_UDP     17
#define IPPROTO_IPV6    41

#define SOL_SOCKET      0xfff
#define SO_REUSEADDR    0x0004
#define SO_KEEPALIVE    0x0008
#define SO_BROADCAST    0x0020
#define SO_LINGER       0x0080
#define SO_SNDBUF       0x1001
#define SO_RCVBUF       0x1002
#define SO_ERROR        0x1007
#define SO_TYPE         0x1008

#define TCP_NODELAY     0x01

#define IP_TOS          1
#define IP_TTL          2
#define IP_ADD_MEMBERSHIP  3
#define IP_DROP_MEMBERSHIP 4
#define IP_MULTICAST_TTL   5
#define IP_MULTICAST_IF    6
#define IP_MULTICAST_LOOP  7

#define MSG_PEEK        0x01
#define MSG_WAITALL     0x02
#define MSG_OOB         0x04
#define MSG_DONTWAIT    0x08

#define SHUT_RD         0
#define SHUT_WR         1
#define SHUT_RDWR       2

#define AI_PASSIVE      0x01
#define AI_CANONNAME    0x02
#define AI_NUMERICHOST  0x04
#define AI_NUMERICSERV  0x08

#define EAI_NONAME      200
#define EAI_SERVICE     201
#define EAI_FAIL        202
#define EAI_MEMORY      203
#define EAI_FAMILY      204

#define SOMAXCONN       8

#endif
