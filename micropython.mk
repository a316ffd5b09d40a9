# usocket as a user C module for MicroPython's make-based ports (unix, stm32,
# qemu, ...): `make USER_C_MODULES=<dir holding this repo as usocket/>`.
#
# It compiles the shim (modusocket.c) with the port's compiler and builds the
# Rust core with cargo, as a static library for the port's target, after
# MicroPython has generated its headers (the core's build script reads them).
#
# Knobs (make variables):
#   USOCKET_RUST_TARGET  Rust target triple; empty builds for the host (unix).
#   USOCKET_CARGO        cargo command (default: cargo).
#   USOCKET_CARGO_FLAGS  extra cargo flags.
#   USOCKET_BACKEND      network backend, when not the target's default:
#                        lwip_socket on Linux uses lwIP's socket layer linked
#                        into the firmware (see src/sys/mod.rs).
#   USOCKET_STACK_LIBS   libraries the backend needs, linked after the core
#                        (e.g. lwIP built for the host).
#   USOCKET_CARGO_TARGET_DIR  cargo's target directory (default: in the port's
#                        build directory). Builds for different Rust targets
#                        may share one, and then compile cargo's build tools
#                        (bindgen, cbindgen) once; builds for the same Rust
#                        target with other port settings rebuild the core
#                        whenever they alternate, and must not run at once.

USOCKET_DIR := $(USERMOD_DIR)
USOCKET_BUILD := $(BUILD)/usocket
USOCKET_RUST_TARGET ?=
USOCKET_CARGO ?= cargo
USOCKET_CARGO_FLAGS ?=
USOCKET_BACKEND ?=
USOCKET_STACK_LIBS ?=
USOCKET_CARGO_TARGET_DIR ?= $(USOCKET_BUILD)/target
# USOCKET_DEBUG=1 builds the core without optimisation and with overflow
# checks (for the sanitizer firmware).
USOCKET_DEBUG ?= 0
ifeq ($(USOCKET_DEBUG),1)
USOCKET_PROFILE_DIR := debug
USOCKET_PROFILE_FLAG :=
else
USOCKET_PROFILE_DIR := release
USOCKET_PROFILE_FLAG := --release
endif

