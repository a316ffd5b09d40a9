//! Build script: two generated artifacts, both written to OUT_DIR.
//!
//! 1. `consts.rs`: every constant the core and the module need, evaluated by
//!    clang (through bindgen) with the headers of the port being built: the
//!    port's MicroPython configuration (errno values as the port defines them,
//!    `MP_STREAM_POLL_*`) and the network stack of the selected backend
//!    (`AF_INET`, `SO_REUSEADDR`, ... as the target's libc or lwIP defines them).
//! 2. `include/usocket.h`: the C header of the extern "C" ABI, written by
//!    cbindgen from the Rust sources, plus the table of module constants. It is
//!    also copied to `$USOCKET_INCLUDE_DIR` when the port glue asks for it.
//!
//! The port's compiler flags (include paths and defines) arrive in a file named
//! by `USOCKET_MP_CFLAGS_FILE`, written by micropython.mk / micropython.cmake.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// MicroPython constants the core needs, evaluated with the port's headers.
const MP_CONSTANTS: &[&str] = &[
    "MP_EPERM", "MP_ENOENT", "MP_EINTR", "MP_EIO", "MP_EBADF", "MP_EAGAIN", "MP_ENOMEM",
    "MP_EACCES", "MP_EFAULT", "MP_EBUSY", "MP_EEXIST", "MP_EINVAL", "MP_ENFILE", "MP_EMFILE",
    "MP_ENOSPC", "MP_EPIPE", "MP_ERANGE", "MP_EWOULDBLOCK", "MP_EOPNOTSUPP", "MP_EAFNOSUPPORT",
    "MP_EADDRINUSE", "MP_ECONNABORTED", "MP_ECONNRESET", "MP_ENOBUFS", "MP_EISCONN",
    "MP_ENOTCONN", "MP_ETIMEDOUT", "MP_ECONNREFUSED", "MP_EHOSTUNREACH", "MP_EALREADY",
    "MP_EINPROGRESS", "MP_ECANCELED",
    "MP_STREAM_POLL_RD", "MP_STREAM_POLL_WR", "MP_STREAM_POLL_ERR", "MP_STREAM_POLL_HUP",
    "MP_STREAM_POLL_NVAL",
];

/// Constants the core cannot work without; a port lacking one is a build error.
const REQUIRED: &[&str] = &[
    "AF_INET", "AF_INET6", "AF_UNSPEC", "SOCK_STREAM", "SOCK_DGRAM", "SOL_SOCKET", "SO_ERROR",
    "MSG_DONTWAIT", "MSG_PEEK", "SHUT_RDWR", "AI_CANONNAME", "AI_NUMERICHOST", "EAI_NONAME", "EAI_FAMILY",
    "EAI_SERVICE",
];

/// Which network stack the core is built on (see src/sys/mod.rs). The choice
/// reaches the Rust code as `cfg(usocket_backend = "...")` and the C header as
/// `USOCKET_BACKEND_...`.
#[derive(Clone, Copy, PartialEq)]
enum Backend {
    /// BSD sockets through the C library (Linux kernel sockets).
    Posix,
    /// BSD sockets through lwIP's socket layer, called by its lwip_* names
    /// (ESP-IDF; the unix firmware with lwIP in-process).
    LwipSocket,
    /// lwIP's raw API with NO_SYS=1 (bare-metal ports: stm32, qemu, rp2, ...).
    LwipRaw,
}

impl Backend {
    fn cfg_name(self) -> &'static str {
        match self {
            Backend::Posix => "posix",
            Backend::LwipSocket => "lwip_socket",
            Backend::LwipRaw => "lwip_raw",
        }
    }
}

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let backend = select_backend();
    println!("cargo:rustc-check-cfg=cfg(usocket_backend, values(\"posix\", \"lwip_socket\", \"lwip_raw\"))");
    println!("cargo:rustc-check-cfg=cfg(usocket_lwip_ipv6)");
    println!("cargo:rustc-check-cfg=cfg(usocket_lwip_listen_backlog)");
    println!("cargo:rustc-check-cfg=cfg(fuzzing)");
    println!("cargo:rustc-cfg=usocket_backend=\"{}\"", backend.cfg_name());
    let cflags = port_cflags();

    let (constants, lwip_ipv6) = generate_constants(&manifest_dir, &out_dir, backend, &cflags);
    match backend {
        Backend::LwipRaw => generate_lwip_bindings(&manifest_dir, &out_dir, &cflags),
        Backend::LwipSocket => generate_lwip_socket_bindings(&out_dir, &cflags),
        Backend::Posix => {}
    }
    generate_header(&manifest_dir, &out_dir, backend, &constants, lwip_ipv6);
}

