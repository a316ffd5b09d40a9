//! The few things the core asks of MicroPython while it waits, implemented in
//! C by the shim (modusocket.c). None of them may raise.

extern "C" {
    /// True if an exception (Ctrl-C) or a scheduled callback is pending: a wait
    /// interrupted by a signal then returns `EINTR` so C can run it.
    fn usocket_hook_pending() -> bool;
    /// Release / re-acquire the GIL around a wait (MP_THREAD_GIL_EXIT/ENTER).
    fn usocket_hook_gil_exit();
    fn usocket_hook_gil_enter();
    /// Never returns (the port's abort).
    fn usocket_hook_abort() -> !;
}

// CPUs without compare-and-swap update shared words inside MicroPython's
// atomic section (MICROPY_BEGIN/END_ATOMIC_SECTION).
#[cfg(not(target_has_atomic = "32"))]
extern "C" {
    /// Enters the atomic section; the value goes back to `usocket_hook_atomic_end`.
    fn usocket_hook_atomic_begin() -> u32;
    fn usocket_hook_atomic_end(state: u32);
}

/// MicroPython's atomic section, held while this guard lives.
#[cfg(not(target_has_atomic = "32"))]
pub struct AtomicSection(u32);

#[cfg(not(target_has_atomic = "32"))]
impl AtomicSection {
    pub fn enter() -> AtomicSection {
        // SAFETY: paired with the end in Drop; the section is held briefly
        // and nothing inside it waits.
        AtomicSection(unsafe { usocket_hook_atomic_begin() })
    }
}

#[cfg(not(target_has_atomic = "32"))]
impl Drop for AtomicSection {
    fn drop(&mut self) {
        // SAFETY: ends what `enter` began, with its saved state.
        unsafe { usocket_hook_atomic_end(self.0) }
    }
}

// The lwIP raw backend also needs the port's clock, a way to let lwIP run
// (service the network driver and lwIP's timers) while it waits, and the
// port's lwIP lock (MICROPY_PY_LWIP_ENTER/EXIT).
#[cfg(usocket_backend = "lwip_raw")]
extern "C" {
    /// mp_hal_ticks_ms().
    fn usocket_hook_ticks_ms() -> u32;
    /// One turn of a wait: lets lwIP make progress (poll the network
    /// driver and run lwIP's timers, or sleep until the interrupt that
    /// does), without raising. Called with the GIL released: on ports with
    /// the old event hook it takes the GIL to run it.
    fn usocket_hook_net_poll();
    /// Takes the port's lwIP lock; the value goes back to `usocket_hook_lwip_exit`.
    fn usocket_hook_lwip_enter() -> u32;
    fn usocket_hook_lwip_exit(state: u32);
    /// Something arrived for this socket (a `usocket_t`), which asked to be
    /// told (SO_NOTIFY): the shim schedules its callback. Called from lwIP's
    /// callbacks, with the lwIP lock held; neither allocates nor raises.
    fn usocket_hook_notify(sock: *mut core::ffi::c_void);
    /// lwIP's pool of receive buffers (PBUF_POOL) has none left: the network
    /// driver drops what comes. Read without the lock; false where lwIP has
    /// no such pool.
    fn usocket_hook_rx_pool_empty() -> bool;
}

// Both lwIP backends collect garbage when lwIP had no pcb (or netconn) for a
// connection that came: lwIP refused it before any call of ours could. The
// raw API's also does when lwIP's receive pool or heap runs out.
#[cfg(any(usocket_backend = "lwip_raw", usocket_backend = "lwip_socket"))]
extern "C" {
    /// Runs MicroPython's garbage collector (gc_collect): the finalisers of
    /// sockets nobody references close them and give back their pcbs and
    /// buffers.
    /// Called with the GIL held and no lwIP lock (those finalisers take it);
    /// cannot raise (MicroPython runs finalisers protected).
    fn usocket_hook_collect();
}

/// See `usocket_hook_collect`.
#[cfg(any(usocket_backend = "lwip_raw", usocket_backend = "lwip_socket"))]
pub fn collect() {
    // SAFETY: the caller holds the GIL and no lwIP lock; gc_collect neither
    // raises nor keeps pointers into the core.
    unsafe { usocket_hook_collect() }
}

/// See `usocket_hook_notify`.
///
/// # Safety
/// `sock` is a live socket's State, which starts the `usocket_t` (checked in
/// socket.rs), and the caller holds the lwIP lock.
#[cfg(usocket_backend = "lwip_raw")]
pub unsafe fn notify(sock: *mut core::ffi::c_void) {
    // SAFETY: the caller's guarantee; the hook only reads the object around
    // the socket and schedules a call.
    unsafe { usocket_hook_notify(sock) }
}

/// See `usocket_hook_rx_pool_empty`.
#[cfg(usocket_backend = "lwip_raw")]
pub fn rx_pool_empty() -> bool {
    // SAFETY: one read of lwIP's pool descriptor; no lock needed for a hint.
    unsafe { usocket_hook_rx_pool_empty() }
}

#[cfg(usocket_backend = "lwip_raw")]
pub fn ticks_ms() -> u32 {
    // SAFETY: mp_hal_ticks_ms has no preconditions.
    unsafe { usocket_hook_ticks_ms() }
}

#[cfg(usocket_backend = "lwip_raw")]
pub fn net_poll() {
    // SAFETY: runs lwIP's input and timers outside any lwIP lock we hold
    // (callers release it first, and the GIL); cannot raise.
    unsafe { usocket_hook_net_poll() }
}

/// The port's lwIP lock, held while this guard lives: lwIP callbacks (which
/// may run from an interrupt on real boards) cannot touch socket state then.
#[cfg(usocket_backend = "lwip_raw")]
pub struct LwipLock(u32);

#[cfg(usocket_backend = "lwip_raw")]
impl LwipLock {
    pub fn take() -> LwipLock {
        // SAFETY: paired with the exit in Drop.
        LwipLock(unsafe { usocket_hook_lwip_enter() })
    }
}

#[cfg(usocket_backend = "lwip_raw")]
impl Drop for LwipLock {
    fn drop(&mut self) {
        // SAFETY: releases what `take` acquired, with its saved state.
        unsafe { usocket_hook_lwip_exit(self.0) }
    }
}

/// Is there something pending that must interrupt a wait?
pub fn pending() -> bool {
    // SAFETY: the shim defines this as a plain read of interpreter state; it
    // takes no arguments and cannot raise.
    unsafe { usocket_hook_pending() }
}

/// Runs `f` (a system call that may block) with the GIL released.
pub fn without_gil<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: the GIL hooks are MP_THREAD_GIL_EXIT/ENTER, balanced here, and
    // `f` touches no MicroPython object.
    unsafe { usocket_hook_gil_exit() };
    let r = f();
    // SAFETY: re-acquires what was released above.
    unsafe { usocket_hook_gil_enter() };
    r
}

pub fn abort() -> ! {
    // SAFETY: no preconditions; the hook does not return.
    unsafe { usocket_hook_abort() }
}

/// Unit tests run without MicroPython: nothing is ever pending, there is no GIL.
#[cfg(test)]
mod test_hooks {
    #[no_mangle]
    extern "C" fn usocket_hook_pending() -> bool {
        false
    }
    #[no_mangle]
    extern "C" fn usocket_hook_gil_exit() {}
    #[no_mangle]
    extern "C" fn usocket_hook_gil_enter() {}
    #[no_mangle]
    extern "C" fn usocket_hook_abort() -> ! {
        std::process::abort()
    }
}
