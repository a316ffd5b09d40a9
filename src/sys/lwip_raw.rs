//! lwIP's raw API (NO_SYS=1), for bare-metal ports: the stack calls back
//! into this file when data, connections or errors arrive, and every socket
//! keeps what arrived in its own state, so each primitive below answers at
//! once from that state ("would block" when there is nothing). Waiting is
//! [`wait`]: let lwIP run (the port's poll hook) until the state changes.
//!
//! Socket states, and what each primitive sees:
//!
//! | `conn`       | recv            | send          | readiness        |
//! |--------------|-----------------|---------------|------------------|
//! | New          | ENOTCONN        | ENOTCONN      | WR, HUP (TCP)    |
//! | Listening    | ENOTCONN        | ENOTCONN      | RD if queued     |
//! | Connecting   | would block     | would block   | none             |
//! | Connected    | data / block    | data / block  | RD, WR           |
//! | PeerClosed   | data, then 0    | allowed       | RD, WR           |
//! | Failed(e)    | e once, then 0  | e             | ERR, HUP, RD     |
//!
//! lwIP errors map to errno in [`errno_of`], the one table for this backend.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::addr::{AddrInfo, SockAddr};
use crate::consts;
use crate::errno::{Error, Errno, Result};
use crate::hooks::{self, LwipLock};
use crate::poll::{Interest, PollFlags};
use crate::timeout::Wait;

#[allow(non_camel_case_types, non_upper_case_globals, non_snake_case, dead_code, clippy::all)]
mod ffi {
    include!(concat!(env!("OUT_DIR"), "/lwip_ffi.rs"));
}
use ffi::*;

/// lwIP sockets have no file descriptors: `select.poll` asks the socket
/// (ioctl MP_STREAM_POLL) instead.
pub(crate) const HAS_BLOCKING_CALLS: bool = false;

/// Connections waiting in a listener for accept(); listen() caps the
/// backlog to this.
pub const USOCKET_LWIP_ACCEPT_MAX: usize = 8;
/// Datagrams a UDP socket keeps until recvfrom() takes them; more are dropped.
pub const USOCKET_LWIP_UDP_QUEUE: usize = 4;

const KIND_NONE: u8 = 0;
const KIND_TCP: u8 = 1;
const KIND_UDP: u8 = 2;

const CONN_NEW: u8 = 0;
const CONN_LISTENING: u8 = 1;
const CONN_CONNECTING: u8 = 2;
const CONN_CONNECTED: u8 = 3;
const CONN_PEER_CLOSED: u8 = 4;
const CONN_FAILED: u8 = 5;

/// `flags` bits.
const FLAG_ABORT_ON_CLOSE: u8 = 1; // SO_LINGER with a zero timeout
const FLAG_RD_SHUT: u8 = 2; // shutdown(SHUT_RD): recv says end of stream
const FLAG_REUSEADDR: u8 = 4;
/// TCP_NODELAY of a listener, for the connections it accepts: a listening pcb
/// is a smaller struct without the flags field of a connection's pcb.
const FLAG_NODELAY: u8 = 8;
/// Tell the shim when data, a connection or the peer's close arrives (see
/// [`USOCKET_SO_NOTIFY`]).
const FLAG_NOTIFY: u8 = 16;
/// tcp_write ran out of memory (lwIP's heap or its segments, shared by every
/// connection): not writable until this connection's data is acknowledged
/// or lwIP's poll timer comes round, as lwIP's socket layer does it
/// (NETCONN_FLAG_CHECK_WRITESPACE). Room in the buffer says nothing then.
const FLAG_SEND_NOMEM: u8 = 32;
/// A listener's: lwIP had no pcb for a connection that came (its accept
/// callback without a pcb: it dropped the SYN, and the client sends it again,
/// a second later on Linux). Sockets the program dropped without close() may
/// hold the pcbs: the next accept() collects garbage first, whose finalisers
/// close them, and poll reports the listener readable so that a poll loop
/// calls accept() (which may then find nothing: EAGAIN).
const FLAG_PCBS_OUT: u8 = 64;

/// MicroPython's socket option for a callback on incoming events, as
/// modlwip.c offers it (WebREPL sets it on its listener and its connection):
/// the shim keeps the callback and passes 1 or 0 here. No lwIP option has
/// this number.
pub const USOCKET_SO_NOTIFY: i32 = 20;

/// Bytes of a datagram's source address: IPv4 only unless lwIP has IPv6.
#[cfg(not(usocket_lwip_ipv6))]
pub const USOCKET_LWIP_SOURCE_BYTES: usize = 4;
#[cfg(usocket_lwip_ipv6)]
pub const USOCKET_LWIP_SOURCE_BYTES: usize = 16;

/// One received datagram and where it came from, kept compact (12 bytes
/// without IPv6, not a 32-byte SockAddr): every UDP socket has a queue of them.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Datagram {
    pub p: *mut c_void,
    pub port: u16,
    pub v6: u8,
    pub ip: [u8; USOCKET_LWIP_SOURCE_BYTES],
}

impl Datagram {
    fn new(p: *mut c_void, from: &SockAddr) -> Datagram {
        let mut ip = [0; USOCKET_LWIP_SOURCE_BYTES];
        ip.copy_from_slice(&from.addr[..USOCKET_LWIP_SOURCE_BYTES]);
        Datagram { p, port: from.port, v6: (from.family == consts::AF_INET6) as u8, ip }
    }

    fn source(&self) -> SockAddr {
        let mut addr = [0; 16];
        addr[..USOCKET_LWIP_SOURCE_BYTES].copy_from_slice(&self.ip);
        if self.v6 != 0 {
            SockAddr::v6(addr, self.port, 0, 0)
        } else {
            SockAddr::v4([addr[0], addr[1], addr[2], addr[3]], self.port)
        }
    }
}

/// A listener's queue of connections or a UDP socket's queue of datagrams:
/// a socket is one kind for its whole life, so the two share memory. The
/// caller supplies it (`open` for UDP, `listen` for TCP; see
/// [`queue_size`]): a connected TCP socket, the most common kind, has none,
/// and its object stays small.
#[repr(C)]
pub union Queue {
    pub accept: [*mut c_void; USOCKET_LWIP_ACCEPT_MAX],
    pub udp: [Datagram; USOCKET_LWIP_UDP_QUEUE],
}

/// The backend's part of a socket.
///
/// Invariants: `pcb` is a `tcp_pcb` (kind TCP) or `udp_pcb` (kind UDP) whose
/// callback argument is this struct's address, or null once closed or after
/// lwIP freed it (tcp_err). `rx` is the chain of received, unread data.
/// `queue` is null, or caller memory that lives as long as the socket: the
/// accept queue of a listener (set by listen), whose slots hold owned, not
/// yet accepted pcbs (null: that connection died while waiting), or the
/// datagram queue of a UDP socket (set by open), which owns its pbufs.
#[repr(C)]
pub struct State {
    pub pcb: *mut c_void,
    pub kind: u8,
    pub conn: u8,
    pub flags: u8,
    pub family_v6: u8,
    /// errno of a failure not yet reported (SO_ERROR, or the next call).
    pub error: i32,
    pub rx: *mut c_void,
    pub aq_head: u8,
    pub aq_len: u8,
    pub aq_cap: u8,
    pub uq_head: u8,
    pub uq_len: u8,
    pub queue: *mut Queue,
}

/// Bytes of queue memory a UDP socket (`open`) or a listener (`listen`)
/// needs from the caller.
pub fn queue_size() -> usize {
    core::mem::size_of::<Queue>()
}

// Callers align the queue for a pointer, no more.
const _: () = assert!(core::mem::align_of::<Queue>() <= core::mem::align_of::<*mut c_void>());

/// Makes caller memory an empty queue (null pbufs and pcbs); ENOMEM for none.
fn take_queue(queue: *mut c_void) -> Result<*mut Queue> {
    let q: *mut Queue = queue.cast();
    if q.is_null() {
        return Err(Errno::ENOMEM);
    }
    // SAFETY: the caller gives queue_size() writable bytes, aligned for a
    // pointer (a heap block, or the bytes after the shim's socket object);
    // all-zero bytes are an empty queue of either kind.
    unsafe { ptr::write_bytes(q, 0, 1) };
    Ok(q)
}

impl State {
    /// The closed state: all zero bytes (null pointers, KIND_NONE, CONN_NEW,
    /// empty queues). Built at run time: a `const` of this struct (it has
    /// padding) compiles to a copy of a 200-byte template kept in flash.
    pub(crate) fn closed() -> State {
        // SAFETY: every field is a raw pointer, an integer or an array of
        // them, for which all-zero bytes are valid; zero is the closed state.
        unsafe { core::mem::zeroed() }
    }

    /// Open from socket() until close(), even after the connection failed.
    pub fn is_open(&self) -> bool {
        self.kind != KIND_NONE
    }

    pub fn fileno(&self) -> Option<i32> {
        None
    }

    pub fn kernel_fd(&self) -> Option<i32> {
        None
    }

    fn tcp(&self) -> *mut tcp_pcb {
        self.pcb.cast()
    }

    fn udp(&self) -> *mut udp_pcb {
        self.pcb.cast()
    }

    fn as_arg(&mut self) -> *mut c_void {
        (self as *mut State).cast()
    }

