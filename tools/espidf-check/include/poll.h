// As ESP-IDF provides it: poll() from lwIP.
#include "lwip/sockets.h"
