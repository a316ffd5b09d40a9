# MPS2-AN385 (Cortex-M3) with a network: QEMU's LAN9118 Ethernet controller,
# lwIP 2.2 (NO_SYS=1, in PendSV) and the usocket module as `socket`.
# Build with MicroPython's qemu port: make BOARD_DIR=<this dir> (see the
# top-level Makefile: make firmware-qemu).

QEMU_ARCH = arm
QEMU_MACHINE = mps2-an385

CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMP_CONFIGFILE='"mpconfigboard_net.h"'

LDSCRIPT = mcu/arm/mps2.ld

SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/$(MPS2_GCHELPER).o

# lwIP from lib/lwip (the top-level Makefile links it to Debian's lwIP source).
MICROPY_PY_LWIP = 1

# Which socket module the firmware has: usocket (this project, the default;
# it comes in through USER_C_MODULES), modlwip (MicroPython's own), both
# (beside-modlwip: usocket as `socket`, as stm32 and rp2 boards have it), or
# none (the baseline for flash measurements).
MPS2_NET_SOCKET ?= usocket
# The board beside modlwip is built as an RP2040 build would be: the whole
# firmware for the Cortex-M0+ (ARMv6-M, which the Cortex-M3 runs), so the
# code for CPUs without compare-and-swap is what runs.
ifeq ($(MPS2_NET_SOCKET),beside-modlwip)
MPS2_CPU = cortex-m0plus
MPS2_GCHELPER = gchelper_thumb1
MPY_CROSS_FLAGS += -march=armv6m
USOCKET_RUST_TARGET = thumbv6m-none-eabi
else
MPS2_CPU = cortex-m3
MPS2_GCHELPER = gchelper_thumb2
MPY_CROSS_FLAGS += -march=armv7m
USOCKET_RUST_TARGET = thumbv7m-none-eabi
endif
CFLAGS += -mthumb -mcpu=$(MPS2_CPU) -mfloat-abi=soft
CFLAGS += -DMICROPY_HW_MCU_NAME='"$(MPS2_CPU)"'
ifeq ($(MPS2_NET_SOCKET),modlwip)
CFLAGS += -DMPS2_NET_MODLWIP=1
endif
ifeq ($(MPS2_NET_SOCKET),beside-modlwip)
# lwIP dual-stack, as rp2 configures it (ports/rp2/lwip_inc/lwipopts.h):
# every address is then an ip_addr_t with a type, IPv4 ones included.
CFLAGS += -DMPS2_NET_MODLWIP=1 -DMPS2_NET_BESIDE_MODLWIP=1 -DLWIP_IPV6=1
endif

INC += -I$(BOARD_DIR)
SRC_C += $(BOARD_DIR)/board_net.c $(BOARD_DIR)/lan9118.c
# stdin goes through board_net.c, which holds a byte it read looking for
# Ctrl-C while code runs.
LDFLAGS += -Wl,--wrap=mp_hal_stdin_rx_chr

FROZEN_MANIFEST = $(BOARD_DIR)/manifest.py
MICROPY_HEAP_SIZE = 262144
