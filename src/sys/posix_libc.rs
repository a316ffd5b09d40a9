//! The BSD socket API as the C library offers it (Linux kernel sockets),
//! under the names src/sys/posix.rs uses. Its twin, posix_lwip.rs, offers
//! lwIP's socket layer under the same names.

pub use libc::{
    accept, accept4, addrinfo, bind, c_char, c_int, c_short, close, connect, freeaddrinfo, getaddrinfo, getpeername,
    getsockname, getsockopt, listen, pollfd, recv, recvfrom, send, sendto, setsockopt, shutdown, sockaddr,
    sockaddr_in, sockaddr_in6, sockaddr_storage, sockaddr_un, socket, socklen_t, AF_UNSPEC, SHUT_RDWR,
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

/// IPv4/IPv6 text by the C library's inet_pton / inet_ntop: the rules CPython
/// follows. The firmware parses IPv6 with these, at no flash cost; the rest
/// is only the tests' and the fuzzer's reference for src/ip_text.rs (see
/// src/addr.rs for why).
pub mod ip_text {
    use crate::addr::ADDR_TEXT_MAX;
    use libc::{c_char, c_int, c_void};

    // POSIX, in every C library; the libc crate does not declare them.
    extern "C" {
        fn inet_pton(af: c_int, src: *const c_char, dst: *mut c_void) -> c_int;
        #[cfg(any(test, fuzzing))]
        fn inet_ntop(af: c_int, src: *const c_void, dst: *mut c_char, size: libc::socklen_t) -> *const c_char;
    }

    fn pton<const N: usize>(family: i32, text: &[u8]) -> Option<[u8; N]> {
        // NUL-terminated copy; anything longer than an address is not one.
        let mut z = [0u8; ADDR_TEXT_MAX];
        let text = super::super::c_string(text, &mut z).ok()?;
        let mut out = [0u8; N];
        // SAFETY: text is NUL-terminated; out has room for the family's
        // address (4 bytes for AF_INET, 16 for AF_INET6: the callers match N).
        let ok = unsafe { inet_pton(family, text, out.as_mut_ptr().cast()) };
        (ok == 1).then_some(out)
    }

    #[cfg(any(test, fuzzing))]
    fn ntop(family: i32, packed: *const u8, out: &mut [u8; ADDR_TEXT_MAX]) -> usize {
        // SAFETY: packed holds the family's address; out has ADDR_TEXT_MAX
        // bytes, INET6_ADDRSTRLEN, room for any address and its NUL.
        let p = unsafe { inet_ntop(family, packed.cast(), out.as_mut_ptr().cast(), out.len() as libc::socklen_t) };
        if p.is_null() {
            return 0;
        }
        out.iter().position(|&c| c == 0).unwrap_or(0)
    }

    #[cfg(any(test, fuzzing))]
    pub fn parse_ipv4(text: &[u8]) -> Option<[u8; 4]> {
        pton(libc::AF_INET, text)
    }

    pub fn parse_ipv6(text: &[u8]) -> Option<[u8; 16]> {
        pton(libc::AF_INET6, text)
    }

    #[cfg(any(test, fuzzing))]
    pub fn format_ipv4(ip: &[u8; 4], out: &mut [u8; ADDR_TEXT_MAX]) -> usize {
        ntop(libc::AF_INET, ip.as_ptr(), out)
    }

    #[cfg(any(test, fuzzing))]
    pub fn format_ipv6(ip: &[u8; 16], out: &mut [u8; ADDR_TEXT_MAX]) -> usize {
        ntop(libc::AF_INET6, ip.as_ptr(), out)
    }
}
