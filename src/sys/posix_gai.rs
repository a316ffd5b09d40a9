//! Name lookups that Ctrl-C can interrupt (glibc).
//!
//! getaddrinfo(3) cannot be interrupted: glibc's resolver retries its own
//! EINTRs and may wait tens of seconds for a DNS server. So the lookup runs
//! through getaddrinfo_a(3) (glibc's helper thread) while this thread waits
//! in gai_suspend(3), which a signal does interrupt. A lookup that is given
//! up while glibc still works on it keeps its request in a static slot
//! (glibc writes into it when done); a later lookup frees it. No heap.

use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, Ordering};

use crate::errno::{Error, Errno};
use crate::hooks;

/// glibc's `struct gaicb` (netdb.h).
#[repr(C)]
struct Gaicb {
    ar_name: *const libc::c_char,
    ar_service: *const libc::c_char,
    ar_request: *const libc::addrinfo,
    ar_result: *mut libc::addrinfo,
    ret: libc::c_int,
    reserved: [libc::c_int; 5],
}

const GAI_NOWAIT: libc::c_int = 1;
const EAI_INPROGRESS: libc::c_int = -100;
const EAI_CANCELED: libc::c_int = -101;
const EAI_ALLDONE: libc::c_int = -103;
const EAI_INTR: libc::c_int = -104;

extern "C" {
    fn getaddrinfo_a(mode: libc::c_int, list: *const *mut Gaicb, n: libc::c_int, sev: *mut libc::sigevent) -> libc::c_int;
    fn gai_suspend(list: *const *const Gaicb, n: libc::c_int, timeout: *const libc::timespec) -> libc::c_int;
    fn gai_error(req: *mut Gaicb) -> libc::c_int;
    fn gai_cancel(req: *mut Gaicb) -> libc::c_int;
}

pub(super) const HOST_MAX: usize = 256;
pub(super) const SERVICE_MAX: usize = 32;

const FREE: u8 = 0;
const BUSY: u8 = 1;
/// Given up by its caller; glibc may still write into it.
const ABANDONED: u8 = 2;

/// One request with everything glibc reads or writes while it runs.
struct Slot {
    state: AtomicU8,
    req: UnsafeCell<Gaicb>,
    hints: UnsafeCell<libc::addrinfo>,
    host: UnsafeCell<[u8; HOST_MAX]>,
    service: UnsafeCell<[u8; SERVICE_MAX]>,
}

// SAFETY: a slot's cells are touched only by the thread that moved its state
// to BUSY (or that reclaims it from ABANDONED once glibc is done with it).
unsafe impl Sync for Slot {}

static SLOTS: [Slot; 4] = [const {
    Slot {
        state: AtomicU8::new(FREE),
        // SAFETY: all-zero is a valid value for these C structs and arrays.
        req: UnsafeCell::new(unsafe { MaybeUninit::zeroed().assume_init() }),
        // SAFETY: as above.
        hints: UnsafeCell::new(unsafe { MaybeUninit::zeroed().assume_init() }),
        host: UnsafeCell::new([0; HOST_MAX]),
        service: UnsafeCell::new([0; SERVICE_MAX]),
    }
}; 4];

/// Frees abandoned requests glibc has finished with.
fn reclaim() {
    for slot in &SLOTS {
        if slot.state.compare_exchange(ABANDONED, BUSY, Ordering::AcqRel, Ordering::Acquire).is_err() {
            continue;
        }
        // SAFETY: we own the slot now (BUSY); gai_error only reads the request.
        let req = slot.req.get();
        if unsafe { gai_error(req) } == EAI_INPROGRESS {
            slot.state.store(ABANDONED, Ordering::Release);
            continue;
        }
        // SAFETY: finished: glibc no longer touches it; the result is ours.
        unsafe {
            if !(*req).ar_result.is_null() {
                libc::freeaddrinfo((*req).ar_result);
            }
        }
        slot.state.store(FREE, Ordering::Release);
    }
}

/// Copies text into a slot buffer as a C string.
fn put(text: Option<&[u8]>, buf: &mut [u8], err: Error) -> Result<*const libc::c_char, Error> {
    match text {
        None => Ok(core::ptr::null()),
        Some(t) => super::c_string(t, buf).map_err(|()| err),
    }
}

