//! The `samrpc` binary over `--transport tcp|auto` against the real AD DC: `passwd` sealed at
//! the RPC level, `policy` and `doctor` equal to their SMB results, `reset` refused before
//! anything is sent, `auto` falling back when the SMB port is closed; JSON carries
//! `"transport"`.
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

#[path = "support/cli_run.rs"]
mod cli_run;
use cli_run::{code, json, run};

fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    drop(l);
    p.to_string()
}

#[test]
fn passwd_over_tcp() {
    let user = unique_user("clitcp");
    add_user(DC, &user, "Old-Cli-1!", false);
    let o = run(
        &[
            "passwd",
            DC.ip,
            &user,
            "-d",
            DC.domain,
            "--iterations",
            "5000",
            "--transport",
            "tcp",
            "--json",
        ],
        None,
        &[("SAMRPC_OLD_PASSWORD", "Old-Cli-1!"), ("SAMRPC_NEW_PASSWORD", "New-Cli-2!")],
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["transport"], "ncacn_ip_tcp", "{v}");
    assert_eq!(v["method"], "SamrUnicodeChangePasswordUser4", "{v}");
    assert_eq!((v["signing"].clone(), v["encryption"].clone()), (true.into(), true.into()), "{v}");
    assert_login_ok(DC, &user, "New-Cli-2!");
}

#[test]
fn policy_and_doctor_over_tcp_match_smb() {
    require_servers();
    // The -U account's password (policy, users, doctor read SAMRPC_PASSWORD).
    let admin = [("SAMRPC_PASSWORD", admin_password())];
    let env: Vec<(&str, &str)> = admin.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let policy = |transport: &str| {
        let o = run(
            &["policy", DC.ip, "-U", "SAMR\\Administrator", "--transport", transport, "--json"],
            None,
            &env,
        );
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        json(&o)
    };
    let (smb, tcp) = (policy("smb"), policy("tcp"));
    assert_eq!(smb["transport"], "ncacn_np");
    assert_eq!(tcp["transport"], "ncacn_ip_tcp");
    assert_eq!(smb["policy"], tcp["policy"], "{smb} vs {tcp}");
    let o = run(
        &["doctor", DC.ip, "-U", "SAMR\\Administrator", "--transport", "tcp", "--json"],
        None,
        &env,
    );
    assert_eq!(
        code(&o),
        0,
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    assert_eq!(v["transport"], "ncacn_ip_tcp", "{v}");
    let names: Vec<&str> =
        v["steps"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names[..5],
        ["TCP 135", "endpoint mapper", "authentication", "SAMR bind", "SamrConnect5"]
    );
    let auth = &v["steps"][2]["found"];
    assert!(auth.as_str().unwrap().contains("packet privacy"), "{v}");
    // Over SMB the same checks name the pipe.
    let o = run(&["doctor", DC.ip, "-U", "SAMR\\Administrator", "--json"], None, &env);
    assert_eq!(code(&o), 0);
    assert_eq!(json(&o)["transport"], "ncacn_np");
}

#[test]
fn reset_over_tcp_is_refused_with_the_smb_hint() {
    require_servers();
    let o = run(
        &["reset", DC.ip, "nobody", "-U", "SAMR\\Administrator", "--transport", "tcp", "--json"],
        None,
        &[("SAMRPC_ADMIN_PASSWORD", "x"), ("SAMRPC_NEW_PASSWORD", "New-Cli-2!")],
    );
    assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(v["ok"], false);
    let hint = v["error"]["hint"].as_str().unwrap();
    assert!(hint.contains("SMB"), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("ncacn_ip_tcp"), "{v}");
}

#[test]
fn auto_falls_back_when_the_smb_port_is_closed() {
    require_servers();
    let pw = admin_password();
    let port = closed_port();
    let o = run(
        &[
            "policy",
            DC.ip,
            "-U",
            "SAMR\\Administrator",
            "--transport",
            "auto",
            "--port",
            &port,
            "--json",
        ],
        None,
        &[("SAMRPC_PASSWORD", &pw)],
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&o)["transport"], "ncacn_ip_tcp");
    let o = run(
        &["policy", DC.ip, "-U", "SAMR\\Administrator", "--port", &port, "--json"],
        None,
        &[("SAMRPC_PASSWORD", &pw)],
    );
    assert_eq!(code(&o), 3, "SMB only: the closed port is a network error");
    // doctor follows the same rule, and says resets would need SMB.
    let o = run(
        &[
            "doctor",
            DC.ip,
            "-U",
            "SAMR\\Administrator",
            "--transport",
            "auto",
            "--port",
            &port,
            "--json",
        ],
        None,
        &[("SAMRPC_PASSWORD", &pw)],
    );
    let v = json(&o);
    assert_eq!(code(&o), 0, "{v}");
    assert_eq!(v["transport"], "ncacn_ip_tcp", "{v}");
    let first = &v["steps"][0];
    assert_eq!(first["name"], format!("TCP {port}"), "{v}");
    assert!(first["found"].as_str().unwrap().contains("auto"), "{v}");
    assert_eq!(v["steps"][1]["name"], "TCP 135", "{v}");
    assert!(v["verdicts"].to_string().contains("need SMB"), "{v}");
}

