//! The `samrpc` binary end to end against the real Samba servers: `passwd` (by password, by
//! the old NT hash from the environment or standard input, must-change accounts, anonymous,
//! IPv6), `reset` (with and without `--must-change`), `policy`, `users` and `doctor`, each with
//! `--json` parsed and checked field by field, successes proven with Samba's own client and
//! refusals checked for their exit code, status and hint.
//!
//! Secrets go in through the environment or standard input only, never the command line.
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use serde_json::Value;
use std::process::Output;
use std::time::{Duration, Instant};

#[path = "support/cli_run.rs"]
mod cli_run;
use cli_run::{code, json};
const OLD: &str = "Old-Pass-1!";
const NEW: &str = "New-Pass-2!";
const USER4: &str = "SamrUnicodeChangePasswordUser4";
const SET7: &str = "SamrSetInformationUser2/UserInternal7Information";

/// Run samrpc with `args`, text `stdin` (`None` = /dev/null) and only the given SAMRPC_* variables.
fn run(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    cli_run::run(args, stdin.map(str::as_bytes), env)
}

/// Exit code `expected`, and the JSON object.
fn expect(o: &Output, expected: i32) -> Value {
    let v = json(o);
    assert_eq!(code(o), expected, "{v}\nstderr: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(v["ok"], expected == 0, "{v}");
    v
}

fn passwd_args<'a>(server: &'a Server, user: &'a str) -> Vec<&'a str> {
    vec!["passwd", server.ip, user, "-d", server.domain, "--iterations", "5000", "--json"]
}

fn pw_env<'a>(old: &'a str, new: &'a str) -> [(&'static str, &'a str); 2] {
    [("SAMRPC_OLD_PASSWORD", old), ("SAMRPC_NEW_PASSWORD", new)]
}

fn admin_account(server: Server) -> String {
    format!("{}\\Administrator", server.domain)
}

