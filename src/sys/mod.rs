//! Network stack backends: the only code that talks to a stack. Each backend
//! offers the same functions and a `State` (its part of a socket); the core in
//! src/socket.rs does the blocking and timeout logic once on top of them.
//! build.rs picks one per target and sets `cfg(usocket_backend = ...)`:
//!
//! - `posix`: BSD sockets through the C library (unix port; ESP-IDF's lwIP
//!   BSD API on the esp32 port).
//! - `lwip_raw`: lwIP's raw API with NO_SYS=1 (bare-metal ports).

#[cfg(usocket_backend = "posix")]
mod posix;
#[cfg(usocket_backend = "posix")]
pub use posix::*;

#[cfg(usocket_backend = "lwip_raw")]
mod lwip_raw;
#[cfg(usocket_backend = "lwip_raw")]
pub use lwip_raw::*;

#[cfg(not(any(usocket_backend = "posix", usocket_backend = "lwip_raw")))]
compile_error!("usocket has no network backend for this target (build.rs chooses one; see src/sys/mod.rs)");
