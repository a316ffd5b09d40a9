//! The extern "C" functions modusocket.c calls; cbindgen turns this file's
//! public items into usocket.h.
//!
//! Conventions, the same for every function:
//! - A status is an `isize`: `>= 0` is success (a byte count where there is
//!   one), `-errno` is an `OSError`, and `<= -USOCKET_GAI_STATUS_BASE` is a
//!   resolver error (see [`usocket_status_gai_code`]). Nothing here raises.
//! - `-EINTR` means "MicroPython has something pending (Ctrl-C)": C runs
//!   `mp_handle_pending(true)` and, if that returns, calls again.
//! - Pointers are never null unless a parameter says so, and buffers are
//!   `(pointer, length)` pairs owned by the caller for the duration of the call.
//!
//! # Safety
//! Every function here is `unsafe` for the one reason above: the caller (the
//! shim) passes pointers that are valid, aligned and, for a `usocket_t`, not
//! used by anyone else during the call. Functions say so only where they ask
//! for more.
#![allow(clippy::missing_safety_doc)]

use core::ffi::c_void;
use core::slice;

use crate::addr::{self, AddrInfo, SockAddr, ADDR_TEXT_MAX};
use crate::errno::{Error, Errno, Result, GAI_STATUS_BASE};
use crate::poll::PollFlags;
use crate::socket::Socket;
use crate::sys;
use crate::timeout::Timeout;

/// Bytes a caller must provide for the text form of an address.
pub const USOCKET_ADDR_TEXT_MAX: usize = 46;
const _: () = assert!(USOCKET_ADDR_TEXT_MAX == ADDR_TEXT_MAX);

/// Resolver errors are statuses at or below `-USOCKET_GAI_STATUS_BASE`.
pub const USOCKET_GAI_STATUS_BASE: isize = 0x10000;
const _: () = assert!(USOCKET_GAI_STATUS_BASE == GAI_STATUS_BASE);

/// `usocket_settimeout` value meaning "no timeout" (block).
pub const USOCKET_TIMEOUT_BLOCK: u32 = u32::MAX;
/// The longest finite timeout in milliseconds.
pub const USOCKET_TIMEOUT_MAX_MS: u32 = u32::MAX - 1;
const _: () = assert!(USOCKET_TIMEOUT_BLOCK == Timeout::RAW_BLOCK && USOCKET_TIMEOUT_MAX_MS == Timeout::MAX_MILLIS);

fn status(r: Result<usize>) -> isize {
    match r {
        Ok(n) => n as isize,
        Err(e) => e.status(),
    }
}

fn unit(r: Result<()>) -> isize {
    status(r.map(|()| 0))
}

/// # Safety
/// `s` points at a `usocket_t` that lives for `'a` and that no one else uses
/// during the call (MicroPython objects are not shared across a call).
unsafe fn sock<'a>(s: *mut Socket) -> &'a mut Socket {
    &mut *s
}

/// # Safety
/// `(p, len)` is a readable buffer (or `len == 0`).
unsafe fn bytes<'a>(p: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        slice::from_raw_parts(p, len)
    }
}

/// # Safety
/// `(p, len)` is a writable buffer (or `len == 0`).
unsafe fn bytes_mut<'a>(p: *mut u8, len: usize) -> &'a mut [u8] {
    if len == 0 {
        &mut []
    } else {
        slice::from_raw_parts_mut(p, len)
    }
}

/// Puts a freshly allocated object's socket in the closed state. C calls this
/// first, so the finaliser is safe whatever happens next.
#[no_mangle]
pub unsafe extern "C" fn usocket_init_closed(s: *mut Socket) {
    // SAFETY: s points at writable memory for a usocket_t; ptr::write does
    // not read (or drop) what was there, which may be anything.
    unsafe { core::ptr::write(s, Socket::closed()) }
}

