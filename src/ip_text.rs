//! IPv4/IPv6 text in both directions, without a C library: the rules of
//! glibc's inet_pton / inet_ntop (and so CPython's). The firmware uses these
//! where the network stack has no such functions of the same rules (lwIP);
//! on the posix backend src/addr.rs takes the C library's.
//!
//! Written without indexing that could panic: a panic path would pull
//! formatting code into the firmware.

/// Parses dotted-quad IPv4 text: exactly four decimal parts of 0-255, no
/// leading zeros, nothing else (what inet_pton accepts).
pub fn parse_ipv4(text: &[u8]) -> Option<[u8; 4]> {
    // One pass over the bytes (this runs on every connect and sendto).
    let mut out = [0u8; 4];
    let mut part = 0usize;
    let mut digits = 0u32;
    let mut value = 0u32;
    for &c in text {
        if c == b'.' {
            if digits == 0 || part >= 3 {
                return None;
            }
            *out.get_mut(part)? = value as u8;
            part += 1;
            digits = 0;
            value = 0;
        } else if c.is_ascii_digit() {
            if digits > 0 && value == 0 {
                return None; // leading zero
            }
            value = value * 10 + u32::from(c - b'0');
            digits += 1;
            if value > 255 {
                return None;
            }
        } else {
            return None;
        }
    }
    if digits == 0 || part != 3 {
        return None;
    }
    out[3] = value as u8;
    Some(out)
}

/// Parses IPv6 text (RFC 4291 section 2.2): eight groups of 1-4 hex digits, one
/// `::` for a run of zero groups, and optionally a dotted IPv4 tail.
pub fn parse_ipv6(text: &[u8]) -> Option<[u8; 16]> {
    // Split at "::" (at most one); each side is a list of groups.
    let (head, tail) = match text.windows(2).position(|w| w == b"::") {
        Some(at) => {
            let rest = text.get(at + 2..)?;
            if rest.windows(2).any(|w| w == b"::") {
                return None;
            }
            (text.get(..at)?, Some(rest))
        }
        None => (text, None),
    };
    let mut front = [0u8; 16];
    let n_front = parse_groups(head, &mut front, tail.is_none())?;
    match tail {
        None => (n_front == 16).then_some(front),
        Some(tail) => {
            let mut back = [0u8; 16];
            let n_back = parse_groups(tail, &mut back, true)?;
            // "::" stands for at least one zero group.
            if n_front + n_back > 14 {
                return None;
            }
            let mut out = front;
            for (dst, src) in out.iter_mut().rev().zip(back.iter().take(n_back).rev()) {
                *dst = *src;
            }
            Some(out)
        }
    }
}

/// Colon-separated hex groups (the last may be a dotted IPv4 address when
/// `v4_tail_ok`) written to `out`; returns the bytes written. Empty text is
/// zero groups.
fn parse_groups(text: &[u8], out: &mut [u8; 16], v4_tail_ok: bool) -> Option<usize> {
    if text.is_empty() {
        return Some(0);
    }
    let mut n = 0;
    let mut groups = text.split(|&c| c == b':').peekable();
    while let Some(g) = groups.next() {
        let last = groups.peek().is_none();
        if last && v4_tail_ok && g.iter().any(|&c| c == b'.') {
            let v4 = parse_ipv4(g)?;
            out.get_mut(n..n + 4)?.copy_from_slice(&v4);
            return Some(n + 4);
        }
        if g.is_empty() || g.len() > 4 {
            return None;
        }
        let mut value: u16 = 0;
        for &c in g {
            value = value * 16 + (c as char).to_digit(16)? as u16;
        }
        out.get_mut(n..n + 2)?.copy_from_slice(&value.to_be_bytes());
        n += 2;
    }
    Some(n)
}

struct Writer<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl Writer<'_> {
    /// Counts every byte but writes only those that fit: a caller with a
    /// short buffer learns the whole length and can tell.
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.out.get_mut(self.len) {
            *slot = b;
        }
        self.len += 1;
    }

    fn decimal(&mut self, v: u8) {
        if v >= 100 {
            self.byte(b'0' + v / 100);
        }
        if v >= 10 {
            self.byte(b'0' + (v / 10) % 10);
        }
        self.byte(b'0' + v % 10);
    }

    fn hex(&mut self, v: u16) {
        let mut started = false;
        for shift in [12, 8, 4, 0] {
            let d = ((v >> shift) & 0xf) as u8;
            if d != 0 || started || shift == 0 {
                self.byte(if d < 10 { b'0' + d } else { b'a' + d - 10 });
                started = true;
            }
        }
    }

    fn dotted(&mut self, ip: [u8; 4]) {
        for (i, b) in ip.into_iter().enumerate() {
            if i > 0 {
                self.byte(b'.');
            }
            self.decimal(b);
        }
    }
}

