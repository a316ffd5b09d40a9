//! The BSD socket API, from one of two providers (the `c` module):
//!
//! - `posix` backend: the C library, i.e. Linux kernel sockets
//!   (posix_libc.rs; MicroPython's unix port);
//! - `lwip_socket` backend: lwIP's socket layer by its lwip_* names
//!   (posix_lwip.rs; ESP-IDF on the esp32 port, and the unix firmware with
//!   lwIP linked in, where this backend is tested).
//!
//! Every primitive here is one call (or two) and returns at once when the
//! socket is non-blocking; the core (src/socket.rs) decides when to wait, for
//! how long, and what the user sees. Where lwIP's socket layer behaves
//! differently from Linux, the difference is absorbed here, at the call that
//! shows it, so users see the same module on both.

use core::mem::{size_of, MaybeUninit};
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use crate::addr::{AddrInfo, SockAddr};
use crate::consts::{self, AF_INET, AF_INET6};
use crate::errno::{Error, Errno, Result};
use crate::poll::{Interest, PollFlags};
use crate::timeout::Wait;

#[cfg(usocket_backend = "posix")]
#[path = "posix_libc.rs"]
mod c;
#[cfg(usocket_backend = "lwip_socket")]
#[path = "posix_lwip.rs"]
mod c;
#[cfg(usocket_backend = "posix")]
pub use c::ip_text;

// The core hands errno values straight to MicroPython, which is right only
// when the port's errno *is* the C library's (MICROPY_USE_INTERNAL_ERRNO=0);
// lwIP's socket layer sets the C library's errno too.
const _: () = assert!(Errno::EAGAIN.raw() == libc::EAGAIN && Errno::ETIMEDOUT.raw() == libc::ETIMEDOUT);
#[cfg(usocket_backend = "posix")]
const _: () = assert!(AF_INET == libc::AF_INET && AF_INET6 == libc::AF_INET6);

/// With timeout None the core lets the kernel block (one system call per
/// operation) instead of polling first. lwIP's blocking calls cannot be
/// interrupted by Ctrl-C, so there sockets stay non-blocking and the core
/// waits in [`wait`].
pub(crate) const HAS_BLOCKING_CALLS: bool = c::KERNEL_FDS;

/// The backend's part of a socket: the socket number.
///
/// Invariants: `fd` is an open socket owned by this socket object, or -1 once
/// closed. `events` (only ever accessed atomically, and only on lwIP) holds
/// what the lwIP section below needs to know of the socket's history; the
/// C library's sockets need none, and go without it (on unix the whole
/// socket object then fits one GC block).
#[repr(C)]
pub struct State {
    pub fd: i32,
    #[cfg(usocket_backend = "lwip_socket")]
    pub events: u32,
}

impl State {
    fn new(fd: i32, events: u32) -> State {
        #[cfg(usocket_backend = "posix")]
        let _ = events;
        State {
            fd,
            #[cfg(usocket_backend = "lwip_socket")]
            events,
        }
    }

    #[cfg(usocket_backend = "lwip_socket")]
    fn events(&self) -> &AtomicU32 {
        // SAFETY: `events` is an aligned u32 inside this state, live as long
        // as self, and every access to it is atomic through this view.
        unsafe { AtomicU32::from_ptr(core::ptr::addr_of!(self.events).cast_mut()) }
    }

    /// Always empty: only the lwIP section reads it, and it writes nothing
    /// on the C library (`lwip::ON` is false).
    #[cfg(usocket_backend = "posix")]
    fn events(&self) -> &AtomicU32 {
        static NONE: AtomicU32 = AtomicU32::new(0);
        &NONE
    }
}

