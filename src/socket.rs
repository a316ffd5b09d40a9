//! A socket: the state MicroPython's object embeds, and every operation,
//! written once on top of the backend's primitives (src/sys/).
//!
//! The one timeout rule (see [`crate::timeout`]) lives in [`Socket::run`]:
//! every operation that may wait (accept, recv, recvfrom, send, sendto, and
//! the stream read/write built on them) is one attempt function run under it;
//! connect has its own loop because its wait comes after the attempt.

use core::ptr;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::addr::SockAddr;
use crate::consts;
use crate::errno::{Errno, Result};
use crate::hooks;
use crate::poll::{Interest, PollFlags};
use crate::sys;
use crate::timeout::{Deadline, Timeout};

/// A socket, embedded by value in the MicroPython object (C allocates it in
/// the GC heap; Rust never allocates).
///
/// Invariants: `sys` is open until [`Socket::close`]; `timeout_ms` holds
/// [`Timeout::to_raw`]. The handle is in non-blocking mode exactly when the
/// core does the waiting (see [`Socket::handle_nonblocking`]): always on
/// stacks without interruptible blocking calls, otherwise unless the timeout
/// is None (the kernel waits, one system call per operation).
/// `guard` (only ever accessed atomically) counts the operations in progress
/// (times [`GUARD_ONE`]) and has [`GUARD_CLOSED`] once close() was called:
/// a socket closed by one thread while another is blocked in it keeps its
/// handle until that operation has left, so the handle number is never
/// reused under it. Family, type and protocol are stored as narrow as the
/// numbers socket() accepts: on unix the whole object is one GC block.
#[repr(C)]
pub struct Socket {
    pub sys: sys::State,
    pub timeout_ms: u32,
    pub guard: u32,
    pub family: u8,
    pub sock_type: u8,
    pub proto: u16,
}

// The backend's state starts the socket: lwIP's callbacks get the State and
// hand it to the shim as the `usocket_t` (hooks::notify).
const _: () = assert!(core::mem::offset_of!(Socket, sys) == 0);

/// `guard` bit: close() was called; no operation may start.
const GUARD_CLOSED: u32 = 1;
/// `guard` increment for one operation in progress.
const GUARD_ONE: u32 = 2;

/// The guard word's three updates (and the timeout's exchange), each one
/// indivisible step: native atomics where the CPU has compare-and-swap.
#[cfg(target_has_atomic = "32")]
mod guard_word {
    use super::{GUARD_CLOSED, GUARD_ONE};
    use core::sync::atomic::{AtomicU32, Ordering};

    /// Counts an operation in unless closed (or `open` is false).
    pub fn enter(g: &AtomicU32, open: bool) -> bool {
        let mut v = g.load(Ordering::Acquire);
        loop {
            if v & GUARD_CLOSED != 0 || !open {
                return false;
            }
            match g.compare_exchange_weak(v, v + GUARD_ONE, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(now) => v = now,
            }
        }
    }

    /// Counts an operation out; the word as it was.
    pub fn leave(g: &AtomicU32) -> u32 {
        g.fetch_sub(GUARD_ONE, Ordering::AcqRel)
    }

    /// Puts `v` in a word (the timeout's too); the word as it was.
    pub fn swap(g: &AtomicU32, v: u32) -> u32 {
        g.swap(v, Ordering::AcqRel)
    }

    /// Marks it closed and counts the closer in; the word as it was.
    pub fn close(g: &AtomicU32) -> u32 {
        let mut v = g.load(Ordering::Acquire);
        loop {
            match g.compare_exchange_weak(v, (v | GUARD_CLOSED) + GUARD_ONE, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return v,
                Err(now) => v = now,
            }
        }
    }
}

/// CPUs without compare-and-swap (Cortex-M0+: the RP2040 of the Pico W)
/// have atomic loads and stores only: each update runs in MicroPython's
/// atomic section, which on rp2 also holds off the other core.
#[cfg(not(target_has_atomic = "32"))]
mod guard_word {
    use super::{GUARD_CLOSED, GUARD_ONE};
    use crate::hooks::AtomicSection;
    use core::sync::atomic::{AtomicU32, Ordering};

    pub fn enter(g: &AtomicU32, open: bool) -> bool {
        let _section = AtomicSection::enter();
        let v = g.load(Ordering::Acquire);
        let ok = v & GUARD_CLOSED == 0 && open;
        if ok {
            g.store(v + GUARD_ONE, Ordering::Release);
        }
        ok
    }

    pub fn leave(g: &AtomicU32) -> u32 {
        let _section = AtomicSection::enter();
        let v = g.load(Ordering::Acquire);
        g.store(v.wrapping_sub(GUARD_ONE), Ordering::Release);
        v
    }