/// By target, unless USOCKET_BACKEND names one (micropython.mk passes it:
/// `lwip_socket` on Linux runs lwIP's socket layer inside the process).
fn select_backend() -> Backend {
    println!("cargo:rerun-if-env-changed=USOCKET_BACKEND");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let asked = env::var("USOCKET_BACKEND").unwrap_or_default();
    match (asked.as_str(), os.as_str()) {
        ("" | "posix", "linux") => Backend::Posix,
        ("" | "lwip_socket", "espidf") | ("lwip_socket", "linux") => Backend::LwipSocket,
        ("" | "lwip_raw", "none") => Backend::LwipRaw,
        (asked, other) => fail(&format!(
            "no usocket backend {asked:?} for target OS {other:?}: supported are posix (Linux \
             kernel sockets), lwip_socket (lwIP's BSD socket API: ESP-IDF, or Linux with lwIP \
             linked in) and lwip_raw (lwIP's raw API, bare metal); see src/sys/mod.rs"
        )),
    }
}

/// The port's include paths and defines, one shell word each.
fn port_cflags() -> Vec<String> {
    println!("cargo:rerun-if-env-changed=USOCKET_MP_CFLAGS_FILE");
    let Some(path) = env::var_os("USOCKET_MP_CFLAGS_FILE") else {
        fail(
            "USOCKET_MP_CFLAGS_FILE is not set. The crate is built by MicroPython's build \
             (micropython.mk / micropython.cmake), which passes the port's compiler flags; \
             to build or test it on its own, run `make cargo-test` at the top of the repo \
             (it builds the unix firmware first and points this variable at its flags).",
        )
    };
    println!("cargo:rerun-if-changed={}", Path::new(&path).display());
    let text = fs::read_to_string(&path)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", Path::new(&path).display())));
    shell_words(&text)
}

/// Splits make-quoted flags (`-DX=\"a b\"`, `'-DY=z'`) into words.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => cur.push(c),
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The module constant names from src/constants.h.
fn module_constant_names(manifest_dir: &Path) -> Vec<String> {
    let path = manifest_dir.join("src/constants.h");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = fs::read_to_string(&path).unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("USOCKET_CONST(")?.strip_suffix(')'))
        .map(str::to_owned)
        .collect()
}

/// Records the value clang computed for each enumerator of the probe enum.
#[derive(Debug, Default)]
struct Collect(Arc<Mutex<Vec<(String, i64)>>>);

impl bindgen::callbacks::ParseCallbacks for Collect {
    fn enum_variant_behavior(
        &self,
        _enum: Option<&str>,
        name: &str,
        value: bindgen::callbacks::EnumVariantValue,
    ) -> Option<bindgen::callbacks::EnumVariantCustomBehavior> {
        if let Some(n) = name.strip_prefix("USOCKET_C_") {
            let v = match value {
                bindgen::callbacks::EnumVariantValue::Signed(v) => v,
                bindgen::callbacks::EnumVariantValue::Unsigned(v) => v as i64,
                bindgen::callbacks::EnumVariantValue::Boolean(b) => b as i64,
            };
            self.0.lock().unwrap().push((n.to_owned(), v));
        }
        None
    }
}

/// Makes cargo rerun the build script when any header bindgen read changes
/// (the board's lwipopts.h, the port's mpconfigport.h, ...).
#[derive(Debug)]
struct RerunOnHeaders;

