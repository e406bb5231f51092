//! Secrets stay secret: no password, NT hash or key in `Debug`, `Display`, error messages or
//! TRACE-level logs of a whole change and reset against the real DC (tests/samba/samba.sh);
//! the secret types wipe themselves; signature and MAC comparisons are constant-time; the CLI
//! takes no password from argv, logs none at `-vv`, and warns about environment variables.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{DC, add_user, assert_clean, assert_login_ok, unique_user};
use samrpc::api::{ChangePassword, ChangeSession, ResetPassword, change_password, reset_password};
use samrpc::auth::{NtlmCredentials, NtlmSecret, SpnegoNtlm};
use samrpc::crypto::nt_hash;
use samrpc::secret::{Key16, Key32, Key64, SecretBytes};
use samrpc::{ClientConfig, Credentials, Error, NtHash, Password, Secret, SessionKey};
use std::time::Duration;
use zeroize::{Zeroize, ZeroizeOnDrop};

fn config() -> ClientConfig {
    ClientConfig::default().with_timeout(Duration::from_secs(20))
}

/// `samrpc passwd` and `samrpc reset` at `-vv` (trace) print no secret on either stream.
#[cfg(feature = "cli")]
#[test]
fn cli_trace_output_contains_no_secret() {
    use common::admin_password;
    use std::io::Write;
    use std::process::{Command, Stdio};
    let user = unique_user("scc");
    let (old, new, reset) = ("Old-Cli-Xyzzy-1!", "New-Cli-Plugh-2!", "Reset-Cli-Frob-3!");
    let admin = admin_password();
    add_user(DC, &user, old, false);
    let run = |args: &[&str], input: String| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_samrpc"))
            .args(args)
            .env_remove("SAMRPC_OLD_PASSWORD")
            .env_remove("SAMRPC_NEW_PASSWORD")
            .env_remove("SAMRPC_ADMIN_PASSWORD")
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let o = child.wait_with_output().unwrap();
        let out = format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.code(), out)
    };
    let (code, out) = run(
        &["passwd", DC.ip, &user, "-vv", "--json", "--iterations", "5000"],
        format!("{old}\n{new}\n"),
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("TRACE") || out.contains("DEBUG"), "no logs at -vv: {out}");
    assert_clean("samrpc passwd -vv", &out, &[old, new, &admin]);
    let (code, out) = run(
        &["reset", DC.ip, &user, "-U", "SAMR\\Administrator", "-vv", "--json"],
        format!("{admin}\n{reset}\n"),
    );
    assert_eq!(code, Some(0), "{out}");
    assert_clean("samrpc reset -vv", &out, &[old, new, reset, &admin]);
    // A failing run (wrong old password) at -vv.
    let (code, out) = run(&["passwd", DC.ip, &user, "-vv", "--json"], format!("{old}\n{new}\n"));
    assert_eq!(code, Some(1), "{out}");
    assert_clean("samrpc passwd -vv (failing)", &out, &[old, new, reset, &admin]);
    assert_login_ok(DC, &user, reset);
}

/// Errors from failing operations (wrong old password, wrong admin password, unreachable
/// server) carry no secret in `Display`, `Debug` or the hint.
#[tokio::test]
async fn errors_of_failing_operations_contain_no_secret() {
    let user = unique_user("sce");
    let (old, wrong, new) = ("Old-Err-Xyzzy-1!", "Wrong-Err-Quux-9!", "New-Err-Plugh-2!");
    add_user(DC, &user, old, false);
    let mut errors: Vec<Error> = Vec::new();
    let change = |old: &str, host: &str, port: u16| {
        ChangePassword::new(
            host,
            user.clone(),
            Secret::Password(Password::from(old)),
            Password::from(new),
        )
        .with_iterations(5000)
        .with_config(config().with_port(port))
    };
    errors.push(change_password(change(wrong, DC.ip, 445)).await.unwrap_err());
    let mut anon = change(wrong, DC.ip, 445);
    anon.session = ChangeSession::Anonymous;
    errors.push(change_password(anon).await.unwrap_err());
    errors.push(change_password(change(wrong, "127.0.0.1", 1)).await.unwrap_err());
    let mut hashed = change(wrong, DC.ip, 445);
    hashed.old = Secret::NtHash(nt_hash(&Password::from(wrong)));
    errors.push(change_password(hashed).await.unwrap_err());
    errors.push(
        reset_password(
            ResetPassword::new(
                DC.ip,
                user.clone(),
                Credentials::password("Administrator", None, Password::from(wrong)),
                Password::from(new),
            )
            .with_config(config()),
        )
        .await
        .unwrap_err(),
    );
    for e in &errors {
        let text = format!("{e} | {e:?} | {:?} | {}", e.hint(), e.message());
        assert_clean("an error", &text, &[old, wrong, new]);
    }
    assert!(errors[0].is_wrong_password() || errors[0].status().is_some(), "{}", errors[0]);
    assert_login_ok(DC, &user, old);
}