    pub fn swap(g: &AtomicU32, v: u32) -> u32 {
        let _section = AtomicSection::enter();
        let old = g.load(Ordering::Acquire);
        g.store(v, Ordering::Release);
        old
    }

    pub fn close(g: &AtomicU32) -> u32 {
        let _section = AtomicSection::enter();
        let v = g.load(Ordering::Acquire);
        g.store((v | GUARD_CLOSED) + GUARD_ONE, Ordering::Release);
        v
    }
}

/// One try of an operation that may wait, as [`Socket::run`] repeats it
/// (the backend call and its arguments).
enum Attempt<'a> {
    /// The peer's address, and the closed state the connection goes into.
    Accept(&'a mut SockAddr, &'a mut sys::State),
    Recv(&'a mut [u8], i32),
    RecvFrom(&'a mut [u8], i32, &'a mut SockAddr),
    Send(&'a [u8], i32),
    SendTo(&'a [u8], i32, &'a SockAddr),
}

impl Attempt<'_> {
    fn interest(&self) -> Interest {
        match self {
            Attempt::Accept(..) | Attempt::Recv(..) | Attempt::RecvFrom(..) => Interest::Read,
            Attempt::Send(..) | Attempt::SendTo(..) => Interest::Write,
        }
    }

    /// The MSG_* flags of a transfer (none for accept).
    fn flags(&self) -> i32 {
        match self {
            Attempt::Accept(..) => 0,
            Attempt::Recv(_, f) | Attempt::RecvFrom(_, f, _) | Attempt::Send(_, f) | Attempt::SendTo(_, f, _) => *f,
        }
    }

    /// The backend call, once; "would block" is the backend's error.
    fn once(&mut self, st: &mut sys::State) -> Result<usize> {
        match self {
            Attempt::Accept(peer, accepted) => sys::accept(st, peer, accepted).map(|()| 0),
            Attempt::Recv(buf, flags) => sys::recv(st, buf, *flags),
            Attempt::RecvFrom(buf, flags, from) => sys::recvfrom(st, buf, *flags, from),
            Attempt::Send(buf, flags) => sys::send(st, buf, *flags),
            Attempt::SendTo(buf, flags, to) => sys::sendto(st, buf, *flags, to),
        }
    }
}

impl Socket {
    /// A socket that is already closed: what C's freshly allocated object holds
    /// until open/accept succeeds, so its finaliser never closes a stray handle.
    pub(crate) fn closed() -> Socket {
        Socket { sys: sys::State::closed(), timeout_ms: Timeout::RAW_BLOCK, guard: 0, family: 0, sock_type: 0, proto: 0 }
    }

    /// The stack judges the numbers (and gives its own error for one it
    /// does not know); none it takes is wider than the fields, except a
    /// Linux type with SOCK_NONBLOCK / SOCK_CLOEXEC or'ed in: refused
    /// (EINVAL), as blocking is the timeout's business here and close-on-exec
    /// is always set.
    ///
    /// Opens into `self`, which must be closed (as [`Socket::closed`] makes
    /// it): the socket is built where it stays, because on lwIP's raw API
    /// its state is a hundred bytes and every move of it a `memcpy`.
    ///
    /// `queue`: `sys::queue_size()` bytes that live as long as the socket,
    /// which a UDP socket on lwIP's raw API keeps its datagrams in (ENOMEM
    /// if null); elsewhere unused.
    pub fn open_in(&mut self, family: i32, sock_type: i32, proto: i32, queue: *mut core::ffi::c_void) -> Result<()> {
        sys::open(&mut self.sys, family, sock_type, proto, queue)?;
        match (u8::try_from(family), u8::try_from(sock_type), u16::try_from(proto)) {
            (Ok(family), Ok(sock_type), Ok(proto)) => {
                (self.family, self.sock_type, self.proto) = (family, sock_type, proto);
                Ok(())
            }
            _ => {
                sys::close(&mut self.sys);
                Err(Errno::EINVAL)
            }
        }
    }

    #[cfg(test)]
    pub fn open(family: i32, sock_type: i32, proto: i32) -> Result<Socket> {
        let mut s = Socket::closed();
        s.open_in(family, sock_type, proto, ptr::null_mut())?;
        Ok(s)
    }

