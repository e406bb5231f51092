//! The logon failures the real Samba AD DC can show, through the library (issue 12): an
//! expired *account*, a disabled account, a locked-out account (a lockout policy set on a
//! test-only account through a fine-grained password policy, never domain-wide), a wrong
//! password in both session modes, a Protected Users member at an NTLM logon, and a host
//! name that cannot resolve. Each asserts the status, the step, the hint and the structured
//! answers (`is_wrong_password`, `advice`).
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use samrpc::api::{ChangeSession, change_password};
use samrpc::{Advice, CredentialsUsed, Error, ErrorKind, NtStatus, Operation};

const OLD: &str = "Old-Pass-1!";
const NEW: &str = "New-Pass-2!";
const WRONG: &str = "Not-The-Pass-1!";

fn dc_conf() -> std::path::PathBuf {
    std::env::var_os("SAMRPC_SAMBA_DIR")
        .map_or_else(|| std::path::PathBuf::from("/tmp/samrpc-samba"), std::path::PathBuf::from)
        .join("dc/etc/smb.conf")
}

/// A change of `user`'s password on the DC in `session` mode; its error.
fn change_fails(user: &str, old: &str, session: ChangeSession) -> Error {
    let req = change_request(DC, user, old, NEW).with_session(session);
    block_on(change_password(req)).expect_err("the change must be refused")
}

/// The logon as the user is refused with `status`: typed, at the session setup, with a hint
/// containing `words`, and not a wrong password.
fn assert_logon_refused(e: &Error, status: NtStatus, words: &str) {
    assert_eq!(e.status(), Some(status), "{e:?}");
    assert_eq!(e.operation(), Operation::SessionSetup, "{e}");
    assert_eq!(e.kind(), ErrorKind::ServerRefused);
    assert!(e.to_string().contains(&status.symbol()), "{e}");
    let hint = e.hint().unwrap_or_else(|| panic!("no hint: {e:?}"));
    assert!(hint.contains(words), "{hint}");
    assert!(!e.is_wrong_password(), "{e:?}");
}

#[test]
fn an_expired_account_is_refused_with_account_expired_and_its_hint() {
    require_servers();
    let user = unique_user("lfx");
    add_user(DC, &user, OLD, false);
    samba_tool(&["user", "setexpiry", &user, "--days=0"]);
    let e = change_fails(&user, OLD, ChangeSession::Auto);
    assert_logon_refused(&e, NtStatus::STATUS_ACCOUNT_EXPIRED, "administrator must extend");
    assert!(e.hint().unwrap().contains("not its password"), "{:?}", e.hint());
    assert_login_fails(DC, &user, OLD, "NT_STATUS_ACCOUNT_EXPIRED");
}

#[test]
fn a_disabled_account_is_refused_with_account_disabled() {
    require_servers();
    let user = unique_user("lfd");
    add_user(DC, &user, OLD, false);
    samba_tool(&["user", "disable", &user]);
    let e = change_fails(&user, OLD, ChangeSession::Auto);
    assert_logon_refused(&e, NtStatus::STATUS_ACCOUNT_DISABLED, "enable");
}

/// A fine-grained password policy that locks an account out after two wrong passwords, for
/// five minutes. Applied only to the test's own accounts (a domain-wide lockout would break
/// the other tests running in parallel).
const LOCKOUT_PSO: &str = "samrpc-itest-lockout";

fn ensure_lockout_pso() {
    let exists = std::process::Command::new("samba-tool")
        .args(["domain", "passwordsettings", "pso", "show", LOCKOUT_PSO, "-s"])
        .arg(dc_conf())
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        let o = std::process::Command::new("samba-tool")
            .args([
                "domain",
                "passwordsettings",
                "pso",
                "create",
                LOCKOUT_PSO,
                "11",
                "--account-lockout-threshold=2",
                "--account-lockout-duration=5",
                "--reset-account-lockout-after=5",
                "-s",
            ])
            .arg(dc_conf())
            .output()
            .expect("run samba-tool");
        // Another run may have created it meanwhile.
        let again = std::process::Command::new("samba-tool")
            .args(["domain", "passwordsettings", "pso", "show", LOCKOUT_PSO, "-s"])
            .arg(dc_conf())
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(o.status.success() || again, "pso create: {}", String::from_utf8_lossy(&o.stderr));
    }
}

