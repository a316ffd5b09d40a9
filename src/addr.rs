//! Socket addresses: the value type that crosses the ABI, and IPv4/IPv6 text in
//! both directions, as inet_pton / inet_ntop do it.

use crate::consts::{AF_INET, AF_INET6};
use crate::errno::{Errno, Result};

// Address text: ours, written to the rules of glibc's inet_pton / inet_ntop
// (lwIP's own ip4addr_aton also takes "127.1", "0x7f.1"), except that the
// posix backend parses IPv6 with the C library's inet_pton, which the
// firmware links anyway. IPv4 text stays ours there: it is parsed on every
// connect, in a third of glibc's instructions, and glibc's inet_ntop goes
// through sprintf (about 1,300 instructions for an IPv4 address, on every
// accept). Tests and the fuzzer check ours against glibc's.
pub use crate::ip_text::{format_ipv4, format_ipv6, parse_ipv4};
#[cfg(all(usocket_backend = "posix", not(any(test, fuzzing))))]
pub use crate::sys::ip_text::parse_ipv6;
#[cfg(not(all(usocket_backend = "posix", not(any(test, fuzzing)))))]
pub use crate::ip_text::parse_ipv6;

/// A socket address, family-tagged with the platform's `AF_*`.
///
/// Invariant: `family` is `AF_INET` (only `addr[..4]` is used, `flowinfo` and
/// `scope_id` are 0), `AF_INET6`, `AF_UNIX` (posix backend only: `path`, and
/// nothing else, is used) or 0: no address (a datagram from an unnamed
/// sender). Port and flowinfo are in host byte order.
///
/// Laid out without padding up to the end of `addr`: those bytes are an
/// IPv4 or IPv6 address's whole value, which the shim's address cache
/// copies and compares as bytes (an AF_UNIX address adds its path).
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SockAddr {
    pub family: i32,
    pub flowinfo: u32,
    pub scope_id: u32,
    pub port: u16,
    /// AF_UNIX: the length of `path`.
    #[cfg(usocket_backend = "posix")]
    pub path_len: u8,
    pub addr: [u8; 16],
    /// AF_UNIX: the address as `sun_path` holds it, without a terminating
    /// NUL: a file name, an abstract name (Linux: a NUL, then the name), or
    /// nothing (an unnamed socket).
    #[cfg(usocket_backend = "posix")]
    pub path: [u8; UNIX_PATH_MAX],
}

/// The size of `sun_path` (Linux).
#[cfg(usocket_backend = "posix")]
pub const UNIX_PATH_MAX: usize = 108;

/// Whether the stack has IPv6. Without it (lwIP built IPv4-only) IPv6 text is
/// not parsed or written at all, which keeps that code out of small images.
const IPV6: bool = cfg!(any(usocket_backend = "posix", usocket_lwip_ipv6));

/// One getaddrinfo result.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct AddrInfo {
    pub family: i32,
    pub sock_type: i32,
    pub proto: i32,
    pub addr: SockAddr,
}

impl AddrInfo {
    pub const fn zeroed() -> AddrInfo {
        AddrInfo { family: 0, sock_type: 0, proto: 0, addr: SockAddr::zeroed() }
    }
}

/// Longest text form of an address: an IPv6 address with an embedded IPv4
/// ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255") is 45 bytes.
pub(crate) const ADDR_TEXT_MAX: usize = 46;

impl SockAddr {
    pub const fn zeroed() -> SockAddr {
        SockAddr {
            family: 0,
            flowinfo: 0,
            scope_id: 0,
            port: 0,
            #[cfg(usocket_backend = "posix")]
            path_len: 0,
            addr: [0; 16],
            #[cfg(usocket_backend = "posix")]
            path: [0; UNIX_PATH_MAX],
        }
    }

    pub fn v4(ip: [u8; 4], port: u16) -> SockAddr {
        let mut a = SockAddr { family: AF_INET, port, ..SockAddr::zeroed() };
        a.addr[..4].copy_from_slice(&ip);
        a
    }

    pub fn v6(ip: [u8; 16], port: u16, flowinfo: u32, scope_id: u32) -> SockAddr {
        SockAddr { family: AF_INET6, port, flowinfo, scope_id, addr: ip, ..SockAddr::zeroed() }
    }