    /// Two connected sockets (Linux: AF_UNIX only). Numbers wider than the
    /// fields (a type with SOCK_NONBLOCK or'ed in) are EINVAL, as in
    /// [`Socket::open_in`], before the kernel is asked.
    #[cfg(usocket_backend = "posix")]
    pub fn pair(family: i32, sock_type: i32, proto: i32) -> Result<(Socket, Socket)> {
        let (Ok(fam), Ok(ty), Ok(pr)) = (u8::try_from(family), u8::try_from(sock_type), u16::try_from(proto)) else {
            return Err(Errno::EINVAL);
        };
        let (a, b) = sys::pair(family, sock_type, proto)?;
        let new = |sys| Socket { sys, family: fam, sock_type: ty, proto: pr, ..Socket::closed() };
        Ok((new(a), new(b)))
    }

    pub fn is_open(&self) -> bool {
        !self.closing() && self.sys.is_open()
    }

    fn guard(&self) -> &AtomicU32 {
        // SAFETY: `guard` is an aligned u32 inside this socket, live as long
        // as self, and every access to it (here only; C never reads it) is
        // atomic through this view.
        unsafe { AtomicU32::from_ptr(ptr::addr_of!(self.guard).cast_mut()) }
    }

    fn closing(&self) -> bool {
        self.guard().load(Ordering::Acquire) & GUARD_CLOSED != 0
    }