/// Bytes of memory `usocket_open` (for a datagram socket) and
/// `usocket_listen` want for the socket's queue; 0: pass NULL. (lwIP's raw
/// API queues datagrams and connections in the socket; the memory is given
/// only to the sockets that queue, so that a connected TCP socket stays small.)
#[no_mangle]
pub extern "C" fn usocket_queue_size() -> usize {
    crate::sys::queue_size()
}

/// Opens a socket into `s` (which must be closed). `queue`: see
/// usocket_queue_size; it must live as long as the socket. Status.
#[no_mangle]
pub unsafe extern "C" fn usocket_open(s: *mut Socket, family: i32, sock_type: i32, proto: i32, queue: *mut c_void) -> isize {
    // SAFETY: s is a valid closed socket (see usocket_init_closed), opened
    // where it stays.
    let s = unsafe { sock(s) };
    match s.open_in(family, sock_type, proto, queue) {
        Ok(()) => {
            s.attach();
            0
        }
        Err(e) => e.status(),
    }
}

/// socketpair: two connected sockets into `a` and `b` (both closed, and
/// distinct). Status.
#[cfg(usocket_backend = "posix")]
#[no_mangle]
pub unsafe extern "C" fn usocket_socketpair(a: *mut Socket, b: *mut Socket, family: i32, sock_type: i32, proto: i32) -> isize {
    match Socket::pair(family, sock_type, proto) {
        Ok((x, y)) => {
            // SAFETY: a and b are valid closed sockets (see
            // usocket_init_closed); overwriting them leaks nothing, and they
            // stay at these addresses.
            unsafe {
                core::ptr::write(a, x);
                (*a).attach();
                core::ptr::write(b, y);
                (*b).attach();
            }
            0
        }
        Err(e) => e.status(),
    }
}

/// Closes; idempotent.
#[no_mangle]
pub unsafe extern "C" fn usocket_close(s: *mut Socket) {
    // SAFETY: see `sock`.
    unsafe { sock(s) }.close()
}

/// The descriptor for `select.poll`, or -1 (closed, or a stack without fds).
#[no_mangle]
pub unsafe extern "C" fn usocket_fileno(s: *const Socket) -> i32 {
    // SAFETY: s points at a live usocket_t; only read.
    unsafe { &*s }.sys.fileno().unwrap_or(-1)
}

/// The socket's kernel descriptor, for `select.poll` to poll(2) directly
/// (MP_STREAM_GET_FILENO); -1 when closed or when the stack is not the
/// kernel's (lwIP), so poll asks the socket instead.
#[no_mangle]
pub unsafe extern "C" fn usocket_kernel_fd(s: *const Socket) -> i32 {
    // SAFETY: s points at a live usocket_t; only read.
    unsafe { &*s }.sys.kernel_fd().unwrap_or(-1)
}

/// `ms`: 0 = non-blocking, `USOCKET_TIMEOUT_BLOCK` = none, else milliseconds.
#[no_mangle]
pub unsafe extern "C" fn usocket_settimeout(s: *mut Socket, ms: u32) -> isize {
    // SAFETY: see `sock`.
    unit(unsafe { sock(s) }.set_timeout(Timeout::from_raw(ms)))
}

#[no_mangle]
pub unsafe extern "C" fn usocket_bind(s: *mut Socket, addr: *const SockAddr) -> isize {
    // SAFETY: see `sock`; addr points at a valid address.
    unit(unsafe { sock(s) }.bind(unsafe { &*addr }))
}

#[no_mangle]
pub unsafe extern "C" fn usocket_listen(s: *mut Socket, backlog: i32, queue: *mut c_void) -> isize {
    // SAFETY: see `sock`; queue as in usocket_open.
    unit(unsafe { sock(s) }.listen(backlog, queue))
}