#[test]
fn a_locked_out_account_is_refused_with_account_locked_out() {
    require_servers();
    ensure_lockout_pso();
    let user = unique_user("lfl");
    add_user(DC, &user, OLD, false);
    samba_tool(&["domain", "passwordsettings", "pso", "apply", LOCKOUT_PSO, &user]);
    // Two wrong passwords: each is a wrong password, whichever way the server says it.
    for _ in 0..2 {
        let e = change_fails(&user, WRONG, ChangeSession::Auto);
        assert!(e.is_wrong_password(), "{e:?}");
    }
    // Now even the right password is refused: the account is locked out.
    let e = change_fails(&user, OLD, ChangeSession::Auto);
    assert_logon_refused(&e, NtStatus::STATUS_ACCOUNT_LOCKED_OUT, "lockout duration");
    assert!(e.advice().contains(&Advice::ReadPolicy), "{:?}", e.advice());
    // The domain policy's lockout duration is readable anonymously on the DC, and is given
    // as data.
    let policy = block_on(samrpc::api::password_policy(samrpc::api::PolicyRequest::new(
        DC.ip,
        samrpc::Credentials::Anonymous,
    )))
    .expect("the DC's policy is readable anonymously");
    let duration = e.advice().iter().find_map(|a| match a {
        Advice::LockoutDuration(d) => Some(*d),
        _ => None,
    });
    assert_eq!(duration, Some(policy.policy.lockout_duration_secs), "{:?}", e.advice());
    assert_login_fails(DC, &user, OLD, "NT_STATUS_ACCOUNT_LOCKED_OUT");
}

#[test]
fn a_wrong_password_is_a_wrong_password_in_both_modes() {
    require_servers();
    let user = unique_user("lfw");
    add_user(DC, &user, OLD, false);
    // Default mode: the logon as the user fails with STATUS_LOGON_FAILURE.
    let e = change_fails(&user, WRONG, ChangeSession::Auto);
    assert_eq!(e.status(), Some(NtStatus::STATUS_LOGON_FAILURE), "{e:?}");
    assert_eq!(e.operation(), Operation::SessionSetup);
    assert_eq!(e.credentials_used(), CredentialsUsed::TargetAccount);
    assert!(e.is_wrong_password(), "{e:?}");
    assert_eq!(e.kind_name(), "wrong_password");
    assert!(e.advice().contains(&Advice::GiveDomain), "{:?}", e.advice());
    // Anonymous mode: the change call itself answers STATUS_WRONG_PASSWORD.
    let e = change_fails(&user, WRONG, ChangeSession::Anonymous);
    assert_eq!(e.status(), Some(NtStatus::STATUS_WRONG_PASSWORD), "{e:?}");
    assert_eq!(e.operation(), Operation::Call("SamrUnicodeChangePasswordUser4"));
    assert!(e.is_wrong_password());
    assert_eq!(e.kind_name(), "wrong_password");
    assert_login_ok(DC, &user, OLD);
}

#[test]
fn a_protected_users_member_is_refused_at_ntlm_with_the_protected_users_hint() {
    require_servers();
    let user = unique_user("lfp");
    add_user(DC, &user, OLD, false);
    samba_tool(&["group", "addmembers", "Protected Users", &user]);
    let e = change_fails(&user, OLD, ChangeSession::Auto);
    assert_logon_refused(&e, NtStatus::STATUS_ACCOUNT_RESTRICTION, "Protected Users");
    let hint = e.hint().unwrap();
    assert!(hint.contains("NTLM") && hint.contains("Kerberos"), "{hint}");
    assert!(e.advice().contains(&Advice::UseKerberos), "{:?}", e.advice());
}

#[test]
fn a_host_name_that_cannot_resolve_is_a_name_resolution_failure() {
    let req = samrpc::api::ChangePassword::new(
        "no-such-host.invalid",
        "alice",
        samrpc::Secret::Password(samrpc::Password::from(OLD)),
        samrpc::Password::from(NEW),
    );
    let e = block_on(change_password(req)).expect_err("nothing to resolve");
    assert_eq!(e.kind(), ErrorKind::Network, "{e:?}");
    assert_eq!(e.operation(), Operation::Connect);
    assert!(e.to_string().contains("cannot resolve no-such-host.invalid"), "{e}");
    let hint = e.hint().unwrap();
    assert!(hint.contains("name resolution") || hint.contains("resolve"), "{hint}");
    assert!(!hint.contains("445"), "not a port problem: {hint}");
    // The underlying I/O error is reachable.
    use std::error::Error as _;
    assert!(e.source().is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some()), "{e:?}");
    // doctor says the same at its first step.
    let report =
        block_on(samrpc::api::doctor(samrpc::api::DoctorRequest::new("no-such-host.invalid")));
    let steps = &report.steps;
    let first = &steps[0];
    assert!(!first.ok, "{steps:?}");
    assert!(first.name.contains("name resolution"), "{first:?}");
    assert!(first.hint.as_deref().unwrap_or_default().contains("name resolution"), "{first:?}");
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!(report.passwd.possible, Some(false), "{report:?}");
    assert_eq!(report.reset.possible, Some(false), "{report:?}");
}
