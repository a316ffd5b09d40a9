// As ESP-IDF's newlib port provides it: the lwIP definitions.
#include "lwip/inet.h"
#include "lwip/sockets.h"