    /// An AF_UNIX address: `path` as `sun_path` holds it (see the field).
    /// A file name must leave room for its NUL, an abstract name need not
    /// (as in CPython); longer is ENAMETOOLONG.
    #[cfg(usocket_backend = "posix")]
    pub fn unix(path: &[u8]) -> Result<SockAddr> {
        let abstract_name = path.first() == Some(&0);
        if path.len() > UNIX_PATH_MAX || (!abstract_name && path.len() == UNIX_PATH_MAX) {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(SockAddr::unix_as_given(path))
    }

    /// An AF_UNIX address's path (its length clamped: C hands these in).
    #[cfg(usocket_backend = "posix")]
    pub fn unix_path(&self) -> &[u8] {
        &self.path[..(self.path_len as usize).min(UNIX_PATH_MAX)]
    }

    /// An AF_UNIX address as the kernel wrote it: a file name may fill all of
    /// `sun_path` (bound so by another program). Longer is cut.
    #[cfg(usocket_backend = "posix")]
    pub fn unix_as_given(path: &[u8]) -> SockAddr {
        let n = path.len().min(UNIX_PATH_MAX);
        let mut a = SockAddr { family: crate::consts::AF_UNIX, path_len: n as u8, ..SockAddr::zeroed() };
        a.path[..n].copy_from_slice(&path[..n]);
        a
    }

    pub fn ipv4(&self) -> [u8; 4] {
        [self.addr[0], self.addr[1], self.addr[2], self.addr[3]]
    }

    /// Parses a numeric host for `family`. `""` is the wildcard address and, for
    /// IPv4, `"<broadcast>"` is 255.255.255.255 (as in CPython). Returns `None`
    /// when the text is not a numeric address (it may still be a host name).
    pub fn from_numeric_host(family: i32, host: &[u8], port: u16, flowinfo: u32, scope_id: u32) -> Option<SockAddr> {
        if family == AF_INET {
            let ip = match host {
                b"" => [0; 4],
                b"<broadcast>" => [255; 4],
                h => parse_ipv4(h)?,
            };
            Some(SockAddr::v4(ip, port))
        } else if family == AF_INET6 && IPV6 {
            let ip = if host.is_empty() { [0; 16] } else { parse_ipv6(host)? };
            Some(SockAddr::v6(ip, port, flowinfo, scope_id))
        } else {
            None
        }
    }

    /// Writes the address part as text; returns its length. Only what fits
    /// `out` is written.
    pub fn format_host(&self, out: &mut [u8]) -> usize {
        if self.family == AF_INET || !IPV6 {
            format_ipv4(&self.ipv4(), out)
        } else {
            format_ipv6(&self.addr, out)
        }
    }
}

/// A port given as decimal text (a service without a services database):
/// one or more digits, 0 to 65535. None for anything else.
pub fn decimal_port(text: &[u8]) -> Option<u16> {
    let mut v: u32 = 0;
    for &c in text {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
        if v > 65535 {
            return None;
        }
    }
    (!text.is_empty()).then_some(v as u16)
}

/// Text that can only be meant as a numeric address: digits and dots (no
/// top-level domain is all digits), or anything with a colon (never part of a
/// host name) unless it carries a `%scope`. Such text is resolved with
/// AI_NUMERICHOST, so a malformed address fails at once instead of becoming a
/// DNS query.
pub fn looks_numeric(host: &[u8]) -> bool {
    !host.is_empty()
        && (host.iter().all(|&c| c.is_ascii_digit() || c == b'.') || (host.iter().any(|&c| c == b':') && !host.iter().any(|&c| c == b'%')))
}

/// Parses text for `family` as inet_pton does; the bytes go to `out`.
pub fn inet_pton(family: i32, text: &[u8], out: &mut [u8; 16]) -> Result<usize> {
    if family == AF_INET {
        let ip = parse_ipv4(text).ok_or(Errno::EINVAL)?;
        out[..4].copy_from_slice(&ip);
        Ok(4)
    } else if family == AF_INET6 && IPV6 {
        *out = parse_ipv6(text).ok_or(Errno::EINVAL)?;
        Ok(16)
    } else {
        Err(Errno::EAFNOSUPPORT)
    }
}

/// Formats packed address bytes for `family` as inet_ntop does.
pub fn inet_ntop(family: i32, packed: &[u8], out: &mut [u8; ADDR_TEXT_MAX]) -> Result<usize> {
    if family == AF_INET {
        let ip: &[u8; 4] = packed.try_into().map_err(|_| Errno::EINVAL)?;
        Ok(format_ipv4(ip, out))
    } else if family == AF_INET6 && IPV6 {
        let ip: &[u8; 16] = packed.try_into().map_err(|_| Errno::EINVAL)?;
        Ok(format_ipv6(ip, out))
    } else {
        Err(Errno::EAFNOSUPPORT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(text: &str) -> Option<[u8; 16]> {
        parse_ipv6(text.as_bytes())
    }

    #[test]
    fn numeric_host_special_names() {
        let a = SockAddr::from_numeric_host(AF_INET, b"", 80, 0, 0).unwrap();
        assert_eq!((a.ipv4(), a.port), ([0; 4], 80));
        let b = SockAddr::from_numeric_host(AF_INET, b"<broadcast>", 9, 0, 0).unwrap();
        assert_eq!(b.ipv4(), [255; 4]);
        let c = SockAddr::from_numeric_host(AF_INET6, b"::1", 8080, 5, 2).unwrap();
        assert_eq!((c.port, c.flowinfo, c.scope_id, c.addr[15]), (8080, 5, 2, 1));
        assert!(SockAddr::from_numeric_host(AF_INET, b"localhost", 1, 0, 0).is_none());
        assert!(SockAddr::from_numeric_host(AF_INET, b"::1", 1, 0, 0).is_none());
        assert!(SockAddr::from_numeric_host(AF_INET6, b"1.2.3.4", 1, 0, 0).is_none());
    }

    #[test]
    fn unix_paths() {
        let a = SockAddr::unix(b"/run/x.sock").unwrap();
        assert_eq!((a.family, a.unix_path()), (crate::consts::AF_UNIX, &b"/run/x.sock"[..]));
        // a file name needs room for its NUL; an abstract name does not
        assert!(SockAddr::unix(&[b'x'; 107]).is_ok());
        assert_eq!(SockAddr::unix(&[b'x'; 108]), Err(Errno::ENAMETOOLONG));
        let mut abs = [b'x'; 108];
        abs[0] = 0;
        assert_eq!(SockAddr::unix(&abs).unwrap().unix_path().len(), 108);
        assert_eq!(SockAddr::unix(&[0; 109]), Err(Errno::ENAMETOOLONG));
        // unnamed
        assert_eq!(SockAddr::unix(b"").unwrap().unix_path(), b"");
        // a length handed in from C never reads past the path
        let mut bad = SockAddr::unix(b"a").unwrap();
        bad.path_len = 255;
        assert_eq!(bad.unix_path().len(), UNIX_PATH_MAX);
        // IPv4 and IPv6 addresses made here have a zero path, so equal ones
        // are equal to Rust too (the shim compares only their value)
        assert_eq!(SockAddr::v4([1, 2, 3, 4], 5).path, [0; UNIX_PATH_MAX]);
    }

    #[test]
    fn numeric_looking_text() {
        for t in ["1.2.3.4", "256.1.1.1", "1.2.3", "1..2", "::1", "gggg::1", "::1::2", "1:2"] {
            assert!(looks_numeric(t.as_bytes()), "{t}");
        }
        for t in ["", "localhost", "example.com", "1.2.3.com", "fe80::1%eth0", "a1.2"] {
            assert!(!looks_numeric(t.as_bytes()), "{t}");
        }
    }

    #[test]
    fn pton_ntop() {
        let mut out = [0u8; 16];
        assert_eq!(inet_pton(AF_INET, b"10.1.2.3", &mut out), Ok(4));
        assert_eq!(&out[..4], &[10, 1, 2, 3]);
        assert_eq!(inet_pton(AF_INET, b"10.1.2", &mut out), Err(Errno::EINVAL));
        assert_eq!(inet_pton(12345, b"10.1.2.3", &mut out), Err(Errno::EAFNOSUPPORT));
        let mut text = [0u8; ADDR_TEXT_MAX];
        assert_eq!(inet_ntop(AF_INET, &[1, 2, 3], &mut text), Err(Errno::EINVAL));
        let n = inet_ntop(AF_INET6, &v6("::1").unwrap(), &mut text).unwrap();
        assert_eq!(&text[..n], b"::1");
    }
}
