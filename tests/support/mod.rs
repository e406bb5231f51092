//! Test support for the integration tests that need a server peer: [`mock_server`] and
//! helpers to point the library at it.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod mock_server;

use samrpc::api::{ChangePassword, ChangeSession};
use samrpc::{ClientConfig, Password, Secret};
use std::time::Duration;

/// The account the tests change.
pub const USER: &str = "alice";
/// Its current password.
pub const OLD: &str = "Old-Pass-1!";
/// The new password.
pub const NEW: &str = "New-Pass-2!";
/// The PBKDF2 count the tests ask for (the protocol minimum, to keep debug builds fast).
pub const ITERATIONS: u64 = 5000;

/// Client settings pointing at `port` with `timeout` for every step.
pub fn config(port: u16, allow_rc4: bool, timeout: Duration) -> ClientConfig {
    ClientConfig { port, allow_rc4, ..ClientConfig::default() }.with_timeout(timeout)
}

/// An anonymous change of [`USER`]'s password from [`OLD`] to [`NEW`] against the peer.
pub fn change_request(port: u16, allow_rc4: bool, timeout: Duration) -> ChangePassword {
    ChangePassword {
        host: "127.0.0.1".into(),
        user: USER.into(),
        domain: None,
        old: Secret::Password(Password::from(OLD)),
        new: Password::from(NEW),
        session: ChangeSession::Anonymous,
        iterations: Some(ITERATIONS),
        config: config(port, allow_rc4, timeout),
    }
}
