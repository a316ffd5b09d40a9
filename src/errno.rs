//! Error numbers as the port's `errno` module defines them.

use crate::consts;

/// An errno value of the port (what `OSError.errno` will be).
///
/// Statuses cross the ABI as negative numbers: `-errno`. Backends convert their
/// own error codes into these once, in their own file.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub struct Errno(i32);

/// Result of a socket operation.
pub type Result<T> = core::result::Result<T, Errno>;

macro_rules! errnos {
    ($($name:ident = $mp:ident),* $(,)?) => {
        impl Errno {
            $(pub const $name: Errno = Errno(consts::$mp);)*

            /// The symbolic name, for debugging and tests.
            pub fn name(self) -> &'static str {
                $(if self == Self::$name { return stringify!($name); })*
                "E?"
            }
        }
    };
}

errnos! {
    EPERM = MP_EPERM, ENOENT = MP_ENOENT, EINTR = MP_EINTR, EIO = MP_EIO, EBADF = MP_EBADF,
    EAGAIN = MP_EAGAIN, ENOMEM = MP_ENOMEM, EACCES = MP_EACCES, EFAULT = MP_EFAULT,
    EINVAL = MP_EINVAL, ENFILE = MP_ENFILE, EMFILE = MP_EMFILE, EPIPE = MP_EPIPE,
    EWOULDBLOCK = MP_EWOULDBLOCK, EOPNOTSUPP = MP_EOPNOTSUPP, EAFNOSUPPORT = MP_EAFNOSUPPORT,
    EADDRINUSE = MP_EADDRINUSE, ECONNABORTED = MP_ECONNABORTED, ECONNRESET = MP_ECONNRESET,
    ENOBUFS = MP_ENOBUFS, EISCONN = MP_EISCONN, ENOTCONN = MP_ENOTCONN,
    ETIMEDOUT = MP_ETIMEDOUT, ECONNREFUSED = MP_ECONNREFUSED, EHOSTUNREACH = MP_EHOSTUNREACH,
    EALREADY = MP_EALREADY, EINPROGRESS = MP_EINPROGRESS,
}

impl Errno {
    /// An AF_UNIX path too long for `sun_path`. MicroPython has no name for
    /// it; AF_UNIX exists only on the posix backend, whose errno is the C
    /// library's.
    #[cfg(usocket_backend = "posix")]
    pub const ENAMETOOLONG: Errno = Errno(libc::ENAMETOOLONG);

    /// Wraps a value that is already the port's errno (e.g. from a posix libc
    /// on a port that uses the system's errno).
    pub const fn from_raw(v: i32) -> Errno {
        Errno(v)
    }

    pub const fn raw(self) -> i32 {
        self.0
    }

    /// "Try again later": the operation would have had to wait.
    pub fn is_would_block(self) -> bool {
        self == Errno::EAGAIN || self == Errno::EWOULDBLOCK
    }

    /// The status the ABI returns for this error.
    pub const fn status(self) -> isize {
        -(self.0 as isize)
    }
}

impl core::fmt::Debug for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}({})", self.name(), self.0)
    }
}

/// Errors of name resolution: an errno, or the resolver's own code (EAI_*,
/// as the platform defines it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Error {
    Os(Errno),
    Gai(i32),
}

/// Resolver errors cross the ABI as `-(GAI_STATUS_BASE + |EAI code|)`, below
/// every `-errno`.
pub(crate) const GAI_STATUS_BASE: isize = 0x10000;

impl Error {
    pub fn status(self) -> isize {
        match self {
            Error::Os(e) => e.status(),
            Error::Gai(code) => -(GAI_STATUS_BASE + (code as isize).abs()),
        }
    }
}

impl From<Errno> for Error {
    fn from(e: Errno) -> Error {
        Error::Os(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_negative_errnos() {
        assert_eq!(Errno::ETIMEDOUT.status(), -(consts::MP_ETIMEDOUT as isize));
        assert_eq!(Error::Os(Errno::EAGAIN).status(), -(consts::MP_EAGAIN as isize));
        assert!(Errno::EAGAIN.is_would_block() && Errno::EWOULDBLOCK.is_would_block());
        assert!(!Errno::ETIMEDOUT.is_would_block());
        assert_eq!(Errno::ECONNRESET.name(), "ECONNRESET");
    }

    #[test]
    fn resolver_errors_sit_below_every_errno() {
        for code in [consts::EAI_NONAME, consts::EAI_FAMILY, consts::EAI_SERVICE] {
            let st = Error::Gai(code).status();
            assert!(st <= -GAI_STATUS_BASE);
            // what the shim reports: the negative EAI code
            assert_eq!(crate::abi::usocket_status_gai_code(st), -code.abs());
        }
        assert!(Errno::from_raw(4095).status() > -GAI_STATUS_BASE);
    }
}
