//! BSD sockets through the C library: Linux (MicroPython's unix port) and
//! ESP-IDF's lwIP BSD API. The only file that calls libc.
//!
//! Every primitive here is one system call (or two) and returns at once when
//! the descriptor is non-blocking; the core (src/socket.rs) decides when to
//! wait, for how long, and what the user sees.

use core::mem::{size_of, MaybeUninit};

use crate::addr::{AddrInfo, SockAddr};
use crate::consts::{self, AF_INET, AF_INET6};
use crate::errno::{Error, Errno, Result};
use crate::poll::{Interest, PollFlags};
use crate::timeout::Wait;

// The core hands libc errno values straight to MicroPython, which is right
// only when the port's errno *is* the C library's (MICROPY_USE_INTERNAL_ERRNO=0).
const _: () = assert!(Errno::EAGAIN.raw() == libc::EAGAIN && Errno::ETIMEDOUT.raw() == libc::ETIMEDOUT);
const _: () = assert!(AF_INET == libc::AF_INET && AF_INET6 == libc::AF_INET6);

/// Blocking calls exist: with timeout None the core lets the kernel block
/// (one system call per operation) instead of polling first.
pub(crate) const HAS_BLOCKING_CALLS: bool = true;

/// The backend's part of a socket: the file descriptor.
///
/// Invariant: `fd` is an open descriptor owned by this socket, or -1 once closed.
#[repr(C)]
pub struct State {
    pub fd: i32,
}

fn errno() -> Errno {
    // SAFETY: the C library's thread-local errno location is always valid.
    Errno::from_raw(unsafe { *errno_location() })
}

#[cfg(target_os = "linux")]
unsafe fn errno_location() -> *mut libc::c_int {
    libc::__errno_location()
}

#[cfg(target_os = "espidf")]
unsafe fn errno_location() -> *mut libc::c_int {
    libc::__errno()
}

/// Runs a libc call that returns -1 and sets errno on failure.
macro_rules! syscall {
    ($e:expr) => {{
        // SAFETY: each call site passes pointers to live, correctly sized
        // buffers (see the call site) and a descriptor this socket owns.
        let r = unsafe { $e };
        if r == -1 {
            Err(errno())
        } else {
            Ok(r)
        }
    }};
}

#[cfg(target_os = "linux")]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL; // EPIPE, never SIGPIPE
#[cfg(not(target_os = "linux"))]
const SEND_FLAGS: libc::c_int = 0; // no SIGPIPE on lwIP

impl State {
    pub(crate) const CLOSED: State = State { fd: -1 };

    pub fn is_open(&self) -> bool {
        self.fd >= 0
    }

    pub fn fileno(&self) -> Option<i32> {
        self.is_open().then_some(self.fd)
    }
}

pub fn open(family: i32, sock_type: i32, proto: i32) -> Result<State> {
    #[cfg(target_os = "linux")]
    let sock_type = sock_type | libc::SOCK_CLOEXEC;
    let fd = syscall!(libc::socket(family, sock_type, proto))?;
    Ok(State { fd })
}

/// Nothing to register: the kernel never calls back.
pub fn attach(_st: &mut State) {}

pub fn close(st: &mut State) {
    // Taken atomically: close() on one thread and the last blocked operation
    // leaving on another may both get here; only one may close the number.
    // SAFETY: fd is an aligned i32 that lives as long as st.
    let fd = unsafe { core::sync::atomic::AtomicI32::from_ptr(&mut st.fd) }.swap(-1, core::sync::atomic::Ordering::AcqRel);
    if fd >= 0 {
        // The descriptor is released even when close reports EINTR (Linux), so
        // never retry: the number may already belong to someone else.
        // SAFETY: we owned fd and nobody else will close it.
        unsafe { libc::close(fd) };
    }
}

/// Wakes operations blocked in this socket on other threads (close() is
/// waiting for them to leave): shutting it down ends blocked reads, writes,
/// accepts and polls at once, without releasing the descriptor.
pub fn wake(st: &mut State) {
    // SAFETY: the descriptor stays open until the last operation leaves.
    unsafe { libc::shutdown(st.fd, libc::SHUT_RDWR) };
}

