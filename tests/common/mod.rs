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

/// Run the DC's samba-tool on its state directory; panics naming the command on failure.
pub fn samba_tool(args: &[&str]) {
    let o = Command::new("samba-tool")
        .args(args)
        .arg("-s")
        .arg(state_dir().join("dc/etc/smb.conf"))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run samba-tool ({e}); install the servers with `{SETUP}`")
        });
    assert!(
        o.status.success(),
        "samba-tool {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `tshark -r file -Y filter -T fields -e …` (first occurrence of each field), one Vec of
/// fields per packet.
pub fn tshark_fields(file: &std::path::Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut c = Command::new("tshark");
    c.arg("-r").arg(file).args(["-Y", filter, "-T", "fields", "-E", "occurrence=f"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let o = c.output().unwrap_or_else(|e| panic!("cannot run tshark ({e}); `{SETUP}`"));
    assert!(o.status.success(), "tshark: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// Neither of `passwords`, in ASCII/UTF-8 or UTF-16LE, occurs anywhere in `bytes` (a capture).
pub fn assert_no_password_bytes(bytes: &[u8], passwords: &[&str]) {
    for pw in passwords {
        let utf16: Vec<u8> = pw.encode_utf16().flat_map(u16::to_le_bytes).collect();
        for needle in [pw.as_bytes().to_vec(), utf16] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "password in capture");
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

/// The SMB dialect each server negotiates with samrpc.
pub fn expected_dialect(server: Server) -> &'static str {
    match server.ip {
        "127.0.0.4" => "2.1",
        "127.0.0.5" => "3.0",
        _ => "3.1.1",
    }
}

/// Whether the server refuses anonymous sessions (it requires encryption, which a null
/// session cannot do).
pub fn refuses_anonymous(server: Server) -> bool {
    server.ip == S3.ip
}

/// The servers that accept anonymous sessions (every one but the encrypted S3).
pub fn anonymous_servers() -> Vec<Server> {
    ALL.into_iter().filter(|s| !refuses_anonymous(*s)).collect()
}

/// Run `rpcclient` as the server's Administrator with `commands`; the combined output.
/// Panics when rpcclient fails.
pub fn rpcclient_admin(server: Server, commands: &str) -> String {
    let o = Command::new("rpcclient")
        .arg("-U")
        .arg(format!("{}\\Administrator%{}", server.domain, admin_password()))
        .arg(server.ip)
        .arg("-c")
        .arg(commands)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run rpcclient ({e}); install the servers with `{SETUP}`")
        });
    let text =
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "rpcclient {commands:?} on {} failed: {text}", server.ip);
    text
}

/// Parse a hexadecimal (`0x3e8`) or decimal number from rpcclient output.
pub fn parse_num(s: &str) -> u64 {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).unwrap_or_else(|e| panic!("{s:?}: {e}")),
        None => s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}")),
    }
}

/// The (name, rid) pairs of `rpcclient -c enumdomusers` (`user:[name] rid:[0x3e8]`), sorted.
/// With `all_accounts` every account (ACB mask 0, as samrpc asks), else rpcclient's default:
/// normal accounts only (no machine or trust accounts).
pub fn rpcclient_users(server: Server, all_accounts: bool) -> Vec<(String, u32)> {
    let cmd = if all_accounts { "enumdomusers 0x02000000 0" } else { "enumdomusers" };
    let text = rpcclient_admin(server, cmd);
    let mut users: Vec<(String, u32)> = text
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("user:[")?;
            let (name, rest) = rest.split_once("] rid:[")?;
            let rid = rest.strip_suffix(']')?;
            Some((name.to_owned(), u32::try_from(parse_num(rid)).unwrap()))
        })
        .collect();
    assert!(!users.is_empty(), "no users parsed from: {text}");
    users.sort();
    users
}

/// Whether a listing `ours` taken between two rpcclient listings `before` and `after` agrees
/// with them while other tests create and delete accounts concurrently: every account present
/// in both rpcclient listings (stable across the whole window) is in ours, with the same RID,
/// and every account in ours was seen by rpcclient in one of them (with the same RID). On a
/// server nobody else touches this is plain equality. Returns a description of the first
/// disagreement.
#[allow(dead_code)]
pub fn listing_between(
    before: &[(String, u32)],
    ours: &[(String, u32)],
    after: &[(String, u32)],
) -> Result<(), String> {
    for entry in before.iter().filter(|e| after.contains(e)) {
        if !ours.contains(entry) {
            return Err(format!("{entry:?} is in both rpcclient listings but not in ours"));
        }
    }
    for entry in ours {
        if !before.contains(entry) && !after.contains(entry) {
            return Err(format!("{entry:?} is in ours but in neither rpcclient listing"));
        }
    }
    Ok(())
}

