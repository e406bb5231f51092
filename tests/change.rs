//! Password changes through the library against the real Samba servers: by password, by the
//! old NT hash, for must-change accounts (automatic anonymous retry), over an explicit
//! anonymous session, with non-ASCII and maximum-length passwords, over IPv6 and by host
//! name; and the refusals (wrong old password, policy violations, encrypted server refusing
//! anonymous sessions, over-long passwords caught before any network traffic).
//!
//! Every success is proven with Samba's own client: the new password logs in and the old one
//! is refused with NT_STATUS_LOGON_FAILURE.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use samrpc::api::{
    ChangePassword, ChangeSession, DEFAULT_ITERATIONS_MAX, DEFAULT_ITERATIONS_MIN, Method, Outcome,
    SessionKind, change_password,
};
use samrpc::{ClientConfig, ErrorKind, NtHash, NtStatus, Operation, Password, Secret};
use std::time::{Duration, Instant};

const OLD: &str = "Old-Pass-1!";
const NEW: &str = "New-Pass-2!";

fn change(req: ChangePassword) -> Result<Outcome, samrpc::Error> {
    block_on(change_password(req))
}

/// The new password logs in, the old one no longer does.
fn assert_changed(server: Server, user: &str, old: &str, new: &str) {
    assert_login_ok(server, user, new);
    assert_login_fails(server, user, old, "NT_STATUS_LOGON_FAILURE");
}

fn assert_authenticated_user4(server: Server, o: &Outcome) {
    assert_eq!(o.method, Method::ChangeUser4, "{} ({})", server.ip, server.role);
    assert_eq!(o.status, NtStatus::STATUS_SUCCESS);
    assert_eq!(o.session.kind, SessionKind::Authenticated, "{}", server.ip);
    assert_eq!(
        o.session.dialect.map(|d| d.name()),
        Some(expected_dialect(server)),
        "{}",
        server.ip
    );
    // Every authenticated session is integrity-protected: signed, or (S3) encrypted, in which
    // case SMB3 carries the AEAD tag in the transform header instead of a signature and the
    // summary reports `signing: false`.
    let encrypted = server.ip == S3.ip;
    assert_eq!(o.session.encryption, encrypted, "encryption on {}", server.ip);
    assert_eq!(o.session.signing, !encrypted, "signing on {} ({})", server.ip, server.role);
    assert_eq!(o.iterations, Some(5_000));
}

/// The error an anonymous session gets from the encrypted server: refused at session setup,
/// with a hint that says why.
fn assert_anonymous_refused(e: &samrpc::Error) {
    assert_eq!(e.kind(), ErrorKind::ServerRefused, "{e:?}");
    assert_eq!(e.operation(), Operation::SessionSetup, "{e:?}");
    assert_eq!(e.exit_code(), 1);
    let hint = e.hint().unwrap_or_else(|| panic!("no hint: {e:?}")).to_lowercase();
    assert!(hint.contains("anonymous") && hint.contains("encryption"), "hint: {hint}");
}

#[test]
fn change_by_password_on_every_server() {
    require_servers();
    for server in ALL {
        let user = unique_user("chp");
        add_user(server, &user, OLD, false);
        let o = change(change_request(server, &user, OLD, NEW))
            .unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role));
        assert_authenticated_user4(server, &o);
        assert_changed(server, &user, OLD, NEW);
    }
}

#[test]
fn change_with_default_iterations_and_announced_domain() {
    require_servers();
    for server in [DC, S2] {
        let user = unique_user("chd");
        add_user(server, &user, OLD, false);
        let mut req = change_request(server, &user, OLD, NEW);
        req.iterations = None;
        req.domain = None;
        let o = change(req).unwrap_or_else(|e| panic!("{}: {e:?}", server.ip));
        assert_eq!(o.method, Method::ChangeUser4);
        let n = o.iterations.expect("User4 reports its iterations");
        assert!((DEFAULT_ITERATIONS_MIN..=DEFAULT_ITERATIONS_MAX).contains(&n), "{n}");
        assert_changed(server, &user, OLD, NEW);
    }
}

