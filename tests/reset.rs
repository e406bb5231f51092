//! Administrator resets through the library against the real Samba servers: on the DC by the
//! domain's Administrator and on every standalone server by its own Administrator, with and
//! without must-change, and the refusals (policy, unknown account, non-administrator,
//! anonymous). Every success is proven with Samba's own client.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use samrpc::api::{Method, Outcome, ResetPassword, SessionKind, change_password, reset_password};
use samrpc::{Credentials, ErrorKind, NtStatus, Operation, Password};

const OLD: &str = "Old-Pass-1!";
const NEW: &str = "Reset-Pass-3!";

fn reset_request(server: Server, user: &str, new: &str, must_change: bool) -> ResetPassword {
    ResetPassword::new(
        server.ip.to_owned(),
        user.to_owned(),
        admin_credentials(server),
        Password::from(new),
    )
    .with_must_change(must_change)
}

fn reset(req: ResetPassword) -> Result<Outcome, samrpc::Error> {
    block_on(reset_password(req))
}

#[test]
fn administrators_reset_on_every_server() {
    require_servers();
    for server in ALL {
        let user = unique_user("rst");
        add_user(server, &user, OLD, false);
        let o = reset(reset_request(server, &user, NEW, false))
            .unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role));
        assert_eq!(o.method, Method::SetInternal7, "{}", server.ip);
        assert_eq!(o.status, NtStatus::STATUS_SUCCESS);
        assert_eq!(o.iterations, None);
        assert_eq!(o.session.kind, SessionKind::Authenticated);
        assert_eq!(
            o.session.dialect.map(|d| d.name()),
            Some(expected_dialect(server)),
            "{}",
            server.ip
        );
        let encrypted = server.ip == S3.ip;
        assert_eq!(o.session.encryption, encrypted);
        assert_eq!(o.session.signing, !encrypted);
        assert_login_ok(server, &user, NEW);
        assert_login_fails(server, &user, OLD, "NT_STATUS_LOGON_FAILURE");
    }
}

#[test]
fn administrator_without_a_domain_uses_the_announced_one() {
    require_servers();
    for server in [DC, S2] {
        let user = unique_user("rsn");
        add_user(server, &user, OLD, false);
        let mut req = reset_request(server, &user, NEW, false);
        req.admin =
            Credentials::password("Administrator", None, Password::from(admin_password().as_str()));
        reset(req).unwrap_or_else(|e| panic!("{}: {e:?}", server.ip));
        assert_login_ok(server, &user, NEW);
        assert_login_fails(server, &user, OLD, "NT_STATUS_LOGON_FAILURE");
    }
}

#[test]
fn reset_with_must_change_expires_the_new_password() {
    require_servers();
    for server in ALL {
        let user = unique_user("rsm");
        add_user(server, &user, OLD, false);
        let o = reset(reset_request(server, &user, NEW, true))
            .unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role));
        assert_eq!(o.method, Method::SetInternal7);
        // The new password is right but expired: the server says so instead of logging on.
        assert_login_fails(server, &user, NEW, "NT_STATUS_PASSWORD_MUST_CHANGE");
        assert_login_fails(server, &user, OLD, "NT_STATUS_LOGON_FAILURE");
        // The user can then change it (automatic anonymous retry) where anonymous sessions
        // are allowed.
        if !refuses_anonymous(server) {
            let after = "After-Reset-4!";
            let o = block_on(change_password(change_request(server, &user, NEW, after)))
                .unwrap_or_else(|e| panic!("{}: {e:?}", server.ip));
            assert_eq!(o.session.kind, SessionKind::Anonymous);
            assert_login_ok(server, &user, after);
            assert_login_fails(server, &user, NEW, "NT_STATUS_LOGON_FAILURE");
        }
    }
}

#[test]
fn reset_clears_must_change() {
    require_servers();
    for server in [DC, S2] {
        let user = unique_user("rsc");
        add_user(server, &user, OLD, true);
        assert_login_fails(server, &user, OLD, "NT_STATUS_PASSWORD_MUST_CHANGE");
        reset(reset_request(server, &user, NEW, false)).unwrap();
        assert_login_ok(server, &user, NEW);
    }
}