fn hex_nt_hash(password: &str) -> String {
    samrpc::crypto::nt_hash(&samrpc::Password::from(password))
        .expose()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

fn assert_changed(server: Server, user: &str, old: &str, new: &str) {
    assert_login_ok(server, user, new);
    assert_login_fails(server, user, old, "NT_STATUS_LOGON_FAILURE");
}

/// The JSON fields of a successful authenticated change or reset.
fn assert_success_fields(v: &Value, server: Server, method: &str, session: &str) {
    assert_eq!(v["method"], method, "{v}");
    assert_eq!(v["status"], "STATUS_SUCCESS", "{v}");
    assert_eq!(v["session"], session, "{v}");
    assert_eq!(v["dialect"], expected_dialect(server), "{v}");
    let encrypted = server.ip == S3.ip;
    assert_eq!(v["encryption"], encrypted, "{v}");
    assert_eq!(v["signing"], session == "authenticated" && !encrypted, "{v}");
    assert_eq!(v["server"], server.ip, "{v}");
    assert!(v.get("error").is_none(), "{v}");
}

#[test]
fn passwd_by_password_on_every_server() {
    require_servers();
    for server in ALL {
        let user = unique_user("cp");
        add_user(server, &user, OLD, false);
        let o = run(&passwd_args(&server, &user), None, &pw_env(OLD, NEW));
        let v = expect(&o, 0);
        assert_success_fields(&v, server, USER4, "authenticated");
        assert_eq!(v["operation"], "passwd");
        assert_eq!(v["user"], user.as_str());
        assert_eq!(v["account"], format!("{}\\{user}", server.domain));
        assert_eq!(v["iterations"], 5000);
        assert_changed(server, &user, OLD, NEW);
    }
}

#[test]
fn passwd_from_standard_input_with_default_iterations_and_text_output() {
    require_servers();
    let user = unique_user("cs");
    add_user(DC, &user, OLD, false);
    // No -d: the domain the server announces; no --iterations: the default range.
    let o = run(&["passwd", DC.ip, &user], Some(&format!("{OLD}\n{NEW}\n")), &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), 0, "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains(&format!("Password for {user} on {} changed", DC.ip)), "{out}");
    assert!(out.contains(USER4), "{out}");
    assert!(!String::from_utf8_lossy(&o.stderr).contains("environment"), "no env was used");
    assert_changed(DC, &user, OLD, NEW);

    let user = unique_user("cs");
    add_user(S2, &user, OLD, false);
    let o = run(&["passwd", S2.ip, &user, "--json"], Some(&format!("{OLD}\r\n{NEW}\r\n")), &[]);
    let v = expect(&o, 0);
    let n = v["iterations"].as_u64().unwrap();
    assert!(
        (samrpc::api::DEFAULT_ITERATIONS_MIN..=samrpc::api::DEFAULT_ITERATIONS_MAX).contains(&n),
        "{v}"
    );
    assert_changed(S2, &user, OLD, NEW);
}

#[test]
fn passwd_by_old_nt_hash_from_env_and_stdin() {
    require_servers();
    for server in ALL {
        // SAMRPC_OLD_NT_HASH.
        let user = unique_user("ch");
        add_user(server, &user, OLD, false);
        let hash = hex_nt_hash(OLD);
        let o = run(
            &passwd_args(&server, &user),
            None,
            &[("SAMRPC_OLD_NT_HASH", &hash), ("SAMRPC_NEW_PASSWORD", NEW)],
        );
        let v = expect(&o, 0);
        assert_success_fields(&v, server, USER4, "authenticated");
        assert_changed(server, &user, OLD, NEW);
    }
    // `--old-nt-hash -`: the hash on the first line of standard input, the new password on
    // the second.
    for server in [DC, S4] {
        let user = unique_user("ci");
        add_user(server, &user, OLD, false);
        let mut args = passwd_args(&server, &user);
        args.extend(["--old-nt-hash", "-"]);
        let input = format!("{}\n{NEW}\n", hex_nt_hash(OLD).to_lowercase());
        let v = expect(&run(&args, Some(&input), &[]), 0);
        assert_success_fields(&v, server, USER4, "authenticated");
        assert_changed(server, &user, OLD, NEW);
    }
}

#[test]
fn passwd_for_must_change_accounts() {
    require_servers();
    for server in ALL {
        let user = unique_user("cm");
        add_user(server, &user, OLD, true);
        let o = run(&passwd_args(&server, &user), None, &pw_env(OLD, NEW));
        if refuses_anonymous(server) {
            let v = expect(&o, 1);
            assert_eq!(v["error"]["kind"], "server_refused", "{v}");
            assert_eq!(v["error"]["operation"], "SMB session setup", "{v}");
            let hint = v["error"]["hint"].as_str().unwrap().to_lowercase();
            assert!(hint.contains("anonymous") && hint.contains("encryption"), "{v}");
            assert_login_fails(server, &user, OLD, "NT_STATUS_PASSWORD_MUST_CHANGE");
            continue;
        }
        let v = expect(&o, 0);
        assert_success_fields(&v, server, USER4, "anonymous");
        assert_changed(server, &user, OLD, NEW);
    }
}

#[test]
fn passwd_anonymous() {
    require_servers();
    for server in ALL {
        let user = unique_user("cn");
        add_user(server, &user, OLD, false);
        let mut args = passwd_args(&server, &user);
        args.push("--anonymous");
        let o = run(&args, None, &pw_env(OLD, NEW));
        if refuses_anonymous(server) {
            let v = expect(&o, 1);
            assert_eq!(v["error"]["status"], "STATUS_ACCESS_DENIED", "{v}");
            assert_eq!(v["error"]["operation"], "SMB session setup", "{v}");
            assert_login_ok(server, &user, OLD);
            continue;
        }
        let v = expect(&o, 0);
        assert_success_fields(&v, server, USER4, "anonymous");
        assert_eq!(v["account"], Value::Null, "{v}");
        assert_changed(server, &user, OLD, NEW);
    }
}

#[test]
fn passwd_wrong_old_password() {
    require_servers();
    for server in [DC, S2, S5] {
        let user = unique_user("cw");
        add_user(server, &user, OLD, false);
        // Anonymous: the change call answers STATUS_WRONG_PASSWORD.
        let mut args = passwd_args(&server, &user);
        args.push("--anonymous");
        let v = expect(&run(&args, None, &pw_env("Not-The-Pass-1!", NEW)), 1);
        assert_eq!(v["status"], "STATUS_WRONG_PASSWORD", "{v}");
        assert_eq!(v["error"]["status"], "STATUS_WRONG_PASSWORD", "{v}");
        assert_eq!(v["error"]["kind"], "wrong_password", "{v}");
        assert_eq!(v["error"]["operation"], USER4, "{v}");
        assert!(v["error"]["hint"].is_string(), "{v}");
        // Auto: the logon as the user fails first.
        let v =
            expect(&run(&passwd_args(&server, &user), None, &pw_env("Not-The-Pass-1!", NEW)), 1);
        assert_eq!(v["error"]["status"], "STATUS_LOGON_FAILURE", "{v}");
        assert_eq!(v["error"]["operation"], "SMB session setup", "{v}");
        // The changed account's own logon failed: a wrong password, whichever layer said it.
        assert_eq!(v["error"]["kind"], "wrong_password", "{v}");
        assert!(v["error"]["hint"].as_str().unwrap().contains("-d DOMAIN"), "{v}");
        assert_login_ok(server, &user, OLD);
        assert_login_fails(server, &user, NEW, "NT_STATUS_LOGON_FAILURE");
    }
}

#[test]
fn passwd_policy_violation_on_the_dc() {
    require_servers();
    for bad in ["ab", "abcdefgh"] {
        let user = unique_user("cv");
        add_user(DC, &user, OLD, false);
        let v = expect(&run(&passwd_args(&DC, &user), None, &pw_env(OLD, bad)), 1);
        assert_eq!(v["error"]["kind"], "server_refused", "{v}");
        assert_eq!(v["error"]["status"], "STATUS_PASSWORD_RESTRICTION", "{v}");
        assert!(v["error"]["hint"].as_str().unwrap().contains("minimum length 7"), "{v}");
        assert_login_ok(DC, &user, OLD);
    }
    // Human output: the failure and its hint on standard error.
    let user = unique_user("cv");
    add_user(DC, &user, OLD, false);
    let o = run(&["passwd", DC.ip, &user, "--iterations", "5000"], None, &pw_env(OLD, "ab"));
    assert_eq!(code(&o), 1);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("was not changed") && err.contains("STATUS_PASSWORD_RESTRICTION"),
        "{err}"
    );
    assert!(err.contains("hint:") && err.contains("minimum length 7"), "{err}");
}