#[test]
fn change_by_old_nt_hash_on_every_server() {
    require_servers();
    for server in ALL {
        let user = unique_user("chh");
        add_user(server, &user, OLD, false);
        let mut req = change_request(server, &user, OLD, NEW);
        req.old = Secret::NtHash(samrpc::crypto::nt_hash(&Password::from(OLD)));
        let o = change(req).unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role));
        assert_authenticated_user4(server, &o);
        assert_changed(server, &user, OLD, NEW);
    }
    // The same through the hex form a caller would paste.
    let user = unique_user("chx");
    add_user(DC, &user, OLD, false);
    let hex: String = samrpc::crypto::nt_hash(&Password::from(OLD))
        .expose()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut req = change_request(DC, &user, OLD, NEW);
    req.old = Secret::NtHash(NtHash::from_hex(&hex).expect("valid hex"));
    change(req).unwrap();
    assert_changed(DC, &user, OLD, NEW);
}

#[test]
fn must_change_accounts_are_changed_over_an_automatic_anonymous_session() {
    require_servers();
    for server in ALL {
        let user = unique_user("chm");
        add_user(server, &user, OLD, true);
        assert_login_fails(server, &user, OLD, "NT_STATUS_PASSWORD_MUST_CHANGE");
        let result = change(change_request(server, &user, OLD, NEW));
        if refuses_anonymous(server) {
            let e = result.expect_err("S3 refuses anonymous sessions");
            assert_anonymous_refused(&e);
            assert!(e.message().contains("must be changed"), "{e}");
            assert_login_fails(server, &user, OLD, "NT_STATUS_PASSWORD_MUST_CHANGE");
            assert_login_fails(server, &user, NEW, "NT_STATUS_LOGON_FAILURE");
            continue;
        }
        let o = result.unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role));
        assert_eq!(o.method, Method::ChangeUser4);
        assert_eq!(o.session.kind, SessionKind::Anonymous, "{}", server.ip);
        assert!(!o.session.signing, "an anonymous session cannot sign");
        assert_eq!(o.session.dialect.map(|d| d.name()), Some(expected_dialect(server)));
        assert_changed(server, &user, OLD, NEW);
    }
}

#[test]
fn explicit_anonymous_session_changes_on_every_server_that_allows_it() {
    require_servers();
    for server in ALL {
        let user = unique_user("cha");
        add_user(server, &user, OLD, false);
        let mut req = change_request(server, &user, OLD, NEW);
        req.session = ChangeSession::Anonymous;
        let result = change(req);
        if refuses_anonymous(server) {
            let e = result.expect_err("S3 refuses anonymous sessions");
            assert_anonymous_refused(&e);
            assert_eq!(e.status(), Some(NtStatus::STATUS_ACCESS_DENIED), "{e:?}");
            assert_login_ok(server, &user, OLD);
            continue;
        }
        let o = result.unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role));
        assert_eq!(o.method, Method::ChangeUser4);
        assert_eq!(o.session.kind, SessionKind::Anonymous);
        assert_eq!(o.session.dialect.map(|d| d.name()), Some(expected_dialect(server)));
        assert_changed(server, &user, OLD, NEW);
    }
}

