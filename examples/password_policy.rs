//! Print a domain's password policy over an anonymous session.
//!
//! ```sh
//! cargo run --example password_policy -- HOST
//! ```
#![allow(clippy::print_stdout)]

use samrpc::Credentials;
use samrpc::api::{PolicyRequest, password_policy};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(host) = std::env::args().nth(1) else {
        eprintln!("usage: password_policy HOST");
        std::process::exit(2)
    };
    match password_policy(PolicyRequest::new(host, Credentials::Anonymous)).await {
        Ok(r) => println!("{}: {}", r.domain, r.policy.describe()),
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
            }
            std::process::exit(e.exit_code());
        }
    }
}
