//! usocket: MicroPython's socket module, in Rust.
//!
//! Layers, from the bottom:
//! - [`sys`]: the only code that talks to a network stack (one file per backend).
//! - [`addr`], [`ip_text`], [`timeout`], [`errno`], [`poll`]: plain data and rules, unit tested.
//! - [`socket`]: the socket state and every operation, written once on top of the
//!   backend's non-blocking primitives and its `wait`.
//! - [`abi`]: the extern "C" functions the C shim (modusocket.c) calls. They never
//!   raise: they return a status (count, or a negative errno) and C raises.
//!
//! The crate is `no_std` and never allocates: buffers belong to the caller, and
//! the socket state lives inside the MicroPython object that C allocates.
#![no_std]
// Clippy, where its advice does not fit this crate: bindgen's constant types
// differ between ports (a cast that is a no-op on one is needed on another),
// and so do the fields a struct has (`..zeroed()`); the backends' primitives
// take `&mut` state where one backend mutates it; `contains` on bytes brings
// in core's 200-byte memchr.
#![allow(clippy::unnecessary_cast, clippy::needless_update, clippy::unnecessary_mut_passed, clippy::manual_contains)]

// Unit tests and the fuzz targets (tests and fuzz/) run on the host with std.
#[cfg(any(test, fuzzing))]
extern crate std;

pub mod abi;
pub mod addr;
pub mod consts;
pub mod errno;
pub mod hooks;
// Its IPv6 parser is unused on the posix backend, which takes the C
// library's (see addr.rs).
#[cfg_attr(all(usocket_backend = "posix", not(any(test, fuzzing))), allow(dead_code))]
pub mod ip_text;
pub mod poll;
pub mod socket;
pub mod sys;
pub mod timeout;

#[cfg(not(any(test, fuzzing)))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // No unwinding across the C boundary and no formatting code in the image:
    // a panic is a bug, and the port's abort() is the only safe answer.
    hooks::abort()
}

/// The host's precompiled `core` is built for unwinding and refers to this
/// symbol even though this crate is built with panic=abort and never unwinds;
/// define it so the staticlib links into a C program on stable Rust.
#[cfg(all(not(any(test, fuzzing)), target_os = "linux"))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
