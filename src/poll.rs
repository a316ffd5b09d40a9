//! Readiness flags, with MicroPython's `MP_STREAM_POLL_*` values for the port.

use crate::consts;

bitflags::bitflags! {
    /// What `ioctl(MP_STREAM_POLL)` answers. ERR, HUP and NVAL are reported
    /// whether or not they were asked for (asyncio relies on that).
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub struct PollFlags: u32 {
        const RD = consts::MP_STREAM_POLL_RD as u32;
        const WR = consts::MP_STREAM_POLL_WR as u32;
        const ERR = consts::MP_STREAM_POLL_ERR as u32;
        const HUP = consts::MP_STREAM_POLL_HUP as u32;
        const NVAL = consts::MP_STREAM_POLL_NVAL as u32;
    }
}

impl PollFlags {
    /// The conditions reported even when not requested.
    pub const ALWAYS: PollFlags = PollFlags::ERR.union(PollFlags::HUP).union(PollFlags::NVAL);
}

/// What a blocking operation waits for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Interest {
    Read,
    Write,
}
