// As ESP-IDF provides it: TCP_NODELAY & co. come from lwIP's sockets.h.
#include "lwip/sockets.h"