/// The RID of `name` by `rpcclient -c "samlookupnames domain NAME"`.
pub fn rpcclient_rid(server: Server, name: &str) -> u32 {
    let text = rpcclient_admin(server, &format!("samlookupnames domain {name}"));
    // "name NAME: 0x44f (1)"
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("name {name}:")))
        .unwrap_or_else(|| panic!("no RID for {name} in: {text}"));
    let rid = line.rsplit_once(':').unwrap().1.split_whitespace().next().unwrap();
    u32::try_from(parse_num(rid)).unwrap()
}

/// `(min_password_length, password_properties)` from `rpcclient -c getdompwinfo`.
pub fn rpcclient_dompwinfo(server: Server) -> (u16, u32) {
    let text = rpcclient_admin(server, "getdompwinfo");
    let field = |name: &str| {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in: {text}"));
        parse_num(line.split_once(':').unwrap().1)
    };
    (
        u16::try_from(field("min_password_length")).unwrap(),
        u32::try_from(field("password_properties")).unwrap(),
    )
}

/// Run a future to completion on a fresh current-thread runtime.
#[cfg(feature = "tokio")]
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// A password change of `user` on `server` from `old` to `new` (Auto session, domain given,
/// 5,000 PBKDF2 iterations to keep the suite fast).
#[cfg(feature = "tokio")]
pub fn change_request(
    server: Server,
    user: &str,
    old: &str,
    new: &str,
) -> samrpc::api::ChangePassword {
    samrpc::api::ChangePassword::new(
        server.ip.to_owned(),
        user.to_owned(),
        samrpc::Secret::Password(samrpc::Password::from(old)),
        samrpc::Password::from(new),
    )
    .with_domain(server.domain.to_owned())
    .with_iterations(5_000)
}

/// The server's Administrator credentials.
#[cfg(feature = "tokio")]
pub fn admin_credentials(server: Server) -> samrpc::Credentials {
    samrpc::Credentials::password(
        "Administrator",
        Some(server.domain.to_owned()),
        samrpc::Password::from(admin_password().as_str()),
    )
}

/// Every textual form a secret could leak in: the text, its UTF-16LE bytes in hex, its NT
/// hash in hex (both cases) and as a `Debug` byte array.
pub fn secret_forms(secret: &str) -> Vec<String> {
    let utf16: Vec<u8> = secret.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let hash = samrpc::crypto::nt_hash(&samrpc::Password::from(secret));
    let h = hash.expose();
    vec![
        secret.to_owned(),
        hex::encode(&utf16),
        hex::encode_upper(&utf16),
        hex::encode(h),
        hex::encode_upper(h),
        format!("{:?}", h),
        format!("{:?}", &h[..8]),
    ]
}

/// Fails naming `what` if `text` holds any form ([`secret_forms`]) of any of `secrets`.
pub fn assert_clean(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        for f in secret_forms(s) {
            assert!(!text.contains(&f), "{what} contains a secret form {f:?}:\n{text}");
        }
    }
}

/// The test DC's DNS name: Kerberos names the server (`cifs/dc1.samr.test`); the tests dial
/// its address ([`DC`]) separately.
pub const KRB_HOST: &str = "dc1.samr.test";
/// The test DC's Kerberos realm.
pub const KRB_REALM: &str = "SAMR.TEST";

/// Write the realm's krb5.conf (idempotent) under the samba state directory, once per
/// process. The library gets realm and KDC explicitly; the file is for MIT `kinit`.
pub fn krb5_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        require_servers();
        let o = Command::new("bash")
            .arg(root().join("tests/samba/samba.sh"))
            .arg("krb5-conf")
            .output()
            .expect("run samba.sh krb5-conf");
        assert!(o.status.success(), "samba.sh krb5-conf failed; is `{SETUP}` done?");
    });
}

/// The Kerberos client config for the DC: name `dc1.samr.test`, address 127.0.0.1, explicit
/// realm and KDC (no reliance on the process environment).
pub fn krb_config() -> samrpc::ClientConfig {
    krb5_env();
    samrpc::ClientConfig::default()
        .with_auth(samrpc::AuthMethod::Kerberos)
        .with_address(Some(DC.ip.to_owned()))
        .with_realm(Some(KRB_REALM.to_owned()))
        .with_kdc(Some("127.0.0.1".to_owned()))
        .with_timeout(std::time::Duration::from_secs(20))
}
