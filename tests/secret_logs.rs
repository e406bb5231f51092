//! TRACE-level logs of a whole change and reset against the real DC (tests/samba/samba.sh)
//! hold no password, NT hash or key.
//!
//! This is a test binary of its own with a single test and a **global** subscriber, installed
//! before the first event. It used to live in `tests/secrets.rs` with a thread-scoped
//! subscriber (`tracing::subscriber::with_default`) while the other tests of that binary
//! emitted the same events on other threads with no subscriber: a callsite whose interest one
//! of those threads was still computing from the global no-op dispatcher could store "never"
//! after the scoped subscriber's registration had rebuilt it (tracing-core's single-dispatcher
//! fast path takes no lock), and the capture then missed the client's steps ("SAMR bound")
//! about one run in eight on a busy machine. With one global dispatcher set before any
//! callsite registers, every callsite's interest is computed from it, on every thread
//! (including the blocking-pool thread of the PBKDF2 derivation).
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    DC, KRB_HOST, KRB_REALM, add_user, admin_password, assert_clean, assert_login_ok, krb_config,
    unique_user,
};
use samrpc::api::{ChangePassword, Method, ResetPassword, change_password, reset_password};
use samrpc::{ClientConfig, Credentials, Password, Secret};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A `Write` into a shared buffer (the tracing sink).
#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);
impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn config() -> ClientConfig {
    ClientConfig::default().with_timeout(Duration::from_secs(20))
}

/// TRACE logs of a whole change (authenticated and anonymous-capable path), a failing change
/// and a whole reset, captured in-process: no password, NT hash or UTF-16 form of any secret
/// appears, nor any key-sized hex string.
#[test]
fn trace_logs_of_change_and_reset_contain_no_secret() {
    // First, before anything can emit an event: the global subscriber.
    let buf = Arc::new(Mutex::new(Vec::new()));
    let sink = Sink(buf.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let user = unique_user("sct");
    let (old, new, reset) = ("Old-Trace-Xyzzy-1!", "New-Trace-Plugh-2!", "Reset-Trace-Frob-3!");
    let admin = admin_password();
    add_user(DC, &user, old, false);

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (changed, reset_out) = rt.block_on(async {
        let change = |old: &str, new: &str| {
            ChangePassword::new(
                DC.ip,
                user.clone(),
                Secret::Password(Password::from(old)),
                Password::from(new),
            )
            .with_iterations(5000)
            .with_config(config())
        };
        let c = change_password(change(old, new)).await;
        // Also a failing change (wrong old password): its error path logs too.
        let _ = change_password(change(old, reset)).await;
        let r = reset_password(
            ResetPassword::new(
                DC.ip,
                user.clone(),
                Credentials::password("Administrator", None, Password::from(admin.as_str())),
                Password::from(reset),
            )
            .with_config(config()),
        )
        .await;
        (c, r)
    });
    let changed = changed.unwrap();
    let reset_out = reset_out.unwrap();
    let log = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    println!("{} bytes of TRACE logs:\n{log}", log.len());
    // The capture worked: the client logs its steps.
    assert!(log.contains("SAMR bound"), "{log}");
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "{log}");
    assert_clean("the TRACE log", &log, &[old, new, reset, &admin]);
    // Nor any key-sized hex string (session, signing or derived keys we cannot name).
    let longest_hex = log.split(|c: char| !c.is_ascii_hexdigit()).map(str::len).max().unwrap_or(0);
    assert!(longest_hex < 32, "a {longest_hex}-digit hex string in the log:\n{log}");
    assert_clean("the outcomes", &format!("{changed:?} {reset_out:?}"), &[old, new, reset, &admin]);
    assert_login_ok(DC, &user, reset);

    // The same for Kerberos, under the same global subscriber (one test in this binary, so
    // no other thread settles a callsite's interest first): a change over Kerberos
    // (password), a kpasswd change (an account that must change its password) and a reset.
    buf.lock().unwrap().clear();
    let (u1, u2) = (unique_user("ktr"), unique_user("ktrx"));
    let (old, new, reset) = ("Old-Krb-Xyzzy-1!", "New-Krb-Plugh-2!", "Reset-Krb-Frob-3!");
    add_user(DC, &u1, old, false);
    add_user(DC, &u2, old, true);
    let (a, b, c) = rt.block_on(async {
        let change = |user: &str| {
            ChangePassword::new(
                KRB_HOST,
                user.to_owned(),
                Secret::Password(Password::from(old)),
                Password::from(new),
            )
            .with_iterations(5000)
            .with_config(krb_config())
        };
        let a = change_password(change(&u1)).await;
        let b = change_password(change(&u2)).await;
        let c = reset_password(
            ResetPassword::new(
                KRB_HOST,
                u1.clone(),
                Credentials::password(
                    "Administrator",
                    Some(KRB_REALM.into()),
                    Password::from(admin.as_str()),
                ),
                Password::from(reset),
            )
            .with_config(krb_config()),
        )
        .await;
        (a, b, c)
    });
    assert_eq!(a.unwrap().session.auth, "kerberos");
    assert_eq!(b.unwrap().method, Method::Kpasswd);
    c.unwrap();
    let log = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
    assert!(log.contains("AS exchange done") && log.contains("TGS exchange done"), "{log}");
    assert_clean("the Kerberos TRACE log", &log, &[old, new, reset, &admin]);
    let longest_hex = log.split(|c: char| !c.is_ascii_hexdigit()).map(str::len).max().unwrap_or(0);
    assert!(longest_hex < 32, "a {longest_hex}-digit hex string in the log:\n{log}");
    assert_login_ok(DC, &u1, reset);
}