ifeq ($(USOCKET_RUST_TARGET),)
# A host build (the unix port) still names the host as its target, so that
# the flags below reach the core only, not build scripts or proc macros.
# The core goes into an executable, never a shared library: code built for
# PIE calls its own functions directly. (Rust's default for a staticlib is
# PIC, where every call between the core's functions goes through the GOT,
# with a slot and a dynamic relocation each, because rustc's GOT references
# cannot be relaxed by the linker.)
USOCKET_CARGO_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
ifeq ($(USOCKET_CARGO_TRIPLE),)
$(error usocket: rustc not found on PATH; install Rust with rustup (the module's core is Rust))
endif
USOCKET_RUSTFLAGS := '-C','relocation-model=pie'
else
USOCKET_CARGO_TRIPLE := $(USOCKET_RUST_TARGET)
USOCKET_RUSTFLAGS := '-C','force-unwind-tables=no'
endif
USOCKET_CARGO_LIB := $(USOCKET_CARGO_TARGET_DIR)/$(USOCKET_CARGO_TRIPLE)/$(USOCKET_PROFILE_DIR)/libusocket.a
USOCKET_TARGET_FLAG := --target $(USOCKET_CARGO_TRIPLE) \
	--config "target.$(USOCKET_CARGO_TRIPLE).rustflags=[$(USOCKET_RUSTFLAGS)]"
# The archive the firmware links: cargo's, without unwind tables. Nothing
# unwinds (panic=abort; MicroPython's exceptions are longjmps that never cross
# the core), small ports' linker scripts have no place for .ARM.exidx
# sections, and on unix .eh_frame and its index are 7.7 KB of flash. The debug
# build (USOCKET_DEBUG=1) keeps them, for backtraces through the core.
USOCKET_LIB := $(USOCKET_BUILD)/libusocket.a
ifeq ($(USOCKET_DEBUG),1)
USOCKET_STRIP_UNWIND := --remove-section='.ARM.exidx*' --remove-section='.ARM.extab*'
else
USOCKET_STRIP_UNWIND := --remove-section='.ARM.exidx*' --remove-section='.ARM.extab*' \
	--remove-section=.eh_frame --remove-section=.rela.eh_frame
# The shim needs no unwind tables either (C, and only longjmps cross it).
USOCKET_SHIM_CFLAGS := -fno-asynchronous-unwind-tables -fno-unwind-tables
endif

SRC_USERMOD_C += $(USOCKET_DIR)/modusocket.c
# The shim's qstr pass reads the constant names from src/constants.h (see
# modusocket.c): a name added there needs its qstr even though modusocket.c
# did not change.
QSTR_GLOBAL_DEPENDENCIES += $(USOCKET_DIR)/src/constants.h

# Bare-metal ARM: compiler_builtins in the archive defines libgcc's helpers
# (soft float, division, __aeabi_memcpy, ...) and, met first by the linker,
# would stand in for libgcc's in the whole firmware: MicroPython's float
# arithmetic would then run on Rust's implementations. All its `__*` symbols
# are hidden below, so libgcc serves the firmware and the core as without
# this module, and the core's __aeabi_memcpy & co. go to the firmware's
# memcpy/memset (aeabi_mem.c).
ifneq ($(filter thumb% arm%,$(USOCKET_RUST_TARGET)),)
SRC_USERMOD_C += $(USOCKET_DIR)/aeabi_mem.c
USOCKET_HIDE_SYMBOLS := --wildcard --localize-symbol='__*'
endif
CFLAGS_USERMOD += -I$(USOCKET_BUILD)/include -I$(USOCKET_DIR)
# Bare metal builds the lwIP raw backend (unless USOCKET_BACKEND says
# otherwise): the shim's qstr pass can then tell which constant names the
# board defines (see modusocket.c) and leaves the others out.
# (micropython.cmake leaves it out: every name gets a qstr there.)
ifneq ($(filter %-none-eabi %-none-eabihf %-none-elf,$(USOCKET_RUST_TARGET)),)
ifeq ($(filter-out lwip_raw,$(USOCKET_BACKEND)),)
CFLAGS_USERMOD += -DUSOCKET_QSTR_LWIP_RAW=1
endif
endif
# Ports put LDFLAGS before (bare metal) or after (unix) their objects, so the
# archive may be scanned before the shim that calls it: naming one of its
# symbols as undefined makes the linker take the core from it either way (with
# LTO the core is a single member of the archive).
# With a C library (host builds), libm comes first: Rust's compiler_builtins
# in the archive also defines fmod & co., and must not stand in for libm's.
ifeq ($(USOCKET_RUST_TARGET),)
USOCKET_LIBM := -lm
endif
LDFLAGS_USERMOD += -Wl,--undefined=usocket_init_closed $(USOCKET_LIBM) $(USOCKET_LIB) $(USOCKET_STACK_LIBS)

# The unix port raises KeyboardInterrupt from its SIGINT handler at once
# (MICROPY_ASYNC_KBD_INTR); the shim puts its own handler in front whenever the
# port installs one, which it learns by wrapping the function that does so.
ifeq ($(notdir $(abspath $(CURDIR))),unix)
LDFLAGS_USERMOD += -Wl,--wrap=mp_hal_set_interrupt_char
CFLAGS_USERMOD += -DUSOCKET_WRAP_INTERRUPT_CHAR=1
endif

# The port's include paths (made absolute: cargo runs elsewhere) and defines,
# for the core's build script to evaluate constants with. Expanded when the
# recipe runs, so it sees the port's final CFLAGS.
USOCKET_PROBE_CFLAGS = $(foreach f,$(filter -I%,$(CFLAGS)),-I$(abspath $(patsubst -I%,%,$(f)))) \
	$(filter -D%,$(CFLAGS)) $(USOCKET_SYSTEM_INCLUDES) $(USOCKET_PROBE_CFLAGS_EXTRA)

# A cross compiler's own header directories (newlib's, gcc's), which clang
# cannot know: asked from the compiler once, when cross compiling.
# Also whether the compiler makes enums as small as their values (GCC does on
# arm-none-eabi, clang does not by default): struct layouts must agree.
ifneq ($(USOCKET_RUST_TARGET),)
USOCKET_SYSTEM_INCLUDES = $(addprefix -isystem,$(shell echo | $(CC) -xc -E -v - 2>&1 | \
	sed -n '/search starts here:/,/End of search list/p' | grep '^ ')) \
	$(shell echo 'enum e { A }; char x[sizeof(enum e) == 1 ? 1 : -1];' | \
	$(CC) $(filter -m%,$(CFLAGS)) -xc -c -o /dev/null - 2>/dev/null && echo -fshort-enums)
endif

# cargo decides what is up to date (its build script declares every input),
# so it runs on every build; the library's timestamp changes only when it does.
# Compared by content, not by time: after a change of flags is undone, cargo
# picks its older artifact for the old flags, which is not newer than ours.
$(USOCKET_LIB): $(HEADER_BUILD)/qstrdefs.generated.h FORCE | $(USOCKET_BUILD)/.dir
	$(ECHO) "CARGO usocket $(USOCKET_RUST_TARGET)"
	$(file >$(USOCKET_BUILD)/cflags.new,$(USOCKET_PROBE_CFLAGS))
	$(Q)cmp -s $(USOCKET_BUILD)/cflags.new $(USOCKET_BUILD)/cflags || mv $(USOCKET_BUILD)/cflags.new $(USOCKET_BUILD)/cflags
	$(Q)USOCKET_MP_CFLAGS_FILE=$(abspath $(USOCKET_BUILD)/cflags) USOCKET_BACKEND=$(USOCKET_BACKEND) \
		USOCKET_INCLUDE_DIR=$(abspath $(USOCKET_BUILD)/include) \
		$(USOCKET_CARGO) build $(USOCKET_PROFILE_FLAG) --locked --quiet $(USOCKET_TARGET_FLAG) $(USOCKET_CARGO_FLAGS) \
		--manifest-path $(USOCKET_DIR)/Cargo.toml --target-dir $(abspath $(USOCKET_CARGO_TARGET_DIR))
	$(Q)if [ ! -e $@ ] || ! cmp -s $(USOCKET_CARGO_LIB) $@.cargo; then \
		$(OBJCOPY) $(USOCKET_STRIP_UNWIND) $(USOCKET_HIDE_SYMBOLS) \
			$(USOCKET_CARGO_LIB) $@ && cp -p $(USOCKET_CARGO_LIB) $@.cargo; fi

$(USOCKET_BUILD)/.dir:
	$(Q)mkdir -p $(USOCKET_BUILD) && touch $@

# The shim includes the header the cargo build generates.
# (The object's name is computed as py/py.mk computes it.)
USOCKET_SHIM_OBJ := $(addprefix $(BUILD)/,$(patsubst %.c,%.o,$(patsubst $(USER_C_MODULES)/%.c,%.c,$(USOCKET_DIR)/modusocket.c)))
$(USOCKET_SHIM_OBJ): $(USOCKET_LIB)
$(USOCKET_SHIM_OBJ): CFLAGS += $(USOCKET_SHIM_CFLAGS)