/// Accepts into `new` (a closed socket) and writes the peer's address.
#[no_mangle]
pub unsafe extern "C" fn usocket_accept(s: *mut Socket, new: *mut Socket, peer: *mut SockAddr) -> isize {
    // SAFETY: see `sock`; new is a distinct, closed usocket_t that stays at
    // this address; peer is writable.
    let (s, new, peer) = unsafe { (sock(s), sock(new), &mut *peer) };
    unit(s.accept_into(new, peer))
}

#[no_mangle]
pub unsafe extern "C" fn usocket_connect(s: *mut Socket, addr: *const SockAddr) -> isize {
    // SAFETY: see `sock`; addr points at a valid address.
    unit(unsafe { sock(s) }.connect(unsafe { &*addr }))
}

/// send, or sendto when `to` is not null. May send less than `len`. The
/// count sent, or a status.
#[no_mangle]
pub unsafe extern "C" fn usocket_send(s: *mut Socket, buf: *const u8, len: usize, flags: i32, to: *const SockAddr) -> isize {
    // SAFETY: see `sock` and `bytes`; `to` is null or a valid address.
    let (s, buf, to) = unsafe { (sock(s), bytes(buf, len), to.as_ref()) };
    status(match to {
        Some(to) => s.send_to(buf, flags, to),
        None => s.send(buf, flags),
    })
}

/// Sends all of `len`, the timeout covering the whole call. `*sent` (set to 0
/// by the caller) counts the bytes sent, so after `-EINTR` the caller resumes
/// from there instead of sending twice.
#[no_mangle]
pub unsafe extern "C" fn usocket_sendall(s: *mut Socket, buf: *const u8, len: usize, flags: i32, sent: *mut usize) -> isize {
    // SAFETY: see `sock` and `bytes`; sent is writable.
    unit(unsafe { sock(s) }.send_all(unsafe { bytes(buf, len) }, flags, unsafe { &mut *sent }))
}

/// recv, or recvfrom when `from` is not null (the sender's address goes
/// there). The count; 0 means end of stream (or an empty datagram).
#[no_mangle]
pub unsafe extern "C" fn usocket_recv(s: *mut Socket, buf: *mut u8, len: usize, flags: i32, from: *mut SockAddr) -> isize {
    // SAFETY: see `sock` and `bytes_mut`; `from` is null or writable.
    let (s, buf, from) = unsafe { (sock(s), bytes_mut(buf, len), from.as_mut()) };
    status(match from {
        Some(from) => s.recv_from(buf, flags, from),
        None => s.recv(buf, flags),
    })
}

/// At most `len` bytes of a line (through its `\n`); 0 means end of stream.
#[no_mangle]
pub unsafe extern "C" fn usocket_recv_line(s: *mut Socket, buf: *mut u8, len: usize) -> isize {
    // SAFETY: see `sock` and `bytes_mut`.
    status(unsafe { sock(s) }.recv_line(unsafe { bytes_mut(buf, len) }))
}

#[no_mangle]
pub unsafe extern "C" fn usocket_shutdown(s: *mut Socket, how: i32) -> isize {
    // SAFETY: see `sock`.
    unit(unsafe { sock(s) }.shutdown(how))
}

#[no_mangle]
pub unsafe extern "C" fn usocket_setsockopt(s: *mut Socket, level: i32, name: i32, val: *const u8, len: usize) -> isize {
    // SAFETY: see `sock` and `bytes`.
    unit(unsafe { sock(s) }.set_option(level, name, unsafe { bytes(val, len) }))
}

/// Writes the option's bytes into `out`; returns their length or a status.
#[no_mangle]
pub unsafe extern "C" fn usocket_getsockopt(s: *mut Socket, level: i32, name: i32, out: *mut u8, len: usize) -> isize {
    // SAFETY: see `sock` and `bytes_mut`.
    status(unsafe { sock(s) }.get_option(level, name, unsafe { bytes_mut(out, len) }))
}