#[test]
fn passwd_non_ascii_through_stdin_and_env() {
    require_servers();
    for server in [DC, S2, S3] {
        let user = unique_user("cu");
        let first = "Pässwörd-Ω-1";
        let second = "Emoji-😀-Pw1";
        add_user(server, &user, OLD, false);
        let o = run(&passwd_args(&server, &user), Some(&format!("{OLD}\n{first}\n")), &[]);
        expect(&o, 0);
        assert_changed(server, &user, OLD, first);
        let o = run(&passwd_args(&server, &user), None, &pw_env(first, second));
        expect(&o, 0);
        assert_changed(server, &user, first, second);
    }
}

#[test]
fn passwd_length_limits() {
    require_servers();
    // 256 UTF-16 units (the last character outside the BMP counts twice) works.
    let user = unique_user("cl");
    let p256 = format!("Aa1!{}😀", "z".repeat(250));
    assert_eq!(p256.encode_utf16().count(), 256);
    add_user(DC, &user, OLD, false);
    expect(&run(&passwd_args(&DC, &user), Some(&format!("{OLD}\n{p256}\n")), &[]), 0);
    assert_changed(DC, &user, OLD, &p256);

    // 257 units: exit 2 before any network traffic (nothing listens on 127.0.0.9 port 1).
    let p257 = format!("Aa1!{}😀", "z".repeat(251));
    assert_eq!(p257.encode_utf16().count(), 257);
    let nowhere = ["passwd", "127.0.0.9", "bob", "--port", "1", "--timeout", "2", "--json"];
    let t = Instant::now();
    let v = expect(&run(&nowhere, None, &pw_env(OLD, &p257)), 2);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(v["error"]["kind"], "invalid_input", "{v}");
    assert_eq!(v["error"]["operation"], "input check", "{v}");
    let v = expect(
        &run(
            &["reset", "127.0.0.9", "bob", "-U", "admin", "--port", "1", "--json"],
            None,
            &[("SAMRPC_ADMIN_PASSWORD", "x"), ("SAMRPC_NEW_PASSWORD", &p257)],
        ),
        2,
    );
    assert_eq!(v["error"]["kind"], "invalid_input", "{v}");
}