/// getaddrinfo that returns `Error::Os(EINTR)` when a signal arrives and
/// MicroPython has something pending. `None` when every slot is busy (the
/// caller then uses plain getaddrinfo). On success the list is the caller's
/// to free with freeaddrinfo.
pub(super) fn lookup(
    host: Option<&[u8]>,
    service: Option<&[u8]>,
    hints: &libc::addrinfo,
) -> Option<Result<*mut libc::addrinfo, Error>> {
    reclaim();
    let slot = SLOTS
        .iter()
        .find(|s| s.state.compare_exchange(FREE, BUSY, Ordering::AcqRel, Ordering::Acquire).is_ok())?;
    let release = |state| slot.state.store(state, Ordering::Release);
    let req = slot.req.get();
    // SAFETY: the slot is ours (BUSY) and glibc is not using it.
    let prepared = unsafe {
        (|| {
            let name = put(host, &mut *slot.host.get(), Error::Gai(crate::consts::EAI_NONAME))?;
            let serv = put(service, &mut *slot.service.get(), Error::Gai(crate::consts::EAI_SERVICE))?;
            *slot.hints.get() = *hints;
            *req = MaybeUninit::zeroed().assume_init();
            (*req).ar_name = name;
            (*req).ar_service = serv;
            (*req).ar_request = slot.hints.get();
            Ok(())
        })()
    };
    if let Err(e) = prepared {
        release(FREE);
        return Some(Err(e));
    }
    let list = [req];
    // SAFETY: one request whose strings, hints and result live in a static
    // slot until glibc is done with them (see ABANDONED).
    let rc = unsafe { getaddrinfo_a(GAI_NOWAIT, list.as_ptr(), 1, core::ptr::null_mut()) };
    if rc != 0 {
        release(FREE);
        return Some(Err(if rc == libc::EAI_SYSTEM { Error::Os(super::errno()) } else { Error::Gai(rc) }));
    }
    loop {
        let waiting = [req as *const Gaicb];
        // SAFETY: waits for our own request; no timeout.
        let rc = hooks::without_gil(|| unsafe { gai_suspend(waiting.as_ptr(), 1, core::ptr::null()) });
        let interrupted = rc == EAI_INTR || (rc == libc::EAI_SYSTEM && super::errno() == Errno::EINTR);
        // gai_suspend may also return while the request is still running
        // (glibc wakes every waiter when any lookup ends): wait again then.
        // SAFETY: gai_error only reads our own request.
        if !interrupted && unsafe { gai_error(req) } != EAI_INPROGRESS {
            break;
        }
        if !interrupted {
            continue;
        }
        if hooks::pending() {
            // Ctrl-C: give the lookup up. If glibc already took it, it will
            // still write into the slot, which a later lookup reclaims.
            // SAFETY: cancelling our own request.
            match unsafe { gai_cancel(req) } {
                EAI_CANCELED => release(FREE),
                EAI_ALLDONE => {
                    release(ABANDONED); // done: reclaim() frees its result
                    reclaim();
                }
                _ => release(ABANDONED),
            }
            return Some(Err(Error::Os(Errno::EINTR)));
        }
    }
    // SAFETY: the request has completed; its result is now ours.
    let (err, result) = unsafe { (gai_error(req), (*req).ar_result) };
    release(FREE);
    Some(match err {
        0 => Ok(result),
        libc::EAI_SYSTEM => Err(Error::Os(Errno::EIO)), // the helper thread's errno is gone
        e => Err(Error::Gai(e)),
    })
}

/// Whether glibc answers `host` from /etc/hosts without asking a DNS
/// server: nsswitch.conf's `hosts:` line starts with `files`, and /etc/hosts
/// lists the name with an address of a family the request accepts. Such a
/// lookup cannot block for long, so it runs on the calling thread: handing a
/// lookup to glibc's helper thread costs a thread wake-up each way (about
/// 45 µs on these machines, against 6 µs for reading /etc/hosts). Whenever
/// the answer is not certain this says false, and the lookup stays
/// interruptible.
///
/// The answer for a name is given again for [`RECHECK_MS`] without reading
/// the files: getaddrinfo("localhost") took 17.7 µs reading both every
/// time (eight system calls), against 9.7 µs for MicroPython's C module,
/// which calls getaddrinfo directly (and which Ctrl-C cannot interrupt).
pub(super) fn answered_by_hosts_file(host: &[u8], family: i32) -> bool {
    // SAFETY: each ends with its only NUL.
    let (nsswitch, hosts) =
        unsafe { (CStr::from_bytes_with_nul_unchecked(&NSSWITCH_CONF), CStr::from_bytes_with_nul_unchecked(&HOSTS)) };
    remembered(&LAST_ANSWER, host, family, nsswitch, hosts, super::now_ms())
}