impl bindgen::callbacks::ParseCallbacks for RerunOnHeaders {
    fn include_file(&self, filename: &str) {
        if Path::new(filename).exists() {
            println!("cargo:rerun-if-changed={filename}");
        }
    }
}

/// Evaluates every constant with the port's headers: a probe header declares
/// one enumerator per name that the platform defines, and clang computes its
/// value for the target, whatever the macro expands to. Returns the module's
/// constants, and whether lwIP was built with IPv6.
fn generate_constants(
    manifest_dir: &Path,
    out_dir: &Path,
    backend: Backend,
    cflags: &[String],
) -> (Vec<(String, i64)>, bool) {
    let module_names = module_constant_names(manifest_dir);
    let mut probe = String::from(
        "/* generated by build.rs: evaluates constants for the target */\n\
         #include \"py/mpconfig.h\"\n#include \"py/mperrno.h\"\n#include \"py/stream.h\"\n",
    );
    match backend {
        Backend::Posix => probe.push_str(
            "#include <sys/types.h>\n#include <sys/socket.h>\n#include <netinet/in.h>\n\
             #include <netinet/tcp.h>\n#include <netdb.h>\n#include <poll.h>\n",
        ),
        // lwIP's headers first: they define the socket names, and the
        // port's own headers must not bring the C library's in before them.
        Backend::LwipSocket => {
            probe = format!(
                "/* generated by build.rs: evaluates constants for the target */\n\
                 #include \"lwip/opt.h\"\n#include \"lwip/sockets.h\"\n#include \"lwip/netdb.h\"\n{}",
                probe.split_once('\n').unwrap().1
            );
        }
        Backend::LwipRaw => {
            let consts = manifest_dir.join("src/sys/lwip_raw_consts.h");
            println!("cargo:rerun-if-changed={}", consts.display());
            let _ = writeln!(
                probe,
                "#include \"lwip/opt.h\"\n#include \"lwip/tcp.h\"\n#include \"lwip/udp.h\"\n\
                 #include \"lwip/ip.h\"\n#include \"lwip/dns.h\"\n#include \"{}\"",
                consts.display()
            );
        }
    }
    probe.push_str("enum usocket_c_consts {\n");
    let extra: &[&str] = match backend {
        // poll() bits differ between C libraries (lwIP's are not Linux's).
        Backend::Posix => &["POLLIN", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL"],
        Backend::LwipSocket => &["POLLIN", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL", "LWIP_IPV6", "LWIP_IPV4"],
        // lwIP options and flags the backend reads; several are macros with
        // casts that only a compiler can evaluate.
        Backend::LwipRaw => &[
            "LWIP_IPV6", "LWIP_IPV4", "LWIP_DNS", "LWIP_IGMP", "TCP_SND_QUEUELEN", "TCP_WND",
            "TCP_SND_BUF", "TF_NODELAY", "SOF_REUSEADDR", "SOF_KEEPALIVE", "SOF_BROADCAST",
            "TCP_WRITE_FLAG_COPY", "LWIP_DNS_ADDRTYPE_IPV4", "LWIP_DNS_ADDRTYPE_IPV6", "TCP_LISTEN_BACKLOG",
            "TCP_SNDLOWAT", "TCP_SNDQUEUELOWAT", "TCP_MSS", "PBUF_TYPE_ALLOC_SRC_MASK",
        ],
    };
    for name in MP_CONSTANTS.iter().copied().chain(extra.iter().copied()).chain(module_names.iter().map(String::as_str)) {
        let _ = writeln!(probe, "#ifdef {name}\n    USOCKET_C_{name} = {name},\n#endif");
    }
    probe.push_str("    USOCKET_C_END_OF_LIST_ = 0\n};\n");

    let collected = Arc::new(Mutex::new(Vec::new()));
    let mut builder = bindgen::Builder::default()
        .header_contents("usocket_probe.h", &probe)
        .allowlist_type("usocket_c_consts")
        .use_core()
        .layout_tests(false)
        .parse_callbacks(Box::new(Collect(collected.clone())))
        .parse_callbacks(Box::new(RerunOnHeaders));
    if let Some(clang_target) = clang_target() {
        builder = builder.clang_arg(format!("--target={clang_target}"));
    }
    builder = builder.clang_args(cflags.iter().filter(|f| is_header_flag(f)));
    if let Err(e) = builder.generate() {
        fail(&format!(
            "bindgen could not evaluate the port's constants ({e}).\n\
             It needs libclang (Debian: apt-get install libclang-dev) and the port's headers;\n\
             flags used: {cflags:?}"
        ));
    }
    let mut values = collected.lock().unwrap().clone();
    values.retain(|(n, _)| n != "END_OF_LIST_");
    values.sort();
    values.dedup();

    for name in MP_CONSTANTS.iter().chain(REQUIRED) {
        if !values.iter().any(|(n, _)| n == name) {
            fail(&format!("the port's headers do not define {name}, which usocket needs"));
        }
    }

    let lwip_ipv6 = values.iter().any(|(n, v)| n == "LWIP_IPV6" && *v != 0);
    if lwip_ipv6 {
        println!("cargo:rustc-cfg=usocket_lwip_ipv6");
    }
    // Whether lwIP counts connections against a listener's backlog (and
    // has tcp_backlog_delayed/tcp_backlog_accepted); MicroPython's ports
    // all turn it on.
    if values.iter().any(|(n, v)| n == "TCP_LISTEN_BACKLOG" && *v != 0) {
        println!("cargo:rustc-cfg=usocket_lwip_listen_backlog");
    }

    let mut rs = String::from("// Generated by build.rs from the port's headers. Do not edit.\n");
    for (name, value) in &values {
        let _ = writeln!(rs, "pub const {name}: i32 = {value};");
    }
    fs::write(out_dir.join("consts.rs"), rs).unwrap();

    // Only module constants go into the C table; MP_* stay internal. AF_UNIX
    // (and its SOCK_SEQPACKET) only where the backend handles its addresses:
    // the C library's sockets (lwIP has none, whatever the C library's
    // headers say).
    values.retain(|(n, _)| {
        module_names.contains(n) && (!matches!(n.as_str(), "AF_UNIX" | "SOCK_SEQPACKET") || backend == Backend::Posix)
    });
    // getaddrinfo errors are raised as OSError(negative code) on every stack
    // (glibc's codes are negative, lwIP's positive): the module's EAI_*
    // constants are the same negative numbers, so `e.errno == EAI_NONAME`.
    for (name, value) in values.iter_mut() {
        if name.starts_with("EAI_") && *value > 0 {
            *value = -*value;
        }
    }
    (values, lwip_ipv6)
}

/// Include paths, defines and forced includes are what the probe needs;
/// optimisation and warning flags are not clang's business here.
fn is_header_flag(f: &str) -> bool {
    ["-I", "-D", "-U", "-isystem", "-include", "--sysroot", "-std", "-fshort-enums"].iter().any(|p| f.starts_with(p))
}

/// clang's name for the Rust target, when cross compiling.
fn clang_target() -> Option<String> {
    let target = env::var("TARGET").ok()?;
    let host = env::var("HOST").ok()?;
    if target == host {
        return None;
    }
    Some(match target.as_str() {
        "riscv32imc-esp-espidf" | "riscv32imac-esp-espidf" => "riscv32-unknown-none-elf".into(),
        t if t.starts_with("thumbv") => t.replace("-none-", "-unknown-none-"),
        t => t.into(),
    })
}

/// Rust declarations of the lwIP raw API (functions, pcb and pbuf layouts,
/// constants) as the board's lwipopts.h configures it.
fn generate_lwip_bindings(manifest_dir: &Path, out_dir: &Path, cflags: &[String]) {
    let _ = manifest_dir;
    let mut builder = bindgen::Builder::default()
        .header_contents(
            "usocket_lwip.h",
            "#include \"lwip/opt.h\"\n#include \"lwip/err.h\"\n#include \"lwip/pbuf.h\"\n\
             #include \"lwip/tcp.h\"\n#include \"lwip/udp.h\"\n#include \"lwip/dns.h\"\n\
             #include \"lwip/igmp.h\"\n#include \"lwip/ip_addr.h\"\n#include \"lwip/priv/tcp_priv.h\"\n",
        )
        .use_core()
        .ctypes_prefix("core::ffi")
        .layout_tests(false)
        .generate_comments(false)
        .default_enum_style(bindgen::EnumVariation::Consts)
        .prepend_enum_name(false)
        .allowlist_function("(tcp|udp|pbuf|dns|igmp|ipaddr|ip4addr|ip4_addr|ip6addr)_.*")
        .allowlist_type("(tcp_pcb|tcp_pcb_listen|udp_pcb|pbuf|ip_addr|ip_addr_t|ip4_addr_t|ip6_addr_t|err_t|err_enum_t|pbuf_layer|pbuf_type|lwip_ip_addr_type)")
        .allowlist_var("ip_addr_any|ip_addr_any_type|ip_addr_broadcast|ip6_addr_any")
        .parse_callbacks(Box::new(RerunOnHeaders));
    if let Some(clang_target) = clang_target() {
        builder = builder.clang_arg(format!("--target={clang_target}"));
    }
    builder = builder.clang_args(cflags.iter().filter(|f| is_header_flag(f)));
    match builder.generate() {
        Ok(b) => b.write_to_file(out_dir.join("lwip_ffi.rs")).unwrap(),
        Err(e) => fail(&format!(
            "bindgen could not read the lwIP headers ({e}); the port must put lwIP's include \
             directory and the board's lwipopts.h on its include path"
        )),
    }
}

/// Rust declarations of lwIP's BSD socket API (the lwip_* functions, its
/// sockaddr, pollfd and addrinfo layouts, fcntl flags) as lwipopts.h
/// configures it. Only lwIP's headers are read: the port's C library may
/// define the same names with other values.
fn generate_lwip_socket_bindings(out_dir: &Path, cflags: &[String]) {
    let mut builder = bindgen::Builder::default()
        .header_contents(
            "usocket_lwip_socket.h",
            "#include \"lwip/opt.h\"\n#include \"lwip/sockets.h\"\n#include \"lwip/netdb.h\"\n",
        )
        .use_core()
        .ctypes_prefix("core::ffi")
        .layout_tests(false)
        .generate_comments(false)
        .allowlist_function(
            "lwip_(socket|bind|listen|accept|connect|send|sendto|recv|recvfrom|shutdown|setsockopt|\
             getsockopt|getsockname|getpeername|close|poll|fcntl|getaddrinfo|freeaddrinfo)",
        )
        .allowlist_type("(sockaddr|sockaddr_in|sockaddr_in6|sockaddr_storage|addrinfo|pollfd|socklen_t|sa_family_t|nfds_t)")
        .allowlist_var("(F_GETFL|F_SETFL|O_NONBLOCK|EAI_[A-Z]+|HOST_NOT_FOUND|NO_DATA|NO_RECOVERY|TRY_AGAIN)")
        .parse_callbacks(Box::new(RerunOnHeaders));
    if let Some(clang_target) = clang_target() {
        builder = builder.clang_arg(format!("--target={clang_target}"));
    }
    builder = builder.clang_args(cflags.iter().filter(|f| is_header_flag(f)));
    match builder.generate() {
        Ok(b) => {
            let text = b.to_string();
            for needed in ["lwip_poll", "lwip_fcntl", "lwip_getaddrinfo"] {
                if !text.contains(&format!("pub fn {needed}(")) {
                    fail(&format!(
                        "lwIP's headers do not declare {needed}: the lwip_socket backend needs lwIP \
                         built with LWIP_SOCKET_POLL, LWIP_DNS and LWIP_SOCKET (lwIP's defaults)"
                    ));
                }
            }
            fs::write(out_dir.join("lwip_socket_ffi.rs"), text).unwrap();
        }
        Err(e) => fail(&format!(
            "bindgen could not read lwIP's socket headers ({e}); the port must put lwIP's include \
             directory, its arch/ headers and the lwipopts.h in use on its include path"
        )),
    }
}

fn generate_header(manifest_dir: &Path, out_dir: &Path, backend: Backend, constants: &[(String, i64)], lwip_ipv6: bool) {
    let mut table = String::from(
        "\n/* Module constants the platform defines: X(name, value). Generated by build.rs. */\n\
         #define USOCKET_CONSTANTS(X) \\\n",
    );
    for (name, value) in constants {
        let _ = writeln!(table, "    X({name}, {value}) \\");
    }
    table.push_str("    /* end */\n\n");
    for (name, value) in constants {
        let _ = writeln!(table, "#define USOCKET_{name} ({value})");
    }

    let config = cbindgen::Config {
        language: cbindgen::Language::C,
        header: Some(
            "/* The usocket ABI: generated by cbindgen from src/ (build.rs). Do not edit. */"
                .into(),
        ),
        include_guard: Some("USOCKET_H".into()),
        sys_includes: vec!["stdbool.h".into(), "stddef.h".into(), "stdint.h".into()],
        no_includes: true,
        trailer: Some(table),
        after_includes: Some(format!(
            "\n/* The network backend this library was built with. */\n#define USOCKET_BACKEND_{} 1\n{}",
            backend.cfg_name().to_uppercase(),
            if lwip_ipv6 { "/* lwIP has IPv6: the lwIP raw backend's layout depends on it. */\n#define USOCKET_LWIP_IPV6 1\n" } else { "" }
        )),
        defines: [
            ("usocket_backend = posix", "USOCKET_BACKEND_POSIX"),
            ("usocket_backend = lwip_socket", "USOCKET_BACKEND_LWIP_SOCKET"),
            ("usocket_backend = lwip_raw", "USOCKET_BACKEND_LWIP_RAW"),
            ("usocket_lwip_ipv6", "USOCKET_LWIP_IPV6"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect(),
        documentation: true,
        style: cbindgen::Style::Type,
        cpp_compat: true,
        usize_is_size_t: true,
        export: cbindgen::ExportConfig {
            // glibc's asynchronous resolver, declared for the posix backend's
            // own use (src/sys/posix_gai.rs), is not part of the ABI.
            exclude: ["Gaicb", "getaddrinfo_a", "gai_suspend", "gai_error", "gai_cancel"]
                .into_iter()
                .map(str::to_owned)
                .collect(),
            rename: [
                ("Socket", "usocket_t"),
                ("SockAddr", "usocket_addr_t"),
                ("AddrInfo", "usocket_addrinfo_t"),
                ("State", "usocket_sys_state_t"),
                ("Datagram", "usocket_lwip_datagram_t"),
                ("Queue", "usocket_lwip_queue_t"),
            ]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect(),
            ..Default::default()
        },
        enumeration: cbindgen::EnumConfig { prefix_with_name: true, ..Default::default() },
        ..Default::default()
    };
    rerun_for_dir(&manifest_dir.join("src"));
    let bindings = cbindgen::Builder::new()
        .with_crate(manifest_dir)
        .with_config(config)
        .generate()
        .unwrap_or_else(|e| fail(&format!("cbindgen failed to generate usocket.h: {e}")));
    let include = out_dir.join("include");
    fs::create_dir_all(&include).unwrap();
    let header = include.join("usocket.h");
    bindings.write_to_file(&header);

    println!("cargo:rerun-if-env-changed=USOCKET_INCLUDE_DIR");
    if let Some(dir) = env::var_os("USOCKET_INCLUDE_DIR") {
        let dest = PathBuf::from(dir).join("usocket.h");
        let new = fs::read(&header).unwrap();
        // Rewrite only on change so make does not rebuild the shim needlessly.
        if fs::read(&dest).ok().as_deref() != Some(&new[..]) {
            fs::create_dir_all(dest.parent().unwrap()).unwrap();
            fs::write(&dest, new).unwrap_or_else(|e| fail(&format!("{}: {e}", dest.display())));
        }
    }
}

fn rerun_for_dir(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rerun_for_dir(&p);
        } else {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("\nerror: {msg}\n");
    std::process::exit(1);
}