#[test]
fn nothing_listening_exits_3_quickly() {
    for args in [
        // (--iterations 5000: the PBKDF2 derivation runs before connecting, and the default
        // 100,000+ iterations take seconds in an unoptimised test build.)
        &[
            "passwd",
            "127.0.0.1",
            "bob",
            "--iterations",
            "5000",
            "--port",
            "1",
            "--timeout",
            "3",
            "--json",
        ][..],
        &["reset", "127.0.0.1", "bob", "-U", "admin", "--port", "1", "--timeout", "3", "--json"],
        &["policy", "127.0.0.1", "--port", "1", "--timeout", "3", "--json"],
        &["users", "127.0.0.1", "-U", "admin", "--port", "1", "--timeout", "3", "--json"],
    ] {
        let t = Instant::now();
        let o = run(
            args,
            None,
            &[
                ("SAMRPC_OLD_PASSWORD", OLD),
                ("SAMRPC_NEW_PASSWORD", NEW),
                ("SAMRPC_ADMIN_PASSWORD", OLD),
                ("SAMRPC_PASSWORD", OLD),
            ],
        );
        let elapsed = t.elapsed();
        let v = expect(&o, 3);
        assert!(elapsed < Duration::from_secs(3), "{args:?} took {elapsed:?}");
        assert_eq!(v["error"]["kind"], "network", "{v}");
        assert_eq!(v["error"]["operation"], "connect", "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("refused"), "{v}");
        assert!(v["error"]["hint"].as_str().unwrap().contains("port"), "{v}");
    }
}

#[test]
fn passwd_over_ipv6_and_localhost() {
    require_servers();
    for host in ["::1", "localhost"] {
        let user = unique_user("c6");
        add_user(DC, &user, OLD, false);
        let o = run(
            &["passwd", host, &user, "-d", "SAMR", "--iterations", "5000", "--json"],
            None,
            &pw_env(OLD, NEW),
        );
        let v = expect(&o, 0);
        assert_eq!(v["method"], USER4, "{v}");
        assert_eq!(v["session"], "authenticated", "{v}");
        assert_changed(DC, &user, OLD, NEW);
    }
}

#[test]
fn reset_and_reset_must_change() {
    require_servers();
    for server in ALL {
        let user = unique_user("cr");
        add_user(server, &user, OLD, false);
        let admin = admin_account(server);
        let env =
            [("SAMRPC_ADMIN_PASSWORD", admin_password()), ("SAMRPC_NEW_PASSWORD", NEW.into())];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let o = run(&["reset", server.ip, &user, "-U", &admin, "--json"], None, &env);
        let v = expect(&o, 0);
        assert_success_fields(&v, server, SET7, "authenticated");
        assert_eq!(v["operation"], "reset");
        assert_eq!(v["must_change"], false, "{v}");
        assert_eq!(v["account"], admin.as_str(), "{v}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("DPAPI"), "the reset warning");
        assert_changed(server, &user, OLD, NEW);

        // --must-change, secrets on standard input.
        let again = "Again-Pass-5!";
        let o = run(
            &["reset", server.ip, &user, "-U", &admin, "--must-change", "--json"],
            Some(&format!("{}\n{again}\n", admin_password())),
            &[],
        );
        let v = expect(&o, 0);
        assert_success_fields(&v, server, SET7, "authenticated");
        assert_eq!(v["must_change"], true, "{v}");
        assert_login_fails(server, &user, again, "NT_STATUS_PASSWORD_MUST_CHANGE");
        assert_login_fails(server, &user, NEW, "NT_STATUS_LOGON_FAILURE");
    }
}

#[test]
fn reset_refused_for_a_wrong_admin_password_and_an_unknown_user() {
    require_servers();
    let user = unique_user("cz");
    add_user(DC, &user, OLD, false);
    let admin = admin_account(DC);
    let v = expect(
        &run(
            &["reset", DC.ip, &user, "-U", &admin, "--json"],
            None,
            &[("SAMRPC_ADMIN_PASSWORD", "Wrong-Admin-1!"), ("SAMRPC_NEW_PASSWORD", NEW)],
        ),
        1,
    );
    assert_eq!(v["error"]["status"], "STATUS_LOGON_FAILURE", "{v}");
    assert_login_ok(DC, &user, OLD);
    let pw = admin_password();
    let v = expect(
        &run(
            &["reset", DC.ip, "no-such-user-samrpc", "-U", &admin, "--json"],
            None,
            &[("SAMRPC_ADMIN_PASSWORD", &pw), ("SAMRPC_NEW_PASSWORD", NEW)],
        ),
        1,
    );
    assert_eq!(v["error"]["status"], "STATUS_NONE_MAPPED", "{v}");
    assert!(v["error"]["hint"].as_str().unwrap().contains("no-such-user-samrpc"), "{v}");
}

#[test]
fn policy_json_matches_getdompwinfo() {
    require_servers();
    let pw = admin_password();
    for server in [DC, S2] {
        let (min_len, props) = rpcclient_dompwinfo(server);
        let admin = admin_account(server);
        let user = unique_user("cq");
        add_user(server, &user, OLD, false);
        let o = run(
            &["policy", server.ip, "-U", &admin, "--user", &user, "--json"],
            None,
            &[("SAMRPC_PASSWORD", &pw)],
        );
        let v = expect(&o, 0);
        assert_eq!(v["operation"], "policy");
        assert_eq!(v["session"], "authenticated", "{v}");
        assert_eq!(v["dialect"], expected_dialect(server), "{v}");
        assert_eq!(v["domain"].as_str().unwrap().to_uppercase(), server.domain, "{v}");
        let p = &v["policy"];
        assert_eq!(p["min_length"], min_len, "{v}");
        assert_eq!(p["properties"], props, "{v}");
        assert_eq!(p["complexity"], props & 1 != 0, "{v}");
        if props & 1 != 0 {
            assert!(
                p["property_names"].as_array().unwrap().contains(&"DOMAIN_PASSWORD_COMPLEX".into())
            );
        }
        let st = &v["user_state"];
        assert_eq!(st["name"], user.as_str(), "{v}");
        assert_eq!(st["rid"], rpcclient_rid(server, &user), "{v}");
        assert_eq!(st["bad_password_count"], 0, "{v}");
        assert_ne!(st["account_control"].as_u64().unwrap() & 0x10, 0, "{v}");
        assert!(st["password_last_set"].is_string(), "{v}");

        // Anonymous (the default without -U) reads the same policy.
        let v = expect(&run(&["policy", server.ip, "--json"], None, &[]), 0);
        assert_eq!(v["session"], "anonymous", "{v}");
        assert_eq!(v["policy"]["min_length"], min_len, "{v}");
        assert_eq!(v["policy"]["properties"], props, "{v}");
    }
}

#[test]
fn users_json_matches_enumdomusers() {
    require_servers();
    let pw = admin_password();
    // Every account (samrpc's default) against `enumdomusers` with ACB mask 0, and
    // `--kind normal` against rpcclient's own default (normal accounts only).
    for (kind, all_accounts) in [(None, true), (Some("normal"), false)] {
        for server in [DC, S2] {
            let fresh = unique_user("cy");
            add_user(server, &fresh, OLD, false);
            let admin = admin_account(server);
            let mut args = vec!["users", server.ip, "-U", &admin, "--json"];
            if let Some(k) = kind {
                args.extend(["--kind", k]);
            }
            let mut last = None;
            for _ in 0..8 {
                let before = rpcclient_users(server, all_accounts);
                let v = expect(&run(&args, None, &[("SAMRPC_PASSWORD", &pw)]), 0);
                let after = rpcclient_users(server, all_accounts);
                let mut ours: Vec<(String, u32)> = v["users"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| {
                        (
                            u["name"].as_str().unwrap().to_owned(),
                            u32::try_from(u["rid"].as_u64().unwrap()).unwrap(),
                        )
                    })
                    .collect();
                ours.sort();
                // Samba's SAMR worker caches the enumeration for a few seconds, for every
                // client alike: a list without the fresh account is stale, so wait and retry.
                if before == after && ours == before && ours.iter().any(|(n, _)| *n == fresh) {
                    assert_eq!(v["kind"], kind.unwrap_or("all"), "{v}");
                    last = None;
                    break;
                }
                last = Some((before, ours));
                std::thread::sleep(Duration::from_secs(2));
            }
            if let Some((theirs, ours)) = last {
                panic!(
                    "{} {kind:?} (fresh {fresh}): rpcclient {theirs:?}\nsamrpc {ours:?}",
                    server.ip
                );
            }
        }
    }
    // --kind computer on the DC: its own computer account, and only computer accounts.
    let v = expect(
        &run(
            &["users", DC.ip, "-U", &admin_account(DC), "--kind", "computer", "--json"],
            None,
            &[("SAMRPC_PASSWORD", &pw)],
        ),
        0,
    );
    let users = v["users"].as_array().unwrap();
    assert!(users.iter().any(|u| u["name"].as_str().unwrap().eq_ignore_ascii_case("DC1$")), "{v}");
    for u in users {
        let uac = u["account_control"].as_u64().unwrap();
        assert!(uac & 0x180 != 0, "not a computer account: {u}");
    }
}

#[test]
fn doctor_checks() {
    require_servers();
    // Authenticated on the DC, with --user: every step passes, opnum 73 implemented.
    let user = unique_user("cd");
    add_user(DC, &user, OLD, false);
    let pw = admin_password();
    let o = run(
        &["doctor", DC.ip, "-U", &admin_account(DC), "--user", &user, "--json"],
        None,
        &[("SAMRPC_PASSWORD", &pw)],
    );
    let v = expect(&o, 0);
    let steps = v["steps"].as_array().unwrap();
    assert!(steps.len() >= 10, "{v}");
    for s in steps {
        assert_eq!(s["ok"], true, "{s}");
    }
    let names: Vec<&str> = steps.iter().map(|s| s["name"].as_str().unwrap()).collect();
    for want in ["TCP 445", "SMB dialect", "authentication", "IPC$", "SAMR bind", "user"] {
        assert!(names.contains(&want), "{want} missing: {names:?}");
    }
    let op73 = steps.iter().find(|s| s["name"].as_str().unwrap().contains("opnum 73")).unwrap();
    assert!(op73["found"].as_str().unwrap().contains("implemented"), "{op73}");
    // Separate verdicts: as an administrator on the DC both paths are open.
    assert_eq!(v["verdicts"]["passwd"]["possible"], true, "{v}");
    assert_eq!(v["verdicts"]["reset"]["possible"], true, "{v}");
    let u = steps.iter().find(|s| s["name"] == "user").unwrap();
    let rid = rpcclient_rid(DC, &user);
    assert!(u["found"].as_str().unwrap().contains(&format!("RID {rid}")), "{u}");

    // Human output.
    let o = run(&["doctor", DC.ip, "-U", &admin_account(DC)], Some(&format!("{pw}\n")), &[]);
    assert_eq!(code(&o), 0);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("✓ AES password change (opnum 73)") && !out.contains('✗'), "{out}");

    // Anonymous against the encrypted server: the authentication step fails.
    let v = expect(&run(&["doctor", S3.ip, "--json"], None, &[]), 1);
    let steps = v["steps"].as_array().unwrap();
    let last = steps.last().unwrap();
    assert_eq!(last["name"], "authentication", "{v}");
    assert_eq!(last["ok"], false, "{v}");
    assert!(last["found"].as_str().unwrap().contains("STATUS_ACCESS_DENIED"), "{v}");
    assert!(last["hint"].as_str().unwrap().contains("encryption"), "{v}");
    assert!(steps[..steps.len() - 1].iter().all(|s| s["ok"] == true), "{v}");

    // A closed port: the first step fails, and nothing else runs.
    let t = Instant::now();
    let v =
        expect(&run(&["doctor", DC.ip, "--port", "1", "--timeout", "3", "--json"], None, &[]), 1);
    assert!(t.elapsed() < Duration::from_secs(3));
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{v}");
    assert_eq!(steps[0]["ok"], false, "{v}");
    assert_eq!(steps[0]["name"], "TCP 1", "{v}");
    assert!(steps[0]["hint"].is_string(), "{v}");

    // Anonymous on the standalone default server works all the way.
    // (A reset cannot be checked anonymously: its verdict is null, not a failed step.)
    let v = expect(&run(&["doctor", S2.ip, "--json"], None, &[]), 0);
    assert!(v["steps"].as_array().unwrap().iter().all(|s| s["ok"] == true), "{v}");
    assert_eq!(v["verdicts"]["passwd"]["possible"], true, "{v}");
    assert_eq!(v["verdicts"]["reset"]["possible"], serde_json::Value::Null, "{v}");
}

#[test]
fn account_name_forms() {
    require_servers();
    // passwd: DOMAIN\USER in the USER argument, any case.
    let user = unique_user("cf");
    add_user(DC, &user, OLD, false);
    let qualified = format!("samr\\{}", user.to_uppercase());
    let v = expect(
        &run(
            &["passwd", DC.ip, &qualified, "--iterations", "5000", "--json"],
            None,
            &pw_env(OLD, NEW),
        ),
        0,
    );
    assert_eq!(v["account"], qualified.as_str(), "{v}");
    assert_changed(DC, &user, OLD, NEW);
    // reset: ADMIN@REALM and a target in another case.
    let pw = admin_password();
    let again = "Again-Pass-5!";
    let v = expect(
        &run(
            &["reset", DC.ip, &user.to_uppercase(), "-U", "Administrator@SAMR.TEST", "--json"],
            None,
            &[("SAMRPC_ADMIN_PASSWORD", &pw), ("SAMRPC_NEW_PASSWORD", again)],
        ),
        0,
    );
    assert_eq!(v["method"], SET7, "{v}");
    assert_changed(DC, &user, NEW, again);
    // A standalone server's local account: COMPUTER\USER.
    let user = unique_user("cf");
    add_user(S2, &user, OLD, false);
    let qualified = format!("{}\\{user}", S2.domain);
    expect(
        &run(
            &["passwd", S2.ip, &qualified, "--iterations", "5000", "--json"],
            None,
            &pw_env(OLD, NEW),
        ),
        0,
    );
    assert_changed(S2, &user, OLD, NEW);
}

/// A TCP listener on a free loopback port that accepts connections and never answers.
fn silent_server() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    port
}