    /// The listener's accept queue (None: not a listener).
    fn acceptq(&mut self) -> Option<&mut [*mut c_void; USOCKET_LWIP_ACCEPT_MAX]> {
        // SAFETY: queue is null or live caller memory (see State); both
        // members of the union are pointers and integers, for which any
        // bytes are valid; only TCP sockets use this one.
        unsafe { self.queue.as_mut().map(|q| &mut q.accept) }
    }

    /// The UDP socket's datagram queue (None only before open).
    fn udpq(&mut self) -> Option<&mut [Datagram; USOCKET_LWIP_UDP_QUEUE]> {
        // SAFETY: as in acceptq; only UDP sockets use this one.
        unsafe { self.queue.as_mut().map(|q| &mut q.udp) }
    }

    fn set_flag(&mut self, bit: u8, on: bool) {
        self.flags = if on { self.flags | bit } else { self.flags & !bit };
    }

    fn fail(&mut self, e: Errno) {
        self.conn = CONN_FAILED;
        self.error = e.raw();
    }

    /// The pending error, reported once.
    fn take_error(&mut self) -> Option<Errno> {
        match self.error {
            0 => None,
            e => {
                self.error = 0;
                Some(Errno::from_raw(e))
            }
        }
    }
}

/// The one table from lwIP's err_t to errno.
fn errno_of(err: err_t) -> Errno {
    match err as i32 {
        x if x == ERR_MEM as i32 => Errno::ENOMEM,
        x if x == ERR_BUF as i32 => Errno::ENOBUFS,
        x if x == ERR_TIMEOUT as i32 => Errno::ETIMEDOUT,
        x if x == ERR_RTE as i32 => Errno::EHOSTUNREACH,
        x if x == ERR_INPROGRESS as i32 => Errno::EINPROGRESS,
        x if x == ERR_WOULDBLOCK as i32 => Errno::EWOULDBLOCK,
        x if x == ERR_USE as i32 => Errno::EADDRINUSE,
        x if x == ERR_ALREADY as i32 => Errno::EALREADY,
        x if x == ERR_ISCONN as i32 => Errno::EISCONN,
        x if x == ERR_CONN as i32 => Errno::ENOTCONN,
        x if x == ERR_IF as i32 => Errno::EHOSTUNREACH,
        x if x == ERR_ABRT as i32 => Errno::ECONNABORTED,
        x if x == ERR_RST as i32 => Errno::ECONNRESET,
        x if x == ERR_CLSD as i32 => Errno::ENOTCONN,
        _ => Errno::EINVAL, // ERR_VAL, ERR_ARG and anything unknown
    }
}

fn check(err: err_t) -> Result<()> {
    if err as i32 == ERR_OK as i32 {
        Ok(())
    } else {
        Err(errno_of(err))
    }
}

// ---- addresses ----------------------------------------------------------

#[cfg(not(usocket_lwip_ipv6))]
fn to_ip(a: &SockAddr) -> Result<ip_addr_t> {
    if a.family != consts::AF_INET {
        return Err(Errno::EAFNOSUPPORT);
    }
    Ok(ip_addr_t { addr: u32::from_ne_bytes(a.ipv4()) })
}

#[cfg(not(usocket_lwip_ipv6))]
fn from_ip(ip: &ip_addr_t, port: u16) -> SockAddr {
    SockAddr::v4(ip.addr.to_ne_bytes(), port)
}

#[cfg(usocket_lwip_ipv6)]
fn to_ip(a: &SockAddr) -> Result<ip_addr_t> {
    // SAFETY: all-zero is a valid ip_addr_t (IPv4 any).
    let mut ip: ip_addr_t = unsafe { core::mem::zeroed() };
    if a.family == consts::AF_INET {
        ip.u_addr.ip4.addr = u32::from_ne_bytes(a.ipv4());
        ip.type_ = IPADDR_TYPE_V4 as u8;
    } else {
        // SAFETY: writing the ip6 member of a zeroed union.
        unsafe {
            for i in 0..4 {
                ip.u_addr.ip6.addr[i] = u32::from_ne_bytes([a.addr[4 * i], a.addr[4 * i + 1], a.addr[4 * i + 2], a.addr[4 * i + 3]]);
            }
        }
        ip.type_ = IPADDR_TYPE_V6 as u8;
    }
    Ok(ip)
}

#[cfg(usocket_lwip_ipv6)]
fn from_ip(ip: &ip_addr_t, port: u16) -> SockAddr {
    // SAFETY: `type_` says which union member is valid.
    unsafe {
        if ip.type_ == IPADDR_TYPE_V6 as u8 {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[4 * i..4 * i + 4].copy_from_slice(&ip.u_addr.ip6.addr[i].to_ne_bytes());
            }
            SockAddr::v6(b, port, 0, 0)
        } else {
            SockAddr::v4(ip.u_addr.ip4.addr.to_ne_bytes(), port)
        }
    }
}

/// Raw `struct sockaddr` bytes mean nothing to lwIP's raw API.
pub fn sockaddr_from_raw(_bytes: &[u8]) -> Result<SockAddr> {
    Err(Errno::EAFNOSUPPORT)
}

// ---- lwIP callbacks -------------------------------------------------------
// lwIP calls these with the lock held (from the port's poll hook or its
// interrupt); `arg` is the State they were registered with.

unsafe extern "C" fn on_tcp_recv(arg: *mut c_void, pcb: *mut tcp_pcb, p: *mut pbuf, err: err_t) -> err_t {
    // SAFETY: arg is the State registered for this pcb; it lives until close,
    // which unregisters the callbacks first.
    let st = unsafe { &mut *arg.cast::<State>() };
    if p.is_null() {
        if st.conn == CONN_CONNECTED {
            st.conn = CONN_PEER_CLOSED;
        }
        // SAFETY: the live pcb lwIP calls us for.
        if unsafe { (*pcb).state } != CLOSE_WAIT {
            // Our side was shut already (FIN_WAIT_1/2): the connection is
            // over both ways, and the pcb heads for TIME_WAIT, where lwIP
            // frees it without a callback (after 2 MSL, or at once when it
            // needs a pcb) and gives its memory to another socket. So the
            // socket lets go of it now; what it had received stays in rx.
            release_pcb(st, pcb);
        }
    } else if err as i32 != ERR_OK as i32 {
        // SAFETY: we own p and drop it.
        unsafe { pbuf_free(p) };
    } else {
        queue_input(st, p);
    }
    notify(st);
    ERR_OK as err_t
}

/// Adds a connection's new data to what waits for `recv`. Small pieces are
/// copied into the last one (a RAM pbuf of at most TCP_MSS bytes) and their
/// pbufs given back at once: the network driver receives every frame into
/// a pbuf from lwIP's fixed pool (16 on MicroPython's ports, 32 here), and a
/// peer that sends a byte at a time to a socket the program does not read
/// otherwise holds the whole pool with a few bytes (measured: 32 pbufs for
/// 48 bytes), and the board receives nothing more, on any socket, until the
/// program reads. Full-sized segments are chained as they come (no copy).
fn queue_input(st: &mut State, p: *mut pbuf) {
    let head: *mut pbuf = st.rx.cast();
    if head.is_null() {
        st.rx = p.cast();
        return;
    }
    // SAFETY: head is our non-empty chain and p a chain lwIP handed over;
    // the walk follows `next` to the last pbuf (`prev` before it). The
    // merged pbuf replaces the last one: it is unlinked and freed alone
    // (its `next` is null), and every pbuf before it counts `add` more
    // bytes in tot_len, as the chain's invariant wants.
    unsafe {
        let (mut prev, mut last) = (ptr::null_mut::<pbuf>(), head);
        while !(*last).next.is_null() {
            (prev, last) = (last, (*last).next);
        }
        let (kept, add) = ((*last).len, (*p).tot_len);
        let merged = u32::from(kept) + u32::from(add);
        if merged <= consts::TCP_MSS as u32 {
            let q = pbuf_alloc(PBUF_RAW, merged as u16, PBUF_RAM);
            if !q.is_null() {
                ptr::copy_nonoverlapping((*last).payload.cast::<u8>(), (*q).payload.cast::<u8>(), kept.into());
                pbuf_copy_partial(p, (*q).payload.cast::<u8>().add(kept.into()).cast(), add, 0);
                pbuf_free(p);
                if prev.is_null() {
                    st.rx = q.cast();
                } else {
                    (*prev).next = q;
                    let mut x = head;
                    while x != q {
                        (*x).tot_len += add;
                        x = (*x).next;
                    }
                }
                pbuf_free(last);
                return;
            }
            heap_short(); // the piece stays in its pool pbuf
        }
        pbuf_cat(head, p);
    }
}

/// Some of this connection's data was acknowledged: memory is back. This
/// callback and the next are registered only once tcp_write has run out of
/// memory (lwIP calls `sent` on every ACK: 250 instructions per 4 KiB on
/// the board).
unsafe extern "C" fn on_tcp_sent(arg: *mut c_void, _pcb: *mut tcp_pcb, _len: u16) -> err_t {
    // SAFETY: as in on_tcp_recv.
    unsafe { (*arg.cast::<State>()).flags &= !FLAG_SEND_NOMEM };
    ERR_OK as err_t
}

