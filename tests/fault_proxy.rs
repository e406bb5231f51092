//! Faults between samrpc and the real test DC (tests/samba/samba.sh), injected by the proxy
//! in tests/support/fault_proxy.rs. Each test shows what the caller sees and then checks the
//! server's state by logging in with Samba's own client.
//!
//! The fixed flow of a change on the DC is, client→server: 1 NEGOTIATE, 2–3 SESSION_SETUP,
//! 4 TREE_CONNECT, 5 CREATE `\PIPE\samr`, 6 IOCTL carrying the DCE/RPC bind, 7 IOCTL carrying
//! the opnum-73 request (`wire_flow_of_a_change` checks it). The faults target frames by their
//! content (the bind, opnum 73), not by count, so they survive compounding.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use common::{DC, S3, add_user, assert_login_fails, assert_login_ok, unique_user};
use fault_proxy::{
    Action, Dir, FaultProxy, Seen, cmd, flip_answer_to, kill_after_client_bytes, on_answer_to,
    on_client_message, on_client_opnum, ptype,
};
use samrpc::api::{ChangePassword, Outcome, change_password};
use samrpc::{ClientConfig, Error, ErrorKind, Operation, Password, Secret};
use std::time::Duration;

const DC_ADDR: &str = "127.0.0.1:445";
const OPNUM_CHANGE4: u16 = 73;

fn config(port: u16) -> ClientConfig {
    ClientConfig::default().with_port(port).with_timeout(Duration::from_secs(10))
}

fn request(host: &str, user: &str, old: &str, new: &str, config: ClientConfig) -> ChangePassword {
    ChangePassword::new(host, user, Secret::Password(Password::from(old)), Password::from(new))
        .with_iterations(5000)
        .with_config(config)
}

async fn change(proxy: &FaultProxy, user: &str, old: &str, new: &str) -> Result<Outcome, Error> {
    change_password(request("127.0.0.1", user, old, new, config(proxy.port))).await
}

/// A fresh DC user with a known password; returns (name, old, new).
fn fresh_user(tag: &str) -> (String, String, String) {
    let user = unique_user(tag);
    let old = format!("Old-{tag}-Pass-1!");
    let new = format!("New-{tag}-Pass-2!");
    add_user(DC, &user, &old, false);
    (user, old, new)
}

fn is_bind(s: &Seen) -> bool {
    s.dir == Dir::ToServer && s.has_ptype(ptype::BIND)
}

fn is_change4(s: &Seen) -> bool {
    s.dir == Dir::ToServer && s.has_opnum(OPNUM_CHANGE4)
}

fn assert_outcome_unknown(e: &Error) {
    assert_eq!(e.kind(), ErrorKind::OutcomeUnknown, "{e} / {:?}", e.hint());
    assert!(e.outcome_unknown());
    assert_eq!(e.exit_code(), 4);
    assert_eq!(e.operation(), Operation::Call("SamrUnicodeChangePasswordUser4"));
    assert!(e.message().contains("may or may not have changed"), "{e}");
    let hint = e.hint().expect("a hint");
    assert!(hint.contains("Log in with the new password"), "{hint}");
}

fn assert_network(e: &Error, op: Operation) {
    assert_eq!(e.kind(), ErrorKind::Network, "{e} / {:?}", e.hint());
    assert_eq!(e.exit_code(), 3);
    assert_eq!(e.operation(), op, "{e}");
}

/// The message flow the faults below rely on, observed through a transparent proxy.
#[tokio::test]
async fn wire_flow_of_a_change() {
    let (user, old, new) = fresh_user("ffl");
    let proxy = FaultProxy::transparent(DC_ADDR).await;
    change(&proxy, &user, &old, &new).await.unwrap();
    println!("{}", proxy.describe());
    let up: Vec<Seen> = proxy.seen().into_iter().filter(|s| s.dir == Dir::ToServer).collect();
    // NEGOTIATE, two SESSION_SETUPs, then TREE_CONNECT + CREATE + the bind IOCTL in one related
    // compound flight, then the opnum-73 IOCTL.
    let cmds: Vec<Vec<u16>> = up.iter().take(5).map(|s| s.commands.clone()).collect();
    assert_eq!(
        cmds,
        [
            vec![cmd::NEGOTIATE],
            vec![cmd::SESSION_SETUP],
            vec![cmd::SESSION_SETUP],
            vec![cmd::TREE_CONNECT, cmd::CREATE, cmd::IOCTL],
            vec![cmd::IOCTL],
        ],
        "{}",
        proxy.describe()
    );
    assert!(up[3].has_ptype(ptype::BIND), "{}", proxy.describe());
    assert!(up[4].has_opnum(OPNUM_CHANGE4), "{}", proxy.describe());
    // The DC signs but does not encrypt: every frame is readable.
    assert!(proxy.seen().iter().all(|s| !s.encrypted));
    assert_login_ok(DC, &user, &new);
}