#[test]
fn wrong_old_password_is_reported_and_changes_nothing() {
    require_servers();
    for server in ALL {
        let user = unique_user("chw");
        add_user(server, &user, OLD, false);

        // Anonymous: the change call itself answers STATUS_WRONG_PASSWORD.
        if !refuses_anonymous(server) {
            let mut req = change_request(server, &user, "Not-The-Pass-1!", NEW);
            req.session = ChangeSession::Anonymous;
            let e = change(req).expect_err("wrong old password accepted");
            assert!(e.is_wrong_password(), "{}: {e:?}", server.ip);
            assert_eq!(e.kind(), ErrorKind::ServerRefused);
            assert_eq!(e.operation(), Operation::Call("SamrUnicodeChangePasswordUser4"));
            assert_eq!(e.exit_code(), 1);
        }

        // Auto: we log on as the user first, so the session setup refuses the old password.
        let e = change(change_request(server, &user, "Not-The-Pass-1!", NEW))
            .expect_err("wrong old password accepted");
        assert_eq!(e.kind(), ErrorKind::ServerRefused, "{}: {e:?}", server.ip);
        assert_eq!(e.operation(), Operation::SessionSetup, "{e:?}");
        assert_eq!(e.status(), Some(NtStatus::STATUS_LOGON_FAILURE), "{e:?}");
        assert_eq!(e.exit_code(), 1);

        // Wrong old NT hash, same answer.
        let mut req = change_request(server, &user, OLD, NEW);
        req.old = Secret::NtHash(NtHash::from_hex("00112233445566778899aabbccddeeff").unwrap());
        let e = change(req).expect_err("wrong old hash accepted");
        assert_eq!(e.status(), Some(NtStatus::STATUS_LOGON_FAILURE), "{e:?}");

        assert_login_ok(server, &user, OLD);
        assert_login_fails(server, &user, NEW, "NT_STATUS_LOGON_FAILURE");
    }
}

#[test]
fn policy_violations_are_refused_with_the_rules_in_the_hint() {
    require_servers();
    // The DC: minimum length 7, complexity on.
    for bad in ["ab", "abcdefgh"] {
        let user = unique_user("chr");
        add_user(DC, &user, OLD, false);
        let e = change(change_request(DC, &user, OLD, bad)).expect_err("policy not enforced");
        assert_eq!(e.kind(), ErrorKind::ServerRefused, "{e:?}");
        assert_eq!(e.status(), Some(NtStatus::STATUS_PASSWORD_RESTRICTION), "{e:?}");
        assert_eq!(e.exit_code(), 1);
        let hint = e.hint().expect("a restriction carries the rules");
        assert!(hint.contains("minimum length 7"), "{hint}");
        assert!(hint.contains("complexity required"), "{hint}");
        assert_login_ok(DC, &user, OLD);
        assert_login_fails(DC, &user, bad, "NT_STATUS_LOGON_FAILURE");
    }
    // A standalone server: minimum length 5, no complexity.
    let user = unique_user("chr");
    add_user(S2, &user, OLD, false);
    let e = change(change_request(S2, &user, OLD, "abcd")).expect_err("policy not enforced");
    assert_eq!(e.status(), Some(NtStatus::STATUS_PASSWORD_RESTRICTION), "{e:?}");
    let hint = e.hint().expect("a restriction carries the rules");
    assert!(hint.contains("minimum length 5") && hint.contains("no complexity"), "{hint}");
    assert_login_ok(S2, &user, OLD);
    // … and five lower-case letters are fine there.
    change(change_request(S2, &user, OLD, "abcde")).unwrap();
    assert_changed(S2, &user, OLD, "abcde");
}

#[test]
fn non_ascii_passwords_round_trip() {
    require_servers();
    for server in ALL {
        let user = unique_user("chu");
        let first = "Pässwörd-Ω-1";
        let second = "Emoji-😀-Pw1";
        add_user(server, &user, OLD, false);
        change(change_request(server, &user, OLD, first))
            .unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role));
        assert_changed(server, &user, OLD, first);
        change(change_request(server, &user, first, second))
            .unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role));
        assert_changed(server, &user, first, second);
    }
}

/// A password of `units` UTF-16 code units that meets every policy (and, with `emoji`, ends
/// in a character outside the BMP that counts twice).
fn long_password(units: usize, emoji: bool) -> String {
    let head = "Aa1!";
    if emoji {
        format!("{head}{}😀", "x".repeat(units - head.len() - 2))
    } else {
        format!("{head}{}", "x".repeat(units - head.len()))
    }
}