/// One system call (FIONBIO), not the two of fcntl(F_GETFL/F_SETFL): the
/// core only calls this when the mode really changes.
pub fn set_nonblocking(st: &State, on: bool) -> Result<()> {
    let mut arg: libc::c_int = on.into();
    syscall!(libc::ioctl(st.fd, libc::FIONBIO as _, &mut arg)).map(drop)
}

/// A sockaddr_in / sockaddr_in6 built from a SockAddr.
#[repr(C)]
union RawAddr {
    v4: libc::sockaddr_in,
    v6: libc::sockaddr_in6,
    storage: libc::sockaddr_storage,
}

impl RawAddr {
    fn new() -> RawAddr {
        // SAFETY: all-zero bytes are a valid value for these plain C structs.
        unsafe { MaybeUninit::zeroed().assume_init() }
    }

    fn from(a: &SockAddr) -> (RawAddr, libc::socklen_t) {
        let mut raw = RawAddr::new();
        if a.family == AF_INET {
            raw.v4.sin_family = AF_INET as libc::sa_family_t;
            raw.v4.sin_port = a.port.to_be();
            raw.v4.sin_addr.s_addr = u32::from_ne_bytes(a.ipv4());
            (raw, size_of::<libc::sockaddr_in>() as libc::socklen_t)
        } else {
            raw.v6.sin6_family = AF_INET6 as libc::sa_family_t;
            raw.v6.sin6_port = a.port.to_be();
            raw.v6.sin6_flowinfo = a.flowinfo.to_be();
            raw.v6.sin6_addr.s6_addr = a.addr;
            raw.v6.sin6_scope_id = a.scope_id;
            (raw, size_of::<libc::sockaddr_in6>() as libc::socklen_t)
        }
    }

    fn ptr(&self) -> *const libc::sockaddr {
        (self as *const RawAddr).cast()
    }

    fn mut_ptr(&mut self) -> *mut libc::sockaddr {
        (self as *mut RawAddr).cast()
    }

    /// Decodes what the kernel wrote; unknown families give EAFNOSUPPORT.
    fn to_sockaddr(&self) -> Result<SockAddr> {
        // SAFETY: every variant starts with the family field, and the union
        // is fully initialised (zeroed, then written by the kernel).
        unsafe {
            match i32::from(self.storage.ss_family) {
                AF_INET => Ok(SockAddr::v4(
                    self.v4.sin_addr.s_addr.to_ne_bytes(),
                    u16::from_be(self.v4.sin_port),
                )),
                AF_INET6 => Ok(SockAddr::v6(
                    self.v6.sin6_addr.s6_addr,
                    u16::from_be(self.v6.sin6_port),
                    u32::from_be(self.v6.sin6_flowinfo),
                    self.v6.sin6_scope_id,
                )),
                _ => Err(Errno::EAFNOSUPPORT),
            }
        }
    }
}

/// Decodes a raw `struct sockaddr` as older unix MicroPython code passes it
/// (the bytes getaddrinfo used to return).
pub fn sockaddr_from_raw(bytes: &[u8]) -> Result<SockAddr> {
    let mut raw = RawAddr::new();
    let fits = bytes.len() <= size_of::<RawAddr>() && bytes.len() >= 2;
    if !fits {
        return Err(Errno::EINVAL);
    }
    // SAFETY: copies at most size_of::<RawAddr>() bytes into it.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), raw.mut_ptr().cast::<u8>(), bytes.len()) };
    // Family, port and address must be there; sockaddr_in's zero padding and
    // sockaddr_in6's scope id may be left off.
    // SAFETY: reading the common family field of the union.
    let min = match i32::from(unsafe { raw.storage.ss_family }) {
        AF_INET => 8,
        AF_INET6 => 24,
        _ => return Err(Errno::EAFNOSUPPORT),
    };
    if bytes.len() < min {
        return Err(Errno::EINVAL);
    }
    raw.to_sockaddr()
}

pub fn bind(st: &State, addr: &SockAddr) -> Result<()> {
    let (raw, len) = RawAddr::from(addr);
    syscall!(libc::bind(st.fd, raw.ptr(), len)).map(drop)
}

pub fn listen(st: &State, backlog: i32) -> Result<()> {
    syscall!(libc::listen(st.fd, backlog)).map(drop)
}

