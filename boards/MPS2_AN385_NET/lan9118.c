// Polled lwIP driver for the SMSC LAN9118 as QEMU emulates it: frames go
// through the controller's TX/RX data FIFOs, one 32-bit word at a time.
#include <string.h>

#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "netif/ethernet.h"

#include "lan9118.h"

#define LAN9118_BASE (0x40200000)
#define REG(off) (*(volatile uint32_t *)(LAN9118_BASE + (off)))

#define RX_DATA_FIFO    (0x00)
#define TX_DATA_FIFO    (0x20)
#define RX_STATUS_FIFO  (0x40)
#define TX_STATUS_FIFO  (0x48)
#define ID_REV          (0x50)
#define RX_CFG          (0x6c)
#define TX_CFG          (0x70)
#define HW_CFG          (0x74)
#define RX_FIFO_INF     (0x7c)
#define TX_FIFO_INF     (0x80)
#define PMT_CTRL        (0x84)
#define MAC_CSR_CMD     (0xa4)
#define MAC_CSR_DATA    (0xa8)

#define MAC_CSR_BUSY    (1u << 31)
#define MAC_CSR_READ    (1u << 30)
#define MAC_CR          (1)
#define MAC_ADDRH       (2)
#define MAC_ADDRL       (3)
#define MAC_CR_TXEN     (1u << 3)
#define MAC_CR_RXEN     (1u << 2)
#define MAC_CR_MCPAS    (1u << 19) // pass all multicast (IGMP groups)

#define TX_CFG_TX_ON    (1u << 1)
#define TX_CMD_A_FIRST  (1u << 13)
#define TX_CMD_A_LAST   (1u << 12)
#define RX_STS_ERROR    (1u << 15)

#define FRAME_MAX       (1536)

static uint32_t frame_words[FRAME_MAX / 4];

static uint32_t mac_read(uint32_t reg) {
    REG(MAC_CSR_CMD) = MAC_CSR_BUSY | MAC_CSR_READ | reg;
    while (REG(MAC_CSR_CMD) & MAC_CSR_BUSY) {
    }
    return REG(MAC_CSR_DATA);
}

static void mac_write(uint32_t reg, uint32_t val) {
    REG(MAC_CSR_DATA) = val;
    REG(MAC_CSR_CMD) = MAC_CSR_BUSY | reg;
    while (REG(MAC_CSR_CMD) & MAC_CSR_BUSY) {
    }
}

static err_t lan9118_output(struct netif *netif, struct pbuf *p) {
    (void)netif;
    if (p->tot_len > FRAME_MAX - 4) {
        return ERR_BUF;
    }
    // One segment per frame: copy the chain into a word buffer.
    uint16_t len = pbuf_copy_partial(p, frame_words, p->tot_len, 0);
    REG(TX_DATA_FIFO) = TX_CMD_A_FIRST | TX_CMD_A_LAST | len;
    REG(TX_DATA_FIFO) = len;
    for (size_t i = 0; i < (len + 3u) / 4; ++i) {
        REG(TX_DATA_FIFO) = frame_words[i];
    }
    // Drain the TX status FIFO so it never fills.
    while ((REG(TX_FIFO_INF) >> 16) & 0xff) {
        (void)REG(TX_STATUS_FIFO);
    }
    LINK_STATS_INC(link.xmit);
    return ERR_OK;
}

int lan9118_poll(struct netif *netif) {
    int frames = 0;
    while ((REG(RX_FIFO_INF) >> 16) & 0xff) {
        uint32_t status = REG(RX_STATUS_FIFO);
        uint32_t len = (status >> 16) & 0x3fff; // includes the 4-byte CRC
        uint32_t words = (len + 3) / 4;
        if (len > FRAME_MAX || len < 18) {
            for (uint32_t i = 0; i < words; ++i) {
                (void)REG(RX_DATA_FIFO);
            }
            continue;
        }
        for (uint32_t i = 0; i < words; ++i) {
            frame_words[i] = REG(RX_DATA_FIFO);
        }
        if (status & RX_STS_ERROR) {
            continue;
        }
        struct pbuf *p = pbuf_alloc(PBUF_RAW, len - 4, PBUF_POOL);
        if (p == NULL) {
            LINK_STATS_INC(link.memerr);
            continue; // no buffers: drop it, TCP will send it again
        }
        pbuf_take(p, frame_words, len - 4);
        if (netif->input(p, netif) != ERR_OK) {
            pbuf_free(p);
        }
        ++frames;
    }
    return frames;
}

err_t lan9118_netif_init(struct netif *netif) {
    if ((REG(ID_REV) >> 16) != 0x0118) {
        return ERR_IF;
    }
    // The MAC address QEMU gave the controller.
    uint32_t lo = mac_read(MAC_ADDRL);
    uint32_t hi = mac_read(MAC_ADDRH);
    netif->hwaddr_len = 6;
    netif->hwaddr[0] = lo;
    netif->hwaddr[1] = lo >> 8;
    netif->hwaddr[2] = lo >> 16;
    netif->hwaddr[3] = lo >> 24;
    netif->hwaddr[4] = hi;
    netif->hwaddr[5] = hi >> 8;

    REG(TX_CFG) = TX_CFG_TX_ON;
    REG(RX_CFG) = 0; // no offset, no padding
    // Our address, broadcast and multicast; not promiscuous (the reset value).
    mac_write(MAC_CR, MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_MCPAS);

    netif->name[0] = 'e';
    netif->name[1] = 'n';
    netif->mtu = 1500;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP;
    netif->output = etharp_output;
    netif->linkoutput = lan9118_output;
    return ERR_OK;
}