    /// Runs `f` as an operation in progress: EBADF if the socket is closed,
    /// and if it gets closed meanwhile (by another thread) an error becomes
    /// EBADF and the last operation to leave releases the handle.
    ///
    /// Entering and leaving are functions of their own, not inlined into
    /// every operation: fifteen operations share one copy of each.
    #[inline(always)]
    fn op<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.enter()?;
        let r = f(self);
        let closed = self.leave();
        match r {
            Err(_) if closed => Err(Errno::EBADF),
            r => r,
        }
    }

    /// Counts an operation in, unless the socket is closed (EBADF).
    #[inline(never)]
    fn enter(&self) -> Result<()> {
        if guard_word::enter(self.guard(), self.sys.is_open()) {
            Ok(())
        } else {
            Err(Errno::EBADF)
        }
    }

    /// Counts an operation out; true if the socket was closed meanwhile (the
    /// last operation out of a closed socket releases the handle).
    #[inline(never)]
    fn leave(&mut self) -> bool {
        let before = guard_word::leave(self.guard());
        if before == GUARD_ONE | GUARD_CLOSED {
            sys::close(&mut self.sys);
        }
        before & GUARD_CLOSED != 0
    }

    /// Tells the backend the socket is at its final address (inside the
    /// MicroPython object): stacks that call back with a pointer to it (lwIP)
    /// register it now. Called once after open placed it (`accept_into`
    /// builds the socket where it stays, and the backend registers it there).
    pub fn attach(&mut self) {
        sys::attach(&mut self.sys);
    }

    fn check_open(&self) -> Result<()> {
        if self.is_open() {
            Ok(())
        } else {
            Err(Errno::EBADF)
        }
    }

    /// Idempotent; every later operation fails with EBADF. Operations blocked
    /// in this socket on other threads are woken and fail with EBADF; the
    /// handle is released when the last of them has left.
    ///
    /// close() counts itself in as an operation while it wakes the others:
    /// otherwise the last of them could leave and release the handle between
    /// close() reading it and waking it, and the wake would reach whatever
    /// socket had been given the number since (ThreadSanitizer on
    /// `random_threads.py`). Whoever leaves last, close() or an operation it
    /// woke, releases the handle.
    pub fn close(&mut self) {
        if guard_word::close(self.guard()) >= GUARD_ONE {
            sys::wake(&mut self.sys);
        }
        self.leave();
    }

    /// `timeout_ms`, which another thread's settimeout() may be writing
    /// while this one waits (C reads it the same way: `gettimeout`, repr).
    fn timeout_word(&self) -> &AtomicU32 {
        // SAFETY: `timeout_ms` is an aligned u32 inside this socket, live as
        // long as self, and accessed atomically once the socket is shared.
        unsafe { AtomicU32::from_ptr(ptr::addr_of!(self.timeout_ms).cast_mut()) }
    }

    pub fn timeout(&self) -> Timeout {
        Timeout::from_raw(self.timeout_word().load(Ordering::Relaxed))
    }

    /// Whether the handle is in non-blocking mode under the raw timeout
    /// `raw` (see the invariants).
    fn nonblocking_under(raw: u32) -> bool {
        !sys::HAS_BLOCKING_CALLS || raw != Timeout::RAW_BLOCK
    }

    /// Whether the handle is in non-blocking mode now.
    fn handle_nonblocking(&self) -> bool {
        Self::nonblocking_under(self.timeout_word().load(Ordering::Relaxed))
    }

    /// Threads setting the timeout at once leave the handle in the mode of
    /// the last timeout stored: each one that changed the mode sets it, then
    /// sets it again while the timeout stored meanwhile wants the other one
    /// (a finite timeout on a blocking handle would wait for ever).
    pub fn set_timeout(&mut self, t: Timeout) -> Result<()> {
        self.op(|s| {
            let raw = t.to_raw();
            let old = guard_word::swap(s.timeout_word(), raw);
            let mut mode = Self::nonblocking_under(raw);
            if mode != Self::nonblocking_under(old) {
                loop {
                    if let Err(e) = sys::set_nonblocking(&mut s.sys, mode) {
                        s.timeout_word().store(old, Ordering::Release); // the handle kept its mode
                        return Err(e);
                    }
                    let now = Self::nonblocking_under(s.timeout_word().load(Ordering::Acquire));
                    if now == mode {
                        break;
                    }
                    mode = now;
                }
            }
            Ok(())
        })
    }

    /// Runs `attempt` under the timeout rule until it stops saying "would
    /// block". With MSG_DONTWAIT in its flags this call acts as timeout 0.
    ///
    /// A wait interrupted by a signal goes on with the same deadline, unless
    /// MicroPython has something pending (Ctrl-C): then `EINTR` goes back to C,
    /// which runs it. Callers hold the socket as an operation in progress.
    ///
    /// `attempt` is data, not a closure: one copy of this loop serves every
    /// operation, with no trait-object vtables (each costs a table plus, in a
    /// position-independent firmware, a relocation per entry).
    #[inline(never)]
    fn run(&mut self, deadline: &mut Option<Deadline>, attempt: &mut Attempt) -> Result<usize> {
        let interest = attempt.interest();
        let dont_wait = attempt.flags() & consts::MSG_DONTWAIT != 0;
        let timeout = if dont_wait { Timeout::NonBlocking } else { self.timeout() };
        let kernel_blocks = !dont_wait && !self.handle_nonblocking();
        // A read that may wait and that the backend knows, without asking the
        // stack, would find nothing waits at once (lwIP's raw API).
        let mut nothing_yet = timeout != Timeout::NonBlocking
            && !kernel_blocks
            && interest == Interest::Read
            && sys::nothing_to_take(&self.sys, matches!(attempt, Attempt::Accept(..)));
        loop {
            // Something pending (Ctrl-C) is run before blocking again: a
            // blocking write that sent part of its data returns the count, not
            // EINTR, and the next one would block with the signal long gone.
            if kernel_blocks && hooks::pending() {
                return Err(Errno::EINTR);
            }
            let r = if core::mem::take(&mut nothing_yet) {
                Err(Errno::EAGAIN)
            } else if kernel_blocks {
                hooks::without_gil(|| attempt.once(&mut self.sys))
            } else {
                attempt.once(&mut self.sys)
            };
            match r {
                Err(Errno::EINTR) => {
                    if hooks::pending() {
                        return Err(Errno::EINTR);
                    }
                    if self.closing() {
                        return Err(Errno::EBADF); // closed by another thread meanwhile
                    }
                    continue;
                }
                // A blocking handle says "would block" only when the user set
                // SO_RCVTIMEO / SO_SNDTIMEO and it expired: that is a timeout.
                Err(e) if e.is_would_block() && kernel_blocks => return Err(Errno::ETIMEDOUT),
                Err(e) if e.is_would_block() => {}
                r => return r,
            }
            if self.closing() {
                return Err(Errno::EBADF); // closed by another thread meanwhile
            }
            let wait = deadline.get_or_insert_with(|| Deadline::start(timeout, sys::now_ms)).next_wait(sys::now_ms)?;
            self.wait(interest, wait)?;
        }
    }

    /// One wait with the GIL released; `EINTR` only if something is pending.
    /// With the GIL again, the stack may ask for a collection (lwIP raw: out
    /// of buffers), which the wait cannot run.
    fn wait(&self, interest: Interest, wait: crate::timeout::Wait) -> Result<bool> {
        let r = hooks::without_gil(|| sys::wait(&self.sys, interest, wait));
        sys::collect_if_starved();
        match r {
            Err(Errno::EINTR) if !hooks::pending() => Ok(false),
            r => r,
        }
    }

    pub fn bind(&mut self, addr: &SockAddr) -> Result<()> {
        self.op(|s| sys::bind(&mut s.sys, addr))
    }

    /// `queue`: as in [`Socket::open_in`], for a listener's connections.
    pub fn listen(&mut self, backlog: i32, queue: *mut core::ffi::c_void) -> Result<()> {
        self.op(|s| sys::listen(&mut s.sys, backlog.max(0), queue))
    }

    /// The accepted socket starts blocking (timeout None), whatever the
    /// listener's timeout (CPython's rule; modlwip's inheritance is a bug).
    ///
    /// The connection goes into `new`, which must be closed (built in place,
    /// as in [`Socket::open_in`]), and is ready there: the backend registers
    /// it with the stack itself (no [`Socket::attach`]).
    pub fn accept_into(&mut self, new: &mut Socket, peer: &mut SockAddr) -> Result<()> {
        self.op(|s| s.run(&mut None, &mut Attempt::Accept(peer, &mut new.sys)))?;
        (new.family, new.sock_type, new.proto) = (self.family, self.sock_type, self.proto);
        Ok(())
    }

    #[cfg(test)]
    pub fn accept(&mut self, peer: &mut SockAddr) -> Result<Socket> {
        let mut new = Socket::closed();
        self.accept_into(&mut new, peer)?;
        Ok(new)
    }

    /// Connects under the timeout rule: timeout 0 gives `EINPROGRESS` (finish
    /// with poll), a finite one `ETIMEDOUT`, None waits (Ctrl-C interrupts).
    ///
    /// With timeout None the kernel does the waiting (one system call). If a
    /// signal interrupts it and nothing is pending for MicroPython, the
    /// connection goes on in the background, so the rest is a wait for it
    /// (calling connect(2) again would say EALREADY), as CPython does.
    pub fn connect(&mut self, addr: &SockAddr) -> Result<()> {
        self.op(|s| s.connect_op(addr))
    }

    fn connect_op(&mut self, addr: &SockAddr) -> Result<()> {
        let timeout = self.timeout();
        let kernel_blocks = !self.handle_nonblocking();
        if kernel_blocks && hooks::pending() {
            return Err(Errno::EINTR);
        }
        let first = if kernel_blocks {
            hooks::without_gil(|| sys::connect(&mut self.sys, addr))
        } else {
            sys::connect(&mut self.sys, addr)
        };
        match first {
            Ok(()) => return Ok(()),
            Err(Errno::EINTR) if kernel_blocks => {
                if hooks::pending() {
                    return Err(Errno::EINTR);
                }
            }
            Err(e) if !kernel_blocks && (e == Errno::EINPROGRESS || e.is_would_block()) => {}
            Err(e) => return Err(e),
        }
        let deadline = Deadline::start(timeout, sys::now_ms);
        loop {
            let wait = match deadline.next_wait(sys::now_ms) {
                Err(e) if e.is_would_block() => return Err(Errno::EINPROGRESS),
                r => r?,
            };
            let ready = self.wait(Interest::Write, wait)?;
            if self.closing() {
                return Err(Errno::EBADF); // closed by another thread meanwhile
            }
            if ready {
                return sys::connect_result(&mut self.sys);
            }
        }
    }

    pub fn send(&mut self, buf: &[u8], flags: i32) -> Result<usize> {
        self.transfer(&mut Attempt::Send(buf, flags))
    }

    /// recv, recvfrom, send and sendto: `attempt` under the timeout rule, as
    /// an operation in progress (one out-of-line copy serves the four).
    #[inline(never)]
    fn transfer(&mut self, attempt: &mut Attempt) -> Result<usize> {
        let n = self.op(|s| s.run(&mut None, attempt))?;
        match attempt.interest() {
            Interest::Read => self.not_woken_by_close(n),
            _ => Ok(n),
        }
    }

    /// Sends everything; the timeout covers the whole call. `sent` counts the
    /// progress, so a call interrupted by `EINTR` can be resumed where it
    /// stopped (on other errors the count is lost to the user, as in CPython).
    pub fn send_all(&mut self, buf: &[u8], flags: i32, sent: &mut usize) -> Result<()> {
        self.op(|s| {
            let mut deadline = None;
            while *sent < buf.len() {
                let rest = &buf[*sent..];
                *sent += s.run(&mut deadline, &mut Attempt::Send(rest, flags))?;
            }
            Ok(())
        })
    }

    pub fn send_to(&mut self, buf: &[u8], flags: i32, to: &SockAddr) -> Result<usize> {
        self.transfer(&mut Attempt::SendTo(buf, flags, to))
    }

    /// Returns 0 at end of stream (the peer closed), every time it is called.
    pub fn recv(&mut self, buf: &mut [u8], flags: i32) -> Result<usize> {
        if buf.is_empty() {
            // As CPython: nothing asked, nothing waited for (a zero-length
            // recv(2) on TCP would block until data arrives).
            self.check_open()?;
            return Ok(0);
        }
        self.transfer(&mut Attempt::Recv(buf, flags))
    }

    pub fn recv_from(&mut self, buf: &mut [u8], flags: i32, from: &mut SockAddr) -> Result<usize> {
        self.transfer(&mut Attempt::RecvFrom(buf, flags, from))
    }

    /// Reads at most `buf.len()` bytes of a line, stopping after a `\n`: peeks
    /// at what has arrived and takes exactly up to the line's end, so a line
    /// costs two system calls instead of one per byte. 0 is end of stream.
    /// A datagram socket reads one datagram.
    pub fn recv_line(&mut self, buf: &mut [u8]) -> Result<usize> {
        if i32::from(self.sock_type) == consts::SOCK_DGRAM {
            return self.recv(buf, 0);
        }
        let n = self.recv(buf, consts::MSG_PEEK)?;
        let seen = buf.get(..n).unwrap_or(&[]);
        let take = seen.iter().position(|&c| c == b'\n').map_or(n, |i| i + 1);
        if take == 0 {
            return Ok(0);
        }
        // The bytes are there, so this does not wait. Should they be gone all
        // the same (another reader took them, or a spurious EAGAIN), it waits
        // under the timeout like any read and may take less than the line, as
        // a partial read: MSG_DONTWAIT here ended a blocking readline with None.
        let line = buf.get_mut(..take).ok_or(Errno::EINVAL)?;
        self.recv(line, 0)
    }

    /// A read that returned "end of stream" because close() on another thread
    /// shut the socket down to wake it reports EBADF instead.
    fn not_woken_by_close(&self, n: usize) -> Result<usize> {
        if n == 0 && self.closing() {
            Err(Errno::EBADF)
        } else {
            Ok(n)
        }
    }

    pub fn shutdown(&mut self, how: i32) -> Result<()> {
        self.op(|s| sys::shutdown(&mut s.sys, how))
    }

    pub fn set_option(&mut self, level: i32, name: i32, value: &[u8]) -> Result<()> {
        self.op(|s| sys::setsockopt(&mut s.sys, level, name, value))
    }

    pub fn get_option(&mut self, level: i32, name: i32, out: &mut [u8]) -> Result<usize> {
        self.op(|s| sys::getsockopt(&mut s.sys, level, name, out))
    }

    pub fn local_addr(&mut self) -> Result<SockAddr> {
        self.name(false)
    }

    pub fn peer_addr(&mut self) -> Result<SockAddr> {
        self.name(true)
    }

    /// The peer's address, or the socket's own: one function for both.
    pub fn name(&mut self, peer: bool) -> Result<SockAddr> {
        self.op(|s| sys::name(&s.sys, peer))
    }

    /// Readiness for `ioctl(MP_STREAM_POLL)`: what was asked for, plus ERR,
    /// HUP and NVAL (a closed socket is NVAL and nothing else).
    /// Called with the GIL held (by poll or asyncio's loop, which waits in
    /// it): the stack may ask for a collection first, as in [`Socket::wait`].
    pub fn poll(&self, wanted: PollFlags) -> PollFlags {
        sys::collect_if_starved();
        if !self.is_open() {
            return PollFlags::NVAL;
        }
        sys::readiness(&self.sys, wanted) & (wanted | PollFlags::ALWAYS)
    }
}

