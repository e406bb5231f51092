//! Bounding a password change in time without losing the answer to "did it change?".
//!
//! `tokio::time::timeout(d, change_password(req))` drops the job when time runs out, and a
//! dropped job cannot say whether its request reached the server. Set the config's
//! `operation_timeout` instead: the job stops itself and returns an error whose
//! `outcome_unknown()` is true exactly when the change may have happened.
//!
//! ```sh
//! SAMRPC_OLD_PASSWORD=… SAMRPC_NEW_PASSWORD=… \
//!     cargo run --example cancellation -- HOST USER [MILLISECONDS]
//! ```
#![allow(clippy::print_stdout)]

use samrpc::api::{ChangePassword, change_password};
use samrpc::{ClientConfig, ErrorKind, Password};
use std::time::Duration;

fn env_secret(name: &str) -> Password {
    Password::new(std::env::var(name).unwrap_or_else(|_| {
        eprintln!("set {name}");
        std::process::exit(2)
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(host), Some(user)) = (args.first(), args.get(1)) else {
        eprintln!("usage: cancellation HOST USER [MILLISECONDS]");
        std::process::exit(2)
    };
    let ms = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5_000);
    let config = ClientConfig::default().with_operation_timeout(Duration::from_millis(ms));
    let request = ChangePassword::new(
        host,
        user,
        env_secret("SAMRPC_OLD_PASSWORD"),
        env_secret("SAMRPC_NEW_PASSWORD"),
    )
    .with_config(config);

    match change_password(request).await {
        Ok(o) => println!("changed with {}", o.method.name()),
        Err(e) if e.outcome_unknown() => {
            // The request may have reached the server: do not assume either password.
            println!("outcome unknown: {e}");
            println!("next step: log in with the new password to find out");
            std::process::exit(4)
        }
        Err(e) if e.kind() == ErrorKind::Timeout => {
            // Timed out before the request left: the old password is still valid.
            println!("not changed (timed out before the request was sent): {e}");
            std::process::exit(3)
        }
        Err(e) => {
            println!("not changed: {e}");
            std::process::exit(e.exit_code())
        }
    }
}
