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
    ClientConfig::default().with_port(port).with_allow_rc4(allow_rc4).with_timeout(timeout)
}

/// An anonymous change of [`USER`]'s password from [`OLD`] to [`NEW`] against the peer.
pub fn change_request(port: u16, allow_rc4: bool, timeout: Duration) -> ChangePassword {
    ChangePassword::new(
        "127.0.0.1",
        USER,
        Secret::Password(Password::from(OLD)),
        Password::from(NEW),
    )
    .with_session(ChangeSession::Anonymous)
    .with_iterations(ITERATIONS)
    .with_config(config(port, allow_rc4, timeout))
}
