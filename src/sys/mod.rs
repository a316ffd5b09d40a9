//! Network stack backends: the only code that talks to a stack. Each backend
//! offers the same functions and a `State` (its part of a socket); the core in
//! src/socket.rs does the blocking and timeout logic once on top of them.
//! build.rs picks one per target (or as USOCKET_BACKEND says) and sets
//! `cfg(usocket_backend = ...)`:
//!
//! - `posix`: BSD sockets through the C library (unix port: Linux kernel
//!   sockets). posix.rs over posix_libc.rs.
//! - `lwip_socket`: BSD sockets through lwIP's socket layer, by its lwip_*
//!   names (esp32 port: ESP-IDF; the unix firmware with lwIP in-process).
//!   The same posix.rs, over posix_lwip.rs.
//! - `lwip_raw`: lwIP's raw API with NO_SYS=1 (bare-metal ports).

#[cfg(any(usocket_backend = "posix", usocket_backend = "lwip_socket"))]
mod posix;
#[cfg(any(usocket_backend = "posix", usocket_backend = "lwip_socket"))]
pub use posix::*;

#[cfg(usocket_backend = "lwip_raw")]
mod lwip_raw;
#[cfg(usocket_backend = "lwip_raw")]
pub use lwip_raw::*;

#[cfg(not(any(usocket_backend = "posix", usocket_backend = "lwip_socket", usocket_backend = "lwip_raw")))]
compile_error!("usocket has no network backend for this target (build.rs chooses one; see src/sys/mod.rs)");