#[test]
fn a_256_unit_password_works_on_every_server() {
    require_servers();
    for server in ALL {
        let user = unique_user("chl");
        let p256 = long_password(256, false);
        assert_eq!(p256.encode_utf16().count(), 256);
        add_user(server, &user, OLD, false);
        change(change_request(server, &user, OLD, &p256))
            .unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role));
        assert_changed(server, &user, OLD, &p256);
        // And back from it (the 256-unit password as the old one), with a non-BMP ending.
        let e256 = long_password(256, true);
        assert_eq!(e256.encode_utf16().count(), 256);
        change(change_request(server, &user, &p256, &e256))
            .unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role));
        assert_changed(server, &user, &p256, &e256);
    }
}

#[test]
fn a_257_unit_password_is_refused_before_any_network_traffic() {
    // 127.0.0.9 port 1: nothing listens there; an input error must come first.
    let mut config = ClientConfig::default().with_timeout(Duration::from_secs(2));
    config.port = 1;
    for p in [long_password(257, false), long_password(257, true)] {
        assert_eq!(p.encode_utf16().count(), 257);
        let req = ChangePassword::new(
            "127.0.0.9",
            "nobody",
            Secret::Password(Password::from(OLD)),
            Password::from(p.as_str()),
        )
        .with_iterations(5_000)
        .with_config(config.clone());
        let t = Instant::now();
        let e = change(req).expect_err("257 units accepted");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
        assert_eq!(e.operation(), Operation::Input, "{e:?}");
        assert_eq!(e.exit_code(), 2);
        assert!(e.message().contains("257"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(1), "took {:?}", t.elapsed());
    }
    // The same with a server that is up: still an input error, and the account is untouched.
    require_servers();
    let user = unique_user("chl");
    add_user(DC, &user, OLD, false);
    let e = change(change_request(DC, &user, OLD, &long_password(257, false)))
        .expect_err("257 units accepted");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    assert_login_ok(DC, &user, OLD);
}

#[test]
fn change_over_ipv6_and_by_host_name() {
    require_servers();
    for host in ["::1", "[::1]", "localhost"] {
        let user = unique_user("ch6");
        add_user(DC, &user, OLD, false);
        let mut req = change_request(DC, &user, OLD, NEW);
        req.host = host.to_owned();
        let o = change(req).unwrap_or_else(|e| panic!("host {host}: {e:?}"));
        assert_eq!(o.method, Method::ChangeUser4);
        assert_eq!(o.session.kind, SessionKind::Authenticated);
        assert_eq!(o.session.dialect.map(|d| d.name()), Some("3.1.1"));
        assert!(o.session.signing);
        assert_changed(DC, &user, OLD, NEW);
    }
}

#[test]
fn nothing_listening_and_a_silent_server_fail_fast_as_network_errors() {
    // Port 1 on the DC's address: refused at once.
    let mut req = change_request(DC, "bob", OLD, NEW);
    req.config.port = 1;
    req.config = req.config.with_timeout(Duration::from_secs(3));
    let t = Instant::now();
    let e = change(req).expect_err("nothing listens on port 1");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(e.kind(), ErrorKind::Network, "{e:?}");
    assert_eq!(e.operation(), Operation::Connect, "{e:?}");
    assert_eq!(e.exit_code(), 3);

    // A listener that accepts and never answers: the request timeout applies.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    let mut req = change_request(DC, "bob", OLD, NEW);
    req.config.port = port;
    req.config = req.config.with_timeout(Duration::from_secs(2));
    let t = Instant::now();
    let e = change(req).expect_err("a silent server cannot change anything");
    let elapsed = t.elapsed();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    assert_eq!(e.operation(), Operation::Negotiate, "{e:?}");
    assert_eq!(e.exit_code(), 3);
    assert!(elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(5), "{elapsed:?}");
}

/// The DC's smb.conf.
fn dc_conf() -> std::path::PathBuf {
    std::env::var_os("SAMRPC_SAMBA_DIR")
        .map_or_else(|| std::path::PathBuf::from("/tmp/samrpc-samba"), std::path::PathBuf::from)
        .join("dc/etc/smb.conf")
}

fn samba_tool(args: &[&str]) -> std::process::Output {
    std::process::Command::new("samba-tool")
        .args(args)
        .arg("-s")
        .arg(dc_conf())
        .output()
        .expect("run samba-tool")
}

/// A fine-grained password policy on the DC whose passwords expire after two seconds
/// (samba-tool counts in days, so msDS-MaximumPasswordAge is set through Samba's Python
/// bindings).
const PSO: &str = "samrpc-itest-expire-fast";

fn ensure_fast_expiry_pso() {
    if !samba_tool(&["domain", "passwordsettings", "pso", "show", PSO]).status.success() {
        let o = samba_tool(&[
            "domain",
            "passwordsettings",
            "pso",
            "create",
            PSO,
            "10",
            "--max-pwd-age=1",
            "--min-pwd-age=0",
            "--min-pwd-length=7",
            "--history-length=0",
            "--complexity=on",
        ]);
        // Another run may have created it meanwhile.
        assert!(
            o.status.success()
                || samba_tool(&["domain", "passwordsettings", "pso", "show", PSO]).status.success(),
            "pso create: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let script = r#"
import sys, ldb
from samba.samdb import SamDB
from samba.param import LoadParm
from samba.auth import system_session
lp = LoadParm(); lp.load(sys.argv[1])
db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
res = db.search(base=db.domain_dn(), expression="(cn=%s)" % sys.argv[2], attrs=["dn"])
m = ldb.Message(); m.dn = res[0].dn
m["a"] = ldb.MessageElement("-20000000", ldb.FLAG_MOD_REPLACE, "msDS-MaximumPasswordAge")
db.modify(m)
"#;
    // Samba's bindings belong to the system Python.
    let python = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let o = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(dc_conf())
        .arg(PSO)
        .output()
        .expect("run python3");
    assert!(
        o.status.success(),
        "setting the PSO's maximum age: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn an_expired_password_is_changed_over_an_automatic_anonymous_session() {
    require_servers();
    ensure_fast_expiry_pso();
    let user = unique_user("che");
    add_user(DC, &user, OLD, false);
    let o = samba_tool(&["domain", "passwordsettings", "pso", "apply", PSO, &user]);
    assert!(o.status.success(), "pso apply: {}", String::from_utf8_lossy(&o.stderr));
    std::thread::sleep(Duration::from_secs(3));
    // The password has expired (not "must change": a different status, the same retry).
    assert_login_fails(DC, &user, OLD, "NT_STATUS_PASSWORD_EXPIRED");
    let result = change(change_request(DC, &user, OLD, NEW));
    // Lift the two-second expiry before checking the logons.
    let o = samba_tool(&["domain", "passwordsettings", "pso", "unapply", PSO, &user]);
    assert!(o.status.success(), "pso unapply: {}", String::from_utf8_lossy(&o.stderr));
    let o = result.unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(o.method, Method::ChangeUser4);
    assert_eq!(o.session.kind, SessionKind::Anonymous);
    assert_changed(DC, &user, OLD, NEW);
}

#[test]
fn anonymous_refusal_hint_reads_as_one_sentence() {
    require_servers();
    let user = unique_user("zb");
    add_user(S3, &user, "Old-Pass-1!", false);
    let mut req = change_request(S3, &user, "Old-Pass-1!", "New-Pass-2!");
    req.session = ChangeSession::Anonymous;
    let e = block_on(change_password(req)).unwrap_err();
    let hint = e.hint().unwrap();
    assert!(!hint.contains("  "), "hint has runs of spaces: {hint:?}");
}

#[test]
fn must_change_on_s3_keeps_the_servers_status() {
    require_servers();
    let user = unique_user("zc");
    add_user(S3, &user, "Old-Pass-1!", true);
    let e = block_on(change_password(change_request(S3, &user, "Old-Pass-1!", "New-Pass-2!")))
        .unwrap_err();
    assert_eq!(e.status(), Some(NtStatus::STATUS_ACCESS_DENIED), "{e:?}");
}
