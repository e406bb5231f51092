//! The opt-in RC4 fallback of `change_password` (issue 5), against the in-crate scripted peer
//! (`tests/support/mock_server.rs`): real Samba servers all implement opnum 73, so only a
//! scripted peer can answer it with `nca_s_op_rng_error` or STATUS_NOT_SUPPORTED.
//!
//! What is proven, on the wire:
//! * the legacy SamrUnicodeChangePasswordUser2 (opnum 55) is sent only when opnum 73 is missing
//!   (FAULT nca_s_op_rng_error, STATUS_NOT_SUPPORTED, STATUS_NOT_IMPLEMENTED) **and** the
//!   caller allowed RC4; otherwise the peer never receives opnum 55;
//! * any other opnum-73 failure (wrong password, access denied) is final;
//! * the opnum-55 request the peer decrypts carries the new password under the old NT hash and
//!   the old NT hash under the new one ([MS-SAMR] 3.1.5.10.3);
//! * the opnum-73 request decrypts with the old NT hash to the new password and carries the
//!   PBKDF2 iteration count that was asked for ([MS-SAMR] 3.1.5.10.4);
//! * the `samrpc passwd` binary does the same and warns about RC4 on standard error.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use samrpc::api::{Method, SessionKind, change_password};
use samrpc::crypto::{
    decrypt_nt_owf, decrypt_password_change_aes, decrypt_user_password_with_old_nt, nt_hash,
};
use samrpc::dcerpc::testing::{CallReply, ReceivedCall};
use samrpc::ndr::Stub;
use samrpc::samr::{
    Call, SamrUnicodeChangePasswordUser2, SamrUnicodeChangePasswordUser4, StatusResponse,
    decode_request,
};
use samrpc::smb2::Command;
use samrpc::{ErrorKind, NtStatus, Password, RpcFault};
use std::sync::Arc;
use std::time::Duration;
use support::mock_server::{Action, Log, MockServer, Script, When};
use support::{ITERATIONS, NEW, OLD, USER, change_request};

const OP4: u16 = SamrUnicodeChangePasswordUser4::OPNUM;
const OP2: u16 = SamrUnicodeChangePasswordUser2::OPNUM;
/// Generous bound on every run: the peer answers at once.
const LIMIT: Duration = Duration::from_secs(20);
const STEP: Duration = Duration::from_secs(5);

/// Check an opnum-55 request as a server would: decrypt the new password with the old NT
/// hash and the old NT hash with the new one ([MS-SAMR] 3.1.5.10.3).
fn check_user2(call: &ReceivedCall) -> Result<(), String> {
    decode_request(call.opnum, &call.stub).map_err(|e| e.to_string())?;
    let req = SamrUnicodeChangePasswordUser2::from_stub(&call.stub).map_err(|e| e.to_string())?;
    if req.user_name.to_string_lossy() != USER {
        return Err(format!("user name {:?}", req.user_name.to_string_lossy()));
    }
    if req.lm_present != 0
        || req.new_password_encrypted_with_old_lm.is_some()
        || req.old_lm_owf_password_encrypted_with_new_nt.is_some()
    {
        return Err("LM fields sent".into());
    }
    let old = nt_hash(&Password::from(OLD));
    let enc = req
        .new_password_encrypted_with_old_nt
        .as_ref()
        .ok_or("no NewPasswordEncryptedWithOldNt")?;
    let new = decrypt_user_password_with_old_nt(&old, enc).map_err(|e| e.to_string())?;
    if new.expose() != NEW {
        return Err("NewPasswordEncryptedWithOldNt is not the new password".into());
    }
    let owf = req
        .old_nt_owf_password_encrypted_with_new_nt
        .as_ref()
        .ok_or("no OldNtOwfPasswordEncryptedWithNewNt")?;
    if decrypt_nt_owf(owf, &nt_hash(&new)).expose() != old.expose() {
        return Err("OldNtOwfPasswordEncryptedWithNewNt is not the old hash".into());
    }
    Ok(())
}