/// The error of a call that failed. One that set no errno (an interposed
/// wrapper's bug) is EIO: reported as 0, it would read as success.
#[inline(never)]
fn errno() -> Errno {
    // SAFETY: the C library's thread-local errno location is always valid.
    match unsafe { *errno_location() } {
        0 => Errno::EIO,
        e => Errno::from_raw(e),
    }
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

#[cfg(usocket_backend = "posix")]
const SEND_FLAGS: c::c_int = libc::MSG_NOSIGNAL; // EPIPE, never SIGPIPE
#[cfg(usocket_backend = "lwip_socket")]
const SEND_FLAGS: c::c_int = 0; // lwIP raises no SIGPIPE

impl State {
    pub(crate) fn closed() -> State {
        State::new(-1, 0)
    }

    /// The handle, read atomically: where no operation holds the socket
    /// (is_open, fileno, poll's readiness) another thread's close may be
    /// swapping it for -1 at the same time ([`close`]).
    fn fd(&self) -> c::c_int {
        // SAFETY: fd is an aligned i32 inside this state, live as long as
        // self; once the socket is shared it is written only by close's
        // atomic swap.
        unsafe { AtomicI32::from_ptr(core::ptr::addr_of!(self.fd).cast_mut()) }.load(Ordering::Relaxed)
    }

    pub fn is_open(&self) -> bool {
        self.fd() >= 0
    }

    /// The socket's number (as `fileno()` and repr show it).
    pub fn fileno(&self) -> Option<i32> {
        let fd = self.fd();
        (fd >= 0).then_some(fd)
    }

    /// The number, if the kernel's poll(2) understands it.
    pub fn kernel_fd(&self) -> Option<i32> {
        self.fileno().filter(|_| c::KERNEL_FDS)
    }
}

/// Bytes of queue memory `open` and `listen` want from the caller: none, the
/// kernel (or lwIP's socket layer) queues.
pub fn queue_size() -> usize {
    0
}

pub fn open(st: &mut State, family: i32, sock_type: i32, proto: i32, _queue: *mut core::ffi::c_void) -> Result<()> {
    lwip::check_open(family, sock_type, proto)?;
    #[cfg(usocket_backend = "posix")]
    let sock_type = sock_type | libc::SOCK_CLOEXEC;
    let fd = syscall!(c::socket(family, sock_type, proto)).map_err(lwip::out_of_sockets)?;
    let mut events = if family == AF_INET6 { lwip::V6 } else { 0 };
    if sock_type == consts::SOCK_STREAM {
        events |= lwip::STREAM;
    }
    *st = born(State::new(fd, events))?;
    Ok(())
}

/// Two connected sockets (socketpair(2): AF_UNIX on Linux), close-on-exec.
#[cfg(usocket_backend = "posix")]
pub fn pair(family: i32, sock_type: i32, proto: i32) -> Result<(State, State)> {
    let mut fds = [-1 as c::c_int; 2];
    syscall!(libc::socketpair(family, sock_type | libc::SOCK_CLOEXEC, proto, fds.as_mut_ptr()))?;
    Ok((State::new(fds[0], 0), State::new(fds[1], 0)))
}

/// A new socket (opened or accepted) as the core expects it: on lwIP,
/// non-blocking for good (see [`HAS_BLOCKING_CALLS`]).
fn born(mut st: State) -> Result<State> {
    if !HAS_BLOCKING_CALLS {
        if let Err(e) = set_nonblocking(&st, true) {
            close(&mut st);
            return Err(e);
        }
    }
    Ok(st)
}

/// Nothing to register: the kernel never calls back.
pub fn attach(_st: &mut State) {}

pub fn close(st: &mut State) {
    // Taken atomically: close() on one thread and the last blocked operation
    // leaving on another may both get here; only one may close the number.
    // SAFETY: fd is an aligned i32 that lives as long as st.
    let fd = unsafe { AtomicI32::from_ptr(&mut st.fd) }.swap(-1, Ordering::AcqRel);
    if fd >= 0 {
        lwip::before_close(st, fd);
        // The descriptor is released even when close reports EINTR (Linux), so
        // never retry: the number may already belong to someone else.
        // SAFETY: we owned fd and nobody else will close it.
        unsafe { c::close(fd) };
    }
}

/// Wakes operations blocked in this socket on other threads (close() is
/// waiting for them to leave): shutting it down ends blocked reads, writes,
/// accepts and polls at once, without releasing the descriptor. (On lwIP,
/// where a listening or UDP socket may not wake, [`wait`] returns every few
/// milliseconds and the core sees the close then.)
pub fn wake(st: &mut State) {
    // SAFETY: the caller (Socket::close) is counted in as an operation, so
    // the descriptor cannot be released, and its number reused, under this.
    unsafe { c::shutdown(st.fd, c::SHUT_RDWR) };
}

/// The core only calls this when the mode really changes.
pub fn set_nonblocking(st: &State, on: bool) -> Result<()> {
    syscall!(c::set_nonblocking(st.fd, on)).map(drop)
}

/// A sockaddr_in / sockaddr_in6 (/ sockaddr_un) built from a SockAddr.
#[repr(C)]
union RawAddr {
    v4: c::sockaddr_in,
    v6: c::sockaddr_in6,
    #[cfg(usocket_backend = "posix")]
    un: c::sockaddr_un,
    storage: c::sockaddr_storage,
}

/// Where `sun_path` starts in a sockaddr_un: after the 16-bit family.
#[cfg(usocket_backend = "posix")]
const SUN_PATH_AT: usize = 2;
#[cfg(usocket_backend = "posix")]
const _: () = assert!(size_of::<c::sockaddr_un>() == SUN_PATH_AT + crate::addr::UNIX_PATH_MAX);

impl RawAddr {
    fn new() -> RawAddr {
        // SAFETY: all-zero bytes are a valid value for these plain C structs.
        unsafe { MaybeUninit::zeroed().assume_init() }
    }

    /// The kernel's form of `a`, written in place (a datagram loop does this
    /// on every send: no copies of the 128-byte union); its length.
    fn set(&mut self, a: &SockAddr) -> c::socklen_t {
        let raw = self;
        // As CPython passes it: the name without a NUL (the kernel ends a
        // file name itself); an empty one is just the family (bind: the
        // kernel picks an abstract name).
        #[cfg(usocket_backend = "posix")]
        if a.family == consts::AF_UNIX {
            let path = a.unix_path();
            // SAFETY: plain integers written into the zeroed union's
            // sockaddr_un; path is at most sun_path's size (unix_path).
            unsafe {
                raw.un.sun_family = consts::AF_UNIX as libc::sa_family_t;
                core::ptr::copy_nonoverlapping(path.as_ptr(), raw.un.sun_path.as_mut_ptr().cast::<u8>(), path.len());
            }
            return (SUN_PATH_AT + path.len()) as c::socklen_t;
        }
        if a.family == AF_INET {
            raw.v4 = c::v4(AF_INET, a.port.to_be(), a.ipv4());
            size_of::<c::sockaddr_in>() as c::socklen_t
        } else {
            raw.v6 = c::v6(AF_INET6, a.port.to_be(), a.flowinfo.to_be(), a.addr, a.scope_id);
            size_of::<c::sockaddr_in6>() as c::socklen_t
        }
    }

    fn from(a: &SockAddr) -> (RawAddr, c::socklen_t) {
        let mut raw = RawAddr::new();
        let len = raw.set(a);
        (raw, len)
    }

    fn ptr(&self) -> *const c::sockaddr {
        (self as *const RawAddr).cast()
    }

    fn mut_ptr(&mut self) -> *mut c::sockaddr {
        (self as *mut RawAddr).cast()
    }

    /// Decodes what the kernel wrote (`len` bytes of it); unknown families,
    /// and no address at all, give EAFNOSUPPORT.
    fn to_sockaddr(&self, len: c::socklen_t) -> Result<SockAddr> {
        let mut a = SockAddr::zeroed();
        self.decode(len, &mut a).map(|()| a)
    }

    /// [`RawAddr::to_sockaddr`] into `out`, in place (a datagram loop does
    /// this on every receive: no copies of the 140-byte address).
    // Out of line: five callers.
    #[inline(never)]
    fn decode(&self, len: c::socklen_t, out: &mut SockAddr) -> Result<()> {
        #[cfg(not(usocket_backend = "posix"))]
        let _ = len; // only AF_UNIX names need it
        // SAFETY: every variant starts with the family field, and the union
        // is fully initialised (zeroed, then written by the kernel).
        unsafe {
            // IPv4 and IPv6 leave `out.path` as it was: it is not part of
            // their value (see SockAddr).
            let (family, port, flowinfo, scope_id, addr) = match i32::from(self.storage.ss_family) {
                AF_INET => {
                    let mut addr = [0; 16];
                    addr[..4].copy_from_slice(&self.v4.sin_addr.s_addr.to_ne_bytes());
                    (AF_INET, self.v4.sin_port, 0, 0, addr)
                }
                AF_INET6 => (
                    AF_INET6,
                    self.v6.sin6_port,
                    u32::from_be(self.v6.sin6_flowinfo),
                    self.v6.sin6_scope_id,
                    c::v6_addr(&self.v6),
                ),
                #[cfg(usocket_backend = "posix")]
                consts::AF_UNIX => {
                    // (sun_path is c_char: the same bytes, read as u8.)
                    let path = &*(core::ptr::addr_of!(self.un.sun_path) as *const [u8; crate::addr::UNIX_PATH_MAX]);
                    let n = (len as usize).saturating_sub(SUN_PATH_AT).min(path.len());
                    *out = SockAddr::unix_as_given(unix_name(&path[..n]));
                    return Ok(());
                }
                _ => return Err(Errno::EAFNOSUPPORT),
            };
            out.family = family;
            out.port = u16::from_be(port);
            out.flowinfo = flowinfo;
            out.scope_id = scope_id;
            out.addr = addr;
            #[cfg(usocket_backend = "posix")]
            {
                out.path_len = 0;
            }
            Ok(())
        }
    }
}

/// Decodes a raw `struct sockaddr` as older unix MicroPython code passes it
/// (the bytes its getaddrinfo used to return): Linux's layout, a 16-bit
/// family first, whichever stack is underneath.
pub fn sockaddr_from_raw(bytes: &[u8]) -> Result<SockAddr> {
    if bytes.len() > 128 || bytes.len() < 2 {
        return Err(Errno::EINVAL); // larger than any sockaddr_storage
    }
    let word = |at: usize| -> [u8; 4] {
        let mut w = [0u8; 4];
        let part = bytes.get(at..bytes.len().min(at + 4)).unwrap_or(&[]);
        w[..part.len()].copy_from_slice(part);
        w
    };
    let port = u16::from_be_bytes([word(2)[0], word(2)[1]]);
    // Family, port and address must be there; sockaddr_in's zero padding and
    // sockaddr_in6's scope id may be left off.
    match i32::from(u16::from_ne_bytes([bytes[0], bytes[1]])) {
        AF_INET if bytes.len() >= 8 => Ok(SockAddr::v4(word(4), port)),
        AF_INET6 if bytes.len() >= 24 => {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&bytes[8..24]);
            Ok(SockAddr::v6(ip, port, u32::from_be_bytes(word(4)), u32::from_ne_bytes(word(24))))
        }
        AF_INET | AF_INET6 => Err(Errno::EINVAL),
        #[cfg(usocket_backend = "posix")]
        consts::AF_UNIX => SockAddr::unix(unix_name(&bytes[SUN_PATH_AT..])),
        _ => Err(Errno::EAFNOSUPPORT),
    }
}

