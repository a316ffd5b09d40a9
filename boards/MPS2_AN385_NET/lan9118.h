// Polled lwIP driver for the SMSC LAN9118 Ethernet controller as QEMU's
// mps2-an385 machine has it (MMIO at 0x40200000).
#ifndef MPS2_NET_LAN9118_H
#define MPS2_NET_LAN9118_H

#include "lwip/netif.h"

// netif init callback for netif_add().
err_t lan9118_netif_init(struct netif *netif);
// Moves every received frame into lwIP; returns how many.
int lan9118_poll(struct netif *netif);

#endif