#[cfg(test)]
mod tests {
    //! The core against the real backend on loopback: the timeout rule, EOF,
    //! close and poll, without MicroPython around it.
    use super::*;
    use crate::consts::{AF_INET, SOCK_DGRAM, SOCK_STREAM};

    fn listener() -> (Socket, SockAddr) {
        let mut l = Socket::open(AF_INET, SOCK_STREAM, 0).unwrap();
        l.bind(&SockAddr::v4([127, 0, 0, 1], 0)).unwrap();
        l.listen(4, ptr::null_mut()).unwrap();
        let a = l.local_addr().unwrap();
        (l, a)
    }

    fn pair() -> (Socket, Socket) {
        let (mut l, a) = listener();
        let mut c = Socket::open(AF_INET, SOCK_STREAM, 0).unwrap();
        c.connect(&a).unwrap();
        let mut peer = SockAddr::zeroed();
        let s = l.accept(&mut peer).unwrap();
        assert_eq!(peer.port, c.local_addr().unwrap().port);
        (c, s)
    }

    #[test]
    fn data_both_ways_then_eof_every_time() {
        let (mut c, mut s) = pair();
        assert_eq!(c.send(b"hello", 0), Ok(5));
        let mut buf = [0u8; 16];
        assert_eq!(s.recv(&mut buf, 0), Ok(5));
        assert_eq!(&buf[..5], b"hello");
        c.close();
        assert_eq!(s.recv(&mut buf, 0), Ok(0));
        assert_eq!(s.recv(&mut buf, 0), Ok(0));
    }