/// [`answered_by_files`] through `last`, at `now` (ms).
fn remembered(last: &LastAnswer, host: &[u8], family: i32, nsswitch: &CStr, hosts: &CStr, now: u64) -> bool {
    // The name and family by a 64-bit hash (FNV-1a). Whatever this says,
    // glibc gives the lookup's result: a wrong or stale answer could only
    // make a DNS lookup run where Ctrl-C cannot stop it.
    let name = host.iter().fold(0xcbf2_9ce4_8422_2325 ^ family as u64, |h, &c| (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3));
    if let Some(answer) = last.get(name, now) {
        return answer;
    }
    let answer = answered_by_files(host, family, nsswitch, hosts);
    last.put(name, answer, now);
    answer
}

/// How long an answer is given again for the same name without reading the
/// files (a change to them is seen this much later at most).
const RECHECK_MS: u64 = 100;

/// The last name asked (its hash), the answer, and when the files gave it
/// (now_ms).
struct LastAnswer {
    /// Held by the one thread reading or writing `kept`; a thread that
    /// finds it held does without (no waiting).
    busy: AtomicU8,
    /// (Nothing at first: a time of 0 is long past.)
    kept: UnsafeCell<(u64, bool, u64)>,
}

// SAFETY: `kept` is touched only by the thread that set `busy`.
unsafe impl Sync for LastAnswer {}

static LAST_ANSWER: LastAnswer = LastAnswer::new();

impl LastAnswer {
    const fn new() -> LastAnswer {
        LastAnswer { busy: AtomicU8::new(0), kept: UnsafeCell::new((0, false, 0)) }
    }

    fn get(&self, name: u64, now: u64) -> Option<bool> {
        self.busy.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).ok()?;
        // SAFETY: busy is ours: no other thread touches `kept` until we
        // release it.
        let (kept, answer, at) = unsafe { *self.kept.get() };
        self.busy.store(0, Ordering::Release);
        (kept == name && at != 0 && now.wrapping_sub(at) < RECHECK_MS).then_some(answer)
    }

    fn put(&self, name: u64, answer: bool, now: u64) {
        if self.busy.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            // SAFETY: as in get.
            unsafe { *self.kept.get() = (name, answer, now) };
            self.busy.store(0, Ordering::Release);
        }
    }
}

// Statics, not literals: literals share a merged-strings section with the
// paths of core's panic locations, which then stay in the firmware too.
static NSSWITCH_CONF: [u8; 19] = *b"/etc/nsswitch.conf\0";
static HOSTS: [u8; 11] = *b"/etc/hosts\0";

#[inline(never)]
fn answered_by_files(host: &[u8], family: i32, nsswitch: &CStr, hosts: &CStr) -> bool {
    let (v4, v6) = match family {
        crate::consts::AF_UNSPEC => (true, true),
        crate::consts::AF_INET => (true, false),
        crate::consts::AF_INET6 => (false, true),
        _ => return false,
    };
    if host.is_empty() || host.len() >= HOST_MAX {
        return false;
    }
    // Without nsswitch.conf glibc asks DNS first ("dns [!UNAVAIL=return] files").
    scan_lines(nsswitch, &mut Wanted::FilesFirst) == Some(true)
        && scan_lines(hosts, &mut Wanted::Host { name: host, v4, v6 }) == Some(true)
}

/// What [`scan_lines`] looks for, line by line. (Data, not a closure: a
/// trait object would add its tables, and relocations, to the firmware.)
enum Wanted<'a> {
    /// nsswitch.conf: whether its `hosts:` line asks `files` first.
    FilesFirst,
    /// /etc/hosts: a line naming `name` with an address of a family asked for.
    Host { name: &'a [u8], v4: bool, v6: bool },
    /// Every line, collected (the tests').
    #[cfg(test)]
    Every(std::vec::Vec<std::vec::Vec<u8>>),
}

