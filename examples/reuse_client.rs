//! Reuse one connection for several jobs: read the policy, list the users, read one user's
//! state and reset their password, all over one administrator session.
//!
//! ```sh
//! SAMRPC_ADMIN_PASSWORD=… SAMRPC_NEW_PASSWORD=… \
//!     cargo run --example reuse_client -- HOST ADMIN[@DOMAIN] USER
//! ```
#![allow(clippy::print_stdout)]

use samrpc::api::{AccountKind, ResetPassword};
use samrpc::client::SamrClient;
use samrpc::{ClientConfig, Credentials, Password};
use std::time::{Duration, SystemTime};

fn env_secret(name: &str) -> Password {
    Password::new(std::env::var(name).unwrap_or_else(|_| {
        eprintln!("set {name}");
        std::process::exit(2)
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), samrpc::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, admin, user] = args.as_slice() else {
        eprintln!("usage: reuse_client HOST ADMIN[@DOMAIN] USER");
        std::process::exit(2)
    };
    let (name, domain) = Credentials::split_account(admin);
    let admin = Credentials::password(name, domain, env_secret("SAMRPC_ADMIN_PASSWORD"));
    // Each job on this client may take at most 30 s, counted from its start.
    let config = ClientConfig::default().with_operation_timeout(Duration::from_secs(30));

    let mut client = SamrClient::connect(host, &admin, &config).await?;
    let report = client.password_policy(None).await?;
    println!("domain {}: {}", report.domain, report.policy.describe());

    let users = client.list_users(AccountKind::Normal).await?;
    println!("{} users", users.len());

    let state = client.user_state(user).await?;
    let age = state
        .password_last_set_time()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .map_or_else(|| "never set".to_owned(), |d| format!("set {} s ago", d.as_secs()));
    println!("{user} (RID {}): password {age}", state.rid);

    // The request's host, admin and config are the connection's business here: the client's
    // own session and settings are used.
    let reset = ResetPassword::new(host, user, admin.clone(), env_secret("SAMRPC_NEW_PASSWORD"))
        .with_must_change(true);
    let outcome = client.reset_password(&reset).await?;
    println!("reset with {}", outcome.method.name());

    client.close().await;
    Ok(())
}
