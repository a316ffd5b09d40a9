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
