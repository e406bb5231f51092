//! Print a domain's password policy over an anonymous session.
//!
//! ```sh
//! cargo run --example password_policy -- HOST
//! ```
#![allow(clippy::print_stdout)]

use samrpc::api::password_policy;
use samrpc::{ClientConfig, Credentials};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(host) = std::env::args().nth(1) else {
        eprintln!("usage: password_policy HOST");
        std::process::exit(2)
    };
    match password_policy(&host, Credentials::Anonymous, None, ClientConfig::default()).await {
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