/// lwIP's poll timer (every [`POLL_INTERVAL`]): memory another connection
/// held may be back; the next send tries again. Still none since the last
/// tick (nothing acknowledged): sockets the program dropped may hold the
/// heap, so ask for a collection (a sender short of memory only briefly,
/// in a bulk transfer, asks at most once a tick).
unsafe extern "C" fn on_tcp_poll(arg: *mut c_void, pcb: *mut tcp_pcb) -> err_t {
    // SAFETY: as in on_tcp_recv.
    if unsafe { (*arg.cast::<State>()).flags } & FLAG_SEND_NOMEM != 0 {
        heap_short();
    }
    // SAFETY: as in on_tcp_recv.
    unsafe { on_tcp_sent(arg, pcb, 0) }
}

/// Coarse timer ticks (500 ms each) between on_tcp_poll calls: 1 s, as
/// lwIP's socket layer polls (NETCONN_TCP_POLL_INTERVAL).
const POLL_INTERVAL: u8 = 2;

/// Data, a connection or the peer's close arrived: the shim schedules the
/// socket's callback if it asked for one.
fn notify(st: &mut State) {
    if st.flags & FLAG_NOTIFY != 0 {
        // SAFETY: `st` is the socket's State (lwIP's callback argument, a
        // live socket's), and lwIP's callbacks run with its lock held.
        unsafe { hooks::notify((st as *mut State).cast()) };
    }
}

/// Unregisters every callback a connection's pcb may have (lock held), so
/// that lwIP calls none of them again: the one list for every place that
/// lets a connection go.
///
/// # Safety
/// `pcb` is a live connection pcb (not listening) the caller owns.
unsafe fn detach(pcb: *mut tcp_pcb) {
    // SAFETY: as the caller promises.
    unsafe {
        tcp_arg(pcb, ptr::null_mut());
        tcp_recv(pcb, None);
        tcp_err(pcb, None);
        tcp_sent(pcb, None);
        tcp_poll(pcb, None, 0);
    }
}

/// Hands a connection's pcb over to lwIP for good (lock held): no more
/// callbacks, and lwIP finishes and frees it.
fn release_pcb(st: &mut State, pcb: *mut tcp_pcb) {
    // SAFETY: a live pcb this socket owns; after tcp_close it is lwIP's, and
    // st no longer points at it. In the states this is called in tcp_close
    // only marks the receiving side closed (the FINs are both sent).
    unsafe {
        detach(pcb);
        if tcp_close(pcb) as i32 != ERR_OK as i32 {
            tcp_abort(pcb);
        }
    }
    st.pcb = ptr::null_mut();
}

unsafe extern "C" fn on_tcp_err(arg: *mut c_void, err: err_t) {
    // SAFETY: as in on_tcp_recv. lwIP has already freed the pcb.
    let st = unsafe { &mut *arg.cast::<State>() };
    st.pcb = ptr::null_mut();
    if err as i32 == ERR_CLSD as i32 {
        // Closed gracefully both ways: the peer first, then our shutdown
        // (LAST_ACK done). Not an error: recv goes on giving b''.
        if st.conn == CONN_CONNECTED {
            st.conn = CONN_PEER_CLOSED;
        }
        return;
    }
    let e = errno_of(err);
    // A connection refused shows up as a reset of the SYN.
    let e = if st.conn == CONN_CONNECTING && e == Errno::ECONNRESET { Errno::ECONNREFUSED } else { e };
    st.fail(e);
}

unsafe extern "C" fn on_tcp_connected(arg: *mut c_void, _pcb: *mut tcp_pcb, _err: err_t) -> err_t {
    // SAFETY: as in on_tcp_recv.
    let st = unsafe { &mut *arg.cast::<State>() };
    st.conn = CONN_CONNECTED;
    ERR_OK as err_t
}

/// A connection waiting in the accept queue does not take data yet: lwIP
/// keeps it, and accept() hands it over (`take_unaccepted_input`). A FIN
/// is reported here too, and lwIP ignores what this returns for it.
unsafe extern "C" fn on_unaccepted_recv(_arg: *mut c_void, _pcb: *mut tcp_pcb, _p: *mut pbuf, _err: err_t) -> err_t {
    ERR_BUF as err_t
}

/// A connection that dies in the accept queue: `arg` is its queue slot.
unsafe extern "C" fn on_unaccepted_err(arg: *mut c_void, _err: err_t) {
    // SAFETY: arg points at the listener's queue slot holding this pcb; the
    // listener clears these callbacks before its slots go away.
    unsafe { *arg.cast::<*mut c_void>() = ptr::null_mut() };
}

unsafe extern "C" fn on_tcp_accept(arg: *mut c_void, newpcb: *mut tcp_pcb, err: err_t) -> err_t {
    // SAFETY: as in on_tcp_recv (arg is the listener).
    let st = unsafe { &mut *arg.cast::<State>() };
    if newpcb.is_null() {
        st.flags |= FLAG_PCBS_OUT; // lwIP's ERR_MEM: see FLAG_PCBS_OUT
        return ERR_VAL as err_t;
    }
    if err as i32 != ERR_OK as i32 {
        return ERR_VAL as err_t;
    }
    let i = (st.aq_head as usize + st.aq_len as usize) % USOCKET_LWIP_ACCEPT_MAX;
    let full = st.aq_len >= st.aq_cap;
    let Some(slot) = st.acceptq().filter(|_| !full).map(|q| &mut q[i]) else {
        // Queue full: refuse. (Where lwIP counts queued connections
        // against the backlog, only a slot left by a connection that died
        // in the queue lets lwIP take one more than fits.)
        // SAFETY: newpcb is ours to abort; returning ERR_ABRT tells lwIP.
        unsafe { tcp_abort(newpcb) };
        return ERR_ABRT as err_t;
    };
    *slot = newpcb.cast();
    let slot: *mut *mut c_void = slot;
    st.aq_len += 1;
    // SAFETY: registering callbacks on a pcb lwIP just gave us.
    unsafe {
        tcp_arg(newpcb, slot.cast());
        tcp_recv(newpcb, Some(on_unaccepted_recv));
        tcp_err(newpcb, Some(on_unaccepted_err));
        // It counts against the backlog until accept() takes it (lwIP
        // uncounts it itself if it dies first): with the queue full, lwIP
        // ignores new SYNs and clients try again, as on Linux, instead of
        // being reset below.
        #[cfg(usocket_lwip_listen_backlog)]
        tcp_backlog_delayed(newpcb);
    }
    notify(st);
    ERR_OK as err_t
}

unsafe extern "C" fn on_udp_recv(arg: *mut c_void, _pcb: *mut udp_pcb, p: *mut pbuf, addr: *const ip_addr_t, port: u16) {
    // SAFETY: as in on_tcp_recv.
    let st = unsafe { &mut *arg.cast::<State>() };
    let i = (st.uq_head as usize + st.uq_len as usize) % USOCKET_LWIP_UDP_QUEUE;
    let full = st.uq_len as usize >= USOCKET_LWIP_UDP_QUEUE;
    let Some(slot) = st.udpq().filter(|_| !full && !addr.is_null()).map(|q| &mut q[i]) else {
        // SAFETY: we own p; a full queue drops the datagram, as UDP may.
        unsafe { pbuf_free(p) };
        return;
    };
    // SAFETY: addr is valid for the duration of the callback (not null); p
    // is ours.
    *slot = Datagram::new(unsafe { out_of_pool(p) }.cast(), &from_ip(unsafe { &*addr }, port));
    st.uq_len += 1;
    notify(st);
}

/// Datagrams up to this size are copied out of the driver's receive pool.
const SMALL_DATAGRAM: u16 = 512;

/// A small datagram in a pbuf of the driver's receive pool, copied into
/// lwIP's heap and its pool pbuf given back (or p as it is: big, not from
/// the pool, or no room in the heap). A socket's queue holds four: four
/// pool pbufs of 1.5 KB each for four DNS queries, a quarter of the pool on
/// MicroPython's ports, for as long as the program does not read them.
unsafe fn out_of_pool(p: *mut pbuf) -> *mut pbuf {
    let mask = consts::PBUF_TYPE_ALLOC_SRC_MASK as u8;
    // SAFETY: p is a live pbuf chain we own; the copy is a new one.
    unsafe {
        if (*p).tot_len <= SMALL_DATAGRAM && (*p).type_internal & mask == PBUF_POOL as u8 & mask {
            let q = pbuf_clone(PBUF_RAW, PBUF_RAM, p);
            if !q.is_null() {
                pbuf_free(p);
                return q;
            }
            heap_short();
        }
    }
    p
}

/// Registers this State (now at its final address) as the callback argument.
fn register_tcp(st: &mut State) {
    let arg = st.as_arg();
    // SAFETY: st.pcb is a live tcp_pcb owned by st.
    unsafe {
        tcp_arg(st.tcp(), arg);
        tcp_recv(st.tcp(), Some(on_tcp_recv));
        tcp_err(st.tcp(), Some(on_tcp_err));
    }
}

// ---- primitives -----------------------------------------------------------