/// The opnum-73 request reaches the server, the answer never reaches the client: outcome
/// unknown (exit 4), and the server did change the password.
#[tokio::test]
async fn lost_answer_after_delivery_is_outcome_unknown_and_the_password_changed() {
    let (user, old, new) = fresh_user("ffa");
    let proxy =
        FaultProxy::start(DC_ADDR, on_answer_to(is_change4, Action::Close { forward: false }))
            .await;
    let e = change(&proxy, &user, &old, &new).await.unwrap_err();
    println!("{}\n{e}\nhint: {:?}", proxy.describe(), e.hint());
    assert_outcome_unknown(&e);
    assert!(proxy.seen().iter().any(is_change4));
    assert_login_ok(DC, &user, &new);
    assert_login_fails(DC, &user, &old, "NT_STATUS_LOGON_FAILURE");
}

/// Same with a hard reset (RST) instead of a clean close.
#[tokio::test]
async fn reset_during_the_call_is_outcome_unknown_and_the_password_changed() {
    let (user, old, new) = fresh_user("ffr");
    let proxy =
        FaultProxy::start(DC_ADDR, on_answer_to(is_change4, Action::Reset { forward: false }))
            .await;
    let e = change(&proxy, &user, &old, &new).await.unwrap_err();
    assert_outcome_unknown(&e);
    assert_login_ok(DC, &user, &new);
}

/// The connection dies while the client is still waiting for the bind answer, i.e. before
/// the change request is sent: a plain network failure (exit 3), old password still valid.
#[tokio::test]
async fn connection_lost_before_the_request_is_a_plain_failure() {
    let (user, old, new) = fresh_user("ffb");
    let proxy =
        FaultProxy::start(DC_ADDR, on_answer_to(is_bind, Action::Close { forward: false })).await;
    let e = change(&proxy, &user, &old, &new).await.unwrap_err();
    // The bind travels in the TREE_CONNECT + CREATE + IOCTL compound: a transport failure of
    // that flight is reported at its first step.
    assert_network(&e, Operation::TreeConnect);
    assert!(!e.outcome_unknown());
    assert!(!proxy.seen().iter().any(is_change4), "{}", proxy.describe());
    assert_login_ok(DC, &user, &old);
}

/// The proxy swallows the opnum-73 request itself and closes. The server never saw it, but
/// the request had left samrpc (its write succeeded), so samrpc cannot know: it must not claim
/// failure, and reports outcome unknown. The old password is in fact still valid — which is
/// what the hint tells the user to check.
#[tokio::test]
async fn request_swallowed_in_flight_is_reported_as_unknown_and_nothing_changed() {
    let (user, old, new) = fresh_user("ffs");
    let proxy = FaultProxy::start(
        DC_ADDR,
        on_client_opnum(OPNUM_CHANGE4, Action::Close { forward: false }),
    )
    .await;
    let e = change(&proxy, &user, &old, &new).await.unwrap_err();
    assert_outcome_unknown(&e);
    assert_login_ok(DC, &user, &old);
    assert_login_fails(DC, &user, &new, "NT_STATUS_LOGON_FAILURE");
}

/// Killing the connection in the middle of the opnum-73 frame (after some of its bytes) is
/// the same: the server never gets a whole request, samrpc reports outcome unknown.
#[tokio::test]
async fn request_cut_mid_frame_leaves_the_password_unchanged() {
    let (user, old, new) = fresh_user("ffm");
    // Learn the byte offset of the opnum-73 frame from a clean run with another user.
    let (u2, o2, n2) = fresh_user("ffn");
    let probe = FaultProxy::transparent(DC_ADDR).await;
    change(&probe, &u2, &o2, &n2).await.unwrap();
    let before: usize = probe
        .seen()
        .iter()
        .filter(|s| s.dir == Dir::ToServer && s.conn == 1)
        .take_while(|s| !s.has_opnum(OPNUM_CHANGE4))
        .map(|s| s.len + 4)
        .sum();
    let proxy = FaultProxy::start(DC_ADDR, kill_after_client_bytes(before + 100)).await;
    let e = change(&proxy, &user, &old, &new).await.unwrap_err();
    assert_outcome_unknown(&e);
    assert_login_ok(DC, &user, &old);
}

