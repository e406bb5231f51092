//! The `samrpc` binary from the outside: usage errors exit 2, secrets are never taken from
//! the command line, standard-input lines and environment variables are read as documented,
//! and `--json` prints one object with the contract fields.
//!
//! No server is needed: the network runs point at 127.0.0.1 port 1, where nothing listens, so
//! a run that got past reading its secrets ends with exit code 3 (connection refused). A run
//! that could not read its secrets ends with exit code 2 instead, which is how these tests see
//! what was read.
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::process::Output;

#[path = "support/cli_run.rs"]
mod cli_run;
use cli_run::{code, json, run};
const HOST: &str = "127.0.0.1";
const HASH: &str = "8846F7EAEE8FB117AD06BDD830B7586C";
/// The options that point a run at a port where nothing listens.
const NOWHERE: [&str; 4] = ["--port", "1", "--timeout", "2"];

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn args<'a>(head: &[&'a str]) -> Vec<&'a str> {
    head.iter().copied().chain(NOWHERE).collect()
}

/// A network-level failure: exit 3 and, in JSON, the `network` error kind (nothing listens on
/// port 1: the connection is refused).
fn assert_network_failure(o: &Output) {
    assert_eq!(code(o), 3, "stderr: {}", stderr(o));
    let v = json(o);
    assert_eq!(v["ok"], false);
    let kind = v["error"]["kind"].as_str().unwrap();
    assert_eq!(kind, "network", "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("refused"), "{v}");
}

#[test]
fn usage_errors_exit_2() {
    let cases: &[&[&str]] = &[
        &[],
        &["frobnicate", HOST],
        &["passwd"],
        &["passwd", HOST],
        &["passwd", HOST, "bob", "extra"],
        &["reset", HOST, "bob"],
        &["users", HOST],
        &["policy"],
        &["policy", HOST, "-U", "admin", "--anonymous"],
        &["passwd", HOST, "bob", "--iterations", "4999"],
        &["passwd", HOST, "bob", "--iterations", "1000001"],
        &["passwd", HOST, "bob", "--iterations", "many"],
        &["passwd", HOST, "bob", "--port", "0"],
        &["passwd", HOST, "bob", "--port", "65536"],
        &["passwd", HOST, "bob", "--timeout", "0"],
        &["doctor", HOST, "--bogus"],
    ];
    for a in cases {
        let o = run(a, None, &[]);
        assert_eq!(code(&o), 2, "{a:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{a:?}");
    }
}

#[test]
fn secrets_are_never_options() {
    for opt in ["--password", "--old-password", "--new-password", "--admin-password", "-p"] {
        for cmd in [&["passwd", HOST, "bob"][..], &["reset", HOST, "bob", "-U", "admin"]] {
            let mut a = cmd.to_vec();
            a.extend([opt, "S3cret-Pass!"]);
            let o = run(&a, Some(b"x\ny\n"), &[]);
            assert_eq!(code(&o), 2, "{a:?}");
            assert!(!stdout(&o).contains("S3cret"));
        }
    }
}

#[test]
fn bad_nt_hash_is_a_usage_error() {
    for bad in
        ["zz", &HASH[..31], "8846F7EAEE8FB117AD06BDD830B7586CC", "g846F7EAEE8FB117AD06BDD830B7586C"]
    {
        let o = run(
            &args(&["passwd", HOST, "bob", "--old-nt-hash", bad, "--json"]),
            Some(b"New-Pass-1!\n"),
            &[],
        );
        assert_eq!(code(&o), 2, "{bad}");
        let v = json(&o);
        assert_eq!(v["error"]["kind"], "invalid_input");
        assert!(v["error"]["message"].as_str().unwrap().contains("32 hexadecimal digits"));
        let o = run(
            &args(&["passwd", HOST, "bob", "--json"]),
            Some(b"New-Pass-1!\n"),
            &[("SAMRPC_OLD_NT_HASH", bad)],
        );
        assert_eq!(code(&o), 2, "env {bad}");
        assert!(json(&o)["error"]["message"].as_str().unwrap().contains("SAMRPC_OLD_NT_HASH"));
    }
}

#[test]
fn nt_hash_on_the_command_line_warns_about_proc() {
    let o = run(
        &args(&["passwd", HOST, "bob", "--old-nt-hash", HASH, "--json"]),
        Some(b"New-Pass-1!\n"),
        &[],
    );
    assert_network_failure(&o);
    let err = stderr(&o);
    assert!(err.contains("/proc"), "{err}");
    assert!(err.contains("SAMRPC_OLD_NT_HASH"), "{err}");
    assert!(!err.contains(HASH), "the hash must not be echoed: {err}");
}

#[test]
fn passwd_reads_old_and_new_from_the_first_two_lines() {
    // Two lines: both secrets read, the run reaches the network.
    let o =
        run(&args(&["passwd", HOST, "bob", "--json"]), Some(b"Old-Pass-1!\nNew-Pass-1!\n"), &[]);
    assert_network_failure(&o);
    // CRLF line endings and a missing final newline are fine too.
    let o =
        run(&args(&["passwd", HOST, "bob", "--json"]), Some(b"Old-Pass-1!\r\nNew-Pass-1!"), &[]);
    assert_network_failure(&o);
    // One line: the new password is missing.
    let o = run(&args(&["passwd", HOST, "bob", "--json"]), Some(b"Old-Pass-1!\n"), &[]);
    assert_eq!(code(&o), 2);
    let v = json(&o);
    assert_eq!(v["error"]["kind"], "invalid_input");
    assert!(v["error"]["message"].as_str().unwrap().contains("new password"), "{v}");
    // No standard input at all (not a terminal): no prompt, no hang, a usage error.
    let o = run(&args(&["passwd", HOST, "bob"]), None, &[]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("current password"), "{}", stderr(&o));
    // An empty new password is refused.
    let o = run(&args(&["passwd", HOST, "bob", "--json"]), Some(b"Old-Pass-1!\n\n"), &[]);
    assert_eq!(code(&o), 2);
    assert!(json(&o)["error"]["message"].as_str().unwrap().contains("empty"));
}

#[test]
fn passwd_with_a_hash_reads_only_the_new_password() {
    let o = run(
        &args(&["passwd", HOST, "bob", "--old-nt-hash", HASH, "--json"]),
        Some(b"New-Pass-1!\n"),
        &[],
    );
    assert_network_failure(&o);
    let o = run(
        &args(&["passwd", HOST, "bob", "--json"]),
        Some(b"New-Pass-1!\n"),
        &[("SAMRPC_OLD_NT_HASH", HASH)],
    );
    assert_network_failure(&o);
    // `--old-nt-hash -`: the hash is the first line, the new password the second.
    let line = format!("{}\nNew-Pass-1!\n", HASH.to_lowercase());
    let o = run(
        &args(&["passwd", HOST, "bob", "--old-nt-hash", "-", "--json"]),
        Some(line.as_bytes()),
        &[],
    );
    assert_network_failure(&o);
    assert!(!stderr(&o).contains("/proc/PID/cmdline"), "no argv warning for `-`");
    let o = run(
        &args(&["passwd", HOST, "bob", "--old-nt-hash", "-", "--json"]),
        Some(b"New-Pass-1!\n"),
        &[],
    );
    assert_eq!(code(&o), 2, "`New-Pass-1!` is not a hash");
}

#[test]
fn environment_secrets_warn_once() {
    let env = [("SAMRPC_OLD_PASSWORD", "Old-Pass-1!"), ("SAMRPC_NEW_PASSWORD", "New-Pass-1!")];
    let o = run(&args(&["passwd", HOST, "bob", "--json"]), None, &env);
    assert_network_failure(&o);
    let err = stderr(&o);
    assert_eq!(err.matches("/proc/PID/environ").count(), 1, "{err}");
    // Only the new one in the environment: the old one is the first line of stdin.
    let o = run(&args(&["passwd", HOST, "bob", "--json"]), Some(b"Old-Pass-1!\n"), &[env[1]]);
    assert_network_failure(&o);
    assert!(stderr(&o).contains("/proc/PID/environ"));
    // No environment: no warning.
    let o =
        run(&args(&["passwd", HOST, "bob", "--json"]), Some(b"Old-Pass-1!\nNew-Pass-1!\n"), &[]);
    assert!(!stderr(&o).contains("environ"), "{}", stderr(&o));
}

#[test]
fn reset_reads_admin_then_new_and_always_warns_about_dpapi() {
    let o = run(
        &args(&["reset", HOST, "bob", "-U", "SAMR\\Administrator", "--json"]),
        Some(b"Admin-Pass-1!\nNew-Pass-1!\n"),
        &[],
    );
    assert_network_failure(&o);
    assert!(stderr(&o).contains("DPAPI"));
    let v = json(&o);
    assert_eq!(v["operation"], "reset");
    assert_eq!(v["user"], "bob");
    let o = run(
        &args(&["reset", HOST, "bob", "-U", "admin@SAMR", "--must-change"]),
        Some(b"Admin-Pass-1!\n"),
        &[],
    );
    assert_eq!(code(&o), 2, "the new password is missing");
    assert!(stderr(&o).contains("DPAPI"));
    let env = [("SAMRPC_ADMIN_PASSWORD", "Admin-Pass-1!"), ("SAMRPC_NEW_PASSWORD", "New-Pass-1!")];
    let o = run(&args(&["reset", HOST, "bob", "-U", "admin", "--json"]), None, &env);
    assert_network_failure(&o);
    assert!(stderr(&o).contains("/proc/PID/environ"));
}

#[test]
fn other_commands_read_one_password_unless_anonymous() {
    // Anonymous policy reads nothing.
    let o = run(&args(&["policy", HOST, "--json"]), None, &[]);
    assert_network_failure(&o);
    let o = run(&args(&["policy", HOST, "--anonymous", "--user", "bob", "--json"]), None, &[]);
    assert_network_failure(&o);
    // With -U: SAMRPC_PASSWORD, else the first line.
    let o = run(&args(&["policy", HOST, "-U", "SAMR\\bob", "--json"]), None, &[]);
    assert_eq!(code(&o), 2);
    let o = run(&args(&["policy", HOST, "-U", "SAMR\\bob", "--json"]), Some(b"Pass-1!\n"), &[]);
    assert_network_failure(&o);
    let o = run(
        &args(&["users", HOST, "-U", "bob@SAMR", "--json"]),
        None,
        &[("SAMRPC_PASSWORD", "Pass-1!")],
    );
    assert_network_failure(&o);
    assert_eq!(json(&o)["account"], "SAMR\\bob");
    let o = run(&args(&["users", HOST, "-U", "bob", "--json"]), None, &[]);
    assert_eq!(code(&o), 2);
}

#[test]
fn json_failure_has_the_contract_fields() {
    let o = run(
        &args(&["passwd", HOST, "bob", "-d", "SAMR", "--json"]),
        Some(b"Old-Pass-1!\nNew-Pass-1!\n"),
        &[],
    );
    assert_network_failure(&o);
    let v = json(&o);
    assert_eq!(v["ok"], false);
    assert_eq!(v["operation"], "passwd");
    assert_eq!(v["server"], HOST);
    assert_eq!(v["user"], "bob");
    for k in ["method", "status", "session", "dialect", "signing", "encryption"] {
        assert!(v.get(k).is_some(), "missing {k}: {v}");
    }
    let e = &v["error"];
    assert!(e["kind"].is_string());
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(e.get("hint").is_some());
    // --json: nothing for people on stdout, and the error is not repeated on stderr.
    assert!(!stderr(&o).contains("error:"), "{}", stderr(&o));
}

#[test]
fn human_failure_goes_to_stderr_with_a_hint_when_known() {
    let o = run(&args(&["passwd", HOST, "bob"]), Some(b"Old-Pass-1!\nNew-Pass-1!\n"), &[]);
    assert_eq!(code(&o), 3);
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert!(err.contains("error: Password for bob on 127.0.0.1 was not changed."), "{err}");
}

#[test]
fn secrets_never_reach_the_output() {
    let o = run(
        &args(&["passwd", HOST, "bob", "-vv", "--json"]),
        Some(b"Old-Secret-Xyzzy\nNew-Secret-Plugh\n"),
        &[],
    );
    assert_eq!(code(&o), 3);
    for out in [stdout(&o), stderr(&o)] {
        assert!(!out.contains("Xyzzy") && !out.contains("Plugh"), "{out}");
    }
}

#[test]
fn doctor_exits_1_unless_every_step_passed() {
    let o = run(&args(&["doctor", HOST, "--json"]), None, &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["ok"], false);
    assert_eq!(v["operation"], "doctor");
    assert!(v["steps"].is_array());
    let o = run(&args(&["doctor", HOST]), None, &[]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains('✗'), "{}", stdout(&o));
}

#[test]
fn help_texts() {
    let help = |a: &[&str]| {
        let o = run(a, None, &[]);
        assert_eq!(code(&o), 0, "{a:?}");
        stdout(&o)
    };
    let top = help(&["--help"]);
    for c in ["passwd", "reset", "policy", "users", "doctor"] {
        assert!(top.contains(c), "{top}");
        let h = help(&[c, "--help"]);
        for opt in ["--port", "--timeout", "--json", "--verbose"] {
            assert!(h.contains(opt), "{c} {opt}");
        }
    }
    let reset = help(&["reset", "--help"]);
    assert!(reset.contains("DPAPI") && reset.contains("samrpc passwd"), "{reset}");
    let passwd = help(&["passwd", "--help"]);
    assert!(passwd.contains("STATUS_PASSWORD_EXPIRED") && passwd.contains("anonymous session"));
    assert!(passwd.contains("--iterations") && passwd.contains("random count"));
    assert!(passwd.contains("--allow-rc4") && passwd.contains("Legacy opt-in"));
    let doctor = help(&["doctor", "--help"]);
    assert!(doctor.contains("Exit code"), "{doctor}");
    assert!(!help(&["--version"]).is_empty());
}

#[test]
fn the_domain_is_given_once() {
    // DOMAIN\USER and -d naming different domains is a usage error; the same one is fine.
    let o =
        run(&args(&["passwd", HOST, "SAMR\\bob", "-d", "OTHER", "--json"]), Some(b"a\nb\n"), &[]);
    assert_eq!(code(&o), 2);
    let o =
        run(&args(&["passwd", HOST, "SAMR\\bob", "-d", "samr", "--json"]), Some(b"a\nb\n"), &[]);
    assert_network_failure(&o);
    let v = json(&o);
    assert_eq!(v["user"], "bob");
    assert_eq!(v["account"], "samr\\bob");
    let o =
        run(&args(&["passwd", HOST, "bob@SAMR", "--anonymous", "--json"]), Some(b"a\nb\n"), &[]);
    assert_network_failure(&o);
    assert_eq!(json(&o)["account"], Value::Null);
}