/// `Debug` of every public secret-holding type is redacted (and the secret types have no
/// `Display` at all — checked by the compiler: `format!("{}", Password)` does not build).
#[test]
fn debug_of_secret_holding_types_is_redacted() {
    let pw = "Debug-Xyzzy-Secret-1!";
    let p = Password::from(pw);
    let h = nt_hash(&p);
    let hash_hex = hex::encode(h.expose());
    let creds = NtlmCredentials {
        user: "bob".into(),
        domain: Some("SAMR".into()),
        workstation: None,
        secret: NtlmSecret::Password(p.clone()),
    };
    let key_bytes = [0xA5u8; 16];
    let texts = vec![
        format!("{p:?}"),
        format!("{:?}", p.to_utf16le()),
        format!("{h:?}"),
        format!("{:?}", NtHash::from_hex(&hash_hex).unwrap()),
        format!("{:?}", SessionKey::new(key_bytes)),
        format!("{:?}", Key16::new(key_bytes)),
        format!("{:?}", Key32::new([0xA5; 32])),
        format!("{:?}", Key64::new([0xA5; 64])),
        format!("{:?}", SecretBytes::new(pw.as_bytes().to_vec())),
        format!("{:?}", Secret::Password(p.clone())),
        format!("{:?}", Secret::NtHash(h.clone())),
        format!("{:?}", Credentials::password("bob", None, p.clone())),
        format!("{:?}", NtlmSecret::NtHash(h.clone())),
        format!("{creds:?}"),
        format!("{:?}", SpnegoNtlm::new(creds.clone())),
        format!(
            "{:?}",
            ChangePassword::new(
                "h",
                "bob",
                Secret::Password(p.clone()),
                Password::from("New-Debug-Plugh-2!")
            )
        ),
        format!(
            "{:?}",
            ResetPassword::new(
                "h",
                "bob",
                Credentials::password("admin", None, p.clone()),
                Password::from("New-Debug-Plugh-2!")
            )
            .with_must_change(true)
        ),
    ];
    for t in &texts {
        assert_clean("a Debug string", t, &[pw, "New-Debug-Plugh-2!"]);
        assert!(!t.contains("a5a5") && !t.contains("A5A5") && !t.contains("165, 165"), "{t}");
    }
}

/// The secret types wipe themselves: `zeroize()` is observable through `expose()`, and every
/// type carries the `ZeroizeOnDrop` marker (drop-time wiping itself cannot be observed without
/// `unsafe`, which the crate forbids).
#[test]
fn secret_types_zeroize() {
    fn on_drop<T: ZeroizeOnDrop>() {}
    on_drop::<Password>();
    on_drop::<SecretBytes>();
    on_drop::<NtHash>();
    on_drop::<SessionKey>();
    on_drop::<Key16>();
    on_drop::<Key32>();
    on_drop::<Key64>();

    let mut p = Password::from("Wipe-Me-1!");
    p.zeroize();
    assert!(p.expose().is_empty());
    let mut b = SecretBytes::new(vec![7; 40]);
    b.zeroize();
    assert!(b.expose().iter().all(|&x| x == 0));
    let mut h = nt_hash(&Password::from("Wipe-Me-1!"));
    h.zeroize();
    assert_eq!(h.expose(), &[0; 16]);
    let mut k = SessionKey::new([9; 16]);
    k.zeroize();
    assert_eq!(k.expose(), &[0; 16]);
    let mut k = Key32::new([9; 32]);
    k.zeroize();
    assert_eq!(k.expose(), &[0; 32]);
    let mut k = Key64::new([9; 64]);
    k.zeroize();
    assert_eq!(k.expose(), &[0; 64]);
}

