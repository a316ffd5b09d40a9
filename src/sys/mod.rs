//! Network stack backends: the only code that talks to a stack. Each backend
//! offers the same functions and a `State` (its part of a socket); the core in
//! src/socket.rs does the blocking and timeout logic once on top of them.
//!
//! - `posix`: BSD sockets through the C library (unix port; ESP-IDF's lwIP
//!   BSD API on the esp32 port).

#[cfg(any(target_os = "linux", target_os = "espidf"))]
mod posix;
#[cfg(any(target_os = "linux", target_os = "espidf"))]
pub use posix::*;

#[cfg(not(any(target_os = "linux", target_os = "espidf")))]
compile_error!(
    "usocket has no network backend for this target: supported are Linux and ESP-IDF \
     (BSD sockets, src/sys/posix.rs)"
);
