//! Fuzzes the address parsers and formatters with arbitrary bytes, checking
//! them against Rust's std parsers and against each other: a numeric address
//! must parse exactly when std's does, format back to text that parses to the
//! same bytes, and never panic; and they must agree with the C library's
//! inet_pton / inet_ntop, which the posix firmware uses in their place. Raw
//! sockaddr bytes must decode to exactly the fields they hold, or be refused,
//! and AF_UNIX paths must fit `sun_path`.
#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use usocket::addr::{self, SockAddr};
use usocket::consts::{AF_INET, AF_INET6, AF_UNIX};
use usocket::sys::ip_text as libc_text;

// The core calls these MicroPython hooks; there is no MicroPython here.
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

fuzz_target!(|data: &[u8]| {
    let text = std::str::from_utf8(data).ok();

    let v4 = addr::parse_ipv4(data);
    if let Some(t) = text {
        assert_eq!(v4, t.parse::<Ipv4Addr>().ok().map(|a| a.octets()), "{t:?}");
    }
    if let Some(ip) = v4 {
        let mut buf = [0u8; 46];
        let n = addr::format_ipv4(&ip, &mut buf);
        assert_eq!(addr::parse_ipv4(&buf[..n]), Some(ip));
    }

    let v6 = addr::parse_ipv6(data);
    if let Some(t) = text {
        assert_eq!(v6, t.parse::<Ipv6Addr>().ok().map(|a| a.octets()), "{t:?}");
    }
    if let Some(ip) = v6 {
        let mut buf = [0u8; 46];
        let n = addr::format_ipv6(&ip, &mut buf);
        assert_eq!(addr::parse_ipv6(&buf[..n]), Some(ip));
        let mut theirs = [0u8; 46];
        let m = libc_text::format_ipv6(&ip, &mut theirs);
        assert_eq!(&buf[..n], &theirs[..m]);
    }
    assert_eq!(v4, libc_text::parse_ipv4(data));
    assert_eq!(v6, libc_text::parse_ipv6(data));

    // Packed forms of any length, both families, and a 16-byte view.
    let mut out = [0u8; 46];
    let _ = addr::inet_ntop(AF_INET, data, &mut out);
    let _ = addr::inet_ntop(AF_INET6, data, &mut out);
    if data.len() >= 16 {
        let ip: [u8; 16] = data[..16].try_into().unwrap();
        let n = addr::format_ipv6(&ip, &mut out);
        assert_eq!(addr::parse_ipv6(&out[..n]), Some(ip));
    }
    let _ = SockAddr::from_numeric_host(AF_INET, data, 80, 0, 0);
    let _ = SockAddr::from_numeric_host(AF_INET6, data, 80, 1, 2);
    let _ = addr::looks_numeric(data);

    // An AF_UNIX socket's address: a path, or raw sockaddr_un bytes; never
    // longer than sun_path.
    if let Ok(a) = usocket::sys::unix_addr(data) {
        assert_eq!(a.family, AF_UNIX);
        assert!(a.unix_path().len() <= addr::UNIX_PATH_MAX);
    }

    // Raw struct sockaddr bytes (as old unix code passes them): whatever
    // decodes must be what the bytes say, field by field.
    if let Ok(a) = usocket::sys::sockaddr_from_raw(data) {
        let family = i32::from(u16::from_ne_bytes([data[0], data[1]]));
        assert_eq!(a.family, family);
        if family == AF_UNIX {
            // sun_path: a file name up to its first NUL, an abstract name whole
            let path = &data[2..];
            let name = match path.iter().position(|&b| b == 0) {
                Some(end) if end > 0 => &path[..end],
                _ => path,
            };
            assert_eq!(a.unix_path(), name);
            return;
        }
        let port = u16::from_be_bytes([data[2], data[3]]);
        assert_eq!(a.port, port);
        if family == AF_INET {
            assert_eq!(a.ipv4(), data[4..8]);
        } else {
            assert_eq!(family, AF_INET6);
            assert_eq!(a.flowinfo, u32::from_be_bytes(data[4..8].try_into().unwrap()));
            assert_eq!(a.addr, data[8..24]);
            // A short scope id is zero-padded.
            let mut scope = [0u8; 4];
            let tail = &data[24..data.len().min(28)];
            scope[..tail.len()].copy_from_slice(tail);
            let scope = u32::from_ne_bytes(scope);
            assert_eq!(a.scope_id, scope);
        }
    }
});
