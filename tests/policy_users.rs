//! Reading the password policy, a user's password state and the user list through the
//! library, checked field by field against Samba's own `rpcclient` (`getdompwinfo`,
//! `samlookupnames`, `enumdomusers`) on the real servers.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use samrpc::api::{
    ListUsersRequest, PolicyRequest, SessionKind, UserEntry, list_users, password_policy,
};
use samrpc::{Credentials, ErrorKind, NtStatus};

/// USER_NORMAL_ACCOUNT.
const NORMAL_ACCOUNT: u32 = 0x10;

#[test]
fn policy_matches_getdompwinfo_on_every_server() {
    require_servers();
    for server in ALL {
        let r = block_on(password_policy(PolicyRequest::new(server.ip, admin_credentials(server))))
            .unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role));
        let (min_len, props) = rpcclient_dompwinfo(server);
        assert_eq!(r.policy.min_length, min_len, "{}", server.ip);
        assert_eq!(r.policy.properties, props, "{}", server.ip);
        assert!(r.domain.eq_ignore_ascii_case(server.domain), "{} vs {}", r.domain, server.domain);
        assert_eq!(r.session.kind, SessionKind::Authenticated);
        assert_eq!(r.session.dialect.map(|d| d.name()), Some(expected_dialect(server)));
        assert!(r.user.is_none());
    }
}

#[test]
fn the_known_policies_of_the_test_servers() {
    require_servers();
    let dc = block_on(password_policy(PolicyRequest::new(DC.ip, admin_credentials(DC)))).unwrap();
    assert_eq!(dc.policy.min_length, 7);
    assert!(dc.policy.complexity());
    assert_eq!(dc.policy.history_length, 0);
    assert_eq!(dc.policy.min_age_secs, 0);
    assert!(dc.policy.describe().contains("minimum length 7"), "{}", dc.policy.describe());
    let s2 = block_on(password_policy(PolicyRequest::new(S2.ip, admin_credentials(S2)))).unwrap();
    assert_eq!(s2.policy.min_length, 5);
    assert!(!s2.policy.complexity());
}

#[test]
fn policy_over_an_anonymous_session() {
    require_servers();
    for server in ALL {
        let r = block_on(password_policy(PolicyRequest::new(server.ip, Credentials::Anonymous)));
        if refuses_anonymous(server) {
            let e = r.expect_err("S3 refuses anonymous sessions");
            assert_eq!(e.kind(), ErrorKind::ServerRefused, "{e:?}");
            assert_eq!(e.status(), Some(NtStatus::STATUS_ACCESS_DENIED), "{e:?}");
            continue;
        }
        let r = r.unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role));
        assert_eq!(r.session.kind, SessionKind::Anonymous);
        assert!(!r.session.signing);
        assert_eq!(r.session.dialect.map(|d| d.name()), Some(expected_dialect(server)));
        let (min_len, props) = rpcclient_dompwinfo(server);
        assert_eq!((r.policy.min_length, r.policy.properties), (min_len, props), "{}", server.ip);
    }
}

#[test]
fn user_state_of_fresh_users() {
    require_servers();
    for server in ALL {
        let user = unique_user("pus");
        add_user(server, &user, "Fresh-Pass-1!", false);
        let r = block_on(password_policy(
            PolicyRequest::new(server.ip, admin_credentials(server)).with_user(&user),
        ))
        .unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role));
        let st = r.user.expect("user state asked for");
        assert_eq!(st.name, user);
        assert_eq!(st.rid, rpcclient_rid(server, &user), "{}", server.ip);
        assert_ne!(st.account_control & NORMAL_ACCOUNT, 0, "0x{:x}", st.account_control);
        assert_eq!(st.account_control & 0x1, 0, "fresh account disabled");
        assert_ne!(st.password_last_set, 0, "a fresh password was set");
        assert_eq!(st.bad_password_count, 0);

        // A must-change account: the password counts as never set.
        let mc = unique_user("pum");
        add_user(server, &mc, "Fresh-Pass-1!", true);
        let r = block_on(password_policy(
            PolicyRequest::new(server.ip, admin_credentials(server)).with_user(&mc),
        ))
        .unwrap();
        let st = r.user.unwrap();
        assert_eq!(st.rid, rpcclient_rid(server, &mc));
        assert_eq!(st.password_last_set, 0, "{}: must-change account", server.ip);
    }
}