/// A file name ends at its first NUL (the kernel may count one, and raw
/// sockaddr bytes may be padded with them); an abstract name, which starts
/// with a NUL, is all of its bytes.
#[cfg(usocket_backend = "posix")]
fn unix_name(path: &[u8]) -> &[u8] {
    match path.iter().position(|&b| b == 0) {
        Some(end) if end > 0 => &path[..end],
        _ => path,
    }
}

/// An AF_UNIX socket's address given as bytes: a path (a file name, or an
/// abstract name after a NUL), or a raw `struct sockaddr_un` as MicroPython's
/// unix module took it, told apart by its leading AF_UNIX family (no real
/// path starts with byte 1).
#[cfg(usocket_backend = "posix")]
pub fn unix_addr(bytes: &[u8]) -> Result<SockAddr> {
    if bytes.len() >= SUN_PATH_AT && bytes[..SUN_PATH_AT] == (consts::AF_UNIX as u16).to_ne_bytes() {
        sockaddr_from_raw(bytes)
    } else {
        SockAddr::unix(bytes)
    }
}

/// Decodes a sockaddr the provider wrote (getaddrinfo's answers).
fn provider_sockaddr(bytes: &[u8], out: &mut SockAddr) -> Result<()> {
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
    raw.decode(bytes.len() as c::socklen_t, out)
}

pub fn bind(st: &State, addr: &SockAddr) -> Result<()> {
    lwip::claim_bind(st)?;
    let (raw, len) = RawAddr::from(addr);
    let r = syscall!(c::bind(st.fd, raw.ptr(), len));
    match r {
        Ok(_) => lwip::mark(st, lwip::BOUND),
        Err(_) => lwip::unmark(st, lwip::BINDING), // (another bind may try)
    }
    r.map(drop)
}

pub fn listen(st: &State, backlog: i32, _queue: *mut core::ffi::c_void) -> Result<()> {
    lwip::bind_before_listen(st)?;
    lwip::mark(st, lwip::ACTIVE);
    lwip::reading_alone(st, || syscall!(c::listen(st.fd, backlog)))?;
    lwip::mark(st, lwip::LISTENING);
    Ok(())
}

/// Accepts one connection. The new socket is blocking and close-on-exec
/// (Linux; on lwIP non-blocking, see [`born`]).
pub fn accept(st: &State, peer: &mut SockAddr, new: &mut State) -> Result<()> {
    let mut raw = RawAddr::new();
    let mut len = size_of::<RawAddr>() as c::socklen_t;
    #[cfg(usocket_backend = "posix")]
    let r = syscall!(c::accept4(st.fd, raw.mut_ptr(), &mut len, libc::SOCK_CLOEXEC));
    #[cfg(usocket_backend = "lwip_socket")]
    let r = lwip::one_at_a_time(st, lwip::READING, || syscall!(c::accept(st.fd, raw.mut_ptr(), &mut len)));
    let fd = match r {
        // The connection was reset while it waited to be accepted: there is
        // nothing to hand over, so wait for the next one (accept(2) asks
        // this of applications; lwIP's raw API drops such connections).
        // EINTR makes the caller try again under the same deadline.
        Err(Errno::ECONNABORTED) => {
            lwip::refused_for_want_of_memory();
            return Err(Errno::EINTR);
        }
        r => r?,
    };
    *new = born(State::new(fd, lwip::accepted(st)))?;
    if raw.decode(len, peer).is_err() {
        *peer = SockAddr::zeroed();
    }
    lwip::seen_as(st, peer);
    Ok(())
}

/// Starts connecting; on a non-blocking socket `EINPROGRESS` means "wait for
/// writability, then ask [`connect_result`]".
pub fn connect(st: &State, addr: &SockAddr) -> Result<()> {
    if let Some(r) = lwip::connected_already(st) {
        return r;
    }
    let (raw, len) = RawAddr::from(addr);
    lwip::after_connect(st, syscall!(c::connect(st.fd, raw.ptr(), len)).map(drop))
}

/// The outcome of a connect that was in progress (SO_ERROR).
pub fn connect_result(st: &State) -> Result<()> {
    let mut err: c::c_int = 0;
    let mut len = size_of::<c::c_int>() as c::socklen_t;
    syscall!(c::getsockopt(
        st.fd,
        consts::SOL_SOCKET,
        consts::SO_ERROR,
        (&mut err as *mut c::c_int).cast(),
        &mut len
    ))?;
    if err == 0 {
        lwip::unmark(st, lwip::CONNECTING); // (reported)
        lwip::mark(st, lwip::CONNECTED);
        return Ok(());
    }
    // A blocking connect(2) that fails leaves the socket ready for another
    // attempt; one that failed in the background leaves it "connecting", and
    // the next connect would say ECONNABORTED. Dissolve the attempt
    // (connect to AF_UNSPEC) so retrying on the same socket works as users
    // expect from a blocking connect. (lwIP frees the failed connection
    // itself, and would take AF_UNSPEC for a UDP-only disconnect.)
    if c::KERNEL_FDS {
        let mut unspec = RawAddr::new();
        // SAFETY: every bit pattern is a valid sockaddr_storage (plain integers).
        c::set_family(unsafe { &mut unspec.storage }, c::AF_UNSPEC);
        // SAFETY: a valid sockaddr of the given length; the result is irrelevant.
        unsafe { c::connect(st.fd, unspec.ptr(), size_of::<c::sockaddr>() as c::socklen_t) };
    }
    lwip::unmark(st, lwip::CONNECTING);
    Err(lwip::refused(Errno::from_raw(err)))
}

pub fn send(st: &State, buf: &[u8], flags: i32) -> Result<usize> {
    let r = lwip::one_at_a_time(st, lwip::WRITING, || {
        syscall!(c::send(st.fd, buf.as_ptr().cast(), buf.len(), flags | SEND_FLAGS)).map(|n| n as usize)
    });
    lwip::after_send(st, r)
}

pub fn sendto(st: &State, buf: &[u8], flags: i32, to: &SockAddr) -> Result<usize> {
    let mut raw = RawAddr::new();
    let len = raw.set(to);
    let r = lwip::one_at_a_time(st, lwip::WRITING, || {
        syscall!(c::sendto(st.fd, buf.as_ptr().cast(), buf.len(), flags | SEND_FLAGS, raw.ptr(), len)).map(|n| n as usize)
    });
    lwip::after_send(st, r)
}

pub fn recv(st: &State, buf: &mut [u8], flags: i32) -> Result<usize> {
    let r = lwip::one_at_a_time(st, lwip::READING, || {
        syscall!(c::recv(st.fd, buf.as_mut_ptr().cast(), buf.len(), flags)).map(|n| n as usize)
    });
    lwip::after_recv(st, r)
}