/// Check an opnum-73 request: decrypts with the old NT hash to the new password, with
/// `iterations` PBKDF2 iterations ([MS-SAMR] 3.1.5.10.4).
fn check_user4(call: &ReceivedCall, iterations: u64) -> Result<(), String> {
    decode_request(call.opnum, &call.stub).map_err(|e| e.to_string())?;
    let req = SamrUnicodeChangePasswordUser4::from_stub(&call.stub).map_err(|e| e.to_string())?;
    if req.user_name.to_string_lossy() != USER {
        return Err(format!("user name {:?}", req.user_name.to_string_lossy()));
    }
    if req.encrypted_password.pbkdf2_iterations != iterations {
        return Err(format!("{} iterations", req.encrypted_password.pbkdf2_iterations));
    }
    let old = nt_hash(&Password::from(OLD));
    let new = decrypt_password_change_aes(&old, &req.encrypted_password)
        .map_err(|e| format!("does not decrypt with the old NT hash: {e}"))?;
    if new.expose() != NEW {
        return Err("decrypts to something else than the new password".into());
    }
    Ok(())
}

fn status_reply(status: NtStatus) -> CallReply {
    CallReply::Response { stub: StatusResponse { status }.to_stub(), fragments: 1 }
}

/// Opnum 55 answered as a server would: STATUS_SUCCESS when it decrypts right, else
/// STATUS_WRONG_PASSWORD.
fn verifying_user2() -> Action {
    Action::Handler(Arc::new(|call: &ReceivedCall| {
        status_reply(if check_user2(call).is_ok() {
            NtStatus::STATUS_SUCCESS
        } else {
            NtStatus::STATUS_WRONG_PASSWORD
        })
    }))
}

/// Opnum 73 answered as a server would, for `iterations`.
fn verifying_user4(iterations: u64) -> Action {
    Action::Handler(Arc::new(move |call: &ReceivedCall| {
        status_reply(if check_user4(call, iterations).is_ok() {
            NtStatus::STATUS_SUCCESS
        } else {
            NtStatus::STATUS_WRONG_PASSWORD
        })
    }))
}

/// A peer answering opnum 73 with `op4` and verifying opnum 55.
async fn peer(op4: Action) -> MockServer {
    MockServer::start(Script::new().call(OP4, op4).call(OP2, verifying_user2())).await
}

async fn run(server: &MockServer, allow_rc4: bool) -> Result<samrpc::api::Outcome, samrpc::Error> {
    tokio::time::timeout(LIMIT, change_password(change_request(server.port(), allow_rc4, STEP)))
        .await
        .expect("change_password hung")
}

/// A clean anonymous session: no protocol departure, one anonymous logon, closed properly.
fn assert_clean_session(log: &Log) {
    assert!(log.errors.is_empty(), "the peer saw protocol errors: {:?}", log.errors);
    assert_eq!(log.connections, 1);
    assert_eq!(log.anonymous_logons, vec![true]);
    assert_eq!(log.binds, 1);
    let c = log.commands();
    assert_eq!(
        c[..5],
        [
            Command::NEGOTIATE,
            Command::SESSION_SETUP,
            Command::SESSION_SETUP,
            Command::TREE_CONNECT,
            Command::CREATE
        ]
    );
    assert_eq!(c[c.len() - 3..], [Command::CLOSE, Command::TREE_DISCONNECT, Command::LOGOFF]);
}

fn assert_refused_without_rc4(e: &samrpc::Error) {
    assert_eq!(e.exit_code(), 1, "{e}");
    let hint = e.hint().unwrap_or_default();
    assert!(hint.contains("allow_rc4"), "hint: {hint}");
    // The library names no CLI flag; the advice says it as data (the CLI adds --allow-rc4).
    assert!(!hint.contains("--allow-rc4"), "hint: {hint}");
    assert!(e.advice().contains(&samrpc::Advice::AllowRc4), "{:?}", e.advice());
}