#[test]
fn user_state_of_an_unknown_user_is_a_clear_refusal() {
    require_servers();
    let e = block_on(password_policy(
        PolicyRequest::new(DC.ip, admin_credentials(DC)).with_user("no-such-user-samrpc"),
    ))
    .expect_err("unknown user found");
    assert_eq!(e.status(), Some(NtStatus::STATUS_NONE_MAPPED), "{e:?}");
    assert!(e.hint().unwrap().contains("no-such-user-samrpc"));
}

fn ours(server: Server) -> Vec<UserEntry> {
    block_on(list_users(ListUsersRequest::new(server.ip, admin_credentials(server))))
        .unwrap_or_else(|e| panic!("{} ({}): {e:?}", server.ip, server.role))
}

fn pairs(users: &[UserEntry]) -> Vec<(String, u32)> {
    let mut v: Vec<_> = users.iter().map(|u| (u.name.clone(), u.rid)).collect();
    v.sort();
    v
}

#[test]
fn users_match_enumdomusers_on_every_server() {
    require_servers();
    for server in ALL {
        let fresh = unique_user("pul");
        add_user(server, &fresh, "Fresh-Pass-1!", false);
        // Other tests create accounts concurrently: retry until both lists were taken
        // between the same two rpcclient snapshots.
        let mut last = None;
        for _ in 0..5 {
            // samrpc lists every account (ACB mask 0: machine accounts such as DC1$ too);
            // rpcclient's default lists the normal accounts only.
            let before = rpcclient_users(server, true);
            let normal_before = rpcclient_users(server, false);
            let list = ours(server);
            let after = rpcclient_users(server, true);
            let mine = pairs(&list);
            let normal: Vec<UserEntry> =
                list.iter().filter(|u| u.account_control & NORMAL_ACCOUNT != 0).cloned().collect();
            if before == after && mine == before && pairs(&normal) == normal_before {
                last = None;
                let entry = list.iter().find(|u| u.name == fresh).expect("fresh user listed");
                assert_eq!(entry.rid, rpcclient_rid(server, &fresh));
                assert_ne!(entry.account_control & NORMAL_ACCOUNT, 0);
                break;
            }
            last = Some((before, mine, after));
        }
        if let Some((before, mine, after)) = last {
            panic!(
                "{}: samrpc's users differ from rpcclient's\nrpcclient: {before:?}\nsamrpc: {mine:?}\nrpcclient again: {after:?}",
                server.ip
            );
        }
    }
}

/// `samba-tool domain passwordsettings show` on the DC: "Label: value" lines.
fn samba_tool_settings() -> Vec<(String, String)> {
    let conf = std::env::var_os("SAMRPC_SAMBA_DIR")
        .map_or_else(|| std::path::PathBuf::from("/tmp/samrpc-samba"), std::path::PathBuf::from)
        .join("dc/etc/smb.conf");
    let o = std::process::Command::new("samba-tool")
        .args(["domain", "passwordsettings", "show", "-s"])
        .arg(&conf)
        .output()
        .expect("run samba-tool");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "samba-tool failed: {text}{}", String::from_utf8_lossy(&o.stderr));
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

#[test]
fn dc_policy_matches_samba_tool_field_by_field() {
    require_servers();
    let settings = samba_tool_settings();
    let get = |label: &str| -> u64 {
        let v = &settings
            .iter()
            .find(|(k, _)| k == label)
            .unwrap_or_else(|| panic!("{label} missing: {settings:?}"))
            .1;
        v.parse().unwrap_or_else(|e| panic!("{label}: {v:?}: {e}"))
    };
    let complexity = settings.iter().any(|(k, v)| k == "Password complexity" && v == "on");
    let p =
        block_on(password_policy(PolicyRequest::new(DC.ip, admin_credentials(DC)))).unwrap().policy;
    assert_eq!(u64::from(p.min_length), get("Minimum password length"));
    assert_eq!(u64::from(p.history_length), get("Password history length"));
    assert_eq!(p.complexity(), complexity);
    assert_eq!(p.min_age_secs, get("Minimum password age (days)") * 86_400);
    assert_eq!(p.max_age_secs, Some(get("Maximum password age (days)") * 86_400));
    assert_eq!(u64::from(p.lockout_threshold), get("Account lockout threshold (attempts)"));
    assert_eq!(p.lockout_duration_secs, Some(get("Account lockout duration (mins)") * 60));
    assert_eq!(p.lockout_window_secs, get("Reset account lockout after (mins)") * 60);
}