#[test]
fn a_silent_server_times_out_with_exit_3() {
    let port = silent_server().to_string();
    let t = Instant::now();
    let o = run(
        &[
            "passwd",
            "127.0.0.1",
            "bob",
            "--iterations",
            "5000",
            "--port",
            &port,
            "--timeout",
            "2",
            "--json",
        ],
        None,
        &pw_env(OLD, NEW),
    );
    let elapsed = t.elapsed();
    let v = expect(&o, 3);
    assert_eq!(v["error"]["kind"], "timeout", "{v}");
    assert_eq!(v["error"]["operation"], "SMB negotiate", "{v}");
    assert!(elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(6), "{elapsed:?}");

    // doctor: the TCP step passes, the negotiation step fails.
    let v = expect(
        &run(&["doctor", "127.0.0.1", "--port", &port, "--timeout", "2", "--json"], None, &[]),
        1,
    );
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps[0]["ok"], true, "{v}");
    let last = steps.last().unwrap();
    assert_eq!(last["ok"], false, "{v}");
    assert_eq!(last["name"], "SMB negotiate", "{v}");
}

#[test]
fn stdin_passwords_keep_spaces_and_special_characters() {
    require_servers();
    // Only one line ending is stripped: leading and trailing spaces are part of the password.
    let odd = " Sp%ce \\ \"Q\" 1! ";
    for server in [DC, S2] {
        let user = unique_user("ck");
        add_user(server, &user, OLD, false);
        expect(&run(&passwd_args(&server, &user), Some(&format!("{OLD}\n{odd}\n")), &[]), 0);
        assert_changed(server, &user, OLD, odd);
        assert_login_fails(server, &user, odd.trim(), "NT_STATUS_LOGON_FAILURE");
    }
}
