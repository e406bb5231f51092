//! Test support shared by the integration tests: the real Samba servers started by
//! `tests/samba/samba.sh`, user creation and login checks through Samba's own `rpcclient`.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The command that brings the servers up; named in every failure.
pub const SETUP: &str = "bash tests/samba/samba.sh up";

/// One test server.
#[derive(Clone, Copy, Debug)]
pub struct Server {
    /// Loopback address.
    pub ip: &'static str,
    /// The NetBIOS domain accounts live in (the computer name on standalone servers).
    pub domain: &'static str,
    /// What is special about it.
    pub role: &'static str,
}

/// The AD DC.
pub const DC: Server = Server { ip: "127.0.0.1", domain: "SAMR", role: "AD DC" };
/// Standalone, default settings.
pub const S2: Server = Server { ip: "127.0.0.2", domain: "SRV2", role: "standalone default" };
/// Standalone, signing mandatory, encryption required, SMB3 only.
pub const S3: Server = Server { ip: "127.0.0.3", domain: "SRV3", role: "standalone encrypted" };
/// Standalone, SMB 2.1 max, signing mandatory.
pub const S4: Server = Server { ip: "127.0.0.4", domain: "SRV4", role: "standalone SMB2_10" };
/// Standalone, SMB 3.0 max, signing mandatory.
pub const S5: Server = Server { ip: "127.0.0.5", domain: "SRV5", role: "standalone SMB3_00" };

/// All five servers.
pub const ALL: [Server; 5] = [DC, S2, S3, S4, S5];

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn state_dir() -> PathBuf {
    std::env::var_os("SAMRPC_SAMBA_DIR")
        .map_or_else(|| PathBuf::from("/tmp/samrpc-samba"), PathBuf::from)
}

fn script() -> PathBuf {
    root().join("tests/samba/samba.sh")
}

/// Fail (never skip) unless every server is up, naming the setup command.
pub fn require_servers() {
    let out = Command::new("bash").arg(script()).arg("status").output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "the Samba test servers are not running; start them with `{SETUP}`\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => {
            panic!("cannot run {}: {e}; start the servers with `{SETUP}`", script().display())
        }
    }
}

/// The administrator password of every server.
pub fn admin_password() -> String {
    let p = state_dir().join("admin-password");
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| {
            panic!("cannot read {}: {e}; start the servers with `{SETUP}`", p.display())
        })
        .trim()
        .to_owned()
}

/// A fresh account name (short enough for sAMAccountName and Unix user names).
pub fn unique_user(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
        % 100_000;
    format!("{prefix}{}{t:05}{n}", std::process::id() % 1000)
}

/// Create (or re-create) `name` with `password` on `server`.
pub fn add_user(server: Server, name: &str, password: &str, must_change: bool) {
    require_servers();
    let mut c = Command::new("bash");
    c.arg(script()).arg("add-user").arg(server.ip).arg(name).arg(password);
    if must_change {
        c.arg("--must-change");
    }
    let o = c.output().expect("run samba.sh add-user");
    assert!(
        o.status.success(),
        "add-user {name} on {} failed: {}{}",
        server.ip,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Log in as `user` with Samba's own client; `Ok(())` if the server accepted the password,
/// `Err(status text)` otherwise (e.g. `NT_STATUS_LOGON_FAILURE`).
pub fn login(server: Server, user: &str, password: &str) -> Result<(), String> {
    let o = Command::new("rpcclient")
        .arg("-U")
        .arg(format!("{}\\{user}%{password}", server.domain))
        .arg(server.ip)
        .arg("-c")
        .arg("getusername")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run rpcclient ({e}); install the servers with `{SETUP}`")
        });
    let text =
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    if o.status.success() && text.contains(&format!("Account Name: {user}")) {
        Ok(())
    } else {
        Err(text.lines().find(|l| l.contains("NT_STATUS")).unwrap_or(text.trim()).to_owned())
    }
}

/// Assert that `password` logs `user` in.
pub fn assert_login_ok(server: Server, user: &str, password: &str) {
    if let Err(e) = login(server, user, password) {
        panic!(
            "{user} could not log in to {} ({}) with the expected password: {e}",
            server.ip, server.role
        );
    }
}

/// Assert that `password` is rejected for `user`, with a status containing `expected`.
pub fn assert_login_fails(server: Server, user: &str, password: &str, expected: &str) {
    match login(server, user, password) {
        Ok(()) => {
            panic!("{user} logged in to {} with a password that should be rejected", server.ip)
        }
        Err(e) => assert!(e.contains(expected), "expected {expected}, got: {e}"),
    }
}
