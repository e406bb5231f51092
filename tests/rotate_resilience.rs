//! `samrpc rotate` when things fail (issue 14 item 1, issue 15 item 1), against the real
//! standalone server 127.0.0.2 (tests/samba/samba.sh): a connection cut in the middle of a
//! 40-account run (through the fault proxy of tests/support/fault_proxy.rs), a resumed run,
//! and a results file that stops accepting writes. Every claim about a password is checked by
//! logging in with Samba's own client.
#![cfg(all(feature = "tokio", feature = "cli"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use common::{S2, Server};
use fault_proxy::{Action, Dir, FaultProxy, Seen, is_interim};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

const INITIAL: &str = "Resil-Initial-2026!q";
/// SamrSetInformationUser2.
const OPNUM_SET2: u16 = 58;

fn fresh_users(server: Server, tag: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let u = common::unique_user(tag);
            common::add_user(server, &u, INITIAL, false);
            u
        })
        .collect()
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("samrpc-resil-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `samrpc rotate HOST -U Administrator --users LIST --out OUT` plus `extra`, run through
/// `bash -c` so that a test can put a shell prefix (e.g. `ulimit`) in front of it.
fn rotate_cli(host: &str, list: &Path, out: &Path, extra: &[&str], prefix: &str) -> Output {
    let bin = env!("CARGO_BIN_EXE_samrpc");
    let mut args = vec![
        bin.to_owned(),
        "rotate".into(),
        host.into(),
        "-U".into(),
        "Administrator".into(),
        "--users".into(),
        list.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--json".into(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let quoted: Vec<String> =
        args.iter().map(|a| format!("'{}'", a.replace('\'', "'\\''"))).collect();
    Command::new("bash")
        .arg("-c")
        .arg(format!("{prefix} exec {}", quoted.join(" ")))
        .env("SAMRPC_ADMIN_PASSWORD", common::admin_password())
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// Every parseable line of a results file.
fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn write_list(dir: &Path, users: &[String]) -> PathBuf {
    let list = dir.join("users");
    std::fs::write(&list, users.join("\n") + "\n").unwrap();
    list
}

/// Cut the connection carrying the `n`-th SamrSetInformationUser2: forward the request, then
/// drop the server's answer and close both sides (the reset reached the server, its answer
/// never reached the client: the worst case, outcome unknown until settled).
fn cut_after_nth_set(n: usize) -> fault_proxy::Script {
    let state = Mutex::new((0usize, None::<usize>, false));
    Arc::new(move |seen: &Seen, _: &mut Vec<u8>| {
        let mut st = state.lock().unwrap();
        if st.2 {
            return Action::Forward;
        }
        match seen.dir {
            Dir::ToServer if seen.has_opnum(OPNUM_SET2) => {
                st.0 += 1;
                if st.0 == n {
                    st.1 = Some(seen.conn);
                }
                Action::Forward
            }
            Dir::ToClient if st.1 == Some(seen.conn) && !is_interim(seen) => {
                st.2 = true;
                Action::Close { forward: false }
            }
            _ => Action::Forward,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_mid_run_still_rotates_all_forty() {
    common::require_servers();
    let server = S2;
    let users = fresh_users(server, "rc", 40);
    let dir = scratch("cut");
    let list = write_list(&dir, &users);
    let out = dir.join("out.jsonl");
    let proxy = FaultProxy::start(&format!("{}:445", server.ip), cut_after_nth_set(20)).await;
    let port = proxy.port.to_string();
    let (l, o) = (list.clone(), out.clone());
    let run = tokio::task::spawn_blocking(move || {
        rotate_cli("127.0.0.1", &l, &o, &["--port", &port, "--jobs", "2"], "")
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    let report: Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&run.stdout)));
    assert_eq!(run.status.code(), Some(0), "{report}\n{stderr}\n{}", proxy.describe());
    assert_eq!(report["rotated"], 40, "{report}");
    assert!(report["reconnects"].as_u64().unwrap() >= 1, "the cut was survived: {report}");
    // The proxy saw the cut: one connection more than --jobs, and the cut reset sent twice
    // (the retry with the same password), so 41 sets for 40 accounts.
    let seen = proxy.seen();
    let conns = seen.iter().map(|s| s.conn).max().unwrap();
    assert!(conns >= 3, "a new connection was made: {conns}");
    let sets = seen.iter().filter(|s| s.dir == Dir::ToServer && s.has_opnum(OPNUM_SET2)).count();
    assert_eq!(sets, 41, "{}", proxy.describe());
    // The final file: exactly one line per account, each rotated, mode 0600 (on Unix).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let recs = lines(&out);
    assert_eq!(recs.len(), 40, "one line per account");
    let mut by_user: HashMap<String, Value> = HashMap::new();
    for v in recs {
        let u = v["user"].as_str().unwrap().to_owned();
        assert_eq!(v["state"], "rotated", "{v}");
        assert!(by_user.insert(u, v).is_none(), "an account appears twice");
    }
    for u in &users {
        let v = &by_user[u];
        common::assert_login_ok(server, u, v["password"].as_str().unwrap());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_resumed_run_skips_the_accounts_already_rotated() {
    common::require_servers();
    let server = S2;
    let users = fresh_users(server, "rr", 5);
    let dir = scratch("resume");
    // The first run rotates three of them.
    let first_list = write_list(&dir, &users[..3]);
    let first = dir.join("first.jsonl");
    let o = rotate_cli(server.ip, &first_list, &first, &[], "");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let before: HashMap<String, String> = lines(&first)
        .iter()
        .map(|v| {
            (v["user"].as_str().unwrap().to_owned(), v["password"].as_str().unwrap().to_owned())
        })
        .collect();
    // Simulate an interrupted run on top: the third account's last line is a pending one
    // (its reset may or may not have happened), so it must be done again.
    let pending = format!(
        "{{\"user\":\"{}\",\"state\":\"pending\",\"password\":\"Never-Sent-1!x\"}}\n",
        users[2]
    );
    let mut text = std::fs::read_to_string(&first).unwrap();
    text.push_str(&pending);
    std::fs::write(&first, text).unwrap();
    // The resumed run over all five.
    let all_list = write_list(&dir, &users);
    let second = dir.join("second.jsonl");
    let o = rotate_cli(server.ip, &all_list, &second, &["--resume", first.to_str().unwrap()], "");
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{report} {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(report["resumed"], 2, "{report}");
    assert_eq!(report["rotated"], 5, "{report}");
    let recs = lines(&second);
    assert_eq!(recs.len(), 5, "the new file holds the whole result");
    let after: HashMap<String, String> = recs
        .iter()
        .map(|v| {
            assert_eq!(v["state"], "rotated", "{v}");
            (v["user"].as_str().unwrap().to_owned(), v["password"].as_str().unwrap().to_owned())
        })
        .collect();
    // The two done accounts were not touched: their first-run passwords still log in.
    for u in &users[..2] {
        assert_eq!(after[u], before[u]);
        common::assert_login_ok(server, u, &before[u]);
    }
    // The third (pending) and the two new ones were rotated by the second run.
    assert_ne!(after[&users[2]], before[&users[2]]);
    for u in &users[2..] {
        common::assert_login_ok(server, u, &after[u]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn no_reset_is_sent_after_the_results_file_fails() {
    common::require_servers();
    let server = S2;
    let users = fresh_users(server, "rf", 12);
    let dir = scratch("full");
    let list = write_list(&dir, &users);
    let out = dir.join("out.jsonl");
    // A 1 KiB file size limit (about five accounts' records), with SIGXFSZ ignored so that a
    // write past it fails with EFBIG instead of killing the process.
    let o = rotate_cli(server.ip, &list, &out, &["--jobs", "1"], "trap '' XFSZ; ulimit -f 1;");
    let stderr = String::from_utf8_lossy(&o.stderr);
    let report: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&o.stdout)));
    assert_ne!(o.status.code(), Some(0), "{report}");
    let message = report["error"].to_string() + &report.to_string();
    assert!(message.contains("failed"), "{report}");
    assert!(std::fs::metadata(&out).unwrap().len() <= 1024);
    // The last record of each account that has one.
    let mut last: HashMap<String, Value> = HashMap::new();
    for v in lines(&out) {
        last.insert(v["user"].as_str().unwrap().to_owned(), v);
    }
    assert!(!last.is_empty(), "some accounts were recorded");
    assert!(last.len() < users.len(), "the run stopped: {}", last.len());
    let uncertain: Vec<String> = report["uncertain"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    for u in &users {
        match last.get(u) {
            // Recorded as rotated: the recorded password is the one in force.
            Some(v) if v["state"] == "rotated" => {
                common::assert_login_ok(server, u, v["password"].as_str().unwrap());
            }
            // Pending: the reset was sent, its outcome was not recorded: named as uncertain,
            // and the recorded password is the one in force.
            Some(v) => {
                assert_eq!(v["state"], "pending", "{v}");
                assert!(uncertain.contains(u), "{u} is named as uncertain: {report}");
                common::assert_login_ok(server, u, v["password"].as_str().unwrap());
            }
            // Not recorded: never reset, the old password still works.
            None => {
                assert!(!uncertain.contains(u));
                common::assert_login_ok(server, u, INITIAL);
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
