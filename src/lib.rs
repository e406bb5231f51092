//! # samrpc
//!
//! A pure-Rust MS-SAMR client: change and reset Windows and Active Directory account
//! passwords over SMB2/3 named pipes (or, for changes and reads, DCE/RPC over TCP with
//! RPC-level NTLM sealing: [`config::Transport`]), from any platform Rust runs on. No Samba,
//! no Python, no Windows machine in between.
//!
//! ## What it does
//!
//! | Job | Function | SAMR method |
//! |---|---|---|
//! | change a password (old one known, or its NT hash) | [`api::change_password`] | `SamrUnicodeChangePasswordUser4` (opnum 73, AES) |
//! | change an **expired** password | the same, automatic anonymous retry | opnum 73 over a null session |
//! | reset as an administrator | [`api::reset_password`] | `SamrSetInformationUser2` level 31 (AES) |
//! | read the password policy / a user's state | [`api::password_policy`] | `SamrQueryInformationDomain2`, `SamrQueryInformationUser2` |
//! | list users | [`api::list_users`] | `SamrEnumerateUsersInDomain` |
//! | find out why it fails | [`api::doctor`] | every step, one at a time |
//!
//! ## A password change in ten lines
//!
//! ```no_run
//! use samrpc::api::{change_password, ChangePassword};
//! use samrpc::{ClientConfig, Password};
//!
//! # async fn run() -> Result<(), samrpc::Error> {
//! let request = ChangePassword::new(
//!     "dc1.example.com",
//!     "alice",
//!     Password::from("Old-Pass-1!"), // or the NT hash (an NtHash)
//!     Password::from("New-Pass-2!"),
//! )
//! .with_config(ClientConfig::default()); // optional: signing required, AES only, timeouts
//! // The domain comes from the server's NTLM challenge unless set with `.with_domain(..)`;
//! // the PBKDF2 count is random in api::DEFAULT_ITERATIONS_MIN..=MAX unless set.
//! let outcome = change_password(request).await?;
//! if let Some(dialect) = outcome.session.dialect {
//!     println!("{} over SMB {dialect}", outcome.method.name());
//! }
//! # Ok(()) }
//! ```
//!
//! Errors say what to do: [`Error::hint`] gives advice in prose (naming no front end's
//! options), [`Error::advice`] the same as data ([`Advice`]: give the domain, allow RC4, the
//! password rules broken…) for a front end to phrase in its own terms, [`Error::status`] the
//! server's NTSTATUS, [`Error::is_wrong_password`] (whichever layer said it: SAMR's
//! STATUS_WRONG_PASSWORD or the changed account's failed logon) and [`Error::outcome_unknown`]
//! answer the two questions every caller has, `source()` reaches the underlying I/O error,
//! and [`Error::exit_code`] maps to the CLI's exit codes.
//!
//! ## Security defaults
//!
//! - AES methods only. The RC4 methods (`SamrUnicodeChangePasswordUser2`, levels 25/23) run
//!   only when [`ClientConfig::allow_rc4`] is set **and** the server lacks the AES method.
//! - SMB signing is required on authenticated sessions; SMB3 encryption is used whenever the
//!   server asks for it (and can be required). A Guest session is never used in place of the
//!   account you named.
//! - Over TCP ([`config::Transport::Tcp`]) named accounts bind with NTLM at packet privacy:
//!   every request is sealed and every response's signature checked (header signing
//!   required) before its bytes are read.
//! - Passwords, NT hashes and keys live in zeroizing types ([`secret`]) whose `Debug` shows
//!   nothing; MACs and signatures are compared in constant time; nothing secret is logged.
//! - Every network step has a timeout ([`ClientConfig`]).
//!
//! ## A reset is not a change
//!
//! Windows protects a user's DPAPI secrets (saved credentials, EFS files, certificate private
//! keys) with keys derived from the password. A change re-protects them; a reset cannot, so
//! they may become unreadable for good. Use [`api::change_password`] whenever the old password
//! is known.
//!
//! ## Sync callers, reuse, cancellation
//!
//! - The async API needs a tokio runtime with **I/O and timers enabled** (`#[tokio::main]`,
//!   or a `Builder` with `enable_all()`); outside any runtime it returns an error instead of
//!   panicking. Synchronous code uses [`blocking`], which owns a current-thread runtime.
//! - Many jobs over one session: connect a [`client::SamrClient`] and call its methods
//!   ([`client::SamrClient::change_password`], `reset_password`, `password_policy`,
//!   `user_state`, `list_users`), or compose typed calls with [`api::domain`].
//! - Dropping any job's future leaves nothing running. A change or reset dropped after its
//!   request left has an **unknown outcome**; bound jobs with
//!   [`ClientConfig::operation_timeout`], which reports that case as
//!   [`ErrorKind::OutcomeUnknown`], rather than `tokio::time::timeout` (see [`api`]).
//!
//! ## Public surface and stability
//!
//! samrpc is 0.x; what follows says what a release is careful with.
//!
//! - **The embedding API** (semver-tracked): the root re-exports, [`api`] (jobs, requests,
//!   outcomes, [`api::domain`]), [`blocking`], [`client`], [`config`], [`error`],
//!   [`session`], [`secret`] and [`status`].
//! - **Protocol layers** (public because typed calls need them, but *semver-exempt*: they
//!   follow the protocol and may change in any 0.x release): [`samr`] (one type per SAMR call,
//!   for [`client::SamrClient::call`]), [`ndr`] (the handles and strings those calls carry),
//!   [`crypto`] (the SAMR password encryption, for testing a server), [`wire`] and [`rng`]
//!   (what those signatures mention).
//! - **Internal layers** (`dcerpc`, `smb2`, `auth`, `rpcauth`, `transport`, `fuzzing`):
//!   reachable for the crate's own tests, benches and fuzz targets, hidden from the
//!   documentation, and not part of any compatibility promise; they may become private.
//!
//! The core is pure and sans-IO (it takes bytes, time and randomness as arguments); the tokio
//! shell (feature `tokio`, on by default) is the transports, [`client`], [`api`] and
//! [`blocking`]. ARCHITECTURE.md in the repository has the code map and the invariants.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

