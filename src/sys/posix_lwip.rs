//! The BSD socket API of lwIP's socket layer, called by its lwip_* names
//! (real functions on ESP-IDF too, where the POSIX names may be macros), under
//! the names src/sys/posix.rs uses. Layouts and values come from lwIP's own
//! headers (build.rs): they differ from Linux's (sockaddr has a length byte,
//! SOL_SOCKET is 0xfff, O_NONBLOCK is 1). errno is the C library's.

#[allow(non_camel_case_types, non_upper_case_globals, non_snake_case, dead_code, clippy::all)]
mod ffi {
    include!(concat!(env!("OUT_DIR"), "/lwip_socket_ffi.rs"));
}

pub use core::ffi::{c_char, c_int, c_short};
pub use ffi::{
    addrinfo, lwip_accept as accept, lwip_bind as bind, lwip_close as close, lwip_connect as connect,
    lwip_freeaddrinfo as freeaddrinfo, lwip_getaddrinfo as getaddrinfo, lwip_getpeername as getpeername,
    lwip_getsockname as getsockname, lwip_getsockopt as getsockopt, lwip_listen as listen, lwip_recv as recv,
    lwip_recvfrom as recvfrom, lwip_send as send, lwip_sendto as sendto, lwip_setsockopt as setsockopt,
    lwip_shutdown as shutdown, lwip_socket as socket, pollfd, sockaddr, sockaddr_in, sockaddr_in6,
    sockaddr_storage, socklen_t,
};

use crate::consts;

pub const AF_UNSPEC: c_int = consts::AF_UNSPEC;
pub const SHUT_RDWR: c_int = consts::SHUT_RDWR;

/// lwIP's socket numbers are not kernel descriptors: `select.poll` must ask
/// the socket (MP_STREAM_POLL), never poll(2) the number.
pub const KERNEL_FDS: bool = false;

/// # Safety
/// `fds` points at `n` pollfd structures.
pub unsafe fn poll(fds: *mut pollfd, n: usize, timeout_ms: c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { ffi::lwip_poll(fds, n as ffi::nfds_t, timeout_ms) }
}

/// Through fcntl: lwIP's FIONBIO is a macro with casts no binding generator
/// evaluates, while F_SETFL/O_NONBLOCK are plain numbers.
///
/// # Safety
/// `fd` is an open lwIP socket.
pub unsafe fn set_nonblocking(fd: c_int, on: bool) -> c_int {
    let flags = if on { ffi::O_NONBLOCK as c_int } else { 0 };
    // SAFETY: F_SETFL takes an int argument.
    unsafe { ffi::lwip_fcntl(fd, ffi::F_SETFL as c_int, flags) }
}

pub fn v4(family: i32, port_be: u16, addr: [u8; 4]) -> sockaddr_in {
    // SAFETY: all-zero bytes are a valid sockaddr_in.
    let mut a: sockaddr_in = unsafe { core::mem::zeroed() };
    a.sin_len = core::mem::size_of::<sockaddr_in>() as u8;
    a.sin_family = family as ffi::sa_family_t;
    a.sin_port = port_be;
    a.sin_addr.s_addr = u32::from_ne_bytes(addr);
    a
}

pub fn v6(family: i32, port_be: u16, flowinfo_be: u32, addr: [u8; 16], scope_id: u32) -> sockaddr_in6 {
    // SAFETY: all-zero bytes are a valid sockaddr_in6.
    let mut a: sockaddr_in6 = unsafe { core::mem::zeroed() };
    a.sin6_len = core::mem::size_of::<sockaddr_in6>() as u8;
    a.sin6_family = family as ffi::sa_family_t;
    a.sin6_port = port_be;
    a.sin6_flowinfo = flowinfo_be;
    a.sin6_addr.un.u8_addr = addr;
    a.sin6_scope_id = scope_id;
    a
}

pub fn v6_addr(a: &sockaddr_in6) -> [u8; 16] {
    // SAFETY: both views of the union are plain bytes of the same size.
    unsafe { a.sin6_addr.un.u8_addr }
}

pub fn set_family(s: &mut sockaddr_storage, family: i32) {
    s.s2_len = core::mem::size_of::<sockaddr_storage>() as u8;
    s.ss_family = family as ffi::sa_family_t;
}

/// lwIP has no gai_strerror: its codes (netdb.h) with the usual messages.
pub fn gai_strerror(code: c_int) -> *const u8 {
    let text: &'static [u8] = match code as u32 {
        ffi::EAI_NONAME => b"Name or service not known\0",
        ffi::EAI_SERVICE => b"Servname not supported for ai_socktype\0",
        ffi::EAI_FAIL => b"Non-recoverable failure in name resolution\0",
        ffi::EAI_MEMORY => b"Memory allocation failure\0",
        ffi::EAI_FAMILY => b"ai_family not supported\0",
        ffi::HOST_NOT_FOUND => b"Unknown host\0",
        ffi::NO_DATA => b"No address associated with hostname\0",
        ffi::TRY_AGAIN => b"Temporary failure in name resolution\0",
        _ => b"Unknown error\0",
    };
    text.as_ptr()
}