/// The non-test part of a source file.
fn source(path: &str) -> String {
    let text = std::fs::read_to_string(common::root().join(path)).unwrap();
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Every signature and MAC check compares in constant time: the verification code paths call
/// `ct_eq` (subtle), and no line compares a signature, MAC, tag or proof with `==`/`!=`. The
/// AEAD tag checks of SMB3 encryption are inside the `aes-gcm`/`ccm` crates'
/// `decrypt_in_place_detached`, which compare in constant time.
#[test]
fn mac_and_signature_comparisons_are_constant_time() {
    let checked = [
        ("src/smb2/signing.rs", true),
        ("src/crypto/samr_aes.rs", true),
        ("src/auth/ntlm/sealer.rs", true),
        ("src/smb2/transform.rs", false),
        ("src/smb2/connection.rs", false),
        ("src/auth/ntlm/client.rs", false),
        ("src/auth/ntlm/crypto.rs", false),
        ("src/dcerpc/auth.rs", false),
    ];
    let words = ["signature", "mac", "tag", "auth_data", "proof", "mic", "expect", "digest"];
    for (path, must_use_ct_eq) in checked {
        let src = source(path);
        if must_use_ct_eq {
            assert!(src.contains("ct_eq("), "{path} verifies a MAC without ct_eq");
        }
        for (n, line) in src.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("").to_lowercase();
            if !(code.contains("==") || code.contains("!=")) || code.contains("len()") {
                continue;
            }
            if let Some(w) = words.iter().find(|w| code.contains(*w)) {
                panic!("{path}:{}: `{}` compares a {w} with ==/!=", n + 1, line.trim());
            }
        }
    }
    assert!(source("src/smb2/transform.rs").contains("decrypt_in_place_detached"));
    // ct_eq itself is subtle's constant-time comparison.
    assert!(source("src/secret.rs").contains("a.ct_eq(b)"));
}

/// No `samrpc` subcommand has an option that takes a password; the only secret accepted in
/// argv is `--old-nt-hash HEX`, which warns (tests/cli.rs `nt_hash_on_the_command_line_warns_about_proc`).
#[cfg(feature = "cli")]
#[test]
fn no_cli_option_takes_a_password() {
    use std::process::Command;
    for sub in ["passwd", "reset", "policy", "users", "doctor"] {
        let o = Command::new(env!("CARGO_BIN_EXE_samrpc")).args([sub, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&o.stdout).to_lowercase();
        for line in help.lines().map(str::trim).filter(|l| l.starts_with('-')) {
            // An option line: "-d, --domain <DOMAIN>", "--json", ...
            let takes_value = line.contains('<');
            if takes_value {
                assert!(
                    !line.contains("password")
                        && !line.contains("secret")
                        && !line.contains("<pass"),
                    "{sub}: option takes a password: {line}"
                );
            }
        }
    }
}

/// A secret taken from an environment variable is warned about (once), naming the risk.
#[cfg(feature = "cli")]
#[test]
fn cli_warns_about_environment_secrets() {
    use std::process::{Command, Stdio};
    let user = unique_user("scv");
    let (old, new) = ("Old-Env-Xyzzy-1!", "New-Env-Plugh-2!");
    add_user(DC, &user, old, false);
    let o = Command::new(env!("CARGO_BIN_EXE_samrpc"))
        .args(["passwd", DC.ip, &user, "--iterations", "5000"])
        .env("SAMRPC_OLD_PASSWORD", old)
        .env("SAMRPC_NEW_PASSWORD", new)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("/proc/PID/environ").count(), 1, "warned once: {err}");
    assert_clean("stderr", &err, &[old, new]);
    assert_login_ok(DC, &user, new);
}