#[test]
fn unknown_transport_is_a_usage_error() {
    let o = run(&["policy", "127.0.0.1", "--anonymous", "--transport", "udp"], None, &[]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("smb, tcp or auto"));
}

/// `passwd -k --transport tcp`: Kerberos at the RPC level (the server named by its DNS name,
/// dialled at `--address`); JSON says `"auth": "kerberos"` over `ncacn_ip_tcp`, and the new
/// password logs in.
#[test]
fn passwd_over_tcp_with_kerberos() {
    krb5_env();
    let user = unique_user("clitcpk");
    add_user(DC, &user, "Old-CliK-1!", false);
    let o = run(
        &[
            "passwd",
            KRB_HOST,
            &user,
            "-k",
            "--address",
            DC.ip,
            "--realm",
            KRB_REALM,
            "--kdc",
            "127.0.0.1",
            "--iterations",
            "5000",
            "--transport",
            "tcp",
            "--json",
        ],
        None,
        &[("SAMRPC_OLD_PASSWORD", "Old-CliK-1!"), ("SAMRPC_NEW_PASSWORD", "New-CliK-2!")],
    );
    assert_eq!(
        code(&o),
        0,
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    assert_eq!(
        (v["transport"].clone(), v["auth"].clone()),
        ("ncacn_ip_tcp".into(), "kerberos".into()),
        "{v}"
    );
    assert_eq!((v["signing"].clone(), v["encryption"].clone()), (true.into(), true.into()), "{v}");
    assert_login_ok(DC, &user, "New-CliK-2!");
}

/// `--epm-port` is the port asked for SAMR's endpoint: nothing listening there is a network
/// error (exit 3) with the TCP advice, and no password changes.
#[test]
fn epm_port_flag_is_used() {
    let user = unique_user("clitcpe");
    add_user(DC, &user, "Old-CliE-1!", false);
    let o = run(
        &[
            "passwd",
            DC.ip,
            &user,
            "-d",
            DC.domain,
            "--transport",
            "tcp",
            "--epm-port",
            &closed_port(),
            "--json",
        ],
        None,
        &[("SAMRPC_OLD_PASSWORD", "Old-CliE-1!"), ("SAMRPC_NEW_PASSWORD", "New-CliE-2!")],
    );
    assert_eq!(code(&o), 3, "{}", String::from_utf8_lossy(&o.stdout));
    let v = json(&o);
    assert!(v["error"]["hint"].to_string().contains("endpoint mapper"), "{v}");
    assert_login_ok(DC, &user, "Old-CliE-1!");
}

/// `doctor -k --transport tcp`: the Kerberos steps ask for `host/HOST` (the TCP service), and
/// the authentication step says Kerberos AES sealing.
#[test]
fn doctor_over_tcp_with_kerberos() {
    krb5_env();
    let admin = admin_password();
    let o = run(
        &[
            "doctor",
            KRB_HOST,
            "-U",
            "Administrator",
            "-k",
            "--address",
            DC.ip,
            "--realm",
            KRB_REALM,
            "--kdc",
            "127.0.0.1",
            "--transport",
            "tcp",
            "--json",
        ],
        None,
        &[("SAMRPC_PASSWORD", admin.as_str())],
    );
    assert_eq!(
        code(&o),
        0,
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let text = json(&o).to_string();
    assert!(text.contains("TGS for host/dc1.samr.test"), "{text}");
    assert!(text.contains("Kerberos, AES-sealed"), "{text}");
    assert!(!text.contains("cifs/"), "{text}");
}