#[tokio::test]
async fn op_rng_error_without_allow_rc4_never_sends_opnum_55() {
    let server = peer(Action::Rpc(CallReply::Fault(RpcFault::NCA_S_OP_RNG_ERROR))).await;
    let e = run(&server, false).await.unwrap_err();
    assert_eq!(e.rpc_fault(), Some(RpcFault::NCA_S_OP_RNG_ERROR), "{e}");
    assert_eq!(e.kind(), ErrorKind::RpcFault);
    assert_refused_without_rc4(&e);
    let log = server.log_after_logoff().await;
    assert_eq!(log.opnums(), vec![OP4], "opnum 55 must never be sent without allow_rc4");
    assert!(!log.saw_opnum(OP2), "not even a fragment of opnum 55");
    assert_clean_session(&log);
}

#[tokio::test]
async fn op_rng_error_with_allow_rc4_falls_back_to_opnum_55() {
    let server = peer(Action::Rpc(CallReply::Fault(RpcFault::NCA_S_OP_RNG_ERROR))).await;
    let out = run(&server, true).await.unwrap();
    assert_eq!(out.method, Method::ChangeUser2);
    assert_eq!(out.status, NtStatus::STATUS_SUCCESS);
    assert_eq!(out.iterations, None);
    assert_eq!(out.session.kind, SessionKind::Anonymous);
    assert_eq!(out.session.dialect.map(|d| d.name()), Some("2.1"));
    assert!(!out.session.signing && !out.session.encryption);
    let log = server.log_after_logoff().await;
    assert_eq!(log.opnums(), vec![OP4, OP2]);
    check_user2(log.call(OP2).unwrap()).unwrap();
    assert_clean_session(&log);
}

#[tokio::test]
async fn not_supported_and_not_implemented_allow_the_fallback_only_when_asked() {
    for status in [NtStatus::STATUS_NOT_SUPPORTED, NtStatus::STATUS_NOT_IMPLEMENTED] {
        let server = peer(Action::SamrStatus(status)).await;
        let e = run(&server, false).await.unwrap_err();
        assert_eq!(e.status(), Some(status), "{e}");
        assert_eq!(e.kind(), ErrorKind::ServerRefused);
        assert_refused_without_rc4(&e);
        assert_eq!(server.log().opnums(), vec![OP4], "{status:?}: no opnum 55 without allow_rc4");
        assert!(!server.log().saw_opnum(OP2));
        assert_clean_session(&server.log_after_logoff().await);

        let server = peer(Action::SamrStatus(status)).await;
        let out = run(&server, true).await.unwrap();
        assert_eq!(out.method, Method::ChangeUser2, "{status:?}");
        assert_eq!(server.log().opnums(), vec![OP4, OP2]);
        assert_clean_session(&server.log_after_logoff().await);
    }
}

#[tokio::test]
async fn wrong_password_on_opnum_73_is_final_even_with_allow_rc4() {
    let server = peer(Action::SamrStatus(NtStatus::STATUS_WRONG_PASSWORD)).await;
    let e = run(&server, true).await.unwrap_err();
    assert!(e.is_wrong_password(), "{e}");
    assert_eq!(e.kind(), ErrorKind::ServerRefused);
    assert_eq!(e.exit_code(), 1);
    let log = server.log_after_logoff().await;
    assert_eq!(log.opnums(), vec![OP4], "no fallback after STATUS_WRONG_PASSWORD");
    assert!(!log.saw_opnum(OP2));
    assert_clean_session(&log);
}

#[tokio::test]
async fn access_denied_on_opnum_73_is_final_even_with_allow_rc4() {
    let server = peer(Action::SamrStatus(NtStatus::STATUS_ACCESS_DENIED)).await;
    let e = run(&server, true).await.unwrap_err();
    assert_eq!(e.status(), Some(NtStatus::STATUS_ACCESS_DENIED), "{e}");
    assert_eq!(e.exit_code(), 1);
    let log = server.log_after_logoff().await;
    assert_eq!(log.opnums(), vec![OP4], "no fallback after STATUS_ACCESS_DENIED");
    assert!(!log.saw_opnum(OP2));
    assert_clean_session(&log);
}