/// Reset while the SESSION_SETUP answer is pending: a network failure during setup.
#[tokio::test]
async fn reset_during_session_setup_is_a_network_failure() {
    let (user, old, new) = fresh_user("ffu");
    let proxy = FaultProxy::start(
        DC_ADDR,
        on_answer_to(
            |s| s.dir == Dir::ToServer && s.command() == Some(cmd::SESSION_SETUP),
            Action::Reset { forward: false },
        ),
    )
    .await;
    let e = change(&proxy, &user, &old, &new).await.unwrap_err();
    println!("{}\n{e}", proxy.describe());
    assert_network(&e, Operation::SessionSetup);
    assert!(e.message().contains("reset"), "{e}");
    assert_login_ok(DC, &user, &old);
}

/// Reset while the bind answer is pending: a network failure at the bind.
#[tokio::test]
async fn reset_during_the_bind_is_a_network_failure() {
    let (user, old, new) = fresh_user("ffd");
    let proxy =
        FaultProxy::start(DC_ADDR, on_answer_to(is_bind, Action::Reset { forward: false })).await;
    let e = change(&proxy, &user, &old, &new).await.unwrap_err();
    assert_network(&e, Operation::TreeConnect); // the bind's flight, as above
    assert!(e.message().contains("reset"), "{e}");
    assert_login_ok(DC, &user, &old);
}

/// A reset arriving with the client's very first bytes (mid-NEGOTIATE).
#[tokio::test]
async fn reset_on_the_first_message_is_a_network_failure() {
    let (user, old, new) = fresh_user("ffz");
    let proxy =
        FaultProxy::start(DC_ADDR, on_client_message(1, Action::Reset { forward: false })).await;
    let e = change(&proxy, &user, &old, &new).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    assert_eq!(e.exit_code(), 3);
    assert_login_ok(DC, &user, &old);
}

/// One flipped byte in the signed (AES-GMAC on 3.1.1) bind answer: rejected as an integrity
/// failure, never accepted, and nothing changed.
#[tokio::test]
async fn corrupted_signed_bind_answer_is_rejected_and_nothing_changed() {
    let (user, old, new) = fresh_user("ffc");
    let proxy = FaultProxy::start(DC_ADDR, flip_answer_to(is_bind, -1)).await;
    let e = change(&proxy, &user, &old, &new).await.unwrap_err();
    println!("{e}\nhint: {:?}", e.hint());
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert_eq!(e.exit_code(), 3);
    assert!(e.message().contains("signature"), "{e}");
    assert!(e.hint().unwrap().contains("integrity"), "{:?}", e.hint());
    assert!(!proxy.seen().iter().any(is_change4));
    assert_login_ok(DC, &user, &old);
}

/// A flipped byte in the signature field itself (the header, not the payload).
#[tokio::test]
async fn corrupted_signature_field_is_rejected() {
    let (user, old, new) = fresh_user("ffg");
    // Signature: SMB2 header bytes 48..64.
    let proxy = FaultProxy::start(DC_ADDR, flip_answer_to(is_bind, 50)).await;
    let e = change(&proxy, &user, &old, &new).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(e.message().contains("signature"), "{e}");
    assert_login_ok(DC, &user, &old);
}

/// One flipped byte in the signed answer to opnum 73: rejected (exit 3), and since the
/// request was delivered the server did change the password; the error must say so.
#[tokio::test]
async fn corrupted_change_answer_is_rejected_and_says_the_password_may_have_changed() {
    let (user, old, new) = fresh_user("ffk");
    let proxy = FaultProxy::start(DC_ADDR, flip_answer_to(is_change4, -1)).await;
    let e = change(&proxy, &user, &old, &new).await.unwrap_err();
    println!("{e}\nhint: {:?}", e.hint());
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert_eq!(e.exit_code(), 3);
    assert!(e.message().contains("signature"), "{e}");
    let hint = e.hint().unwrap();
    assert!(hint.contains("may have changed"), "{hint}");
    assert!(hint.contains("log in with the new password"), "{hint}");
    assert_login_ok(DC, &user, &new);
}

