//! Constants evaluated by build.rs with the headers of the port being built:
//! `MP_E*` errno values and `MP_STREAM_POLL_*` flags as MicroPython defines them
//! for this port, and the network stack's `AF_*`, `SOCK_*`, `SO_*`, ... values.
#![allow(missing_docs, dead_code)]

include!(concat!(env!("OUT_DIR"), "/consts.rs"));