pub fn recvfrom(st: &State, buf: &mut [u8], flags: i32, from: &mut SockAddr) -> Result<usize> {
    let mut raw = RawAddr::new();
    let mut len = size_of::<RawAddr>() as c::socklen_t;
    let n = lwip::one_at_a_time(st, lwip::READING, || {
        syscall!(c::recvfrom(st.fd, buf.as_mut_ptr().cast(), buf.len(), flags, raw.mut_ptr(), &mut len)).map(|n| n as usize)
    });
    let n = lwip::after_recv(st, n)?;
    // A connected TCP socket reports no source address: use the peer's.
    // (None at all, family 0, for a datagram from an unnamed AF_UNIX socket.)
    if raw.decode(len, from).is_ok() {
        lwip::seen_as(st, from);
    } else {
        *from = name(st, true).unwrap_or(SockAddr::zeroed());
    }
    Ok(n)
}

pub fn shutdown(st: &State, how: i32) -> Result<()> {
    lwip::check_shutdown(st, how)?;
    syscall!(c::shutdown(st.fd, how))?;
    lwip::after_shutdown(st, how);
    Ok(())
}

pub fn setsockopt(st: &State, level: i32, name: i32, value: &[u8]) -> Result<()> {
    syscall!(c::setsockopt(st.fd, level, name, value.as_ptr().cast(), value.len() as c::socklen_t)).map(drop)
}

pub fn getsockopt(st: &State, level: i32, name: i32, out: &mut [u8]) -> Result<usize> {
    let mut len = out.len() as c::socklen_t;
    syscall!(c::getsockopt(st.fd, level, name, out.as_mut_ptr().cast(), &mut len))?;
    if level == consts::SOL_SOCKET && name == consts::SO_ERROR {
        lwip::so_error(st, out);
    }
    Ok(len as usize)
}

/// getpeername (`peer`) or getsockname: one copy of the decoding for both.
#[inline(never)]
pub fn name(st: &State, peer: bool) -> Result<SockAddr> {
    let mut raw = RawAddr::new();
    let mut len = size_of::<RawAddr>() as c::socklen_t;
    if peer {
        syscall!(c::getpeername(st.fd, raw.mut_ptr(), &mut len))?;
    } else {
        syscall!(c::getsockname(st.fd, raw.mut_ptr(), &mut len))?;
    }
    let mut a = raw.to_sockaddr(len)?;
    lwip::seen_as(st, &mut a);
    Ok(a)
}

// poll() bits as the provider defines them (build.rs).
const POLLIN: c::c_short = consts::POLLIN as c::c_short;
const POLLOUT: c::c_short = consts::POLLOUT as c::c_short;

fn poll_events(flags: PollFlags) -> c::c_short {
    let mut ev = 0;
    if flags.contains(PollFlags::RD) {
        ev |= POLLIN;
    }
    if flags.contains(PollFlags::WR) {
        ev |= POLLOUT;
    }
    ev
}

fn poll_flags(revents: c::c_short) -> PollFlags {
    let mut f = PollFlags::empty();
    for (bit, flag) in [
        (consts::POLLIN, PollFlags::RD),
        (consts::POLLOUT, PollFlags::WR),
        (consts::POLLERR, PollFlags::ERR),
        (consts::POLLHUP, PollFlags::HUP),
        (consts::POLLNVAL, PollFlags::NVAL),
    ] {
        if revents & bit as c::c_short != 0 {
            f |= flag;
        }
    }
    f
}

/// Nothing is watched here: the kernel's buffers are not the program's to
/// give back, and under lwIP's socket layer (ESP-IDF) the network driver's
/// buffers are not visible to the module (lwip_raw.rs watches the raw API's).
#[inline(always)]
pub fn collect_if_starved() {}

/// Whether a read is known to find nothing without asking the kernel: never.
#[inline(always)]
pub fn nothing_to_take(_st: &State, _accepting: bool) -> bool {
    false
}

/// Readiness now, without waiting.
pub fn readiness(st: &State, wanted: PollFlags) -> PollFlags {
    let mut pfd = c::pollfd { fd: st.fd(), events: poll_events(wanted), revents: 0 };
    let now = match syscall!(c::poll(&mut pfd, 1, 0)) {
        Ok(n) if n > 0 => poll_flags(pfd.revents),
        _ => PollFlags::empty(),
    };
    lwip::readiness(st, wanted, now)
}

/// How long one wait in lwIP's poll lasts at most: it cannot be interrupted
/// by a signal, so Ctrl-C (and a close on another thread) is noticed between
/// slices.
const LWIP_WAIT_SLICE_MS: u32 = 20;

