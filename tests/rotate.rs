//! Bulk rotation (issue 6, goal 4) against the real Samba servers: the library call and the
//! `samrpc rotate` command. Every rotated password is proven by a login with Samba's own
//! client; unknown accounts fail on their own line while the rest are rotated.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{DC, S2, Server};
use samrpc::api::rotate::{RotateRequest, RotateUsers, rotate};
use samrpc::{Credentials, NtStatus, Password};
use std::collections::HashMap;

const INITIAL: &str = "Rotate-Initial-2026!q";

fn fresh_users(server: Server, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let u = common::unique_user("rt");
            common::add_user(server, &u, INITIAL, false);
            u
        })
        .collect()
}

fn admin() -> Credentials {
    Credentials::password("Administrator", None, Password::from(common::admin_password()))
}

async fn rotate_on(server: Server, jobs: usize) {
    common::require_servers();
    let mut users = fresh_users(server, 5);
    users.insert(2, "no_such_user_rt".to_owned());
    let req = RotateRequest::new(server.ip.to_owned(), admin(), RotateUsers::List(users.clone()))
        .with_jobs(jobs)
        .with_length(18);
    let mut got = HashMap::new();
    let mut last = (0, 0);
    let summary = rotate(req, |r, done, total| {
        last = (done, total);
        got.insert(
            r.user.clone(),
            (r.result.is_ok(), r.status(), r.password.as_ref().map(|p| p.expose().to_owned())),
        );
    })
    .await
    .unwrap();
    assert_eq!(last, (6, 6));
    assert_eq!((summary.total, summary.ok), (6, 5), "{}", server.ip);
    assert!(summary.length >= 18);
    let (ok, status, pw) = &got["no_such_user_rt"];
    assert!(!ok && pw.is_none());
    assert_eq!(*status, Some(NtStatus::STATUS_NONE_MAPPED));
    let mut seen = std::collections::HashSet::new();
    for u in users.iter().filter(|u| u.as_str() != "no_such_user_rt") {
        let (ok, status, pw) = &got[u];
        assert!(ok, "{u} on {}: {status:?}", server.ip);
        let pw = pw.as_ref().unwrap();
        assert_eq!(pw.len(), summary.length);
        assert!(!pw.to_lowercase().contains(&u.to_lowercase()));
        assert!(seen.insert(pw.clone()), "passwords repeat");
        common::assert_login_ok(server, u, pw);
        common::assert_login_fails(server, u, INITIAL, "NT_STATUS_LOGON_FAILURE");
    }
    eprintln!("{}: {} flights over {jobs} connections for 6 accounts", server.ip, summary.flights);
    if jobs == 1 {
        // Setup 4 (NEGOTIATE, SESSION_SETUP x2, the open compound), SamrConnect5,
        // EnumerateDomains, LookupDomain, OpenDomain, the policy query, one batched
        // LookupNames, 3 per known account (OpenUser, SetInformationUser2, CloseHandle), and
        // the teardown compound.
        assert_eq!(summary.flights, 4 + 5 + 1 + 5 * 3 + 1, "{}", server.ip);
    }
}

#[tokio::test]
async fn rotate_on_the_dc_with_two_connections() {
    rotate_on(DC, 2).await;
}

#[tokio::test]
async fn rotate_on_the_standalone_server_with_one_connection() {
    rotate_on(S2, 1).await;
}

#[cfg(all(feature = "cli", unix))]
#[test]
fn rotate_command_writes_a_private_results_file() {
    use std::os::unix::fs::PermissionsExt;
    common::require_servers();
    let server = S2;
    let users = fresh_users(server, 3);
    let dir = std::env::temp_dir().join(format!("samrpc-rotate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("users");
    std::fs::write(&list, format!("{}\nno_such_user_rt\n{}\n{}\n", users[0], users[1], users[2]))
        .unwrap();
    let out = dir.join("out.jsonl");
    let _ = std::fs::remove_file(&out);
    let bin = env!("CARGO_BIN_EXE_samrpc");
    let run = || {
        std::process::Command::new(bin)
            .args(["rotate", server.ip, "-U", "Administrator", "--jobs", "2", "--out"])
            .arg(&out)
            .arg("--users")
            .arg(&list)
            .env("SAMRPC_ADMIN_PASSWORD", common::admin_password())
            .output()
            .unwrap()
    };
    let o = run();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "one account fails: {stderr}");
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    for v in &lines {
        let user = v["user"].as_str().unwrap();
        if user == "no_such_user_rt" {
            assert_eq!(v["ok"], false);
            assert_eq!(v["status"], "STATUS_NONE_MAPPED");
            assert!(v["password"].is_null());
        } else {
            assert_eq!(v["ok"], true, "{v}");
            assert_eq!(v["status"], "STATUS_SUCCESS");
            common::assert_login_ok(server, user, v["password"].as_str().unwrap());
        }
    }
    // Never overwrites.
    let o = run();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
    std::fs::remove_dir_all(&dir).unwrap();
}
