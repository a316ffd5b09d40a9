//! The one timeout rule every blocking operation follows.
//!
//! - timeout `None` ([`Timeout::Block`]): wait as long as it takes (Ctrl-C still
//!   interrupts);
//! - timeout `0` ([`Timeout::NonBlocking`]): never wait; an operation that would
//!   have to wait fails with `EAGAIN`;
//! - a finite timeout ([`Timeout::Millis`]): the whole operation gets that long,
//!   however many waits it takes; when it runs out the operation fails with
//!   `ETIMEDOUT` (never `EAGAIN`, unlike MicroPython's unix module).

use crate::errno::{Errno, Result};

/// A socket's timeout, as `settimeout()` sets it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Timeout {
    Block,
    NonBlocking,
    Millis(u32),
}

impl Timeout {
    /// How `Timeout::Block` is stored in the C-visible socket state.
    pub(crate) const RAW_BLOCK: u32 = u32::MAX;
    /// The longest finite timeout (about 49 days); longer ones are this.
    pub(crate) const MAX_MILLIS: u32 = u32::MAX - 1;

    pub const fn from_raw(ms: u32) -> Timeout {
        match ms {
            Self::RAW_BLOCK => Timeout::Block,
            0 => Timeout::NonBlocking,
            ms => Timeout::Millis(ms),
        }
    }

    pub const fn to_raw(self) -> u32 {
        match self {
            Timeout::Block => Self::RAW_BLOCK,
            Timeout::NonBlocking => 0,
            Timeout::Millis(ms) => {
                if ms > Self::MAX_MILLIS {
                    Self::MAX_MILLIS
                } else {
                    ms
                }
            }
        }
    }
}

/// How long the next wait of an operation may last.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wait {
    Forever,
    Millis(u32),
}

/// The deadline of one operation, fixed when it first has to wait.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    timeout: Timeout,
    start_ms: u64,
}

/// The clock is passed as a function and read only for a finite timeout: on
/// a board every read is a call into the port, and a blocking socket (the
/// common case) never needs one.
impl Deadline {
    pub fn start(timeout: Timeout, now_ms: impl FnOnce() -> u64) -> Deadline {
        let start_ms = if let Timeout::Millis(_) = timeout { now_ms() } else { 0 };
        Deadline { timeout, start_ms }
    }

    /// The next wait, or the error the operation ends with because it may not
    /// wait any more.
    pub fn next_wait(&self, now_ms: impl FnOnce() -> u64) -> Result<Wait> {
        match self.timeout {
            Timeout::Block => Ok(Wait::Forever),
            Timeout::NonBlocking => Err(Errno::EAGAIN),
            Timeout::Millis(ms) => {
                let elapsed = now_ms().saturating_sub(self.start_ms);
                match u64::from(ms).checked_sub(elapsed) {
                    Some(left) if left > 0 => Ok(Wait::Millis(left as u32)),
                    _ => Err(Errno::ETIMEDOUT),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_round_trip() {
        for t in [Timeout::Block, Timeout::NonBlocking, Timeout::Millis(1), Timeout::Millis(1500)] {
            assert_eq!(Timeout::from_raw(t.to_raw()), t);
        }
        assert_eq!(Timeout::Millis(u32::MAX).to_raw(), Timeout::MAX_MILLIS);
    }

    #[test]
    fn non_blocking_never_waits() {
        let d = Deadline::start(Timeout::NonBlocking, || 100);
        assert_eq!(d.next_wait(|| 100), Err(Errno::EAGAIN));
    }

    #[test]
    fn block_waits_forever() {
        let d = Deadline::start(Timeout::Block, || unreachable!("no clock read without a timeout"));
        assert_eq!(d.next_wait(|| unreachable!()), Ok(Wait::Forever));
    }

    #[test]
    fn finite_timeout_covers_the_whole_operation() {
        let d = Deadline::start(Timeout::Millis(1000), || 5_000);
        assert_eq!(d.next_wait(|| 5_000), Ok(Wait::Millis(1000)));
        assert_eq!(d.next_wait(|| 5_400), Ok(Wait::Millis(600)));
        assert_eq!(d.next_wait(|| 5_999), Ok(Wait::Millis(1)));
        assert_eq!(d.next_wait(|| 6_000), Err(Errno::ETIMEDOUT));
        assert_eq!(d.next_wait(|| 9_000), Err(Errno::ETIMEDOUT));
    }

    #[test]
    fn clock_going_backwards_does_not_extend_or_panic() {
        let d = Deadline::start(Timeout::Millis(10), || 1_000);
        assert_eq!(d.next_wait(|| 500), Ok(Wait::Millis(10)));
    }
}
