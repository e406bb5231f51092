//! Change a password with the old one (SamrUnicodeChangePasswordUser4).
//!
//! ```sh
//! SAMRPC_OLD_PASSWORD=… SAMRPC_NEW_PASSWORD=… cargo run --example change_password -- HOST USER [DOMAIN]
//! ```
#![allow(clippy::print_stdout)]

use samrpc::Password;
use samrpc::api::{ChangePassword, change_password};

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
        eprintln!("usage: change_password HOST USER [DOMAIN]");
        std::process::exit(2)
    };
    let mut request = ChangePassword::new(
        host,
        user,
        env_secret("SAMRPC_OLD_PASSWORD"),
        env_secret("SAMRPC_NEW_PASSWORD"),
    );
    if let Some(domain) = args.get(2) {
        request = request.with_domain(domain);
    }
    match change_password(request).await {
        Ok(o) => println!(
            "changed with {} over a {} SMB {} session",
            o.method.name(),
            o.session.kind.name(),
            o.session.dialect.map_or("?", |d| d.name())
        ),
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
            }
            std::process::exit(e.exit_code());
        }
    }
}
