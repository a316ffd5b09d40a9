# usocket: the front door.
#
#   make            build/micropython (unix port; `socket` and `usocket` are ours)
#   make run        ... and start its REPL
#   make test       build everything and run every test
#   make firmware-dual   build/micropython-dual (`usocket` ours, `socket` MicroPython's C module)
#   make MICROPY_DIR=/path/to/micropython ...   use your own MicroPython checkout
#
# A fresh Debian machine needs nothing else: missing Debian packages are
# installed when running as root (otherwise named), and MicroPython is fetched
# from Debian's pinned source package.

MICROPY_DIR ?= micropython
BUILD ?= build
PYTHON ?= python3
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# MicroPython 1.25.0, Debian's source package (lib/ submodules stripped; TLS
# through the system's mbedTLS).
MICROPY_DEB_VERSION := 1.25.0+ds-1
MICROPY_DEB_SUITE := trixie
MICROPY_ORIG := micropython_1.25.0+ds.orig.tar.xz
MICROPY_ORIG_SHA256 := 7b25be99a502f070b2de81dafc08da7051d992325d6e67daa9045a918fffdbea

# Debian packages the build and the tests use.
DEB_BUILD := dpkg-dev gcc make pkg-config libclang-dev libffi-dev libmbedtls-dev python3
DEB_TEST := iproute2 procps

TOP := $(abspath .)
MICROPY_ABS := $(abspath $(MICROPY_DIR))
UNIX_PORT := $(MICROPY_ABS)/ports/unix
# USER_C_MODULES is a directory of modules: give it one holding this repo.
USERMODS := $(abspath $(BUILD))/usermods

# The unix firmware, as Debian configures it, with our frozen manifest.
UNIX_FLAGS := VARIANT=standard FROZEN_MANIFEST=$(TOP)/tools/manifest.py \
	MICROPY_SSL_AXTLS=0 MICROPY_SSL_MBEDTLS=1 MICROPY_PY_BTREE=0 STRIP=

.PHONY: all run test deps firmware firmware-dual firmware-none cargo-test test-unit test-mpy test-interop clean distclean FORCE

all: firmware

deps:
	@tools/deps.sh $(DEB_BUILD)

deps-test: deps
	@tools/deps.sh $(DEB_TEST)

ifeq ($(MICROPY_DIR),micropython)
$(MICROPY_DIR)/py/mpconfig.h:
	@tools/deps.sh dpkg-dev
	tools/fetch-debian-source.sh micropython $(MICROPY_DEB_VERSION) $(MICROPY_DEB_SUITE) \
		$(MICROPY_ORIG) $(MICROPY_ORIG_SHA256) $(MICROPY_DIR)
else
$(MICROPY_DIR)/py/mpconfig.h:
	@echo "error: MICROPY_DIR=$(MICROPY_DIR) is not a MicroPython source tree" >&2; exit 1
endif

micropython-source: $(MICROPY_DIR)/py/mpconfig.h

# mpy-cross (for the frozen asyncio) is built on its own first: the unix
# port would otherwise build it with our command-line variables (BUILD, ...).
MPY_CROSS := $(MICROPY_ABS)/mpy-cross/build/mpy-cross
$(MPY_CROSS): | micropython-source
	$(MAKE) -C $(MICROPY_ABS)/mpy-cross -j$(JOBS)

$(USERMODS)/usocket:
	@mkdir -p $(USERMODS)
	@ln -sfn $(TOP) $@

# $(1): build name, $(2): extra make flags for the unix port
define unix_firmware
	$(MAKE) -C $(UNIX_PORT) -j$(JOBS) $(UNIX_FLAGS) BUILD=$(abspath $(BUILD))/unix-$(1) $(2)
endef

# The default firmware: MicroPython's C socket module off, ours is `socket`.
firmware: deps micropython-source $(MPY_CROSS) $(USERMODS)/usocket
	$(call unix_firmware,default,MICROPY_PY_SOCKET=0 USER_C_MODULES=$(USERMODS))
	@cp -p $(BUILD)/unix-default/micropython $(BUILD)/micropython

# The side-by-side firmware: MicroPython's C module is `socket`, ours `usocket`.
firmware-dual: deps micropython-source $(MPY_CROSS) $(USERMODS)/usocket
	$(call unix_firmware,dual,MICROPY_PY_SOCKET=1 USER_C_MODULES=$(USERMODS))
	@cp -p $(BUILD)/unix-dual/micropython $(BUILD)/micropython-dual

# Neither module: the baseline for flash measurements.
firmware-none: deps micropython-source $(MPY_CROSS)
	$(call unix_firmware,none,MICROPY_PY_SOCKET=0)
	@cp -p $(BUILD)/unix-none/micropython $(BUILD)/micropython-none

$(BUILD)/micropython: firmware
$(BUILD)/micropython-dual: firmware-dual

run: firmware
	@echo "MicroPython with usocket: try  import socket; socket.getaddrinfo('localhost', 80)"
	@$(BUILD)/micropython

# Rust unit tests, with the constants of the unix firmware just built.
cargo-test: firmware
	USOCKET_MP_CFLAGS_FILE=$(abspath $(BUILD))/unix-default/usocket/cflags \
		cargo test --locked --target-dir $(abspath $(BUILD))/cargo-test

test: deps-test firmware firmware-dual cargo-test
	$(PYTHON) tests/run.py --micropython-dir $(MICROPY_ABS) \
		--firmware $(BUILD)/micropython --firmware $(BUILD)/micropython-dual

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf micropython target