#[tokio::test]
async fn other_rpc_faults_on_opnum_73_are_final_even_with_allow_rc4() {
    let server = peer(Action::Rpc(CallReply::Fault(RpcFault::NCA_S_PROTO_ERROR))).await;
    let e = run(&server, true).await.unwrap_err();
    assert_eq!(e.rpc_fault(), Some(RpcFault::NCA_S_PROTO_ERROR), "{e}");
    assert_eq!(server.log().opnums(), vec![OP4]);
}

/// STATUS_PASSWORD_RESTRICTION is final too; the client explains it with the domain's rules
/// read with SamrGetDomainPasswordInformation (opnum 56), never by trying opnum 55.
#[tokio::test]
async fn password_restriction_is_final_and_explained_with_the_policy() {
    use samrpc::samr::{
        SamrGetDomainPasswordInformation, SamrGetDomainPasswordInformationResponse,
        UserDomainPasswordInformation,
    };
    let policy = SamrGetDomainPasswordInformationResponse {
        info: UserDomainPasswordInformation { min_password_length: 14, password_properties: 1 },
        status: NtStatus::STATUS_SUCCESS,
    };
    let script = Script::new()
        .call(OP4, Action::SamrStatus(NtStatus::STATUS_PASSWORD_RESTRICTION))
        .call(
            SamrGetDomainPasswordInformation::OPNUM,
            Action::Rpc(CallReply::Response { stub: policy.to_stub(), fragments: 1 }),
        )
        .call(OP2, verifying_user2());
    let server = MockServer::start(script).await;
    let e = run(&server, true).await.unwrap_err();
    assert_eq!(e.status(), Some(NtStatus::STATUS_PASSWORD_RESTRICTION), "{e}");
    assert_eq!(e.exit_code(), 1);
    let hint = e.hint().unwrap_or_default();
    assert!(hint.contains("minimum length 14") && hint.contains("complexity"), "{hint}");
    let log = server.log_after_logoff().await;
    assert_eq!(log.opnums(), vec![OP4, SamrGetDomainPasswordInformation::OPNUM]);
    assert!(!log.saw_opnum(OP2));
    assert_clean_session(&log);
}

#[tokio::test]
async fn opnum_73_request_decrypts_to_the_new_password_with_the_requested_iterations() {
    for iterations in [ITERATIONS, 7777] {
        let server = MockServer::start(Script::new().call(OP4, verifying_user4(iterations))).await;
        let mut req = change_request(server.port(), false, STEP);
        req.iterations = Some(iterations);
        let out = tokio::time::timeout(LIMIT, change_password(req)).await.unwrap().unwrap();
        assert_eq!(out.method, Method::ChangeUser4);
        assert_eq!(out.iterations, Some(iterations));
        let log = server.log_after_logoff().await;
        assert_eq!(log.opnums(), vec![OP4]);
        let call = log.call(OP4).unwrap();
        check_user4(call, iterations).unwrap();
        let req = SamrUnicodeChangePasswordUser4::from_stub(&call.stub).unwrap();
        assert_eq!(req.server_name.unwrap().to_string_lossy(), "\\\\127.0.0.1");
        // The wrong old hash does not open it (the MAC is checked).
        let wrong = nt_hash(&Password::from("not-the-old-one"));
        assert!(decrypt_password_change_aes(&wrong, &req.encrypted_password).is_err());
        assert_clean_session(&log);
    }
}