/// Debug-level log through `tracing` when the `tracing` feature is on; nothing otherwise.
/// Never pass secret material. Both arms are expressions of type `()`, so the macro works in
/// statement and in match-arm position alike.
#[cfg(feature = "tracing")]
#[allow(unused_macros)]
macro_rules! log_debug {
    ($($t:tt)*) => { ::tracing::debug!($($t)*) };
}
#[cfg(not(feature = "tracing"))]
#[allow(unused_macros)]
macro_rules! log_debug {
    // `()`, not nothing, so the macro also works in expression position (a match arm).
    ($($t:tt)*) => {
        ()
    };
}
#[allow(unused_imports)]
pub(crate) use log_debug;

#[cfg(feature = "tokio")]
pub mod api;
#[doc(hidden)]
pub mod auth;
#[cfg(feature = "tokio")]
pub mod blocking;
#[cfg(feature = "tokio")]
pub mod client;
pub mod config;
pub mod crypto;
#[doc(hidden)]
pub mod dcerpc;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod ndr;
pub mod rng;
#[doc(hidden)]
pub mod rpcauth;
pub mod samr;
pub mod secret;
pub mod session;
#[doc(hidden)]
pub mod smb2;
pub mod status;
#[cfg(feature = "tokio")]
#[doc(hidden)]
pub mod transport;
pub mod wire;

/// The README's Rust example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use config::{AuthMethod, ClientConfig, Credentials, RpcProtection, Secret, Transport};
pub use error::{Advice, CredentialsUsed, Error, ErrorKind, Operation, PasswordRules};
pub use secret::{NtHash, Password, SessionKey};
pub use status::{NtStatus, RpcFault};
