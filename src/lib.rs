//! # samrpc
//!
//! A pure-Rust MS-SAMR client: change and reset Windows and Active Directory account passwords
//! over SMB2/3 named pipes, from any platform Rust runs on.
//!
//! The crate is layered: a pure, sans-IO core (wire codecs, NDR, DCE/RPC, SAMR calls, SMB2/3,
//! NTLM/SPNEGO, SAMR crypto) that takes bytes, time and randomness as arguments, and a thin
//! tokio shell on top (feature `tokio`, on by default).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

/// Debug-level log through `tracing` when the `tracing` feature is on; nothing otherwise.
/// Never pass secret material.
#[cfg(feature = "tracing")]
macro_rules! log_debug {
    ($($t:tt)*) => { ::tracing::debug!($($t)*) };
}
#[cfg(not(feature = "tracing"))]
macro_rules! log_debug {
    ($($t:tt)*) => {};
}
#[allow(unused_imports)]
pub(crate) use log_debug;

#[cfg(feature = "tokio")]
pub mod api;
pub mod auth;
#[cfg(feature = "tokio")]
pub mod client;
pub mod config;
pub mod crypto;
pub mod dcerpc;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod ndr;
pub mod rng;
pub mod samr;
pub mod secret;
pub mod smb2;
pub mod status;
#[cfg(feature = "tokio")]
pub mod transport;
pub mod wire;

pub use config::{ClientConfig, Credentials, Secret};
pub use error::{Error, ErrorKind, Operation};
pub use secret::{NtHash, Password, SessionKey};
pub use status::{NtStatus, RpcFault};