/// The peer's WRITE/READ path: when FSCTL_PIPE_TRANSCEIVE is refused the client writes and
/// reads the pipe instead; a response split over two fragments is reassembled.
#[tokio::test]
async fn write_read_fallback_and_fragmented_answers() {
    let script = Script::new()
        // A server without FSCTL_PIPE_TRANSCEIVE refuses every IOCTL.
        .on(When::Smb(Command::IOCTL), Action::Status(NtStatus::STATUS_NOT_SUPPORTED))
        .call(
            OP4,
            Action::Rpc(CallReply::Response {
                stub: StatusResponse { status: NtStatus::STATUS_SUCCESS }.to_stub(),
                fragments: 2,
            }),
        );
    let server = MockServer::start(script).await;
    let out = run(&server, false).await.unwrap();
    assert_eq!(out.method, Method::ChangeUser4);
    let log = server.log_after_logoff().await;
    assert!(log.errors.is_empty(), "{:?}", log.errors);
    let c = log.commands();
    assert!(c.contains(&Command::WRITE) && c.contains(&Command::READ), "{c:?}");
    assert_eq!(log.opnums(), vec![OP4]);
}

/// The binary: `samrpc passwd HOST USER --anonymous --allow-rc4 --port P --json`, secrets on
/// standard input.
#[cfg(feature = "cli")]
mod cli {
    use super::*;
    use serde_json::Value;
    use std::io::Write;
    use std::process::{Command as Process, Output, Stdio};

    const BIN: &str = env!("CARGO_BIN_EXE_samrpc");

    async fn passwd(port: u16, extra: &[&str]) -> Output {
        let port = port.to_string();
        let mut args: Vec<String> = ["passwd", "127.0.0.1", USER, "--anonymous", "--port"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push(port);
        args.extend(["--timeout", "10", "--iterations", "5000", "--json"].map(String::from));
        args.extend(extra.iter().map(|s| s.to_string()));
        let run = tokio::task::spawn_blocking(move || {
            let mut cmd = Process::new(BIN);
            cmd.args(&args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
            for (k, _) in std::env::vars() {
                if k.starts_with("SAMRPC_") || k == "RUST_LOG" {
                    cmd.env_remove(k);
                }
            }
            let mut child = cmd.spawn().expect("spawn samrpc");
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(format!("{OLD}\n{NEW}\n").as_bytes()).unwrap();
            drop(stdin);
            child.wait_with_output().expect("wait for samrpc")
        });
        tokio::time::timeout(LIMIT, run).await.expect("samrpc hung").unwrap()
    }

    fn json(o: &Output) -> Value {
        let out = String::from_utf8_lossy(&o.stdout);
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"))
    }

    #[tokio::test]
    async fn passwd_with_allow_rc4_uses_opnum_55_and_warns() {
        let server = peer(Action::Rpc(CallReply::Fault(RpcFault::NCA_S_OP_RNG_ERROR))).await;
        let o = passwd(server.port(), &["--allow-rc4"]).await;
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "stderr: {stderr}");
        let v = json(&o);
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["method"], "SamrUnicodeChangePasswordUser2", "{v}");
        assert_eq!(v["session"], "anonymous", "{v}");
        assert!(stderr.contains("RC4"), "no RC4 warning on stderr: {stderr}");
        assert_eq!(server.log().opnums(), vec![OP4, OP2]);
        check_user2(server.log().call(OP2).unwrap()).unwrap();
    }

    #[tokio::test]
    async fn passwd_without_allow_rc4_exits_1_and_sends_no_opnum_55() {
        let server = peer(Action::Rpc(CallReply::Fault(RpcFault::NCA_S_OP_RNG_ERROR))).await;
        let o = passwd(server.port(), &[]).await;
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "stderr: {stderr}");
        let v = json(&o);
        assert_eq!(v["ok"], false, "{v}");
        assert_eq!(v["error"]["kind"], "rpc_fault", "{v}");
        assert!(v.to_string().contains("--allow-rc4"), "{v}");
        assert_eq!(server.log().opnums(), vec![OP4]);
        assert!(!server.log().saw_opnum(OP2));
    }
}
