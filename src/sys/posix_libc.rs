//! The BSD socket API as the C library offers it (Linux kernel sockets),
//! under the names src/sys/posix.rs uses. Its twin, posix_lwip.rs, offers
//! lwIP's socket layer under the same names.

pub use libc::{
    accept, accept4, addrinfo, bind, c_char, c_int, c_short, close, connect, freeaddrinfo, getaddrinfo, getpeername,
    getsockname, getsockopt, listen, pollfd, recv, recvfrom, send, sendto, setsockopt, shutdown, sockaddr,
    sockaddr_in, sockaddr_in6, sockaddr_storage, socket, socklen_t, AF_UNSPEC, SHUT_RDWR,
};

/// What the descriptor numbers are: the kernel's, so `select.poll` may poll
/// them itself (MP_STREAM_GET_FILENO).
pub const KERNEL_FDS: bool = true;

/// # Safety
/// `fds` points at `n` pollfd structures.
pub unsafe fn poll(fds: *mut pollfd, n: usize, timeout_ms: c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { libc::poll(fds, n as libc::nfds_t, timeout_ms) }
}

/// One system call (FIONBIO), not the two of fcntl(F_GETFL/F_SETFL).
///
/// # Safety
/// `fd` is an open descriptor.
pub unsafe fn set_nonblocking(fd: c_int, on: bool) -> c_int {
    let mut arg: c_int = on.into();
    // SAFETY: FIONBIO reads one int through the pointer.
    unsafe { libc::ioctl(fd, libc::FIONBIO as _, &mut arg) }
}

pub fn v4(family: i32, port_be: u16, addr: [u8; 4]) -> sockaddr_in {
    // SAFETY: all-zero bytes are a valid sockaddr_in.
    let mut a: sockaddr_in = unsafe { core::mem::zeroed() };
    a.sin_family = family as libc::sa_family_t;
    a.sin_port = port_be;
    a.sin_addr.s_addr = u32::from_ne_bytes(addr);
    a
}

pub fn v6(family: i32, port_be: u16, flowinfo_be: u32, addr: [u8; 16], scope_id: u32) -> sockaddr_in6 {
    // SAFETY: all-zero bytes are a valid sockaddr_in6.
    let mut a: sockaddr_in6 = unsafe { core::mem::zeroed() };
    a.sin6_family = family as libc::sa_family_t;
    a.sin6_port = port_be;
    a.sin6_flowinfo = flowinfo_be;
    a.sin6_addr.s6_addr = addr;
    a.sin6_scope_id = scope_id;
    a
}

pub fn v6_addr(a: &sockaddr_in6) -> [u8; 16] {
    a.sin6_addr.s6_addr
}

pub fn set_family(s: &mut sockaddr_storage, family: i32) {
    s.ss_family = family as libc::sa_family_t;
}

/// The C library's message for a getaddrinfo error code.
pub fn gai_strerror(code: c_int) -> *const u8 {
    // SAFETY: gai_strerror returns a static NUL-terminated string for any code.
    unsafe { libc::gai_strerror(code) }.cast()
}