impl Wanted<'_> {
    /// Some(answer) ends the scan.
    fn line(&mut self, line: &[u8]) -> Option<bool> {
        let mut words = words(line);
        match self {
            Wanted::FilesFirst => (words.next() == Some(b"hosts:".as_slice()))
                .then(|| words.next() == Some(b"files".as_slice()) && !words.next().is_some_and(|w| w.starts_with(b"["))),
            // "address name [alias ...]"; glibc ignores a line whose address
            // inet_pton does not take (parse_ipv4/parse_ipv6 are as strict).
            Wanted::Host { name, v4, v6 } => {
                let addr = words.next()?;
                let usable =
                    (*v4 && crate::addr::parse_ipv4(addr).is_some()) || (*v6 && crate::addr::parse_ipv6(addr).is_some());
                (usable && words.any(|w| w.eq_ignore_ascii_case(name))).then_some(true)
            }
            #[cfg(test)]
            Wanted::Every(seen) => {
                seen.push(line.to_vec());
                None
            }
        }
    }
}

/// The words of a configuration line, up to its `#` comment.
fn words(line: &[u8]) -> Words<'_> {
    Words(line)
}

struct Words<'a>(&'a [u8]);

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let start = self.0.iter().position(|c| !c.is_ascii_whitespace())?;
        let rest = self.0.get(start..)?;
        let end = rest.iter().position(|&c| c.is_ascii_whitespace() || c == b'#').unwrap_or(rest.len());
        let (word, tail) = rest.split_at_checked(end)?;
        // A comment ends the line.
        self.0 = if tail.first() == Some(&b'#') { &[] } else { tail };
        (!word.is_empty()).then_some(word)
    }
}