/// Opens into `st`, which is closed (all zero). A UDP socket takes `queue`
/// (queue_size() bytes) for its datagrams; a TCP socket needs none yet.
pub fn open(st: &mut State, family: i32, sock_type: i32, _proto: i32, queue: *mut c_void) -> Result<()> {
    let v6 = if family == consts::AF_INET {
        false
    } else if family == consts::AF_INET6 && cfg!(usocket_lwip_ipv6) {
        true
    } else {
        return Err(Errno::EAFNOSUPPORT);
    };
    let ip_type = if v6 { IPADDR_TYPE_V6 } else { IPADDR_TYPE_V4 } as u8;
    let _lock = LwipLock::take();
    let (pcb, kind) = if sock_type == consts::SOCK_STREAM {
        // SAFETY: allocates a pcb; null means out of memory.
        (unsafe { tcp_new_ip_type(ip_type) }.cast::<c_void>(), KIND_TCP)
    } else if sock_type == consts::SOCK_DGRAM {
        st.queue = take_queue(queue)?;
        // SAFETY: as above.
        (unsafe { udp_new_ip_type(ip_type) }.cast::<c_void>(), KIND_UDP)
    } else {
        return Err(Errno::EINVAL);
    };
    if pcb.is_null() {
        st.queue = ptr::null_mut(); // still closed: all zero
        return Err(Errno::ENOMEM);
    }
    (st.pcb, st.kind, st.family_v6) = (pcb, kind, v6 as u8);
    Ok(())
}

/// Called once the State is at its final address (inside the MicroPython
/// object): from now on lwIP may call back with it.
pub fn attach(st: &mut State) {
    if st.pcb.is_null() {
        return;
    }
    let _lock = LwipLock::take();
    let arg = st.as_arg();
    match st.kind {
        KIND_TCP => register_tcp(st),
        // SAFETY: a live udp_pcb owned by st.
        KIND_UDP => unsafe { udp_recv(st.udp(), Some(on_udp_recv), arg) },
        _ => {}
    }
}

/// What reached an accepted connection while it waited in the accept
/// queue, once its real handlers are registered (with the lock that took it
/// from the queue still held: lwIP runs from interrupts on some ports).
/// Data was refused (`on_unaccepted_recv`): lwIP keeps it, and a FIN after
/// it, until its next fast timer, up to 250 ms; it is taken now. A FIN
/// without data before it was reported to `on_unaccepted_recv` too, and
/// lwIP keeps no trace of it but the pcb's state: without this, `recv`
/// would wait for an end of stream that had already come (modlwip loses it
/// the same way).
fn take_unaccepted_input(st: &mut State) {
    let pcb = st.tcp();
    // SAFETY: a live, accepted (full) tcp_pcb whose callbacks are ours now.
    // on_tcp_recv queues what it is given and never aborts the pcb; it hands
    // the pcb back only once our side is shut, which this one's is not.
    unsafe {
        if !(*pcb).refused_data.is_null() {
            tcp_process_refused_data(pcb);
        } else if (*pcb).state == CLOSE_WAIT {
            st.conn = CONN_PEER_CLOSED;
        }
    }
}

fn free_chain(p: *mut c_void) {
    if !p.is_null() {
        // SAFETY: an owned pbuf chain, freed once.
        unsafe { pbuf_free(p.cast()) };
    }
}

pub fn close(st: &mut State) {
    if st.kind == KIND_NONE {
        return;
    }
    let _lock = LwipLock::take();
    match st.kind {
        KIND_TCP => {
            // A listener's connections still waiting for accept() are
            // dropped (other TCP sockets have no queue).
            if let Some(q) = st.acceptq() {
                for slot in q.iter_mut() {
                    let pcb: *mut tcp_pcb = slot.cast();
                    if !pcb.is_null() {
                        // SAFETY: an owned, unaccepted pcb: detach, then abort.
                        unsafe {
                            detach(pcb);
                            tcp_abort(pcb);
                        }
                        *slot = ptr::null_mut();
                    }
                }
            }
            let pcb = st.tcp();
            if !pcb.is_null() {
                // SAFETY: detach every callback from a pcb we own, then close
                // it; lwIP finishes the close in the background or, if it
                // cannot (no memory) or SO_LINGER 0 asked for it, we abort.
                unsafe {
                    if st.conn != CONN_LISTENING {
                        detach(pcb);
                    } else {
                        tcp_arg(pcb, ptr::null_mut());
                        tcp_accept(pcb, None);
                    }
                    if (st.flags & FLAG_ABORT_ON_CLOSE != 0 && st.conn != CONN_LISTENING)
                        || tcp_close(pcb) as i32 != ERR_OK as i32
                    {
                        tcp_abort(pcb);
                    }
                }
            }
            free_chain(st.rx);
        }
        KIND_UDP => {
            if !st.pcb.is_null() {
                // SAFETY: an owned udp_pcb, removed once.
                unsafe { udp_remove(st.udp()) };
            }
            if let Some(q) = st.udpq() {
                for d in q.iter_mut() {
                    free_chain(d.p);
                    d.p = ptr::null_mut();
                }
            }
        }
        _ => {}
    }
    *st = State::closed();
}

/// Wakes operations waiting in this socket (another thread is closing it):
/// the socket looks failed, so their waits end and they see EBADF.
pub fn wake(st: &mut State) {
    let _lock = LwipLock::take();
    st.error = Errno::EBADF.raw();
    st.conn = CONN_FAILED;
}

pub fn set_nonblocking(_st: &State, _on: bool) -> Result<()> {
    Ok(())
}

pub fn bind(st: &mut State, addr: &SockAddr) -> Result<()> {
    let ip = to_ip(addr)?;
    let _lock = LwipLock::take();
    if st.pcb.is_null() {
        return Err(st.take_error().unwrap_or(Errno::EINVAL));
    }
    // SAFETY: a live pcb of the right kind; ip lives across the call.
    // local_port is in the part both pcb kinds (and a listening pcb) share.
    unsafe {
        // Bound already (by bind, or implicitly by connect or sendto): Linux
        // says EINVAL. lwIP's tcp_bind would put the pcb on its list of bound
        // pcbs a second time, which makes the list a cycle, and the next walk
        // of it (closing a listener walks it) never ends.
        let bound = match st.kind {
            KIND_TCP => (*st.tcp()).local_port,
            _ => (*st.udp()).local_port,
        };
        if bound != 0 {
            return Err(Errno::EINVAL);
        }
        check(match st.kind {
            KIND_TCP => tcp_bind(st.tcp(), &ip, addr.port),
            _ => udp_bind(st.udp(), &ip, addr.port),
        })
    }
}

/// `queue` (queue_size() bytes) becomes the accept queue.
pub fn listen(st: &mut State, backlog: i32, queue: *mut c_void) -> Result<()> {
    let _lock = LwipLock::take();
    if st.kind != KIND_TCP || st.pcb.is_null() {
        return Err(Errno::EOPNOTSUPP);
    }
    if st.conn != CONN_NEW {
        return Err(Errno::EINVAL);
    }
    // An unbound socket listens on an ephemeral port, as on Linux. lwIP
    // listens on port 0, where connect(('...', 0)) then lands: with such
    // connections on the board, lwIP's loopback came to carry empty ACKs
    // back and forth without end, and the program never ran again
    // (random_calls.py, seed 2122 on the IPv6 board).
    // SAFETY: a live tcp_pcb; tcp_bind copies the address (the pcb's own
    // ANY address, of its IP type) before it writes the pcb.
    unsafe {
        if (*st.tcp()).local_port == 0 {
            let any = (*st.tcp()).local_ip;
            check(tcp_bind(st.tcp(), &any, 0))?;
        }
    }
    let queue = take_queue(queue)?;
    let cap = (backlog.max(1) as usize).min(USOCKET_LWIP_ACCEPT_MAX) as u8;
    // SAFETY: a live tcp_pcb, not yet listening.
    let nodelay = unsafe { (*st.tcp()).flags } as u32 & consts::TF_NODELAY as u32 != 0;
    let mut err: err_t = ERR_OK as err_t;
    // SAFETY: listening frees the old pcb and returns a smaller one (or null
    // with err set, the old pcb untouched).
    let lpcb = unsafe { tcp_listen_with_backlog_and_err(st.tcp(), cap, &mut err) };
    if lpcb.is_null() {
        return Err(errno_of(err));
    }
    st.pcb = lpcb.cast();
    st.queue = queue;
    st.conn = CONN_LISTENING;
    st.set_flag(FLAG_NODELAY, nodelay);
    st.aq_cap = cap;
    let arg = st.as_arg();
    // SAFETY: a live listening pcb owned by st.
    unsafe {
        tcp_arg(lpcb, arg);
        tcp_accept(lpcb, Some(on_tcp_accept));
    }
    Ok(())
}