    #[test]
    fn timeout_zero_is_eagain_and_finite_is_etimedout() {
        let (_c, mut s) = pair();
        let mut buf = [0u8; 4];
        s.set_timeout(Timeout::NonBlocking).unwrap();
        assert_eq!(s.recv(&mut buf, 0), Err(Errno::EAGAIN));
        s.set_timeout(Timeout::Millis(50)).unwrap();
        let t0 = sys::now_ms();
        assert_eq!(s.recv(&mut buf, 0), Err(Errno::ETIMEDOUT));
        let took = sys::now_ms() - t0;
        assert!((50..1000).contains(&took), "{took} ms");
        s.set_timeout(Timeout::Block).unwrap();
        assert_eq!(s.recv(&mut buf, consts::MSG_DONTWAIT), Err(Errno::EAGAIN));
    }

    #[test]
    fn accept_timeout_rule_and_accepted_socket_blocks() {
        let (mut l, a) = listener();
        let mut peer = SockAddr::zeroed();
        l.set_timeout(Timeout::NonBlocking).unwrap();
        assert_eq!(l.accept(&mut peer).err(), Some(Errno::EAGAIN));
        l.set_timeout(Timeout::Millis(20)).unwrap();
        assert_eq!(l.accept(&mut peer).err(), Some(Errno::ETIMEDOUT));
        let mut c = Socket::open(AF_INET, SOCK_STREAM, 0).unwrap();
        c.connect(&a).unwrap();
        let s = l.accept(&mut peer).unwrap();
        assert_eq!(s.timeout(), Timeout::Block);
    }

