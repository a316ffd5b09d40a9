// Compiler glue for the espidf type-check configuration.
#ifndef USOCKET_ESPIDF_CHECK_CC_H
#define USOCKET_ESPIDF_CHECK_CC_H
#include <stdint.h>
#include <sys/time.h>
#define LWIP_PLATFORM_DIAG(x)
#define LWIP_PLATFORM_ASSERT(x)
#endif