/// Gives each line of a file to `wanted` until it answers Some; None if it never
/// does or the file cannot be read. Lines longer than the buffer are skipped.
/// (No slice indexing: a failed bounds check would bring core::fmt's panic
/// messages into the firmware.)
#[inline(never)]
fn scan_lines(path: &CStr, wanted: &mut Wanted) -> Option<bool> {
    // SAFETY: a NUL-terminated path; the descriptor is closed below.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    let mut buf = [0u8; 1024];
    let mut len = 0; // bytes in buf: the start of a line not yet complete
    let mut skipping = false; // inside a line too long for the buffer
    let answer = loop {
        let Some(free) = buf.get_mut(len..) else { break None };
        // SAFETY: reads into the free end of a local buffer.
        let n = unsafe { libc::read(fd, free.as_mut_ptr().cast(), free.len()) };
        if n < 0 && super::errno() == Errno::EINTR {
            continue;
        }
        let at_end = n <= 0;
        len = (len + n.max(0) as usize).min(buf.len());
        // Every piece but the last ends with a newline; the last is the start
        // of the next line (or, at the end of the file, the last line).
        let mut pieces = buf.get(..len).unwrap_or(&[]).split(|&c| c == b'\n').peekable();
        let mut found = None;
        let mut partial = 0;
        while let Some(piece) = pieces.next() {
            let last = pieces.peek().is_none();
            if last && !at_end {
                partial = piece.len();
                break;
            }
            if !skipping {
                found = wanted.line(piece);
                if found.is_some() {
                    break;
                }
            }
            skipping = false;
        }
        if found.is_some() || at_end {
            break found;
        }
        if partial == buf.len() {
            skipping = true; // no newline in a full buffer
            len = 0;
        } else {
            // Move the partial line to the front (forwards: the two ranges
            // may overlap, the destination first).
            let start = len - partial;
            for k in 0..partial {
                if let (Some(&b), Some(_)) = (buf.get(start + k), buf.get(k)) {
                    if let Some(d) = buf.get_mut(k) {
                        *d = b;
                    }
                }
            }
            len = partial;
        }
    };
    // SAFETY: we opened fd above.
    unsafe { libc::close(fd) };
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::format;

    /// A file in the temporary folder, removed when dropped so test runs
    /// leave nothing behind.
    #[derive(Debug)]
    struct TempFile(CString);

    impl core::ops::Deref for TempFile {
        type Target = core::ffi::CStr;
        fn deref(&self) -> &Self::Target {
            &self.0
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0.to_str().unwrap());
        }
    }

    fn file(name: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("usocket-gai-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(CString::new(path.to_str().unwrap()).unwrap())
    }

    #[test]
    fn lines_across_reads_arrive_whole() {
        // Lengths around and beyond the 1024-byte buffer, so lines straddle
        // reads and the partial line moved to the front overlaps itself.
        let lens = [100usize, 1000, 0, 1, 700, 30, 1023, 1024, 1025, 900, 600, 5000, 2, 1000, 1];
        let mut text = std::string::String::new();
        for (i, &n) in lens.iter().enumerate() {
            text.extend((0..n).map(|k| (b'a' + ((i + k) % 26) as u8) as char));
            text.push('\n');
        }
        for text in [text.as_str(), text.trim_end_matches('\n')] {
            let path = file("lines", text);
            let mut every = Wanted::Every(std::vec::Vec::new());
            assert_eq!(scan_lines(&path, &mut every), None);
            let Wanted::Every(seen) = every else { unreachable!() };
            // Lines longer than the buffer are skipped; a final newline ends
            // with an empty piece, which is harmless.
            let want: std::vec::Vec<_> = text.split('\n').filter(|l| l.len() < 1024).map(|l| l.as_bytes().to_vec()).collect();
            assert_eq!(seen, want);
        }
    }

    #[test]
    fn hosts_file_names_by_family_and_nsswitch_order() {
        let long = "x".repeat(3000);
        let hosts = file(
            "hosts",
            &format!("# c\n10.0.0.1 a.test B.test\n10.0.0.9 {long} long.test\n::1 six.test # v6\nbad a.bad\n#10.0.0.2 off.test\n10.0.0.3 last.test"),
        );
        let files_first = file("ns1", "passwd: files\nhosts:   files mdns4_minimal [NOTFOUND=return] dns\n");
        let yes = |h: &str, f| answered_by_files(h.as_bytes(), f, &files_first, &hosts);
        assert!(yes("a.test", 0) && yes("b.TEST", crate::consts::AF_INET) && yes("last.test", 0));
        assert!(yes("six.test", crate::consts::AF_INET6) && yes("six.test", 0));
        assert!(!yes("six.test", crate::consts::AF_INET) && !yes("a.test", crate::consts::AF_INET6));
        assert!(!yes("a.bad", 0) && !yes("off.test", 0) && !yes("long.test", 0) && !yes("c", 0));
        assert!(!yes("a.test", 99) && !yes("", 0));
        for ns in ["hosts: dns files\n", "hosts: files [SUCCESS=continue] dns\n", "passwd: files\n"] {
            let ns = file("ns2", ns);
            assert!(!answered_by_files(b"a.test", 0, &ns, &hosts), "{ns:?}");
        }
        assert!(!answered_by_files(b"a.test", 0, c"/nonexistent/nsswitch.conf", &hosts));
        assert!(!answered_by_files(b"a.test", 0, &files_first, c"/nonexistent/hosts"));
    }

    /// An answer is given again for the same name and family, for
    /// RECHECK_MS; after that, the files are read again.
    #[test]
    fn last_answer_kept_for_a_while() {
        let ns = file("ns3", "hosts: files dns\n");
        let hosts = file("hosts3", "10.0.0.1 a.test\n");
        let (last, mut now) = (LastAnswer::new(), 1_000_000);
        let mut ask = |h: &str, f, later: u64| {
            now += later;
            remembered(&last, h.as_bytes(), f, &ns, &hosts, now)
        };
        for _ in 0..2 {
            assert!(ask("a.test", 0, 0) && ask("a.test", 0, 1) && ask("a.test", crate::consts::AF_INET, 0));
            assert!(!ask("a.test", crate::consts::AF_INET6, 0) && !ask("b.test", 0, 0) && ask("a.test", 0, RECHECK_MS));
        }
        std::fs::write(hosts.to_str().unwrap(), "10.0.0.1 b.test\n").unwrap();
        assert!(ask("a.test", 0, RECHECK_MS - 1) && !ask("a.test", 0, 1) && ask("b.test", 0, 0) && !ask("a.test", 0, 0));
        std::fs::write(ns.to_str().unwrap(), "hosts: dns files\n").unwrap();
        assert!(!ask("b.test", 0, 0) && !ask("b.test", 0, 1));
        std::fs::write(ns.to_str().unwrap(), "hosts: files\n").unwrap();
        assert!(!ask("b.test", 0, 1) && ask("b.test", 0, RECHECK_MS));
    }
}
