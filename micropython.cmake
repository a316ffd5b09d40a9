# usocket as a user C module for MicroPython's cmake ports (esp32, rp2).
# Include it from your modules' micropython.cmake:
#     include(${CMAKE_CURRENT_LIST_DIR}/usocket/micropython.cmake)
# and build with USER_C_MODULES=/path/to/modules/micropython.cmake.
#
# Like micropython.mk: the shim is compiled with the port's compiler; the
# Rust core is built by cargo for the port's target once MicroPython has
# generated its headers, with the port's include paths and defines (which
# build.rs needs to evaluate constants and structure layouts).
#
# Set USOCKET_RUST_TARGET to override the Rust target picked below, and
# USOCKET_CARGO_TARGET_DIR to give cargo a target directory outside this
# build (builds for different Rust targets may share one).

# The core is built once the port has set up its target: cmake_language(DEFER).
if(CMAKE_VERSION VERSION_LESS 3.19)
    message(FATAL_ERROR "usocket: needs CMake 3.19 or newer; this is ${CMAKE_VERSION}")
endif()

add_library(usermod_usocket INTERFACE)

set(USOCKET_DIR ${CMAKE_CURRENT_LIST_DIR})
set(USOCKET_BUILD ${CMAKE_BINARY_DIR}/usocket)
if(NOT USOCKET_CARGO_TARGET_DIR)
    set(USOCKET_CARGO_TARGET_DIR ${USOCKET_BUILD}/target)
endif()

if(NOT USOCKET_RUST_TARGET)
    if(IDF_TARGET STREQUAL "esp32c3" OR IDF_TARGET STREQUAL "esp32c2")
        set(USOCKET_RUST_TARGET riscv32imc-esp-espidf)
    elseif(IDF_TARGET STREQUAL "esp32c6" OR IDF_TARGET STREQUAL "esp32h2")
        set(USOCKET_RUST_TARGET riscv32imac-esp-espidf)
    elseif(IDF_TARGET MATCHES "^esp32(s2|s3)?$")
        # Needs Espressif's Rust toolchain (espup) for Xtensa.
        set(USOCKET_RUST_TARGET xtensa-${IDF_TARGET}-espidf)
    elseif(PICO_PLATFORM STREQUAL "rp2040")
        set(USOCKET_RUST_TARGET thumbv6m-none-eabi)
    elseif(PICO_PLATFORM MATCHES "^rp2350")
        set(USOCKET_RUST_TARGET thumbv8m.main-none-eabihf)
    else()
        message(FATAL_ERROR "usocket: no Rust target known for this port; set USOCKET_RUST_TARGET")
    endif()
endif()

# ESP-IDF targets are tier 3: their core is built from source (rust-src).
# MicroPython 1.25 needs ESP-IDF 5.x, whose time_t is 64-bit: the libc
# crate must be told (espidf_time64).
set(USOCKET_RUSTFLAGS "'-C','force-unwind-tables=no'")
if(USOCKET_RUST_TARGET MATCHES "espidf$")
    set(USOCKET_CARGO_EXTRA -Zbuild-std=core,panic_abort)
    set(USOCKET_CARGO_ENV RUSTC_BOOTSTRAP=1)
    string(APPEND USOCKET_RUSTFLAGS ",'--cfg','espidf_time64'")
endif()

set(USOCKET_CARGO_LIB ${USOCKET_CARGO_TARGET_DIR}/${USOCKET_RUST_TARGET}/release/libusocket.a)
set(USOCKET_LIB ${USOCKET_BUILD}/libusocket.a)
set(USOCKET_HEADER ${USOCKET_BUILD}/include/usocket.h)

target_sources(usermod_usocket INTERFACE ${USOCKET_DIR}/modusocket.c)

# Unwind tables are not wanted (panic=abort). On ARM, compiler_builtins in the
# archive would stand in for libgcc's helpers (soft float, ...) in the whole
# firmware: its `__*` symbols are hidden, and the core's __aeabi_memcpy & co.
# go to the firmware's memcpy/memset (aeabi_mem.c), as in micropython.mk.
set(USOCKET_OBJCOPY_FLAGS --remove-section=.ARM.exidx* --remove-section=.ARM.extab*
    --remove-section=.eh_frame --remove-section=.rela.eh_frame)
if(USOCKET_RUST_TARGET MATCHES "^(thumb|arm)")
    target_sources(usermod_usocket INTERFACE ${USOCKET_DIR}/aeabi_mem.c)
    list(APPEND USOCKET_OBJCOPY_FLAGS --wildcard --localize-symbol=__*)
