//! # samrpc
//!
//! A pure-Rust MS-SAMR client: change and reset Windows and Active Directory account
//! passwords over SMB2/3 named pipes, from any platform Rust runs on. No Samba, no Python,
//! no Windows machine in between.
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
//! println!("{} over SMB {}", outcome.method.name(), outcome.session.dialect);
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
//! ## Layers
//!
//! The core is pure and sans-IO (it takes bytes, time and randomness as arguments):
//! [`wire`], [`secret`], [`status`], [`crypto`], [`ndr`], [`dcerpc`], [`samr`], [`smb2`],
//! [`auth`], [`session`]. The tokio shell (feature `tokio`, on by default) is [`transport`], [`client`]
//! and [`api`]. Use [`client::SamrClient`] for repeated typed SAMR calls over one session.
//! ARCHITECTURE.md in the repository has the code map and the invariants.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

/// Debug-level log through `tracing` when the `tracing` feature is on; nothing otherwise.
/// Never pass secret material.
#[cfg(feature = "tracing")]
#[allow(unused_macros)]
macro_rules! log_debug {
    ($($t:tt)*) => { ::tracing::debug!($($t)*) };
}
#[cfg(not(feature = "tracing"))]
#[allow(unused_macros)]
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
pub mod session;
pub mod smb2;
pub mod status;
#[cfg(feature = "tokio")]
pub mod transport;
pub mod wire;

/// The README's Rust example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use config::{AuthMethod, ClientConfig, Credentials, Secret};
pub use error::{Advice, CredentialsUsed, Error, ErrorKind, Operation, PasswordRules};
pub use secret::{NtHash, Password, SessionKey};
pub use status::{NtStatus, RpcFault};