/// Accepts one connection. The new socket is blocking and close-on-exec.
pub fn accept(st: &State, peer: &mut SockAddr) -> Result<State> {
    let mut raw = RawAddr::new();
    let mut len = size_of::<RawAddr>() as libc::socklen_t;
    #[cfg(target_os = "linux")]
    let fd = syscall!(libc::accept4(st.fd, raw.mut_ptr(), &mut len, libc::SOCK_CLOEXEC))?;
    #[cfg(not(target_os = "linux"))]
    let fd = syscall!(libc::accept(st.fd, raw.mut_ptr(), &mut len))?;
    let new = State { fd };
    // The accepted socket does not inherit O_NONBLOCK on Linux; on lwIP it
    // may, and the core promises a blocking socket either way.
    #[cfg(not(target_os = "linux"))]
    set_nonblocking(&new, false)?;
    *peer = raw.to_sockaddr().unwrap_or(SockAddr::zeroed());
    Ok(new)
}

/// Starts connecting; on a non-blocking socket `EINPROGRESS` means "wait for
/// writability, then ask [`connect_result`]".
pub fn connect(st: &State, addr: &SockAddr) -> Result<()> {
    let (raw, len) = RawAddr::from(addr);
    syscall!(libc::connect(st.fd, raw.ptr(), len)).map(drop)
}

/// The outcome of a connect that was in progress (SO_ERROR).
pub fn connect_result(st: &State) -> Result<()> {
    let mut err: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    syscall!(libc::getsockopt(
        st.fd,
        libc::SOL_SOCKET,
        libc::SO_ERROR,
        (&mut err as *mut libc::c_int).cast(),
        &mut len
    ))?;
    if err == 0 {
        return Ok(());
    }
    // A blocking connect(2) that fails leaves the socket ready for another
    // attempt; one that failed in the background leaves it "connecting", and
    // the next connect would say ECONNABORTED. Dissolve the attempt
    // (connect to AF_UNSPEC) so retrying on the same socket works as users
    // expect from a blocking connect.
    let mut unspec = RawAddr::new();
    unspec.storage.ss_family = libc::AF_UNSPEC as libc::sa_family_t;
    // SAFETY: a valid sockaddr of the given length; the result is irrelevant.
    unsafe { libc::connect(st.fd, unspec.ptr(), size_of::<libc::sockaddr>() as libc::socklen_t) };
    Err(Errno::from_raw(err))
}

pub fn send(st: &State, buf: &[u8], flags: i32) -> Result<usize> {
    syscall!(libc::send(st.fd, buf.as_ptr().cast(), buf.len(), flags | SEND_FLAGS)).map(|n| n as usize)
}

pub fn sendto(st: &State, buf: &[u8], flags: i32, to: &SockAddr) -> Result<usize> {
    let (raw, len) = RawAddr::from(to);
    syscall!(libc::sendto(st.fd, buf.as_ptr().cast(), buf.len(), flags | SEND_FLAGS, raw.ptr(), len))
        .map(|n| n as usize)
}

pub fn recv(st: &State, buf: &mut [u8], flags: i32) -> Result<usize> {
    syscall!(libc::recv(st.fd, buf.as_mut_ptr().cast(), buf.len(), flags)).map(|n| n as usize)
}

pub fn recvfrom(st: &State, buf: &mut [u8], flags: i32, from: &mut SockAddr) -> Result<usize> {
    let mut raw = RawAddr::new();
    let mut len = size_of::<RawAddr>() as libc::socklen_t;
    let n = syscall!(libc::recvfrom(st.fd, buf.as_mut_ptr().cast(), buf.len(), flags, raw.mut_ptr(), &mut len))?;
    // A connected TCP socket reports no source address: use the peer's.
    *from = match raw.to_sockaddr() {
        Ok(a) => a,
        Err(_) => peer_addr(st).unwrap_or(SockAddr::zeroed()),
    };
    Ok(n as usize)
}

pub fn shutdown(st: &State, how: i32) -> Result<()> {
    syscall!(libc::shutdown(st.fd, how)).map(drop)
}

pub fn setsockopt(st: &State, level: i32, name: i32, value: &[u8]) -> Result<()> {
    syscall!(libc::setsockopt(st.fd, level, name, value.as_ptr().cast(), value.len() as libc::socklen_t)).map(drop)
}