#[test]
fn reset_refusals() {
    require_servers();
    // Policy: the DC wants 7 characters and complexity.
    let user = unique_user("rsr");
    add_user(DC, &user, OLD, false);
    let e = reset(reset_request(DC, &user, "abc", false)).expect_err("policy not enforced");
    assert_eq!(e.kind(), ErrorKind::ServerRefused, "{e:?}");
    assert_eq!(e.status(), Some(NtStatus::STATUS_PASSWORD_RESTRICTION), "{e:?}");
    assert!(e.hint().unwrap().contains("minimum length 7"), "{e:?}");
    assert_login_ok(DC, &user, OLD);

    // No such account.
    for server in [DC, S2] {
        let e = reset(reset_request(server, "no-such-user-samrpc", NEW, false))
            .expect_err("unknown user reset");
        assert_eq!(e.kind(), ErrorKind::ServerRefused, "{e:?}");
        assert_eq!(e.status(), Some(NtStatus::STATUS_NONE_MAPPED), "{e:?}");
        assert!(e.hint().unwrap().contains("no-such-user-samrpc"), "{e:?}");
    }

    // A plain user may not reset someone else's password.
    for server in [DC, S2] {
        let victim = unique_user("rsv");
        let plain = unique_user("rsp");
        add_user(server, &victim, OLD, false);
        add_user(server, &plain, OLD, false);
        let mut req = reset_request(server, &victim, NEW, false);
        req.admin = Credentials::password(
            plain.clone(),
            Some(server.domain.to_owned()),
            Password::from(OLD),
        );
        let e = reset(req).expect_err("a plain user reset a password");
        assert_eq!(e.kind(), ErrorKind::ServerRefused, "{}: {e:?}", server.ip);
        assert_eq!(e.status(), Some(NtStatus::STATUS_ACCESS_DENIED), "{}: {e:?}", server.ip);
        assert_login_ok(server, &victim, OLD);
    }

    // An anonymous session has no session key to protect the new password with.
    let mut req = reset_request(S2, &user, NEW, false);
    req.admin = Credentials::Anonymous;
    let e = reset(req).expect_err("anonymous reset");
    assert_eq!(e.kind(), ErrorKind::Security, "{e:?}");
    assert_eq!(e.exit_code(), 3);

    // The administrator's wrong password fails at the session setup.
    let mut req = reset_request(DC, &user, NEW, false);
    req.admin =
        Credentials::password("Administrator", Some("SAMR".into()), "Wrong-Admin-1!".into());
    let e = reset(req).expect_err("wrong admin password");
    assert_eq!(e.operation(), Operation::SessionSetup, "{e:?}");
    assert_eq!(e.status(), Some(NtStatus::STATUS_LOGON_FAILURE), "{e:?}");
    assert_login_ok(DC, &user, OLD);
}

#[test]
fn a_256_unit_password_can_be_set_by_reset() {
    require_servers();
    for server in [DC, S2, S3] {
        let user = unique_user("rsl");
        let p = format!("Aa1!{}", "y".repeat(252));
        add_user(server, &user, OLD, false);
        reset(reset_request(server, &user, &p, false))
            .unwrap_or_else(|e| panic!("{}: {e:?}", server.ip));
        assert_login_ok(server, &user, &p);
        assert_login_fails(server, &user, OLD, "NT_STATUS_LOGON_FAILURE");
    }
    // 257 units: refused before connecting (nothing listens on port 1 of 127.0.0.9).
    let mut req = reset_request(DC, "nobody", &format!("Aa1!{}", "y".repeat(253)), false);
    req.host = "127.0.0.9".into();
    req.config.port = 1;
    let e = reset(req).expect_err("257 units accepted");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    assert_eq!(e.operation(), Operation::Input, "{e:?}");
}
