//! Proof that the test servers are real Samba servers: a freshly created account logs in to
//! each of the five with Samba's own client, and a wrong password is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

#[test]
fn every_server_accepts_a_fresh_user_and_refuses_a_wrong_password() {
    require_servers();
    for server in ALL {
        let user = unique_user("srv");
        let pw = "Fresh-Pass-1!";
        add_user(server, &user, pw, false);
        assert_login_ok(server, &user, pw);
        assert_login_fails(server, &user, "Wrong-Pass-1!", "NT_STATUS_LOGON_FAILURE");
    }
}

#[test]
fn must_change_users_are_refused_with_password_must_change() {
    require_servers();
    for server in [DC, S2] {
        let user = unique_user("mc");
        add_user(server, &user, "Fresh-Pass-1!", true);
        assert_login_fails(server, &user, "Fresh-Pass-1!", "NT_STATUS_PASSWORD_MUST_CHANGE");
    }
}

#[test]
fn the_administrator_logs_in_everywhere() {
    require_servers();
    let pw = admin_password();
    for server in ALL {
        assert_login_ok(server, "Administrator", &pw);
    }
}