pub fn getsockopt(st: &State, level: i32, name: i32, out: &mut [u8]) -> Result<usize> {
    let mut len = out.len() as libc::socklen_t;
    syscall!(libc::getsockopt(st.fd, level, name, out.as_mut_ptr().cast(), &mut len))?;
    Ok(len as usize)
}

pub fn local_addr(st: &State) -> Result<SockAddr> {
    let mut raw = RawAddr::new();
    let mut len = size_of::<RawAddr>() as libc::socklen_t;
    syscall!(libc::getsockname(st.fd, raw.mut_ptr(), &mut len))?;
    raw.to_sockaddr()
}

pub fn peer_addr(st: &State) -> Result<SockAddr> {
    let mut raw = RawAddr::new();
    let mut len = size_of::<RawAddr>() as libc::socklen_t;
    syscall!(libc::getpeername(st.fd, raw.mut_ptr(), &mut len))?;
    raw.to_sockaddr()
}

// poll() bits as the target's C library defines them (build.rs).
const POLLIN: libc::c_short = consts::POLLIN as libc::c_short;
const POLLOUT: libc::c_short = consts::POLLOUT as libc::c_short;

fn poll_events(flags: PollFlags) -> libc::c_short {
    let mut ev = 0;
    if flags.contains(PollFlags::RD) {
        ev |= POLLIN;
    }
    if flags.contains(PollFlags::WR) {
        ev |= POLLOUT;
    }
    ev
}

fn poll_flags(revents: libc::c_short) -> PollFlags {
    let mut f = PollFlags::empty();
    for (bit, flag) in [
        (consts::POLLIN, PollFlags::RD),
        (consts::POLLOUT, PollFlags::WR),
        (consts::POLLERR, PollFlags::ERR),
        (consts::POLLHUP, PollFlags::HUP),
        (consts::POLLNVAL, PollFlags::NVAL),
    ] {
        if revents & bit as libc::c_short != 0 {
            f |= flag;
        }
    }
    f
}

/// Readiness now, without waiting.
pub fn readiness(st: &State, wanted: PollFlags) -> PollFlags {
    let mut pfd = libc::pollfd { fd: st.fd, events: poll_events(wanted), revents: 0 };
    match syscall!(libc::poll(&mut pfd, 1, 0)) {
        Ok(n) if n > 0 => poll_flags(pfd.revents),
        _ => PollFlags::empty(),
    }
}

/// Waits until the socket may be ready for `interest` (true), or `wait` runs
/// out (false). Any error condition counts as ready: the caller's next attempt
/// finds out what it is. `EINTR` is returned as is.
pub fn wait(st: &State, interest: Interest, wait: Wait) -> Result<bool> {
    let events = match interest {
        Interest::Read => POLLIN,
        Interest::Write => POLLOUT,
    };
    let ms = match wait {
        Wait::Forever => -1,
        Wait::Millis(ms) => ms.min(i32::MAX as u32) as libc::c_int,
    };
    let mut pfd = libc::pollfd { fd: st.fd, events, revents: 0 };
    syscall!(libc::poll(&mut pfd, 1, ms)).map(|n| n > 0)
}

/// Monotonic milliseconds.
pub fn now_ms() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid out-pointer; CLOCK_MONOTONIC always exists here.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1000 + (ts.tv_nsec as u64) / 1_000_000
}

/// Hints for [`resolve`], with the platform's values.
pub struct Hints {
    pub family: i32,
    pub sock_type: i32,
    pub proto: i32,
    pub flags: i32,
}

/// Longest host name resolve() takes (DNS names are at most 253 bytes).
const HOST_MAX: usize = 256;
const SERVICE_MAX: usize = 32;

