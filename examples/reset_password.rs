//! Reset a password as an administrator (SamrSetInformationUser2 level 31).
//!
//! A reset, unlike a change, can make the user's DPAPI-protected secrets unreadable.
//!
//! ```sh
//! SAMRPC_ADMIN_PASSWORD=… SAMRPC_NEW_PASSWORD=… cargo run --example reset_password -- HOST USER 'DOMAIN\Administrator'
//! ```
#![allow(clippy::print_stdout)]

use samrpc::api::{ResetPassword, reset_password};
use samrpc::{Credentials, Password};

fn env_secret(name: &str) -> Password {
    Password::new(std::env::var(name).unwrap_or_else(|_| {
        eprintln!("set {name}");
        std::process::exit(2)
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(host), Some(user), Some(admin)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: reset_password HOST USER [DOMAIN\\]ADMIN");
        std::process::exit(2)
    };
    let (admin_name, admin_domain) = Credentials::split_account(admin);
    let request = ResetPassword::new(
        host.clone(),
        user.clone(),
        Credentials::password(admin_name, admin_domain, env_secret("SAMRPC_ADMIN_PASSWORD")),
        env_secret("SAMRPC_NEW_PASSWORD"),
    );
    match reset_password(request).await {
        Ok(o) => println!("reset with {}", o.method.name()),
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
            }
            std::process::exit(e.exit_code());
        }
    }
}