/// Dotted-quad text; returns its length (at most 15). Only what fits `out` is
/// written (as for format_ipv6): `ADDR_TEXT_MAX` bytes hold any address.
pub fn format_ipv4(ip: &[u8; 4], out: &mut [u8]) -> usize {
    let mut w = Writer { out, len: 0 };
    w.dotted(*ip);
    w.len
}

/// IPv6 text as glibc's inet_ntop writes it (and so CPython): lower-case hex,
/// the longest run of two or more zero groups (the first on a tie) as `::`,
/// and a dotted tail for IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible
/// addresses.
pub fn format_ipv6(ip: &[u8; 16], out: &mut [u8]) -> usize {
    let mut words = [0u16; 8];
    for (w, pair) in words.iter_mut().zip(ip.chunks_exact(2)) {
        *w = u16::from_be_bytes([pair[0], pair[1]]);
    }
    // Longest run of zero words.
    let (mut best_at, mut best_len, mut run) = (0, 0, 0);
    for (i, &w) in words.iter().enumerate() {
        run = if w == 0 { run + 1 } else { 0 };
        if run > best_len {
            best_len = run;
            best_at = i + 1 - run;
        }
    }
    let gap = if best_len >= 2 { Some((best_at, best_len)) } else { None };
    let mut w = Writer { out, len: 0 };
    // IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) tails.
    if let Some((0, len)) = gap {
        if len == 6 || (len == 5 && words[5] == 0xffff) {
            w.byte(b':');
            w.byte(b':');
            if len == 5 {
                w.hex(0xffff);
                w.byte(b':');
            }
            w.dotted([ip[12], ip[13], ip[14], ip[15]]);
            return w.len;
        }
    }
    let mut i = 0;
    while i < 8 {
        match gap {
            Some((at, len)) if at == i => {
                w.byte(b':');
                if i + len == 8 {
                    w.byte(b':');
                }
                i += len;
            }
            _ => {
                if i > 0 {
                    w.byte(b':');
                }
                w.hex(words.get(i).copied().unwrap_or(0));
                i += 1;
            }
        }
    }
    w.len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::ADDR_TEXT_MAX;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::string::{String, ToString};

    fn v6(text: &str) -> Option<[u8; 16]> {
        parse_ipv6(text.as_bytes())
    }

    fn fmt6(ip: [u8; 16]) -> String {
        let mut buf = [0u8; ADDR_TEXT_MAX];
        let n = format_ipv6(&ip, &mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    fn fmt4(ip: [u8; 4]) -> String {
        let mut buf = [0u8; ADDR_TEXT_MAX];
        let n = format_ipv4(&ip, &mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn short_buffers_get_a_prefix_and_the_whole_length() {
        // The shim formats an AF_INET socket's addresses into 15 bytes.
        let mut four = [b'#'; 16];
        assert_eq!(format_ipv4(&[255; 4], &mut four[..15]), 15);
        assert_eq!(&four, b"255.255.255.255#");
        let mut short = [b'#'; 8];
        let ip = v6("2001:db8::ff00:42:8329").unwrap();
        assert_eq!(format_ipv6(&ip, &mut short[..7]), 22);
        assert_eq!(&short, b"2001:db#");
        assert_eq!(format_ipv4(&[1, 2, 3, 4], &mut []), 7);
    }

    #[test]
    fn ipv4_accepts_what_inet_pton_accepts() {
        assert_eq!(parse_ipv4(b"127.0.0.1"), Some([127, 0, 0, 1]));
        assert_eq!(parse_ipv4(b"0.0.0.0"), Some([0, 0, 0, 0]));
        assert_eq!(parse_ipv4(b"255.255.255.255"), Some([255; 4]));
        for bad in [
            "", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", "01.2.3.4", "1..2.3", ".1.2.3",
            "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "a.b.c.d", "1.2.3.4x", "1000.1.1.1", "0x1.2.3.4",
        ] {
            assert_eq!(parse_ipv4(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn ipv4_round_trips_against_std() {
        for ip in [[0, 0, 0, 0], [1, 2, 3, 4], [10, 0, 100, 255], [255, 255, 255, 255], [9, 99, 199, 0]] {
            let s = fmt4(ip);
            assert_eq!(s, Ipv4Addr::from(ip).to_string());
            assert_eq!(parse_ipv4(s.as_bytes()), Some(ip));
        }
    }

    #[test]
    fn ipv6_parses_all_forms() {
        let cases = [
            "::", "::1", "1::", "fe80::1", "2001:db8::ff00:42:8329", "1:2:3:4:5:6:7:8",
            "1:0:0:0:0:0:0:8", "::ffff:192.0.2.1", "64:ff9b::192.0.2.33", "1:2:3:4:5:6:1.2.3.4",
            "ABCD:EF01:2345:6789:ABCD:EF01:2345:6789", "1::2:3", "0:0:0:0:0:0:0:0",
            "::0:1", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
        ];
        for text in cases {
            let want: Ipv6Addr = text.parse().unwrap();
            assert_eq!(v6(text), Some(want.octets()), "{text}");
        }
    }

    #[test]
    fn ipv6_rejects_malformed_text() {
        let bad = [
            "", ":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "1:2:3:4:5:6:7", ":1::",
            "1:", "1::2:", "g::", "1:2:3:4:5:6:7:8::", "::1.2.3", "::1.2.3.4.5", "1.2.3.4::",
            "::ffff:1.2.3.4:1", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:256.1.1.1", " ::1", "::1 ",
            "1:2:3:4:5:6:7:8:", "fe80::1%1", "[::1]",
        ];
        for text in bad {
            assert_eq!(v6(text), None, "{text:?}");
        }
    }

    #[test]
    fn ipv6_formats_like_inet_ntop() {
        // Expected strings are glibc's inet_ntop output (what CPython returns).
        let cases = [
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("fe80::1", "fe80::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
            ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
            ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
            ("::192.0.2.1", "::192.0.2.1"),
            ("::ffff:0:1", "::ffff:0.0.0.1"),
            ("ABCD:EF01::", "abcd:ef01::"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
            ("0:0:1:0:0:0:1:0", "0:0:1::1:0"),
        ];
        for (input, want) in cases {
            assert_eq!(fmt6(v6(input).unwrap()), want, "{input}");
        }
    }

    #[test]
    fn ipv6_round_trips_every_zero_pattern() {
        // All 256 patterns of zero / non-zero groups, with values of every width.
        for mask in 0u32..256 {
            let mut ip = [0u8; 16];
            for g in 0..8 {
                if mask & (1 << g) != 0 {
                    let v: u16 = [0x1, 0x2a, 0x3bc, 0xdef0][g % 4];
                    ip[2 * g..2 * g + 2].copy_from_slice(&v.to_be_bytes());
                }
            }
            let s = fmt6(ip);
            assert_eq!(v6(&s), Some(ip), "{s}");
            assert!(s.len() < ADDR_TEXT_MAX);
        }
        let widest = fmt6(v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").unwrap());
        assert_eq!(widest.len(), 39);
    }

    /// The posix firmware uses the C library's functions instead of these:
    /// both must give the same answers (glibc's are the reference).
    #[test]
    fn agrees_with_the_c_library() {
        use crate::sys::ip_text as libc_text;
        let mut texts: std::vec::Vec<String> = [
            "", "1.2.3.4", "01.2.3.4", "1.2.3", "256.0.0.1", "0x1.2.3.4", "1.2.3.4 ", "::", "::1", "1::",
            "::ffff:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1::2::3",
            "12345::", "fe80::1%1", "[::1]", "1:2:3:4:5:6:1.2.3.4", "::ffff:256.1.1.1", ":::", "1:", "g::",
            "ABCD:EF01:2345:6789:ABCD:EF01:2345:6789", "0:0:0:0:0:0:0:0", "::0:1", "1.2.3.04", "1.2.3.4.5",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        // Every zero-group pattern, formatted by the C library, and each
        // address text with one character changed.
        for mask in 0u32..256 {
            let mut ip = [0u8; 16];
            for g in 0..8 {
                if mask & (1 << g) != 0 {
                    ip[2 * g + 1] = (g + 1) as u8;
                }
            }
            let mut buf = [0u8; ADDR_TEXT_MAX];
            let n = libc_text::format_ipv6(&ip, &mut buf);
            assert_eq!(format_ipv6(&ip, &mut [0u8; ADDR_TEXT_MAX]), n);
            texts.push(String::from_utf8(buf[..n].to_vec()).unwrap());
        }
        for t in texts.clone() {
            for (i, _) in t.char_indices() {
                for c in [":", ".", "0", "f", "x", ""] {
                    texts.push(std::format!("{}{}{}", &t[..i], c, &t[i + 1..]));
                }
            }
        }
        for t in &texts {
            let b = t.as_bytes();
            assert_eq!(parse_ipv4(b), libc_text::parse_ipv4(b), "{t:?}");
            assert_eq!(parse_ipv6(b), libc_text::parse_ipv6(b), "{t:?}");
            if let Some(ip) = parse_ipv6(b) {
                let (mut ours, mut theirs) = ([0u8; ADDR_TEXT_MAX], [0u8; ADDR_TEXT_MAX]);
                let (n, m) = (format_ipv6(&ip, &mut ours), libc_text::format_ipv6(&ip, &mut theirs));
                assert_eq!(&ours[..n], &theirs[..m], "{t:?}");
            }
            if let Some(ip) = parse_ipv4(b) {
                let (mut ours, mut theirs) = ([0u8; ADDR_TEXT_MAX], [0u8; ADDR_TEXT_MAX]);
                let (n, m) = (format_ipv4(&ip, &mut ours), libc_text::format_ipv4(&ip, &mut theirs));
                assert_eq!(&ours[..n], &theirs[..m], "{t:?}");
            }
        }
    }
}
