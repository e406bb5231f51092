//! Synchronous use, without a tokio runtime of your own: `samrpc::blocking` runs the jobs on
//! a current-thread runtime it owns.
//!
//! ```sh
//! SAMRPC_OLD_PASSWORD=… SAMRPC_NEW_PASSWORD=… cargo run --example blocking -- HOST USER [DOMAIN]
//! ```
#![allow(clippy::print_stdout)]

use samrpc::api::ChangePassword;
use samrpc::{ClientConfig, Credentials, Password, blocking};
use std::time::Duration;

fn env_secret(name: &str) -> Password {
    Password::new(std::env::var(name).unwrap_or_else(|_| {
        eprintln!("set {name}");
        std::process::exit(2)
    }))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(host), Some(user)) = (args.first(), args.get(1)) else {
        eprintln!("usage: blocking HOST USER [DOMAIN]");
        std::process::exit(2)
    };
    let domain = args.get(2).cloned();
    let old = env_secret("SAMRPC_OLD_PASSWORD");
    let config = ClientConfig::default().with_operation_timeout(Duration::from_secs(30));

    // A session as the user: read the policy and the user's own state.
    let creds = Credentials::password(user.as_str(), domain.clone(), old.clone());
    match blocking::Client::connect(host, &creds, &config) {
        Ok(mut client) => {
            if let Ok(report) = client.password_policy(Some(user)) {
                println!("policy: {}", report.policy.describe());
            }
            client.close();
        }
        Err(e) => eprintln!("(policy not readable: {e})"),
    }

    // One job, one connection.
    let mut request =
        ChangePassword::new(host, user, old, env_secret("SAMRPC_NEW_PASSWORD")).with_config(config);
    if let Some(d) = domain {
        request = request.with_domain(d);
    }
    match blocking::change_password(request) {
        Ok(o) => println!("changed with {}", o.method.name()),
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
            }
            std::process::exit(e.exit_code())
        }
    }
}