fn c_string<'a>(text: &[u8], buf: &'a mut [u8]) -> core::result::Result<*const libc::c_char, ()> {
    if text.len() >= buf.len() || text.contains(&0) {
        return Err(());
    }
    buf[..text.len()].copy_from_slice(text);
    buf[text.len()] = 0;
    Ok(buf.as_ptr().cast())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[path = "posix_gai.rs"]
mod gai;

/// Plain getaddrinfo (not interruptible; the GIL is released meanwhile).
fn blocking_lookup(host: Option<&[u8]>, service: Option<&[u8]>, h: &libc::addrinfo) -> core::result::Result<*mut libc::addrinfo, Error> {
    let mut host_buf = [0u8; HOST_MAX];
    let mut service_buf = [0u8; SERVICE_MAX];
    let host_ptr = match host {
        None => core::ptr::null(),
        Some(h) => c_string(h, &mut host_buf).map_err(|_| Error::Gai(consts::EAI_NONAME))?,
    };
    let service_ptr = match service {
        None => core::ptr::null(),
        Some(s) => c_string(s, &mut service_buf).map_err(|_| Error::Gai(consts::EAI_SERVICE))?,
    };
    let mut list: *mut libc::addrinfo = core::ptr::null_mut();
    // SAFETY: NUL-terminated strings (or null) in local buffers, valid hints,
    // and an out-pointer that libc fills with a list the caller frees.
    let rc = crate::hooks::without_gil(|| unsafe { libc::getaddrinfo(host_ptr, service_ptr, h, &mut list) });
    if rc != 0 {
        #[cfg(target_os = "linux")]
        if rc == libc::EAI_SYSTEM {
            return Err(Error::Os(errno()));
        }
        return Err(Error::Gai(rc));
    }
    Ok(list)
}

/// Resolves through the C library's getaddrinfo. Writes up to `out.len()`
/// results and the canonical name of the first (if asked for) into `canon`.
pub fn resolve(
    host: Option<&[u8]>,
    service: Option<&[u8]>,
    hints: &Hints,
    out: &mut [AddrInfo],
    canon: &mut [u8],
    canon_len: &mut usize,
) -> core::result::Result<usize, Error> {
    // SAFETY: an all-zero addrinfo is the documented "no hints" value.
    let mut h: libc::addrinfo = unsafe { MaybeUninit::zeroed().assume_init() };
    h.ai_family = hints.family;
    h.ai_socktype = hints.sock_type;
    h.ai_protocol = hints.proto;
    h.ai_flags = hints.flags;
    // An interruptible lookup where the C library offers one.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    let looked = gai::lookup(host, service, &h);
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let looked: Option<core::result::Result<*mut libc::addrinfo, Error>> = None;
    let list = match looked {
        Some(r) => r?,
        None => blocking_lookup(host, service, &h)?,
    };
    let mut n = 0;
    *canon_len = 0;
    let mut cur = list;
    while !cur.is_null() && n < out.len() {
        // SAFETY: cur walks the list getaddrinfo returned, which stays valid
        // until freeaddrinfo below; ai_addr points at ai_addrlen bytes.
        let ai = unsafe { &*cur };
        if n == 0 && !ai.ai_canonname.is_null() {
            // SAFETY: ai_canonname is a NUL-terminated string owned by the list.
            let name = unsafe { core::ffi::CStr::from_ptr(ai.ai_canonname) }.to_bytes();
            let len = name.len().min(canon.len());
            canon[..len].copy_from_slice(&name[..len]);
            *canon_len = len;
        }
        let addr = if ai.ai_addr.is_null() {
            None
        } else {
            // SAFETY: ai_addr points at ai_addrlen readable bytes.
            let bytes = unsafe { core::slice::from_raw_parts(ai.ai_addr.cast::<u8>(), ai.ai_addrlen as usize) };
            sockaddr_from_raw(bytes).ok()
        };
        if let Some(addr) = addr {
            out[n] = AddrInfo { family: ai.ai_family, sock_type: ai.ai_socktype, proto: ai.ai_protocol, addr };
            n += 1;
        }
        cur = ai.ai_next;
    }
    // SAFETY: list came from a successful getaddrinfo and is freed once.
    unsafe { libc::freeaddrinfo(list) };
    Ok(n)
}

/// The C library's message for a getaddrinfo error code.
pub fn gai_message(code: i32) -> *const u8 {
    // SAFETY: gai_strerror returns a static NUL-terminated string for any code.
    unsafe { libc::gai_strerror(code) }.cast()
}

/// EAI codes are negative in glibc; the module reports them negative on every
/// platform (like MicroPython's other ports).
pub fn gai_from_reported(reported: i32) -> i32 {
    if libc::EAI_NONAME < 0 {
        reported
    } else {
        -reported
    }
}