    #[test]
    fn nonblocking_connect_then_poll() {
        let (_l, a) = listener();
        let mut c = Socket::open(AF_INET, SOCK_STREAM, 0).unwrap();
        c.set_timeout(Timeout::NonBlocking).unwrap();
        match c.connect(&a) {
            Ok(()) | Err(Errno::EINPROGRESS) => {}
            Err(e) => panic!("{e:?}"),
        }
        let mut ready = PollFlags::empty();
        for _ in 0..100 {
            ready = c.poll(PollFlags::WR);
            if ready.contains(PollFlags::WR) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(ready, PollFlags::WR);
    }

    #[test]
    fn refused_connect_reports_econnrefused() {
        let (mut l, a) = listener();
        l.close();
        let mut c = Socket::open(AF_INET, SOCK_STREAM, 0).unwrap();
        assert_eq!(c.connect(&a), Err(Errno::ECONNREFUSED));
        // Retrying on the same socket tries again (not ECONNABORTED).
        assert_eq!(c.connect(&a), Err(Errno::ECONNREFUSED));
        c.set_timeout(Timeout::Millis(1000)).unwrap();
        assert_eq!(c.connect(&a), Err(Errno::ECONNREFUSED));
        let (_l2, a2) = listener();
        c.set_timeout(Timeout::Block).unwrap();
        assert_eq!(c.connect(&a2), Ok(()));
    }

    #[test]
    fn closed_socket_is_ebadf_and_nval() {
        let mut s = Socket::open(AF_INET, SOCK_DGRAM, 0).unwrap();
        s.close();
        s.close();
        let mut buf = [0u8; 1];
        assert_eq!(s.recv(&mut buf, 0), Err(Errno::EBADF));
        assert_eq!(s.send(b"x", 0), Err(Errno::EBADF));
        assert_eq!(s.bind(&SockAddr::v4([127, 0, 0, 1], 0)), Err(Errno::EBADF));
        assert_eq!(s.poll(PollFlags::RD), PollFlags::NVAL);
    }

    #[test]
    fn socketpair_connects_two_sockets() {
        let (mut a, mut b) = Socket::pair(crate::consts::AF_UNIX, SOCK_STREAM, 0).unwrap();
        assert_eq!((a.family as i32, b.sock_type as i32), (crate::consts::AF_UNIX, SOCK_STREAM));
        assert_eq!(a.send(b"hi", 0), Ok(2));
        let mut buf = [0u8; 4];
        assert_eq!(b.recv(&mut buf, 0), Ok(2));
        a.close();
        assert_eq!(b.recv(&mut buf, 0), Ok(0)); // the peer closed
        // too wide for the fields (SOCK_NONBLOCK or'ed in): refused, nothing opened
        assert_eq!(Socket::pair(crate::consts::AF_UNIX, SOCK_STREAM | 0x800, 0).err(), Some(Errno::EINVAL));
        // Linux has socketpair for AF_UNIX only
        assert_eq!(Socket::pair(AF_INET, SOCK_STREAM, 0).err(), Some(Errno::EOPNOTSUPP));
    }

    #[test]
    fn udp_poll_and_datagrams() {
        let mut a = Socket::open(AF_INET, SOCK_DGRAM, 0).unwrap();
        a.bind(&SockAddr::v4([127, 0, 0, 1], 0)).unwrap();
        assert_eq!(a.poll(PollFlags::RD | PollFlags::WR), PollFlags::WR);
        let to = a.local_addr().unwrap();
        let mut b = Socket::open(AF_INET, SOCK_DGRAM, 0).unwrap();
        assert_eq!(b.send_to(b"ping", 0, &to), Ok(4));
        let mut buf = [0u8; 8];
        let mut from = SockAddr::zeroed();
        assert_eq!(a.recv_from(&mut buf, 0, &mut from), Ok(4));
        assert_eq!(from.port, b.local_addr().unwrap().port);
        assert_eq!(&buf[..4], b"ping");
    }

    #[test]
    fn options_round_trip_as_c_ints_and_structs() {
        let mut s = Socket::open(AF_INET, SOCK_STREAM, 0).unwrap();
        let on = 1i32.to_ne_bytes();
        s.set_option(consts::SOL_SOCKET, consts::SO_KEEPALIVE, &on).unwrap();
        let mut out = [0u8; 4];
        assert_eq!(s.get_option(consts::SOL_SOCKET, consts::SO_KEEPALIVE, &mut out), Ok(4));
        assert_ne!(i32::from_ne_bytes(out), 0);
        let mut linger = [0u8; 8];
        linger[..4].copy_from_slice(&1i32.to_ne_bytes());
        linger[4..].copy_from_slice(&5i32.to_ne_bytes());
        s.set_option(consts::SOL_SOCKET, consts::SO_LINGER, &linger).unwrap();
        let mut back = [0u8; 8];
        assert_eq!(s.get_option(consts::SOL_SOCKET, consts::SO_LINGER, &mut back), Ok(8));
        assert_eq!(back, linger);
        assert_eq!(s.set_option(consts::SOL_SOCKET, consts::SO_LINGER, &[1]), Err(Errno::EINVAL));
    }

    #[test]
    fn close_from_another_thread_wakes_a_blocked_recv_and_accept() {
        struct Shared(*mut Socket);
        // SAFETY (test): both threads use the socket only through the core's
        // operations, which is what a threaded MicroPython does.
        unsafe impl Send for Shared {}
        for listening in [false, true] {
            let (mut l, a) = listener();
            let mut c = Socket::open(AF_INET, SOCK_STREAM, 0).unwrap();
            c.connect(&a).unwrap();
            let mut s = l.accept(&mut SockAddr::zeroed()).unwrap();
            let target: &mut Socket = if listening { &mut l } else { &mut s };
            let fd = target.sys.fd;
            let before = fd_identity(fd);
            assert!(before.is_some());
            let shared = Shared(target as *mut Socket);
            let blocked = std::thread::spawn(move || {
                let sh = shared;
                // SAFETY: see Shared.
                let sock = unsafe { &mut *sh.0 };
                let mut buf = [0u8; 4];
                if listening {
                    sock.accept(&mut SockAddr::zeroed()).map(|_| 0)
                } else {
                    sock.recv(&mut buf, 0)
                }
            });
            std::thread::sleep(std::time::Duration::from_millis(100));
            target.close();
            assert_eq!(blocked.join().unwrap(), Err(Errno::EBADF));
            assert!(!target.is_open());
            // The handle was released once the blocked call left: the number
            // is closed, or already another socket's (tests run in parallel
            // threads of one process, and the kernel reuses the lowest free
            // number at once).
            assert_ne!(fd_identity(fd), before);
        }
    }

    /// The open file a descriptor number stands for (a socket's inode is its
    /// own), or None if the number is not open.
    fn fd_identity(fd: i32) -> Option<(u64, u64)> {
        // SAFETY: all-zero is a valid libc::stat.
        let mut st: libc::stat = unsafe { core::mem::zeroed() };
        // SAFETY: fstat writes only into st, and fails for a number that is
        // not open.
        let open = unsafe { libc::fstat(fd, &mut st) } == 0;
        open.then_some((st.st_dev as u64, st.st_ino as u64))
    }

    #[test]
    fn send_all_sends_everything_under_one_deadline() {
        let (mut c, mut s) = pair();
        let data = std::vec![7u8; 1 << 20];
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            let mut total = 0;
            loop {
                match s.recv(&mut buf, 0).unwrap() {
                    0 => return total,
                    n => total += n,
                }
            }
        });
        c.set_timeout(Timeout::Millis(10_000)).unwrap();
        let mut sent = 0;
        assert_eq!(c.send_all(&data, 0, &mut sent), Ok(()));
        assert_eq!(sent, data.len());
        c.close();
        assert_eq!(reader.join().unwrap(), data.len());
    }
}