endif()
target_include_directories(usermod_usocket INTERFACE ${USOCKET_DIR} ${USOCKET_BUILD}/include)
target_link_libraries(usermod INTERFACE usermod_usocket)
# The shim includes the generated header.
set_source_files_properties(${USOCKET_DIR}/modusocket.c PROPERTIES OBJECT_DEPENDS ${USOCKET_HEADER})

# The MicroPython target and its flags are known only once the port's
# CMakeLists.txt has set them: finish at the end of that directory.
function(usocket_finish)
    if(NOT MICROPY_TARGET)
        message(FATAL_ERROR "usocket: MICROPY_TARGET is not set by this port")
    endif()
    # The compiler's own header directories, for clang (bindgen) to see the
    # same C library.
    execute_process(
        COMMAND ${CMAKE_C_COMPILER} -xc -E -v -
        INPUT_FILE /dev/null OUTPUT_QUIET ERROR_VARIABLE usocket_cc_out)
    string(REGEX MATCH "<[.][.][.]> search starts here:\n(.*)End of search list" _ "${usocket_cc_out}")
    string(REGEX MATCHALL "[^ \n]+" usocket_sysinc "${CMAKE_MATCH_1}")
    list(TRANSFORM usocket_sysinc PREPEND "-isystem")
    string(JOIN " " usocket_sysinc ${usocket_sysinc})
    # Whether the compiler makes enums as small as their values: bindgen
    # must lay out lwIP's structures the same way.
    file(WRITE ${USOCKET_BUILD}/enum_probe.c "enum e { A }; char x[sizeof(enum e) == 1 ? 1 : -1];\n")
    execute_process(
        COMMAND ${CMAKE_C_COMPILER} -c -o ${USOCKET_BUILD}/enum_probe.o ${USOCKET_BUILD}/enum_probe.c
        RESULT_VARIABLE usocket_short_enums OUTPUT_QUIET ERROR_QUIET)
    if(usocket_short_enums EQUAL 0)
        string(APPEND usocket_sysinc " -fshort-enums")
    endif()
    # One shell word each (build.rs splits the file as a shell would): a
    # define's value keeps its quotes, MP_CONFIGFILE="board.h" among them.
    set(usocket_incs $<TARGET_PROPERTY:${MICROPY_TARGET},INCLUDE_DIRECTORIES>)
    set(usocket_defs $<TARGET_PROPERTY:${MICROPY_TARGET},COMPILE_DEFINITIONS>)
    file(GENERATE OUTPUT ${USOCKET_BUILD}/cflags CONTENT
        "$<$<BOOL:${usocket_incs}>:'-I$<JOIN:${usocket_incs},' '-I>'> $<$<BOOL:${usocket_defs}>:'-D$<JOIN:${usocket_defs},' '-D>'> ${usocket_sysinc}\n")
    file(GLOB_RECURSE usocket_sources ${USOCKET_DIR}/src/*)
    add_custom_command(
        OUTPUT ${USOCKET_LIB} ${USOCKET_HEADER}
        COMMAND ${CMAKE_COMMAND} -E env ${USOCKET_CARGO_ENV}
            USOCKET_MP_CFLAGS_FILE=${USOCKET_BUILD}/cflags USOCKET_INCLUDE_DIR=${USOCKET_BUILD}/include
            cargo build --release --locked --target ${USOCKET_RUST_TARGET} ${USOCKET_CARGO_EXTRA}
            --config "target.${USOCKET_RUST_TARGET}.rustflags=[${USOCKET_RUSTFLAGS}]"
            --manifest-path ${USOCKET_DIR}/Cargo.toml --target-dir ${USOCKET_CARGO_TARGET_DIR}
        COMMAND ${CMAKE_OBJCOPY} ${USOCKET_OBJCOPY_FLAGS} ${USOCKET_CARGO_LIB} ${USOCKET_LIB}
        DEPENDS ${MICROPY_QSTRDEFS_GENERATED} ${USOCKET_BUILD}/cflags ${usocket_sources}
            ${USOCKET_DIR}/build.rs ${USOCKET_DIR}/Cargo.toml ${USOCKET_DIR}/Cargo.lock
        COMMENT "Building the usocket core for ${USOCKET_RUST_TARGET}"
        VERBATIM)
    add_custom_target(usocket_core DEPENDS ${USOCKET_LIB} ${USOCKET_HEADER})
    add_dependencies(${MICROPY_TARGET} usocket_core)
    target_link_libraries(${MICROPY_TARGET} -Wl,--undefined=usocket_init_closed ${USOCKET_LIB})
endfunction()
cmake_language(DEFER CALL usocket_finish)
