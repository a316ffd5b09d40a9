// lwIP's compiler/platform glue for the MPS2_AN385_NET board.
#ifndef MPS2_NET_ARCH_CC_H
#define MPS2_NET_ARCH_CC_H

#include <stdint.h>

#ifndef BYTE_ORDER
#define BYTE_ORDER LITTLE_ENDIAN
#endif
#define LWIP_NO_INTTYPES_H 1
// No C library is linked on this port: lwIP uses its own isdigit() & co.
#define LWIP_NO_CTYPE_H 1
#define X8_F  "02x"
#define U16_F "hu"
#define S16_F "hd"
#define X16_F "hx"
#define U32_F "lu"
#define S32_F "ld"
#define X32_F "lx"
#define SZT_F "u"

void mps2_net_assert(const char *msg, const char *file, int line);
#define LWIP_PLATFORM_DIAG(x)
#define LWIP_PLATFORM_ASSERT(x) mps2_net_assert((x), __FILE__, __LINE__)

#endif