/// getpeername (`peer`) or getsockname. Status.
#[no_mangle]
pub unsafe extern "C" fn usocket_name(s: *mut Socket, peer: bool, out: *mut SockAddr) -> isize {
    // SAFETY: see `sock`; out is writable.
    unit(unsafe { sock(s) }.name(peer).map(|a| unsafe { *out = a }))
}

/// `MP_STREAM_POLL`: the `MP_STREAM_POLL_*` bits of `wanted` that are ready,
/// plus ERR/HUP/NVAL whenever they hold.
#[no_mangle]
pub unsafe extern "C" fn usocket_poll(s: *const Socket, wanted: u32) -> u32 {
    // SAFETY: s points at a live usocket_t; only read.
    unsafe { &*s }.poll(PollFlags::from_bits_truncate(wanted)).bits()
}

/// An address for a socket of `family`/`sock_type` from host text and port:
/// numeric text as is, `""` the wildcard, `"<broadcast>"` 255.255.255.255,
/// anything else a host name resolved through the stack's resolver.
/// Returns 1 when the text was literal (the same text always gives the same
/// address, so the caller may reuse it), 0 when it came from the resolver.
#[no_mangle]
pub unsafe extern "C" fn usocket_addr_from_host(
    family: i32,
    sock_type: i32,
    host: *const u8,
    host_len: usize,
    port: u16,
    flowinfo: u32,
    scope_id: u32,
    out: *mut SockAddr,
) -> isize {
    // SAFETY: see `bytes`.
    let host = unsafe { bytes(host, host_len) };
    if family != crate::consts::AF_INET && family != crate::consts::AF_INET6 {
        return Errno::EAFNOSUPPORT.status();
    }
    let (r, literal) = match SockAddr::from_numeric_host(family, host, port, flowinfo, scope_id) {
        Some(a) => (Ok(a), 1),
        None => (resolve_host(family, sock_type, host, port, flowinfo, scope_id), 0),
    };
    match r {
        Ok(a) => {
            // SAFETY: out is writable.
            unsafe { *out = a };
            literal
        }
        Err(e) => e.status(),
    }
}

fn resolve_host(family: i32, sock_type: i32, host: &[u8], port: u16, flowinfo: u32, scope_id: u32) -> core::result::Result<SockAddr, Error> {
    let flags = if addr::looks_numeric(host) { crate::consts::AI_NUMERICHOST } else { 0 };
    let hints = sys::Hints { family, sock_type, proto: 0, flags };
    let mut found = [AddrInfo::zeroed()];
    let mut canon_len = 0;
    match sys::resolve(Some(host), None, &hints, &mut found, &mut [], &mut canon_len)? {
        0 => Err(Error::Gai(crate::consts::EAI_NONAME)),
        _ => {
            let mut a = found[0].addr;
            a.port = port;
            if a.family == crate::consts::AF_INET6 {
                a.flowinfo = flowinfo;
                if scope_id != 0 {
                    a.scope_id = scope_id;
                }
            }
            Ok(a)
        }
    }
}

/// Decodes raw `struct sockaddr` bytes (what older unix code passes).
#[no_mangle]
pub unsafe extern "C" fn usocket_addr_from_raw(buf: *const u8, len: usize, out: *mut SockAddr) -> isize {
    // SAFETY: see `bytes`; out is writable.
    unit(sys::sockaddr_from_raw(unsafe { bytes(buf, len) }).map(|a| unsafe { *out = a }))
}

/// An AF_UNIX socket's address from the bytes of a str or bytes object: a
/// path (a leading NUL: Linux's abstract namespace), or raw `struct
/// sockaddr_un` bytes. ENAMETOOLONG when it does not fit `sun_path`.
#[cfg(usocket_backend = "posix")]
#[no_mangle]
pub unsafe extern "C" fn usocket_addr_from_unix(buf: *const u8, len: usize, out: *mut SockAddr) -> isize {
    // SAFETY: see `bytes`; out is writable.
    unit(sys::unix_addr(unsafe { bytes(buf, len) }).map(|a| unsafe { *out = a }))
}