/// Takes the oldest queued connection; the new State is attached by the core
/// once it sits in its own MicroPython object.
/// The connection goes into `new`, which is closed (all zero).
pub fn accept(st: &mut State, peer: &mut SockAddr, new: &mut State) -> Result<()> {
    if load(&st.flags) & FLAG_PCBS_OUT != 0 {
        {
            let _lock = LwipLock::take();
            st.flags &= !FLAG_PCBS_OUT;
        }
        hooks::collect();
    }
    let _lock = LwipLock::take();
    if st.conn != CONN_LISTENING {
        return Err(Errno::EINVAL);
    }
    while st.aq_len > 0 {
        let i = st.aq_head as usize % USOCKET_LWIP_ACCEPT_MAX;
        let Some(slot) = st.acceptq().map(|q| &mut q[i]) else { break };
        let pcb: *mut tcp_pcb = core::mem::replace(slot, ptr::null_mut()).cast();
        st.aq_head = ((i + 1) % USOCKET_LWIP_ACCEPT_MAX) as u8;
        st.aq_len -= 1;
        if pcb.is_null() {
            continue; // died while queued
        }
        // SAFETY: a live pcb we own; until its handlers are registered below
        // the only callbacks that can run are the unaccepted ones, and not
        // while we hold the lock.
        unsafe {
            tcp_arg(pcb, ptr::null_mut());
            tcp_err(pcb, None);
            #[cfg(usocket_lwip_listen_backlog)]
            tcp_backlog_accepted(pcb);
            *peer = from_ip(&(*pcb).remote_ip, (*pcb).remote_port);
            if st.flags & FLAG_NODELAY != 0 {
                (*pcb).flags |= consts::TF_NODELAY as tcpflags_t; // inherited, as on Linux
            }
        }
        (new.pcb, new.kind, new.conn, new.family_v6) = (pcb.cast(), KIND_TCP, CONN_CONNECTED, st.family_v6);
        // `new` is where the socket stays: its handlers replace the
        // unaccepted ones before lwIP can run again.
        register_tcp(new);
        take_unaccepted_input(new);
        return Ok(());
    }
    Err(Errno::EAGAIN)
}

pub fn connect(st: &mut State, addr: &SockAddr) -> Result<()> {
    let ip = to_ip(addr)?;
    let _lock = LwipLock::take();
    if st.pcb.is_null() {
        return Err(st.take_error().unwrap_or(Errno::EBADF));
    }
    match st.kind {
        KIND_TCP => match st.conn {
            CONN_NEW => {
                // SAFETY: a live, unconnected tcp_pcb; ip lives across the call.
                check(unsafe { tcp_connect(st.tcp(), &ip, addr.port, Some(on_tcp_connected)) })?;
                st.conn = CONN_CONNECTING;
                Err(Errno::EINPROGRESS)
            }
            CONN_CONNECTING => Err(Errno::EALREADY),
            CONN_LISTENING => Err(Errno::EISCONN),
            _ => Err(Errno::EISCONN),
        },
        // SAFETY: a live udp_pcb.
        _ => check(unsafe { udp_connect(st.udp(), &ip, addr.port) }),
    }
}

/// The outcome of a connect that was in progress.
pub fn connect_result(st: &mut State) -> Result<()> {
    let _lock = LwipLock::take();
    match st.conn {
        CONN_CONNECTED | CONN_PEER_CLOSED => Ok(()),
        CONN_FAILED => Err(st.take_error().unwrap_or(Errno::ECONNABORTED)),
        _ => Err(Errno::EINPROGRESS),
    }
}

fn send_stream(st: &mut State, buf: &[u8]) -> Result<usize> {
    match st.conn {
        CONN_CONNECTED | CONN_PEER_CLOSED => {}
        CONN_CONNECTING => return Err(Errno::EAGAIN),
        CONN_FAILED => return Err(st.take_error().unwrap_or(Errno::EPIPE)),
        _ => return Err(Errno::ENOTCONN),
    }
    let pcb = st.tcp();
    if pcb.is_null() {
        return Err(Errno::EPIPE); // over both ways (release_pcb, on_tcp_err)
    }
    // SAFETY: a live connected pcb (pcb is nulled by on_tcp_err on failure,
    // which also sets CONN_FAILED, and when the connection is over).
    let (room, queued) = unsafe { ((*pcb).snd_buf as usize, (*pcb).snd_queuelen as usize) };
    let n = buf.len().min(room).min(u16::MAX as usize);
    if n == 0 || queued >= consts::TCP_SND_QUEUELEN as usize {
        return Err(Errno::EAGAIN);
    }
    // SAFETY: copies n bytes of buf into lwIP's buffers.
    let err = unsafe { tcp_write(pcb, buf.as_ptr().cast(), n as u16, consts::TCP_WRITE_FLAG_COPY as u8) };
    if err as i32 == ERR_MEM as i32 {
        // No memory for segments now: not writable until some comes back.
        st.flags |= FLAG_SEND_NOMEM;
        // SAFETY: a live pcb whose callback argument is st.
        unsafe {
            tcp_sent(pcb, Some(on_tcp_sent));
            tcp_poll(pcb, Some(on_tcp_poll), POLL_INTERVAL);
        }
        return Err(Errno::EAGAIN);
    }
    check(err)?;
    // SAFETY: as above; output errors are retried by lwIP's timers.
    unsafe { tcp_output(pcb) };
    Ok(n)
}

fn send_datagram(st: &mut State, buf: &[u8], to: Option<&SockAddr>) -> Result<usize> {
    if buf.len() > u16::MAX as usize {
        return Err(Errno::EINVAL);
    }
    let ip = match to {
        Some(a) => Some(to_ip(a)?),
        None => None,
    };
    // SAFETY: a RAM pbuf of the datagram's size, filled, sent and freed here.
    unsafe {
        let p = pbuf_alloc(PBUF_TRANSPORT, buf.len() as u16, PBUF_RAM);
        if p.is_null() {
            return Err(Errno::ENOMEM);
        }
        if !buf.is_empty() {
            pbuf_take(p, buf.as_ptr().cast(), buf.len() as u16);
        }
        let err = match (&ip, to) {
            (Some(ip), Some(a)) => udp_sendto(st.udp(), p, ip, a.port),
            _ => udp_send(st.udp(), p),
        };
        pbuf_free(p);
        check(err).map(|()| buf.len())
    }
}

pub fn send(st: &mut State, buf: &[u8], _flags: i32) -> Result<usize> {
    let _lock = LwipLock::take();
    match st.kind {
        KIND_TCP => send_stream(st, buf),
        // SAFETY: reading remote_port of a live udp_pcb.
        _ if unsafe { (*st.udp()).remote_port } == 0 => Err(Errno::ENOTCONN),
        _ => send_datagram(st, buf, None),
    }
}

pub fn sendto(st: &mut State, buf: &[u8], _flags: i32, to: &SockAddr) -> Result<usize> {
    let _lock = LwipLock::take();
    match st.kind {
        KIND_TCP => send_stream(st, buf),
        _ => send_datagram(st, buf, Some(to)),
    }
}

fn recv_stream(st: &mut State, buf: &mut [u8], flags: i32) -> Result<usize> {
    if st.flags & FLAG_RD_SHUT != 0 {
        return Ok(0);
    }
    if st.rx.is_null() {
        return match st.conn {
            CONN_CONNECTED | CONN_CONNECTING => Err(Errno::EAGAIN),
            CONN_PEER_CLOSED => Ok(0),
            // A failure is reported once; after it the stream has ended.
            CONN_FAILED => st.take_error().map_or(Ok(0), Err),
            _ => Err(Errno::ENOTCONN),
        };
    }
    let p: *mut pbuf = st.rx.cast();
    // SAFETY: rx is an owned, non-empty chain.
    let avail = unsafe { (*p).tot_len } as usize;
    let n = buf.len().min(avail).min(u16::MAX as usize);
    // SAFETY: copies n bytes out of the chain into buf.
    unsafe { pbuf_copy_partial(p, buf.as_mut_ptr().cast(), n as u16, 0) };
    if flags & consts::MSG_PEEK != 0 {
        return Ok(n);
    }
    // Drop what was read: whole pbufs are freed, a partly read one keeps the
    // rest (pbuf_free_header keeps the chain's references right; dechaining
    // by hand would free the tail with the head).
    // SAFETY: p is our chain with at least n bytes; the returned chain (or
    // null) replaces it.
    st.rx = unsafe { pbuf_free_header(p, n as u16) }.cast();
    if !st.pcb.is_null() {
        // SAFETY: opens the receive window by what the user consumed.
        unsafe { tcp_recved(st.tcp(), n as u16) };
    }
    Ok(n)
}

fn recv_datagram(st: &mut State, buf: &mut [u8], flags: i32, from: Option<&mut SockAddr>) -> Result<usize> {
    if st.uq_len == 0 {
        return Err(Errno::EAGAIN);
    }
    let i = st.uq_head as usize % USOCKET_LWIP_UDP_QUEUE;
    let Some(d) = st.udpq().map(|q| &mut q[i]) else { return Err(Errno::EAGAIN) };
    let p: *mut pbuf = d.p.cast();
    // SAFETY: an owned datagram pbuf.
    let n = buf.len().min(unsafe { (*p).tot_len } as usize);
    // SAFETY: copies n bytes out of it.
    unsafe { pbuf_copy_partial(p, buf.as_mut_ptr().cast(), n as u16, 0) };
    if let Some(f) = from {
        *f = d.source();
    }
    if flags & consts::MSG_PEEK == 0 {
        free_chain(d.p);
        d.p = ptr::null_mut();
        st.uq_head = ((i + 1) % USOCKET_LWIP_UDP_QUEUE) as u8;
        st.uq_len -= 1;
    }
    Ok(n)
}