/// An encrypted session (127.0.0.3 requires SMB3 encryption): a flipped byte in an encrypted
/// response fails decryption (AES-GCM/CCM tag) → integrity error, exit 3, nothing changed.
#[tokio::test]
async fn corrupted_encrypted_answer_is_rejected() {
    let user = unique_user("ffe");
    let (old, new) = ("Old-ffe-Pass-1!", "New-ffe-Pass-2!");
    add_user(S3, &user, old, false);
    // The first encrypted server frame is the TREE_CONNECT answer; flip its last byte.
    let proxy = FaultProxy::start(
        "127.0.0.3:445",
        fault_proxy::once(|s, p| {
            (s.dir == Dir::ToClient && s.encrypted).then(|| {
                let n = p.len();
                p[n - 1] ^= 0x80;
                Action::Forward
            })
        }),
    )
    .await;
    // The proxy listens on 127.0.0.1; the user is a local account of SRV3.
    let mut req = request("127.0.0.1", &user, old, new, config(proxy.port));
    req.domain = Some(S3.domain.into());
    let e = change_password(req).await.unwrap_err();
    println!("{}\n{e}\nhint: {:?}", proxy.describe(), e.hint());
    assert!(proxy.seen().iter().any(|s| s.encrypted));
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert_eq!(e.exit_code(), 3);
    assert!(e.hint().unwrap().contains("integrity"), "{:?}", e.hint());
    assert_login_ok(S3, &user, old);
}

/// The server stops answering after the bind request: the 2 s request timeout fires within
/// timeout + 1 s of the request the server sat on, kind Timeout, exit 3, nothing changed.
#[tokio::test]
async fn silent_server_times_out_within_the_bound() {
    let (user, old, new) = fresh_user("fft");
    let proxy = FaultProxy::start(DC_ADDR, on_client_opnum_or_bind_hang()).await;
    let cfg = config(proxy.port).with_request_timeout(Duration::from_secs(2));
    let e = change_password(request("127.0.0.1", &user, &old, &new, cfg)).await.unwrap_err();
    let elapsed = since_hang(&proxy, is_bind);
    println!("timed out {elapsed:?} after the server went silent: {e}");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(e.exit_code(), 3);
    assert_eq!(e.operation(), Operation::TreeConnect, "the bind's flight (see above)");
    assert!(elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_login_ok(DC, &user, &old);
}

/// Time since the proxy received the request after which the server went silent (the
/// client sent it just before; measuring from here keeps connection setup, which is slow on
/// a loaded machine, out of the bound).
fn since_hang(proxy: &FaultProxy, pred: fn(&Seen) -> bool) -> Duration {
    let hung = proxy.seen().into_iter().find(pred).expect("the request was sent");
    hung.at.elapsed()
}

fn on_client_opnum_or_bind_hang() -> fault_proxy::Script {
    fault_proxy::once(|s, _| is_bind(s).then_some(Action::Hang { forward: true }))
}

/// The server stops answering after the opnum-73 request: the timeout fires within the bound,
/// and since the request was delivered the result is outcome unknown — the server changed it.
#[tokio::test]
async fn silent_server_after_the_change_request_is_outcome_unknown() {
    let (user, old, new) = fresh_user("ffh");
    let proxy =
        FaultProxy::start(DC_ADDR, on_client_opnum(OPNUM_CHANGE4, Action::Hang { forward: true }))
            .await;
    let cfg = config(proxy.port).with_request_timeout(Duration::from_secs(2));
    let e = change_password(request("127.0.0.1", &user, &old, &new, cfg)).await.unwrap_err();
    let elapsed = since_hang(&proxy, is_change4);
    println!("outcome unknown {elapsed:?} after the server went silent: {e}");
    assert_outcome_unknown(&e);
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_login_ok(DC, &user, &new);
}

/// The CLI: outcome unknown through `samrpc passwd --port <proxy>` → exit 4 and JSON
/// `error.kind == "outcome_unknown"`; the password did change.
#[cfg(feature = "cli")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_outcome_unknown_exits_4() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let (user, old, new) = fresh_user("ffq");
    let proxy =
        FaultProxy::start(DC_ADDR, on_answer_to(is_change4, Action::Close { forward: false }))
            .await;
    let port = proxy.port.to_string();
    let input = format!("{old}\n{new}\n");
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_samrpc"))
            .args(["passwd", "127.0.0.1", &user, "--port", &port, "--timeout", "10", "--json"])
            .env_remove("SAMRPC_OLD_PASSWORD")
            .env_remove("SAMRPC_NEW_PASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        (user, child.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    let (user, out) = out;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "stdout {stdout}\nstderr {stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["kind"], "outcome_unknown", "{v}");
    assert!(!stdout.contains(&old) && !stdout.contains(&new) && !stderr.contains(&new));
    assert_login_ok(DC, &user, &new);
}