/// Writes the host part of `addr` as text (no NUL) into `out`, which holds
/// `room` bytes; returns the text's whole length: more than `room` means
/// only the first `room` bytes were written. `USOCKET_ADDR_TEXT_MAX` bytes
/// hold any address.
#[no_mangle]
pub unsafe extern "C" fn usocket_addr_format(addr: *const SockAddr, out: *mut u8, room: usize) -> usize {
    // SAFETY: addr is valid; out holds `room` writable bytes.
    unsafe { (*addr).format_host(core::slice::from_raw_parts_mut(out, room)) }
}

/// getaddrinfo. `host` may be null (None); `service` may be null (port 0).
/// Writes up to `cap` results into `out` and the first result's canonical name
/// (when AI_CANONNAME asks for it) into `canon`. Returns the count or a status.
#[no_mangle]
pub unsafe extern "C" fn usocket_getaddrinfo(
    host: *const u8,
    host_len: usize,
    service: *const u8,
    service_len: usize,
    family: i32,
    sock_type: i32,
    proto: i32,
    flags: i32,
    out: *mut AddrInfo,
    cap: usize,
    canon: *mut u8,
    canon_cap: usize,
    canon_len: *mut usize,
) -> isize {
    // SAFETY: non-null pointers come with their lengths (see `bytes`); out
    // holds cap entries; canon holds canon_cap bytes; canon_len is writable.
    let (host, service, out, canon, canon_len) = unsafe {
        (
            (!host.is_null()).then(|| bytes(host, host_len)),
            (!service.is_null()).then(|| bytes(service, service_len)),
            slice::from_raw_parts_mut(out, cap),
            bytes_mut(canon, canon_cap),
            &mut *canon_len,
        )
    };
    // Malformed numeric text is an error, never a DNS query.
    let flags = match host {
        Some(h) if addr::looks_numeric(h) => flags | crate::consts::AI_NUMERICHOST,
        _ => flags,
    };
    let hints = sys::Hints { family, sock_type, proto, flags };
    match sys::resolve(host, service, &hints, out, canon, canon_len) {
        Ok(n) => n as isize,
        Err(e) => e.status(),
    }
}

/// The EAI code (negative, as the module reports it) of a resolver status.
#[no_mangle]
pub extern "C" fn usocket_status_gai_code(status: isize) -> i32 {
    -((-status - USOCKET_GAI_STATUS_BASE) as i32)
}

/// The resolver's message for a code from `usocket_status_gai_code`: a static
/// NUL-terminated string.
#[no_mangle]
pub extern "C" fn usocket_gai_message(code: i32) -> *const u8 {
    sys::gai_message(sys::gai_from_reported(code))
}

/// inet_pton: writes 4 or 16 bytes into `out` (16 bytes); returns the count or
/// a status (EINVAL for bad text, EAFNOSUPPORT for a bad family).
#[no_mangle]
pub unsafe extern "C" fn usocket_inet_pton(family: i32, text: *const u8, len: usize, out: *mut u8) -> isize {
    // SAFETY: see `bytes`; out holds 16 bytes.
    status(addr::inet_pton(family, unsafe { bytes(text, len) }, unsafe { &mut *(out as *mut [u8; 16]) }))
}

/// inet_ntop: writes the text (no NUL) into `out` (`USOCKET_ADDR_TEXT_MAX`
/// bytes); returns its length or a status.
#[no_mangle]
pub unsafe extern "C" fn usocket_inet_ntop(family: i32, packed: *const u8, len: usize, out: *mut u8) -> isize {
    // SAFETY: see `bytes`; out holds ADDR_TEXT_MAX bytes.
    status(addr::inet_ntop(family, unsafe { bytes(packed, len) }, unsafe { &mut *(out as *mut [u8; ADDR_TEXT_MAX]) }))
}