pub fn recv(st: &mut State, buf: &mut [u8], flags: i32) -> Result<usize> {
    let _lock = LwipLock::take();
    match st.kind {
        KIND_TCP => recv_stream(st, buf, flags),
        _ => recv_datagram(st, buf, flags, None),
    }
}

pub fn recvfrom(st: &mut State, buf: &mut [u8], flags: i32, from: &mut SockAddr) -> Result<usize> {
    let _lock = LwipLock::take();
    match st.kind {
        KIND_TCP => {
            let n = recv_stream(st, buf, flags)?;
            if !st.pcb.is_null() {
                // SAFETY: reading the remote address of a live pcb.
                unsafe { *from = from_ip(&(*st.tcp()).remote_ip, (*st.tcp()).remote_port) };
            }
            Ok(n)
        }
        _ => recv_datagram(st, buf, flags, Some(from)),
    }
}

pub fn shutdown(st: &mut State, how: i32) -> Result<()> {
    let _lock = LwipLock::take();
    if st.kind != KIND_TCP {
        return Err(Errno::EOPNOTSUPP);
    }
    if st.pcb.is_null() || !matches!(st.conn, CONN_CONNECTED | CONN_PEER_CLOSED) {
        return Err(Errno::ENOTCONN);
    }
    let (rd, wr) = match how {
        x if x == consts::SHUT_RD => (true, false),
        x if x == consts::SHUT_WR => (false, true),
        x if x == consts::SHUT_RDWR => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    if rd {
        st.flags |= FLAG_RD_SHUT;
        free_chain(st.rx);
        st.rx = ptr::null_mut();
    }
    if wr {
        // Only the sending side is shut in lwIP: reading on needs the pcb.
        // SAFETY: a live connected pcb.
        check(unsafe { tcp_shutdown(st.tcp(), 0, 1) })?;
    }
    Ok(())
}

fn read_int(value: &[u8]) -> Result<i32> {
    let b: [u8; 4] = value.get(..4).and_then(|s| s.try_into().ok()).ok_or(Errno::EINVAL)?;
    Ok(i32::from_ne_bytes(b))
}

/// so_options of either pcb kind (the field is common to both).
fn so_options(st: &State) -> *mut u8 {
    // SAFETY: callers check the pcb is live; both structs start with the
    // same IP_PCB fields.
    unsafe {
        match st.kind {
            KIND_TCP => ptr::addr_of_mut!((*st.tcp()).so_options),
            _ => ptr::addr_of_mut!((*st.udp()).so_options),
        }
    }
}

pub fn setsockopt(st: &mut State, level: i32, name: i32, value: &[u8]) -> Result<()> {
    let _lock = LwipLock::take();
    if st.pcb.is_null() {
        return Err(st.take_error().unwrap_or(Errno::EINVAL));
    }
    let set_bit = |st: &State, bit: u32, on: bool| {
        // SAFETY: the pcb is live (checked above).
        unsafe {
            let o = so_options(st);
            *o = if on { *o | bit as u8 } else { *o & !(bit as u8) };
        }
    };
    match (level, name) {
        (consts::SOL_SOCKET, consts::SO_REUSEADDR) => {
            let on = read_int(value)? != 0;
            set_bit(st, consts::SOF_REUSEADDR as u32, on);
            st.set_flag(FLAG_REUSEADDR, on);
        }
        (consts::SOL_SOCKET, USOCKET_SO_NOTIFY) => st.set_flag(FLAG_NOTIFY, read_int(value)? != 0),
        (consts::SOL_SOCKET, consts::SO_BROADCAST) => set_bit(st, consts::SOF_BROADCAST as u32, read_int(value)? != 0),
        (consts::SOL_SOCKET, consts::SO_KEEPALIVE) => set_bit(st, consts::SOF_KEEPALIVE as u32, read_int(value)? != 0),
        (consts::SOL_SOCKET, consts::SO_LINGER) => {
            // struct linger { int l_onoff; int l_linger; }
            let on = read_int(value)? != 0;
            let secs = read_int(value.get(4..).ok_or(Errno::EINVAL)?)?;
            st.set_flag(FLAG_ABORT_ON_CLOSE, on && secs == 0);
        }
        (consts::IPPROTO_TCP, consts::TCP_NODELAY) if st.conn == CONN_LISTENING => {
            st.set_flag(FLAG_NODELAY, read_int(value)? != 0);
        }
        (consts::IPPROTO_TCP, consts::TCP_NODELAY) if st.kind == KIND_TCP => {
            let on = read_int(value)? != 0;
            // SAFETY: a live tcp_pcb that is not listening (a full tcp_pcb).
            unsafe {
                let f = &mut (*st.tcp()).flags;
                *f = if on { *f | consts::TF_NODELAY as tcpflags_t } else { *f & !(consts::TF_NODELAY as tcpflags_t) };
            }
        }
        (consts::IPPROTO_IP, consts::IP_TTL) => {
            let ttl = read_int(value)?.clamp(0, 255) as u8;
            // SAFETY: a live pcb of the given kind.
            unsafe {
                match st.kind {
                    KIND_TCP => (*st.tcp()).ttl = ttl,
                    _ => (*st.udp()).ttl = ttl,
                }
            }
        }
        (consts::IPPROTO_IP, consts::IP_MULTICAST_TTL) if st.kind == KIND_UDP => {
            let ttl = read_int(value).or_else(|_| value.first().map(|&b| b as i32).ok_or(Errno::EINVAL))?;
            // SAFETY: a live udp_pcb.
            unsafe { (*st.udp()).mcast_ttl = ttl.clamp(0, 255) as u8 };
        }
        (consts::IPPROTO_IP, consts::IP_ADD_MEMBERSHIP | consts::IP_DROP_MEMBERSHIP) => {
            // struct ip_mreq { in_addr imr_multiaddr; in_addr imr_interface; }
            if value.len() < 8 {
                return Err(Errno::EINVAL);
            }
            let group = ip4_addr_t { addr: u32::from_ne_bytes([value[0], value[1], value[2], value[3]]) };
            let iface = ip4_addr_t { addr: u32::from_ne_bytes([value[4], value[5], value[6], value[7]]) };
            // SAFETY: both addresses live across the call.
            let err = unsafe {
                if name == consts::IP_ADD_MEMBERSHIP {
                    igmp_joingroup(&iface, &group)
                } else {
                    igmp_leavegroup(&iface, &group)
                }
            };
            check(err)?;
        }
        (consts::SOL_SOCKET, consts::SO_RCVBUF | consts::SO_SNDBUF) => {
            read_int(value)?; // fixed by lwipopts.h; accepted and ignored
        }
        _ => return Err(Errno::EOPNOTSUPP),
    }
    Ok(())
}

pub fn getsockopt(st: &mut State, level: i32, name: i32, out: &mut [u8]) -> Result<usize> {
    let _lock = LwipLock::take();
    let live = !st.pcb.is_null();
    let opt = |bit: u32| -> i32 {
        // SAFETY: only called when the pcb is live.
        (live && unsafe { *so_options(st) } as u32 & bit != 0) as i32
    };
    let v: i32 = match (level, name) {
        (consts::SOL_SOCKET, consts::SO_ERROR) => st.take_error().map_or(0, Errno::raw),
        (consts::SOL_SOCKET, consts::SO_TYPE) => {
            if st.kind == KIND_TCP {
                consts::SOCK_STREAM
            } else {
                consts::SOCK_DGRAM
            }
        }
        (consts::SOL_SOCKET, consts::SO_REUSEADDR) => (st.flags & FLAG_REUSEADDR != 0) as i32,
        (consts::SOL_SOCKET, consts::SO_BROADCAST) => opt(consts::SOF_BROADCAST as u32),
        (consts::SOL_SOCKET, consts::SO_KEEPALIVE) => opt(consts::SOF_KEEPALIVE as u32),
        (consts::SOL_SOCKET, consts::SO_RCVBUF) => consts::TCP_WND,
        (consts::SOL_SOCKET, consts::SO_SNDBUF) => consts::TCP_SND_BUF,
        (consts::IPPROTO_TCP, consts::TCP_NODELAY) if st.conn == CONN_LISTENING => (st.flags & FLAG_NODELAY != 0) as i32,
        (consts::IPPROTO_TCP, consts::TCP_NODELAY) if st.kind == KIND_TCP && live => {
            // SAFETY: a live tcp_pcb that is not listening (a full tcp_pcb).
            (unsafe { (*st.tcp()).flags } as u32 & consts::TF_NODELAY as u32 != 0) as i32
        }
        (consts::SOL_SOCKET, consts::SO_LINGER) => {
            let on = (st.flags & FLAG_ABORT_ON_CLOSE != 0) as i32;
            if out.len() < 8 {
                return Err(Errno::EINVAL);
            }
            out[..4].copy_from_slice(&on.to_ne_bytes());
            out[4..8].copy_from_slice(&0i32.to_ne_bytes());
            return Ok(8);
        }
        _ => return Err(Errno::EOPNOTSUPP),
    };
    let b = v.to_ne_bytes();
    let n = out.len().min(4);
    out[..n].copy_from_slice(&b[..n]);
    Ok(n)
}

/// The peer's address (`peer`) or the socket's own.
pub fn name(st: &State, peer: bool) -> Result<SockAddr> {
    if peer {
        peer_addr(st)
    } else {
        local_addr(st)
    }
}

fn local_addr(st: &State) -> Result<SockAddr> {
    let _lock = LwipLock::take();
    if st.pcb.is_null() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: reading the local endpoint of a live pcb.
    Ok(unsafe {
        match st.kind {
            KIND_TCP => from_ip(&(*st.tcp()).local_ip, (*st.tcp()).local_port),
            _ => from_ip(&(*st.udp()).local_ip, (*st.udp()).local_port),
        }
    })
}

fn peer_addr(st: &State) -> Result<SockAddr> {
    let _lock = LwipLock::take();
    if st.pcb.is_null() {
        return Err(Errno::ENOTCONN);
    }
    // SAFETY: reading the remote endpoint of a live pcb.
    let (a, port) = unsafe {
        match st.kind {
            KIND_TCP if matches!(st.conn, CONN_CONNECTED | CONN_PEER_CLOSED) => {
                (from_ip(&(*st.tcp()).remote_ip, 0), (*st.tcp()).remote_port)
            }
            KIND_UDP if (*st.udp()).remote_port != 0 => (from_ip(&(*st.udp()).remote_ip, 0), (*st.udp()).remote_port),
            _ => return Err(Errno::ENOTCONN),
        }
    };
    Ok(SockAddr { port, ..a })
}

/// Readiness from the socket's state, as modlwip computes it.
pub fn readiness(st: &State, wanted: PollFlags) -> PollFlags {
    // "Not readable" needs no lock: an asyncio loop asks every socket it
    // waits on, on every pass (16 times per round trip of the board's echo),
    // and nearly always hears that. In those states the locked answer has
    // no other flag (a live pcb: not failed, not over both ways).
    if (wanted & !PollFlags::RD).is_empty() && !load(&st.pcb).is_null() && nothing_to_read(st) {
        return PollFlags::empty();
    }
    let _lock = LwipLock::take();
    let mut r = PollFlags::empty();
    match st.kind {
        KIND_TCP => match st.conn {
            CONN_NEW => r |= PollFlags::WR | PollFlags::HUP,
            CONN_LISTENING => {
                // Slots outside the ring are null: an empty queue (what a
                // server's poll loop finds nearly every time) is not scanned.
                // SAFETY: as in State::acceptq (a listener: queue is set).
                if st.flags & FLAG_PCBS_OUT != 0
                    || st.aq_len > 0 && unsafe { st.queue.as_ref() }.is_some_and(|q| unsafe { &q.accept }.iter().any(|p| !p.is_null()))
                {
                    r |= PollFlags::RD;
                }
            }
            CONN_CONNECTING => {}
            // Over both ways (the pcb handed back to lwIP): as Linux has it.
            CONN_CONNECTED | CONN_PEER_CLOSED if st.pcb.is_null() => r |= PollFlags::RD | PollFlags::WR | PollFlags::HUP,
            CONN_CONNECTED | CONN_PEER_CLOSED => {
                if !st.rx.is_null() || st.conn == CONN_PEER_CLOSED || st.flags & FLAG_RD_SHUT != 0 {
                    r |= PollFlags::RD;
                }
                // Writable with room above lwIP's low-water marks, as its
                // socket layer reports it: send() then takes bytes. Room in
                // the buffer alone is not enough: small sends fill the
                // segment queue first, and send() says EAGAIN while a poll
                // loop (that runs lwIP only when it waits) spins. Nor after
                // tcp_write ran out of memory (FLAG_SEND_NOMEM).
                if !st.pcb.is_null()
                    && st.flags & FLAG_SEND_NOMEM == 0
                    // SAFETY: a live connected pcb.
                    && unsafe {
                        u32::from((*st.tcp()).snd_buf) > consts::TCP_SNDLOWAT as u32
                            && u32::from((*st.tcp()).snd_queuelen) < consts::TCP_SNDQUEUELOWAT as u32
                    }
                {
                    r |= PollFlags::WR;
                }
            }
            _ => {
                // Failed: readable (the error, then EOF) and hung up; ERR
                // while the error has not been reported.
                r |= PollFlags::RD | PollFlags::HUP | PollFlags::WR;
                if st.error != 0 {
                    r |= PollFlags::ERR;
                }
            }
        },
        KIND_UDP => {
            if st.uq_len > 0 {
                r |= PollFlags::RD;
            }
            r |= PollFlags::WR;
        }
        _ => r |= PollFlags::NVAL,
    }
    r & (wanted | PollFlags::ALWAYS)
}

/// A field lwIP's callbacks may write meanwhile (in PendSV or an
/// interrupt, or on another core), read without the lock.
fn load<T: Copy>(field: &T) -> T {
    // SAFETY: an aligned field of a live State, a byte or a word, which every
    // target this backend runs on reads whole in one instruction: the value
    // is the old one or the new one. Volatile, so that a wait loop reads it
    // again on every turn.
    unsafe { ptr::read_volatile(field) }
}

/// True when the next `recv`/`recvfrom` (or, `accepting`, `accept`) would
/// say "would block", read without the lock, as modlwip's waits look at a
/// socket: the wait's test after lwIP ran, and the reason a blocking read
/// waits at once instead of taking the lock to find nothing (on the board,
/// 150 instructions per round trip of a TCP ping-pong). A stale answer costs
/// one more turn of the wait, or one attempt, which decides under the lock.
/// It matches the attempts' "would block" exactly, or a read would wait
/// where the attempt fails at once (a recv on a listener).
pub fn nothing_to_take(st: &State, accepting: bool) -> bool {
    match load(&st.kind) {
        KIND_TCP => match load(&st.conn) {
            CONN_LISTENING => accepting && load(&st.aq_len) == 0 && load(&st.flags) & FLAG_PCBS_OUT == 0,
            CONN_CONNECTED | CONN_CONNECTING => !accepting && load(&st.rx).is_null() && load(&st.flags) & FLAG_RD_SHUT == 0,
            _ => false,
        },
        KIND_UDP => !accepting && load(&st.uq_len) == 0,
        _ => false,
    }
}

/// [`nothing_to_take`] for whatever reads this socket: `accept` on a
/// listener, `recv` on the others.
fn nothing_to_read(st: &State) -> bool {
    nothing_to_take(st, load(&st.conn) == CONN_LISTENING)
}

/// When [`collect_if_starved`] last collected (`ticks_ms`); 0 before the
/// first time, so that a board starved in its first 100 ms is not kept
/// waiting (a collection that falls on tick 0 only allows one more early).
static STARVED_COLLECTED_AT: AtomicU32 = AtomicU32::new(0);

/// lwIP's heap had no room for something since the last collection: a copy
/// of incoming data out of the receive pool (which then stays in the pool),
/// or, for a whole tick of lwIP's poll timer, a segment to send. Set by
/// lwIP's callbacks.
static HEAP_SHORT: AtomicBool = AtomicBool::new(false);

fn heap_short() {
    HEAP_SHORT.store(true, Ordering::Relaxed);
}

/// How often at most a pool that stays empty has the garbage collected: the
/// pbufs may be held by live sockets whose data the program has not read yet,
/// and a collection then frees none.
const STARVED_COLLECT_EVERY_MS: u32 = 100;

/// lwIP's pool of receive buffers is empty, or its heap was short, and no
/// collection for that ran in the last [`STARVED_COLLECT_EVERY_MS`].
fn starved() -> bool {
    (HEAP_SHORT.load(Ordering::Relaxed) || hooks::rx_pool_empty()) && {
        let last = STARVED_COLLECTED_AT.load(Ordering::Relaxed);
        last == 0 || hooks::ticks_ms().wrapping_sub(last) >= STARVED_COLLECT_EVERY_MS
    }
}

/// With the GIL held (and no lwIP lock): collects garbage when the network
/// driver has no receive buffer left, or lwIP's heap ran short. Sockets the
/// program dropped without close() keep the data that came for them until
/// their finalisers run: full-sized segments in the pool pbufs the driver
/// received them in, small pieces copied into the heap. Once those hold the
/// whole pool the board receives nothing, not even a SYN (tests/qemu: 4
/// dropped connections of 8 KiB each held the board's 32 pbufs); once they
/// hold the heap, small pieces stay in the pool too, and sends wait (four
/// connections that sent 11 KB in 100-byte pieces filled the board's heap,
/// and the fifth one's pieces then held all 32).
/// A program waiting in accept() or polling allocates nothing, so the
/// collector never ran. A wait that finds the stack starved returns early
/// for this; poll calls it too (asyncio's loop only polls).
pub fn collect_if_starved() {
    if starved() {
        HEAP_SHORT.store(false, Ordering::Relaxed);
        STARVED_COLLECTED_AT.store(hooks::ticks_ms(), Ordering::Relaxed);
        hooks::collect();
    }
}

/// Lets lwIP run until the socket may be ready for `interest` (true) or the
/// wait is over (false); `EINTR` if MicroPython has something pending. Also
/// false, early, when the stack is starved of buffers (see
/// [`collect_if_starved`], which the caller runs with the GIL again).
pub fn wait(st: &State, interest: Interest, wait: Wait) -> Result<bool> {
    let start = if let Wait::Millis(_) = wait { now_ms() } else { 0 };
    loop {
        // lwIP runs first: the caller has just found the socket not ready.
        hooks::net_poll();
        let ready = match interest {
            // A reader only has to know whether its next attempt finds
            // something; that needs no lock (the attempt takes it).
            Interest::Read => !nothing_to_read(st),
            Interest::Write => !readiness(st, PollFlags::WR).is_empty(),
        };
        if ready {
            return Ok(true);
        }
        // Ctrl-C (or what the port's hook made pending) first: a stack that
        // stays starved must not keep the wait from hearing it.
        if hooks::pending() {
            return Err(Errno::EINTR);
        }
        if starved() {
            return Ok(false);
        }
        if let Wait::Millis(ms) = wait {
            if now_ms().wrapping_sub(start) >= u64::from(ms) {
                return Ok(false);
            }
        }
    }
}

/// Milliseconds from the port's tick, extended to 64 bits (the 32-bit tick
/// wraps after 49 days; deadlines only need differences).
pub fn now_ms() -> u64 {
    u64::from(hooks::ticks_ms())
}

// ---- name resolution ------------------------------------------------------

/// Hints for [`resolve`], with the module's values.
pub struct Hints {
    pub family: i32,
    pub sock_type: i32,
    pub proto: i32,
    pub flags: i32,
}

/// One DNS query in flight. lwIP calls back later, possibly after the caller
/// gave up (timeout or Ctrl-C): the callback finds the query by number and
/// writes nothing if it is no longer the one being waited for.
struct DnsQuery {
    id: core::cell::Cell<u32>,
    done: core::cell::Cell<bool>,
    found: core::cell::Cell<Option<ip_addr_t>>,
}

// SAFETY: touched only with the lwIP lock held, which serialises lwIP
// callbacks and callers.
unsafe impl Sync for DnsQuery {}

static DNS: DnsQuery = DnsQuery {
    id: core::cell::Cell::new(0),
    done: core::cell::Cell::new(false),
    found: core::cell::Cell::new(None),
};

/// How long a DNS query may take, on top of lwIP's own retries.
const DNS_TIMEOUT_MS: u64 = 15_000;

unsafe extern "C" fn on_dns_found(_name: *const core::ffi::c_char, ip: *const ip_addr_t, arg: *mut c_void) {
    if arg as usize as u32 != DNS.id.get() {
        return; // a query nobody waits for any more
    }
    DNS.done.set(true);
    DNS.found.set(if ip.is_null() {
        None
    } else {
        // SAFETY: ip is valid during the callback. (With IPv6 in lwIP the
        // answer may be an IPv6 address: the whole ip_addr_t is kept.)
        Some(unsafe { *ip })
    });
}

/// Looks `host` up with lwIP's DNS client: for an address of `family`
/// where lwIP has IPv6 (AF_UNSPEC: lwIP's default order), IPv4 otherwise.
fn resolve_name(host: &[u8], family: i32) -> core::result::Result<SockAddr, Error> {
    let mut name = [0u8; 256];
    if host.len() >= name.len() || host.iter().any(|&c| c == 0) {
        return Err(Error::Gai(consts::EAI_NONAME));
    }
    name[..host.len()].copy_from_slice(host);
    // SAFETY: all-zero is a valid ip_addr_t.
    let mut ip: ip_addr_t = unsafe { core::mem::zeroed() };
    let id;
    {
        let _lock = LwipLock::take();
        id = DNS.id.get().wrapping_add(1);
        DNS.id.set(id);
        DNS.done.set(false);
        // The address type to ask for; None: lwIP's default (IPv4 first,
        // then IPv6, where lwIP has both).
        #[cfg(usocket_lwip_ipv6)]
        let addrtype = match family {
            consts::AF_INET => Some(consts::LWIP_DNS_ADDRTYPE_IPV4 as u8),
            consts::AF_INET6 => Some(consts::LWIP_DNS_ADDRTYPE_IPV6 as u8),
            _ => None,
        };
        #[cfg(not(usocket_lwip_ipv6))]
        let addrtype: Option<u8> = {
            let _ = family; // IPv4 is all there is
            None
        };
        let (host_c, arg) = (name.as_ptr().cast(), id as usize as *mut c_void);
        // SAFETY: name is NUL-terminated (lwIP copies it); ip is written only
        // on an immediate answer; the callback takes the query number as arg.
        let err = unsafe {
            match addrtype {
                Some(t) => dns_gethostbyname_addrtype(host_c, &mut ip, Some(on_dns_found), arg, t),
                None => dns_gethostbyname(host_c, &mut ip, Some(on_dns_found), arg),
            }
        };
        if err as i32 == ERR_OK as i32 {
            return Ok(from_ip(&ip, 0));
        }
        if err as i32 != ERR_INPROGRESS as i32 {
            return Err(Error::Gai(consts::EAI_FAIL));
        }
    }
    let start = now_ms();
    let result = loop {
        {
            let _lock = LwipLock::take();
            if DNS.done.get() {
                break DNS.found.get().map(|ip| from_ip(&ip, 0)).ok_or(Error::Gai(consts::EAI_NONAME));
            }
        }
        if now_ms().wrapping_sub(start) > DNS_TIMEOUT_MS {
            break Err(Error::Gai(consts::EAI_FAIL));
        }
        hooks::without_gil(hooks::net_poll);
        if hooks::pending() {
            break Err(Error::Os(Errno::EINTR));
        }
    };
    // Whatever happened, this query is over: a late answer is ignored.
    let _lock = LwipLock::take();
    DNS.id.set(id.wrapping_add(1));
    result
}

/// ::1
const LOOPBACK6: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

fn parse_port(service: Option<&[u8]>) -> core::result::Result<u16, Error> {
    // (No services database here.)
    service.map_or(Ok(0), |s| crate::addr::decimal_port(s).ok_or(Error::Gai(consts::EAI_SERVICE)))
}

/// getaddrinfo on lwIP: numeric addresses (IPv6 ones too when lwIP has
/// IPv6, as rp2 builds it), or one IPv4 lookup through lwIP's DNS client;
/// one result per socket type asked for.
pub fn resolve(
    host: Option<&[u8]>,
    service: Option<&[u8]>,
    hints: &Hints,
    out: &mut [AddrInfo],
    _canon: &mut [u8],
    canon_len: &mut usize,
) -> core::result::Result<usize, Error> {
    *canon_len = 0;
    // (Constant false where lwIP has no IPv6: that code is left out.)
    let v6 = cfg!(usocket_lwip_ipv6) && hints.family == consts::AF_INET6;
    if hints.family != consts::AF_UNSPEC && hints.family != consts::AF_INET && !v6 {
        return Err(Error::Gai(consts::EAI_FAMILY));
    }
    let port = parse_port(service)?;
    let mut addr = match host {
        None if v6 => SockAddr::v6(if hints.flags & consts::AI_PASSIVE != 0 { [0; 16] } else { LOOPBACK6 }, 0, 0, 0),
        None if hints.flags & consts::AI_PASSIVE != 0 => SockAddr::v4([0; 4], 0),
        None => SockAddr::v4([127, 0, 0, 1], 0),
        Some(h) => {
            // IPv4 text unless AF_INET6 was asked for, then IPv6 text
            // unless AF_INET was.
            let v4 = if v6 { None } else { SockAddr::from_numeric_host(consts::AF_INET, h, 0, 0, 0) };
            let numeric = v4.or_else(|| {
                let take_v6 = cfg!(usocket_lwip_ipv6) && hints.family != consts::AF_INET;
                take_v6.then(|| SockAddr::from_numeric_host(consts::AF_INET6, h, 0, 0, 0)).flatten()
            });
            match numeric {
                Some(a) if !h.is_empty() => a,
                _ if hints.flags & consts::AI_NUMERICHOST != 0 || h.is_empty() => return Err(Error::Gai(consts::EAI_NONAME)),
                _ => resolve_name(h, hints.family)?,
            }
        }
    };
    addr.port = port;
    let mut n = 0;
    for (ty, proto) in [(consts::SOCK_STREAM, consts::IPPROTO_TCP), (consts::SOCK_DGRAM, consts::IPPROTO_UDP)] {
        if (hints.sock_type == 0 || hints.sock_type == ty) && (hints.proto == 0 || hints.proto == proto) && n < out.len() {
            out[n] = AddrInfo { family: addr.family, sock_type: ty, proto, addr };
            n += 1;
        }
    }
    if n == 0 {
        return Err(Error::Gai(consts::EAI_SERVICE));
    }
    Ok(n)
}

/// Messages for the module's EAI codes (lwIP has no gai_strerror), in one
/// `static`: string literals would share a merged-strings section with the
/// paths in core's panic locations, which then could not be dropped.
static GAI_MESSAGES: [u8; 115] = *b"Name or service not known\0Servname not supported\0\
Address family not supported\0Out of memory\0Name resolution failed\0";

pub fn gai_message(code: i32) -> *const u8 {
    let at = match code {
        consts::EAI_NONAME => 0,
        consts::EAI_SERVICE => 26,
        consts::EAI_FAMILY => 49,
        consts::EAI_MEMORY => 78,
        _ => 92,
    };
    GAI_MESSAGES.get(at..).unwrap_or(&[0]).as_ptr()
}

/// The module reports EAI codes negative; lwIP's are positive.
pub fn gai_from_reported(reported: i32) -> i32 {
    -reported
}