/// Waits until the socket may be ready for `interest` (true), or `wait` runs
/// out (false; on lwIP also after one slice, the core then waits again). Any
/// error condition counts as ready: the caller's next attempt finds out what
/// it is. `EINTR` is returned as is (on lwIP: when MicroPython has something
/// pending).
pub fn wait(st: &State, interest: Interest, wait: Wait) -> Result<bool> {
    let events = match interest {
        Interest::Read => POLLIN,
        Interest::Write => POLLOUT,
    };
    let mut ms = match wait {
        Wait::Forever => -1,
        Wait::Millis(ms) => ms.min(i32::MAX as u32) as c::c_int,
    };
    if !c::KERNEL_FDS && !(0..=LWIP_WAIT_SLICE_MS as c::c_int).contains(&ms) {
        ms = LWIP_WAIT_SLICE_MS as c::c_int; // also for -1, "forever"
    }
    let mut pfd = c::pollfd { fd: st.fd, events, revents: 0 };
    let ready = syscall!(c::poll(&mut pfd, 1, ms)).map(|n| n > 0)?;
    if !ready && !c::KERNEL_FDS && crate::hooks::pending() {
        return Err(Errno::EINTR);
    }
    Ok(ready)
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

fn c_string(text: &[u8], buf: &mut [u8]) -> core::result::Result<*const c::c_char, ()> {
    // (`any`, not `contains`: that one brings in core's 200-byte memchr.)
    if text.len() >= buf.len() || text.iter().any(|&c| c == 0) {
        return Err(());
    }
    buf[..text.len()].copy_from_slice(text);
    buf[text.len()] = 0;
    Ok(buf.as_ptr().cast())
}

#[cfg(all(usocket_backend = "posix", target_env = "gnu"))]
#[path = "posix_gai.rs"]
mod gai;

/// Plain getaddrinfo (not interruptible; the GIL is released meanwhile).
fn blocking_lookup(host: Option<&[u8]>, service: Option<&[u8]>, h: &c::addrinfo) -> core::result::Result<*mut c::addrinfo, Error> {
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
    let mut list: *mut c::addrinfo = core::ptr::null_mut();
    // SAFETY: NUL-terminated strings (or null) in local buffers, valid hints,
    // and an out-pointer that the provider fills with a list the caller frees.
    let rc = crate::hooks::without_gil(|| unsafe { c::getaddrinfo(host_ptr, service_ptr, h, &mut list) });
    if rc != 0 {
        #[cfg(usocket_backend = "posix")]
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
    #[cfg(all(usocket_backend = "posix", target_env = "gnu"))]
    if let Some(n) = numeric_v4_answers(host, service, hints, out) {
        *canon_len = 0;
        return Ok(n);
    }
    // SAFETY: an all-zero addrinfo is the documented "no hints" value.
    let mut h: c::addrinfo = unsafe { MaybeUninit::zeroed().assume_init() };
    h.ai_family = hints.family;
    h.ai_socktype = hints.sock_type;
    h.ai_protocol = hints.proto;
    h.ai_flags = hints.flags;
    // An interruptible lookup where the C library offers one, for names
    // that may need DNS. A numeric host (or none), or a name in /etc/hosts
    // that glibc looks at first, is answered at once: it goes on this thread,
    // without glibc's helper thread (a wake-up each way, and after it every
    // libc call of the process pays for thread safety).
    #[cfg(all(usocket_backend = "posix", target_env = "gnu"))]
    let looked = match host {
        Some(name) if hints.flags & consts::AI_NUMERICHOST == 0 && !gai::answered_by_hosts_file(name, hints.family) => {
            gai::lookup(host, service, &h)
        }
        _ => None,
    };
    #[cfg(not(all(usocket_backend = "posix", target_env = "gnu")))]
    let looked: Option<core::result::Result<*mut c::addrinfo, Error>> = None;
    let list = match looked {
        Some(r) => r?,
        None => blocking_lookup(host, service, &h)?,
    };
    Ok(decode_answers(list, hints, out, canon, canon_len))
}

/// Decodes getaddrinfo's `list` into `out` (and the canonical name of the
/// first, if asked for), frees it, and gives the count.
fn decode_answers(list: *mut c::addrinfo, hints: &Hints, out: &mut [AddrInfo], canon: &mut [u8], canon_len: &mut usize) -> usize {
    let mut n = 0;
    *canon_len = 0;
    let mut cur = list;
    while !cur.is_null() && n < out.len() {
        // SAFETY: cur walks the list getaddrinfo returned, which stays valid
        // until freeaddrinfo below; ai_addr points at ai_addrlen bytes.
        let ai = unsafe { &*cur };
        // Only when asked for (lwIP fills it in always; glibc only then).
        if n == 0 && hints.flags & consts::AI_CANONNAME != 0 && !ai.ai_canonname.is_null() {
            // SAFETY: ai_canonname is a NUL-terminated string owned by the list.
            let name = unsafe { core::ffi::CStr::from_ptr(ai.ai_canonname) }.to_bytes();
            let len = name.len().min(canon.len());
            canon[..len].copy_from_slice(&name[..len]);
            *canon_len = len;
        }
        // Decoded where it goes (an answer is 160 bytes with AF_UNIX's path
        // room: copies of it were a tenth of a numeric lookup's time).
        if !ai.ai_addr.is_null() {
            // SAFETY: ai_addr points at ai_addrlen readable bytes.
            let bytes = unsafe { core::slice::from_raw_parts(ai.ai_addr.cast::<u8>(), ai.ai_addrlen as usize) };
            let slot = &mut out[n];
            if provider_sockaddr(bytes, &mut slot.addr).is_ok() {
                (slot.family, slot.sock_type, slot.proto) = (ai.ai_family, ai.ai_socktype, ai.ai_protocol);
                n = lwip::add_answer(out, n);
            }
        }
        cur = ai.ai_next;
    }
    // SAFETY: list came from a successful getaddrinfo and is freed once.
    unsafe { c::freeaddrinfo(list) };
    n
}

/// The form most programs pass, `getaddrinfo('192.168.4.1', 80)`: dotted-quad
/// IPv4 text, a decimal port or none, and no hints beyond the family AF_INET,
/// a TCP or UDP socket type and the flags that change nothing here. Answered
/// as glibc answers it, without calling it: its list is allocated and freed
/// with the C heap and the lookup released the GIL, about 1,800 instructions
/// of the 5,700 a call took (the C module's took 5,450). Anything else
/// (other hints, a named or out-of-range service, the other spellings of an
/// IPv4 address that glibc's `inet_aton` takes) is left to glibc: `None`.
/// The unit test below holds the two to the same answers.
#[cfg(all(usocket_backend = "posix", target_env = "gnu"))]
fn numeric_v4_answers(host: Option<&[u8]>, service: Option<&[u8]>, hints: &Hints, out: &mut [AddrInfo]) -> Option<usize> {
    let plain_flags = consts::AI_PASSIVE | consts::AI_NUMERICHOST | consts::AI_NUMERICSERV;
    let plain_type = matches!(hints.sock_type, 0 | consts::SOCK_STREAM | consts::SOCK_DGRAM);
    if !matches!(hints.family, consts::AF_UNSPEC | consts::AF_INET) || !plain_type || hints.proto != 0 || hints.flags & !plain_flags != 0 {
        return None;
    }
    let ip = crate::ip_text::parse_ipv4(host?)?;
    let port = match service {
        None => 0,
        Some(s) => crate::addr::decimal_port(s)?,
    };
    // glibc's order; SOCK_RAW only when no type was asked for.
    let kinds = [(consts::SOCK_STREAM, consts::IPPROTO_TCP), (consts::SOCK_DGRAM, consts::IPPROTO_UDP), (consts::SOCK_RAW, 0)];
    let answer = AddrInfo { family: consts::AF_INET, sock_type: 0, proto: 0, addr: SockAddr::v4(ip, port) };
    let mut n = 0;
    for (sock_type, proto) in kinds {
        if hints.sock_type == 0 || hints.sock_type == sock_type {
            if let Some(slot) = out.get_mut(n) {
                *slot = AddrInfo { sock_type, proto, ..answer };
                n += 1;
            }
        }
    }
    Some(n)
}

/// The provider's message for a getaddrinfo error code.
pub fn gai_message(code: i32) -> *const u8 {
    c::gai_strerror(code)
}

/// EAI codes are negative in glibc, positive in lwIP; the module reports them
/// negative on every platform (like MicroPython's other ports).
pub fn gai_from_reported(reported: i32) -> i32 {
    if consts::EAI_NONAME < 0 {
        reported
    } else {
        -reported
    }
}

/// lwIP's socket layer, made to look like Linux's. Each function here is
/// where one difference is absorbed, so users see the same module on the
/// esp32 port as on unix; on the C library (`KERNEL_FDS`) each does nothing.
mod lwip {
    use super::*;

    /// `State::events` bits.
    /// A stream (TCP) socket.
    pub const STREAM: u32 = 1;
    /// Connected, connecting, listening or accepted: no longer new.
    pub const ACTIVE: u32 = 2;
    /// A non-blocking connect is under way and its outcome not yet reported.
    pub const CONNECTING: u32 = 4;
    /// Our reading side is over: end of stream or a reset was reported once,
    /// or shutdown(SHUT_RD).
    pub const ENDED: u32 = 8;
    /// shutdown(SHUT_WR) or (SHUT_RDWR): no more writing.
    pub const WRITE_SHUT: u32 = 16;
    /// An AF_INET6 socket.
    pub const V6: u32 = 32;
    /// bind() succeeded.
    pub const BOUND: u32 = 64;
    /// listen() succeeded.
    pub const LISTENING: u32 = 128;
    /// The connection was established (connect completed, or accepted).
    pub const CONNECTED: u32 = 256;
    /// A thread is in lwIP reading (or accepting) / writing this socket (see
    /// [`one_at_a_time`]).
    pub const READING: u32 = 512;
    pub const WRITING: u32 = 1024;
    /// bind() was called and has not failed (see [`claim_bind`]).
    pub const BINDING: u32 = 2048;

    /// lwIP's socket layer lets one thread read a socket while another
    /// writes it, but not two readers or two writers at once: two readers
    /// free the partly read pbuf twice (lwIP 2.2.1 asserts "pbuf_free:
    /// p->ref > 0"), a second writer finds the first one's message in place.
    /// Threads that release the GIL while they wait can do both. `side` is
    /// held for the call (lwIP's calls do not block here: the socket is
    /// non-blocking); a thread that finds it held is told "would block" and
    /// waits its turn in the socket's wait loop.
    pub fn one_at_a_time<T>(st: &State, side: u32, call: impl FnOnce() -> Result<T>) -> Result<T> {
        if !ON {
            return call();
        }
        if st.events().fetch_or(side, Ordering::AcqRel) & side != 0 {
            return Err(Errno::EAGAIN);
        }
        let r = call();
        st.events().fetch_and(!side, Ordering::Release);
        r
    }

    /// listen() frees the netconn's receive mailbox (lwIP makes an accept
    /// mailbox in its place), which lwIP 2.2.1 reads without its core lock
    /// in recv: a thread in recv at that moment used it after it was freed
    /// (random_threads.py: the recv stuck on the freed mailbox's lock, the
    /// listen stuck destroying it). So listen takes the reading side too.
    /// Readers hold it for one non-blocking lwIP call, and only where
    /// threads run without a GIL can one hold it now: wait for it, a bounded
    /// spin ("would block" if a reader never lets go).
    pub fn reading_alone<T>(st: &State, call: impl FnOnce() -> Result<T>) -> Result<T> {
        for _ in 0..1 << 24 {
            if !ON || st.events().fetch_or(READING, Ordering::AcqRel) & READING == 0 {
                let r = call();
                unmark(st, READING);
                return r;
            }
            core::hint::spin_loop();
        }
        Err(Errno::EAGAIN)
    }

    /// Two lwIP faults in closing a listener, worked around here:
    /// - With SO_LINGER on, lwIP 2.2.1 looks at the pcb's queues of unsent
    ///   and unacknowledged data before it closes; a listening pcb is a
    ///   smaller struct without them, so it reads past its end and, with a
    ///   linger time of 0, may abort the listener, which trips the assertion
    ///   "don't call tcp_abort/tcp_abandon for listen-pcbs". A listener has
    ///   nothing to linger for: turn the option off first.
    /// - Connections still waiting to be accepted trip an assertion in
    ///   lwIP's netconn_drain when lwIP is built with LWIP_NETCONN_FULLDUPLEX,
    ///   as ESP-IDF builds it (esp-idf issue #3842): take and close them
    ///   first. (A connection that arrives in between can still hit it; lwIP
    ///   offers no way to stop a listener first.)
    pub fn before_close(st: &State, fd: c::c_int) {
        if !ON || !has(st, LISTENING) {
            return;
        }
        let linger_off = [0u8; 8]; // struct linger { l_onoff = 0, l_linger = 0 }
        // SAFETY: a listening socket we own; the option value is 8 readable
        // bytes, the size of struct linger. A failure changes nothing.
        unsafe {
            c::setsockopt(fd, consts::SOL_SOCKET, consts::SO_LINGER, linger_off.as_ptr().cast(), linger_off.len() as c::socklen_t)
        };
        // A connection aborted while it waited is reported as an error
        // (ECONNABORTED) and may have live ones behind it: only "would
        // block" says the queue is empty. Bounded, in case an error repeats.
        for _ in 0..256 {
            // SAFETY: a listening socket we own (non-blocking: returns at
            // once); null address pointers ask for no address.
            let new = unsafe { c::accept(fd, core::ptr::null_mut(), core::ptr::null_mut()) };
            if new >= 0 {
                // SAFETY: the socket accept just gave us.
                unsafe { c::close(new) };
            } else if errno().is_would_block() {
                break;
            }
        }
    }

    /// The events of a socket accept() made from listener `st`.
    pub fn accepted(st: &State) -> u32 {
        STREAM | ACTIVE | BOUND | CONNECTED | (st.events().load(Ordering::Acquire) & V6)
    }

    /// Linux refuses shutdown() of a TCP socket without a connection
    /// (ENOTCONN); lwIP applies it to the unconnected pcb. A later connect
    /// then gives that pcb lwIP's receive handler again while its read side
    /// stays marked closed, and a shutdown(SHUT_WR) unhooks the socket from
    /// the pcb but leaves the handler: the peer's FIN then reaches it with no
    /// socket, an assertion in lwIP 2.2.1 (`recv_tcp must have an argument`:
    /// the firmware aborts). A connection that completed without being
    /// reported yet (non-blocking connect) has a peer: ask lwIP for it. A bad
    /// `how` is left to lwIP's EINVAL, which Linux checks first too.
    pub fn check_shutdown(st: &State, how: i32) -> Result<()> {
        let known = how == consts::SHUT_RD || how == consts::SHUT_WR || how == consts::SHUT_RDWR;
        if ON && known && has(st, STREAM) && !has(st, CONNECTED) && !has(st, LISTENING) && name(st, true).is_err() {
            return Err(Errno::ENOTCONN);
        }
        Ok(())
    }

    /// What a shutdown() that lwIP accepted leaves. A socket that is not a
    /// listener has a connection (check_shutdown refused it otherwise, and
    /// lwIP refuses one still connecting), and a non-blocking connect's
    /// outcome is no longer reported, as on Linux: see [`connected_already`].
    pub fn after_shutdown(st: &State, how: i32) {
        let mut bits = if has(st, LISTENING) { 0 } else { CONNECTED };
        if how != consts::SHUT_WR {
            bits |= ENDED; // our reading side is closed
        }
        if how != consts::SHUT_RD {
            bits |= WRITE_SHUT;
        }
        mark(st, bits);
        unmark(st, CONNECTING);
    }

    /// lwIP 2.2.1's connect on a TCP netconn whose connection was made
    /// registers the pcb's handlers again before tcp_connect refuses
    /// (EISCONN). That gives back the receive handler shutdown(SHUT_RD) took
    /// away; after shutdown(SHUT_WR) lwIP lets go of the netconn but keeps
    /// that handler, and the peer's FIN then aborts the firmware ("recv_tcp
    /// must have an argument"). So a socket known to be connected is
    /// answered here as Linux answers: success once for a connect that was
    /// in progress (see [`after_connect`]), then EISCONN.
    pub fn connected_already(st: &State) -> Option<Result<()>> {
        if !ON || !has(st, CONNECTED) {
            return None;
        }
        if st.events().fetch_and(!CONNECTING, Ordering::AcqRel) & CONNECTING != 0 {
            return Some(Ok(()));
        }
        Some(Err(Errno::EISCONN))
    }

    /// Linux gives a socket that listens unbound an ephemeral port; lwIP
    /// listens on port 0, where connect(('...', 0)) then lands.
    pub fn bind_before_listen(st: &State) -> Result<()> {
        if !ON || !has(st, STREAM) || has(st, BOUND) || has(st, ACTIVE) {
            return Ok(());
        }
        let any = if has(st, V6) { SockAddr::v6([0; 16], 0, 0, 0) } else { SockAddr::v4([0; 4], 0) };
        super::bind(st, &any)
    }

    /// Linux refuses a second bind (EINVAL). lwIP 2.2.1 binds a TCP pcb
    /// that is still CLOSED again and puts it on its bound list a second
    /// time: a cycle, which lwIP's next search for a free port walks for
    /// ever, holding its core lock. Looking at BOUND first is not enough when
    /// two threads bind at once (or one binds while another listens unbound,
    /// which binds): the first to set BINDING binds, the others are refused.
    pub fn claim_bind(st: &State) -> Result<()> {
        if !ON {
            return Ok(());
        }
        let before = st.events().fetch_or(BINDING, Ordering::AcqRel);
        if before & BINDING != 0 {
            return Err(Errno::EINVAL);
        }
        if before & ACTIVE != 0 {
            unmark(st, BINDING);
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// An IPv4 address as an AF_INET6 socket shows it on Linux: IPv4-mapped
    /// (::ffff:a.b.c.d); lwIP's dual-stack sockets give plain IPv4.
    pub fn seen_as(st: &State, a: &mut SockAddr) {
        if ON && a.family == AF_INET && has(st, V6) {
            let mut ip = [0u8; 16];
            ip[10] = 0xff;
            ip[11] = 0xff;
            ip[12..].copy_from_slice(&a.ipv4());
            *a = SockAddr::v6(ip, a.port, 0, 0);
        }
    }

    const ON: bool = !c::KERNEL_FDS;

    fn has(st: &State, bits: u32) -> bool {
        st.events().load(Ordering::Acquire) & bits == bits
    }

    pub fn mark(st: &State, bits: u32) {
        if ON {
            st.events().fetch_or(bits, Ordering::AcqRel);
        }
    }

    pub fn unmark(st: &State, bits: u32) {
        if ON {
            st.events().fetch_and(!bits, Ordering::AcqRel);
        }
    }

    /// lwIP takes any family and, for TCP and UDP, any protocol number;
    /// Linux refuses what it cannot do.
    pub fn check_open(family: i32, sock_type: i32, proto: i32) -> Result<()> {
        if !ON {
            return Ok(());
        }
        if family != AF_INET && family != AF_INET6 {
            return Err(Errno::EAFNOSUPPORT);
        }
        let own = match sock_type {
            t if t == consts::SOCK_STREAM => consts::IPPROTO_TCP,
            t if t == consts::SOCK_DGRAM => consts::IPPROTO_UDP,
            _ => return Ok(()), // lwIP answers for other types itself
        };
        if proto != 0 && proto != own {
            return Err(Errno::from_raw(libc::EPROTONOSUPPORT)); // errno is the C library's here
        }
        Ok(())
    }

    /// lwIP's socket layer says ECONNABORTED from accept() only when it had
    /// no pcb or netconn for a connection that came (its accept handler
    /// posts ERR_ABRT: lwIP reset the connection, or dropped its SYN, and
    /// the client sends that again). Sockets the program dropped without
    /// close() may hold them: collecting now lets the next connection find
    /// one. (Here with the GIL: lwIP's calls never block, see
    /// HAS_BLOCKING_CALLS.) On Linux, ECONNABORTED is a connection reset
    /// while it was queued, and nothing is collected.
    pub fn refused_for_want_of_memory() {
        #[cfg(usocket_backend = "lwip_socket")]
        crate::hooks::collect();
    }

    /// lwIP says ENOBUFS when its pool of connections is empty: that is the
    /// "too many sockets" of a device (and what the module's retry after a
    /// garbage collection looks for).
    pub fn out_of_sockets(e: Errno) -> Errno {
        if ON && e == Errno::ENOBUFS {
            Errno::ENFILE
        } else {
            e
        }
    }

    /// lwIP reports a connection refused (RST in answer to SYN) as
    /// ECONNRESET or, once the attempt is over, ENOTCONN: users get
    /// ECONNREFUSED, as from Linux and every other MicroPython port.
    pub fn refused(e: Errno) -> Errno {
        if ON && (e == Errno::ECONNRESET || e == Errno::ENOTCONN) {
            Errno::ECONNREFUSED
        } else {
            e
        }
    }

    /// Linux reports a finished non-blocking connect once more to the next
    /// connect() (success), lwIP says EISCONN at once.
    pub fn after_connect(st: &State, r: Result<()>) -> Result<()> {
        if !ON {
            return r;
        }
        let connecting = has(st, CONNECTING);
        mark(st, ACTIVE);
        match r {
            Err(Errno::EINPROGRESS) => {
                mark(st, CONNECTING);
                r
            }
            Err(Errno::EALREADY) => r,
            Err(Errno::EISCONN) if connecting => {
                unmark(st, CONNECTING);
                mark(st, CONNECTED);
                Ok(())
            }
            r => {
                unmark(st, CONNECTING);
                if r.is_ok() {
                    mark(st, CONNECTED);
                }
                r.map_err(refused)
            }
        }
    }

    /// SO_ERROR of a connect that was refused says so (see [`refused`]).
    pub fn so_error(st: &State, out: &mut [u8]) {
        if !ON || out.len() < 4 {
            return;
        }
        let v = i32::from_ne_bytes([out[0], out[1], out[2], out[3]]);
        if v != 0 && has(st, CONNECTING) {
            unmark(st, CONNECTING);
            out[..4].copy_from_slice(&refused(Errno::from_raw(v)).raw().to_ne_bytes());
        }
    }

    /// Writing on a TCP socket that is not (or no longer) connected, or
    /// after shutdown(SHUT_WR), is EPIPE on Linux; lwIP says ENOTCONN, or
    /// "would block" (which would wait forever). While connecting, it would
    /// block.
    pub fn after_send(st: &State, r: Result<usize>) -> Result<usize> {
        if !ON || !has(st, STREAM) {
            return r;
        }
        match r {
            Err(e) if has(st, WRITE_SHUT) || !has(st, ACTIVE) => Err(if e.is_would_block() || e == Errno::ENOTCONN {
                Errno::EPIPE
            } else {
                e
            }),
            Err(Errno::ENOTCONN) if has(st, CONNECTING) => Err(Errno::EAGAIN),
            Err(Errno::ENOTCONN) => Err(Errno::EPIPE),
            r => r,
        }
    }

    /// lwIP's socket layer returns end of stream (or a reset) once, then
    /// ENOTCONN: users keep getting b'', as from Linux. A read on a TCP
    /// socket that never connected says EINPROGRESS on lwIP, ENOTCONN on
    /// Linux (and would block while connecting).
    pub fn after_recv(st: &State, r: Result<usize>) -> Result<usize> {
        if !ON || !has(st, STREAM) {
            return r;
        }
        match r {
            Ok(0) => {
                mark(st, ENDED);
                if has(st, WRITE_SHUT) {
                    // Over both ways, our side first: the pcb is in TIME_WAIT,
                    // where lwIP frees it without telling the netconn, which
                    // would touch the freed pcb at close (another socket's by
                    // then: its connection broke, or lwIP hung). A full
                    // shutdown makes the netconn let go of it now.
                    // SAFETY: a socket we own; nothing to read or write.
                    unsafe { c::shutdown(st.fd, c::SHUT_RDWR) };
                }
                Ok(0)
            }
            Err(Errno::ENOTCONN) if has(st, ENDED) => Ok(0),
            Err(Errno::ECONNRESET) if has(st, ENDED) => Ok(0),
            // An established connection that lwIP now calls "not connected"
            // was reset (the reset itself may have been reported elsewhere,
            // e.g. to poll): Linux says ECONNRESET, once.
            Err(Errno::ECONNRESET) | Err(Errno::ENOTCONN) if has(st, CONNECTED) => {
                mark(st, ENDED);
                Err(Errno::ECONNRESET)
            }
            Err(Errno::EINPROGRESS) if has(st, CONNECTING) => Err(Errno::EAGAIN),
            Err(Errno::EINPROGRESS) => Err(Errno::ENOTCONN),
            // A new socket would wait forever for data.
            Err(e) if e.is_would_block() && !has(st, ACTIVE) => Err(Errno::ENOTCONN),
            r => r,
        }
    }

    /// Linux reports a new TCP socket writable and hung up, and a failed or
    /// reset connection hung up as well as in error; lwIP reports neither.
    pub fn readiness(st: &State, wanted: PollFlags, mut now: PollFlags) -> PollFlags {
        if !ON || !has(st, STREAM) {
            return now;
        }
        if !has(st, ACTIVE) {
            now = PollFlags::HUP | (wanted & PollFlags::WR);
        }
        if now.contains(PollFlags::ERR) {
            now |= PollFlags::HUP;
        }
        now
    }

    /// Completes the getaddrinfo answer decoded into `out[n]`; the count
    /// with it. lwIP gives one address and echoes the hints' type and
    /// protocol; the C library fills them in, with one answer per type when
    /// none was asked for.
    pub fn add_answer(out: &mut [AddrInfo], n: usize) -> usize {
        if ON {
            let (tcp, udp) = (consts::IPPROTO_TCP, consts::IPPROTO_UDP);
            let (stream, dgram) = (consts::SOCK_STREAM, consts::SOCK_DGRAM);
            let a = &mut out[n];
            if a.sock_type == 0 && a.proto == 0 {
                (a.sock_type, a.proto) = (stream, tcp);
                let a = *a;
                return match out.get_mut(n + 1) {
                    Some(next) => {
                        *next = AddrInfo { sock_type: dgram, proto: udp, ..a };
                        n + 2
                    }
                    None => n + 1,
                };
            }
            if a.sock_type == 0 {
                a.sock_type = if a.proto == tcp { stream } else { dgram };
            }
            if a.proto == 0 {
                a.proto = if a.sock_type == stream { tcp } else { udp };
            }
        }
        n + 1
    }
}

#[cfg(all(test, usocket_backend = "posix"))]
mod tests {
    use super::*;

    fn raw_un(path: &[u8]) -> std::vec::Vec<u8> {
        let mut v = std::vec::Vec::from((consts::AF_UNIX as u16).to_ne_bytes());
        v.extend_from_slice(path);
        v
    }

    /// Wherever `numeric_v4_answers` answers, glibc's getaddrinfo gives the
    /// same answers; and it does answer the common form.
    #[cfg(target_env = "gnu")]
    #[test]
    fn numeric_ipv4_lookups_answered_as_glibc_answers_them() {
        let hosts: [&[u8]; 10] =
            [b"127.0.0.1", b"0.0.0.0", b"255.255.255.255", b"10.20.30.4", b"127.1", b"010.0.0.1", b"1.2.3.4 ", b"256.1.1.1", b"1.2.3", b"::1"];
        let services: [Option<&[u8]>; 11] = [
            None,
            Some(b"80"),
            Some(b"0"),
            Some(b"65535"),
            Some(b"65536"),
            Some(b"99999"),
            Some(b"080"),
            Some(b"00080"),
            Some(b"0000000080"),
            Some(b""),
            Some(b"+80"),
        ];
        let families = [consts::AF_UNSPEC, consts::AF_INET, consts::AF_INET6];
        let types = [0, consts::SOCK_STREAM, consts::SOCK_DGRAM, consts::SOCK_RAW, consts::SOCK_SEQPACKET];
        let protos = [0, consts::IPPROTO_TCP, consts::IPPROTO_UDP];
        let flags = [0, consts::AI_PASSIVE, consts::AI_NUMERICHOST, consts::AI_NUMERICSERV, consts::AI_CANONNAME, consts::AI_ADDRCONFIG, consts::AI_V4MAPPED];
        let mut answered = 0;
        for host in hosts {
            for service in services {
                let all_hints = families.iter().flat_map(|&family| types.iter().map(move |&sock_type| (family, sock_type)));
                let all_hints = all_hints.flat_map(|(family, sock_type)| protos.iter().map(move |&proto| (family, sock_type, proto)));
                let all_hints = all_hints
                    .flat_map(|(family, sock_type, proto)| flags.iter().map(move |&flags| Hints { family, sock_type, proto, flags }));
                for hints in all_hints {
                    for room in [1, 2, 8] {
                        let mut ours = [AddrInfo::zeroed(); 8];
                        let Some(n) = numeric_v4_answers(Some(host), service, &hints, &mut ours[..room]) else { continue };
                        answered += 1;
                        // SAFETY: an all-zero addrinfo is the documented "no hints" value.
                        let mut h: c::addrinfo = unsafe { MaybeUninit::zeroed().assume_init() };
                        (h.ai_family, h.ai_socktype, h.ai_protocol, h.ai_flags) = (hints.family, hints.sock_type, hints.proto, hints.flags);
                        let list = blocking_lookup(Some(host), service, &h).expect("glibc answers what the fast path answers");
                        let mut theirs = [AddrInfo::zeroed(); 8];
                        let (mut canon, mut canon_len) = ([0u8; 8], 0);
                        let m = decode_answers(list, &hints, &mut theirs[..room], &mut canon, &mut canon_len);
                        assert_eq!(n, m, "{:?} {:?} {:?}", host, service, hints.flags);
                        for (a, b) in ours[..n].iter().zip(&theirs[..m]) {
                            assert_eq!((a.family, a.sock_type, a.proto), (b.family, b.sock_type, b.proto));
                            assert_eq!(a.addr, b.addr);
                        }
                    }
                }
            }
        }
        // 4 hosts, 7 services, 2 families, 3 types, protocol 0, 4 flags, 3 rooms
        assert_eq!(answered, 4 * 7 * 2 * 3 * 4 * 3);
    }

    #[test]
    fn unix_addresses_from_bytes() {
        // a path, or raw sockaddr_un bytes (NUL padding dropped)
        assert_eq!(unix_addr(b"app.sock").unwrap().unix_path(), b"app.sock");
        assert_eq!(unix_addr(&raw_un(b"app.sock\0\0\0\0")).unwrap().unix_path(), b"app.sock");
        // abstract names keep every byte, NULs included
        assert_eq!(unix_addr(b"\0ab\0").unwrap().unix_path(), b"\0ab\0");
        assert_eq!(unix_addr(&raw_un(b"\0ab")).unwrap().unix_path(), b"\0ab");
        assert_eq!(unix_addr(&raw_un(b"")).unwrap().unix_path(), b"");
        assert_eq!(unix_addr(&[b'x'; 200]), Err(Errno::ENAMETOOLONG));
    }

    #[test]
    fn unix_addresses_round_trip_through_the_kernel_layout() {
        for path in [&b"app.sock"[..], b"\0abstract", b""] {
            let a = SockAddr::unix(path).unwrap();
            let (raw, len) = RawAddr::from(&a);
            assert_eq!(len as usize, SUN_PATH_AT + path.len());
            assert_eq!(raw.to_sockaddr(len), Ok(a));
        }
        // the kernel counts a file name's NUL
        let (raw, len) = RawAddr::from(&SockAddr::unix(b"app.sock").unwrap());
        assert_eq!(raw.to_sockaddr(len + 1).unwrap().unix_path(), b"app.sock");
        // no address at all (a datagram from an unnamed socket)
        assert_eq!(RawAddr::new().to_sockaddr(0), Err(Errno::EAFNOSUPPORT));
    }
}
