//! Errors only Windows produces, against the in-crate scripted peer
//! (`tests/support/mock_server.rs`): Samba never answers these, so the peer does (issue 12).
//!
//! What is proven:
//! * STATUS_ACCESS_DENIED at TREE_CONNECT and at the CREATE of `\PIPE\samr` says the server
//!   refuses the pipe to this session (null-session pipe restrictions, RestrictRemoteSAM), not
//!   the password-change API policy;
//! * an RPC fault 5 after a successful bind names both RestrictRemoteSAM and the
//!   password-change API policy and how to tell them apart;
//! * RPC_S_INVALID_TAG on opnum 73 is final (it is a fallback trigger only for the reset
//!   levels), and is reported by its symbol;
//! * the Windows logon failures at SESSION_SETUP (NTLM_BLOCKED, LOGON_TYPE_NOT_GRANTED,
//!   NOLOGON_WORKSTATION_TRUST_ACCOUNT) carry their status, their hint and their advice, and
//!   are not wrong passwords; STATUS_LOGON_FAILURE at the changed account's own logon is one;
//! * `doctor` on a member server whose SamrConnect5 is denied still probes opnum 73, and gives
//!   separate verdicts for `passwd` (possible) and `reset` (not possible over an
//!   authenticated session, unknown over an anonymous one);
//! * over an authenticated, signed session (the peer verifies the NTLMv2 response and the
//!   mechListMIC and signs with HMAC-SHA256): RPC_S_INVALID_TAG on SamrSetInformationUser2
//!   level 31 is "level not implemented", so with RC4 allowed the reset retries with level 25
//!   (both buffers decrypt to the new password under the session's application key), and
//!   without it the fault is final and no level-25 request leaves;
//! * a logon the peer refuses because the password is wrong: the changed account's own is a
//!   wrong password, an administrator's (for a reset) is not.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use samrpc::api::{
    ChangeSession, DoctorRequest, Method, Outcome, ResetPassword, change_password, doctor,
    reset_password,
};
use samrpc::crypto::{decrypt_password_set_aes, decrypt_user_password_new};
use samrpc::dcerpc::testing::CallReply;
use samrpc::samr::{
    Call, SamrConnect5, SamrSetInformationUser2, SamrUnicodeChangePasswordUser2,
    SamrUnicodeChangePasswordUser4, Stub, UserInfo,
};
use samrpc::smb2::{Command, Dialect};
use samrpc::{
    Advice, Credentials, CredentialsUsed, Error, NtStatus, Operation, Password, RpcFault,
};
use std::time::Duration;
use support::mock_server::{Action, Log, MockServer, Script, When};
use support::{NEW, OLD, USER, change_request, config};

const OP4: u16 = SamrUnicodeChangePasswordUser4::OPNUM;
const OP2: u16 = SamrUnicodeChangePasswordUser2::OPNUM;
const SET: u16 = SamrSetInformationUser2::OPNUM;
/// The administrator the authenticated peer knows (for resets).
const ADMIN: &str = "Administrator";
const ADMIN_PASS: &str = "Admin-Pass-1!";
/// The RID of [`USER`] in the peer's directory.
const RID: u32 = 1104;
const LIMIT: Duration = Duration::from_secs(20);
const STEP: Duration = Duration::from_secs(5);

/// An anonymous change against a peer running `script`; its error.
async fn anonymous_change(script: Script, allow_rc4: bool) -> (Error, MockServer) {
    let server = MockServer::start(script).await;
    let r = tokio::time::timeout(
        LIMIT,
        change_password(change_request(server.port(), allow_rc4, STEP)),
    )
    .await
    .expect("change_password hung");
    (r.expect_err("the peer refuses"), server)
}

/// A change authenticated as the user (the default mode) against a peer running `script`.
async fn authenticated_change(script: Script) -> (Error, MockServer) {
    let server = MockServer::start(script).await;
    let req = change_request(server.port(), false, STEP).with_session(ChangeSession::Auto);
    let r = tokio::time::timeout(LIMIT, change_password(req)).await.expect("change_password hung");
    (r.expect_err("the peer refuses"), server)
}

fn assert_pipe_refused(e: &Error, op: Operation) {
    assert_eq!(e.operation(), op, "{e}");
    assert_eq!(e.status(), Some(NtStatus::STATUS_ACCESS_DENIED), "{e}");
    assert_eq!(e.exit_code(), 1);
    let hint = e.hint().unwrap_or_else(|| panic!("no hint: {e:?}"));
    assert!(hint.contains("refuses the"), "{hint}");
    assert!(hint.contains("RestrictRemoteSAM"), "{hint}");
    assert!(hint.contains("anonymous"), "{hint}");
    assert!(!hint.contains("SamrChangeUserPasswordApiPolicy"), "not the change policy: {hint}");
    assert!(e.advice().contains(&Advice::Authenticate), "{:?}", e.advice());
}

#[tokio::test]
async fn access_denied_at_tree_connect_means_the_pipe_is_refused_to_this_session() {
    let script = Script::new()
        .on(When::Smb(Command::TREE_CONNECT), Action::Status(NtStatus::STATUS_ACCESS_DENIED));
    let (e, server) = anonymous_change(script, false).await;
    assert_pipe_refused(&e, Operation::TreeConnect);
    assert!(server.log().calls.is_empty());
}

#[tokio::test]
async fn access_denied_at_the_pipe_create_means_the_pipe_is_refused_to_this_session() {
    let script = Script::new()
        .on(When::Smb(Command::CREATE), Action::Status(NtStatus::STATUS_ACCESS_DENIED));
    let (e, server) = anonymous_change(script, false).await;
    assert_pipe_refused(&e, Operation::OpenPipe);
    assert!(server.log().calls.is_empty());
}

#[tokio::test]
async fn fault_5_after_the_bind_names_both_policies_and_how_to_tell_them_apart() {
    let script = Script::new().call(OP4, Action::Rpc(CallReply::Fault(RpcFault::ACCESS_DENIED)));
    let (e, server) = anonymous_change(script, true).await;
    assert_eq!(e.rpc_fault(), Some(RpcFault::ACCESS_DENIED), "{e}");
    assert_eq!(e.operation(), Operation::Call(SamrUnicodeChangePasswordUser4::NAME));
    let hint = e.hint().unwrap();
    assert!(hint.contains("RestrictRemoteSAM"), "{hint}");
    assert!(hint.contains("SamrChangeUserPasswordApiPolicy"), "{hint}");
    assert!(hint.contains("To tell them apart"), "{hint}");
    assert!(!e.is_wrong_password());
    // Access denied is final: no RC4 fallback even when allowed.
    assert!(!server.log().saw_opnum(OP2));
}

#[tokio::test]
async fn invalid_tag_on_opnum_73_is_final_and_named() {
    let script =
        Script::new().call(OP4, Action::Rpc(CallReply::Fault(RpcFault::RPC_S_INVALID_TAG)));
    let (e, server) = anonymous_change(script, true).await;
    assert_eq!(e.rpc_fault(), Some(RpcFault(0x6C5)), "{e}");
    assert!(e.to_string().contains("rpc_s_invalid_tag"), "{e}");
    assert!(!server.log().saw_opnum(OP2), "RPC_S_INVALID_TAG is no reason to use opnum 55");
}

/// A peer that answers the first SESSION_SETUP leg and refuses the second with `status`.
fn refused_logon(status: NtStatus) -> Script {
    Script::new()
        .once(When::Smb(Command::SESSION_SETUP), Action::Reply)
        .on(When::Smb(Command::SESSION_SETUP), Action::Status(status))
}

#[tokio::test]
async fn windows_logon_refusals_carry_status_hint_and_advice() {
    for (status, words, advice) in [
        (NtStatus::STATUS_NTLM_BLOCKED, "Kerberos", Some(Advice::UseKerberos)),
        (NtStatus::STATUS_LOGON_TYPE_NOT_GRANTED, "Access this computer from the network", None),
        (
            NtStatus::STATUS_NOLOGON_WORKSTATION_TRUST_ACCOUNT,
            "TCP transport",
            Some(Advice::UseTcpTransport),
        ),
        (NtStatus::STATUS_ACCOUNT_RESTRICTION, "Protected Users", Some(Advice::UseKerberos)),
    ] {
        let (e, server) = authenticated_change(refused_logon(status)).await;
        assert_eq!(e.operation(), Operation::SessionSetup, "{status:?}: {e}");
        assert_eq!(e.status(), Some(status), "{e}");
        assert!(e.to_string().contains(&status.symbol()), "{e}");
        let hint = e.hint().unwrap_or_else(|| panic!("{status:?}: no hint"));
        assert!(hint.contains(words), "{status:?}: {hint}");
        if let Some(a) = advice {
            assert!(e.advice().contains(&a), "{status:?}: {:?}", e.advice());
        }
        assert!(!e.is_wrong_password(), "{status:?}");
        assert_eq!(e.kind_name(), "server_refused");
        assert!(server.log().calls.is_empty(), "{status:?}: no SAMR call after a refused logon");
    }
}

#[tokio::test]
async fn logon_failure_of_the_changed_account_is_a_wrong_password() {
    let (e, _server) = authenticated_change(refused_logon(NtStatus::STATUS_LOGON_FAILURE)).await;
    assert_eq!(e.operation(), Operation::SessionSetup, "{e}");
    assert!(e.is_wrong_password(), "{e:?}");
    assert_eq!(e.kind_name(), "wrong_password");
    assert_eq!(e.credentials_used(), samrpc::CredentialsUsed::TargetAccount);
    assert!(e.hint().unwrap().contains("unknown account"), "{:?}", e.hint());
}

#[tokio::test]
async fn doctor_on_a_member_with_connect5_denied_still_probes_the_change() {
    let script = Script::new()
        .call(SamrConnect5::OPNUM, Action::Rpc(CallReply::Fault(RpcFault::ACCESS_DENIED)))
        .call(OP4, Action::SamrStatus(NtStatus::STATUS_WRONG_PASSWORD));
    let server = MockServer::start(script).await;
    let report = tokio::time::timeout(
        LIMIT,
        samrpc::api::doctor(samrpc::api::DoctorRequest::new("127.0.0.1").with_config(config(
            server.port(),
            false,
            STEP,
        ))),
    )
    .await
    .expect("doctor hung");
    assert!(server.log().saw_opnum(SamrConnect5::OPNUM));
    assert!(server.log().saw_opnum(OP4), "opnum 73 probed although SamrConnect5 was denied");
    assert!(report.steps.iter().any(|s| s.name == "SAMR bind" && s.ok), "{report:?}");
    let step = |name: &str| {
        report
            .steps
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no step {name}: {report:?}"))
    };
    assert!(!step("SamrConnect5").ok);
    assert!(step("AES password change (opnum 73)").ok, "{report:?}");
    assert!(!report.all_ok());
    assert_eq!(report.passwd.possible, Some(true), "{:?}", report.passwd);
    // Anonymous: a reset cannot be checked at all (authenticated: see the next test).
    assert_eq!(report.reset.possible, None, "{:?}", report.reset);
    assert!(report.reset.reason.contains("authenticated"), "{:?}", report.reset);
}

/// Nothing the signed-session peer noticed, and the session was really authenticated and
/// signed: `logons` accepted logons, every later request verified.
fn assert_signed_sessions(log: &Log, user: &str, logons: usize) {
    assert!(log.errors.is_empty(), "{:?}", log.errors);
    assert_eq!(log.authenticated_logons, vec![user.to_owned(); logons]);
    assert_eq!(log.application_keys.len(), logons);
    assert!(log.verified_requests > 0, "no signed request verified");
}

#[tokio::test]
async fn doctor_authenticated_on_a_member_with_connect5_denied_says_passwd_yes_reset_no() {
    // A member server under RestrictRemoteSAM: SamrConnect5 refused to a non-administrator,
    // opnum 73 (no handle needed) answering; the probe account does not exist, so
    // STATUS_WRONG_PASSWORD proves the call path.
    let script = Script::new()
        .authenticated(USER, OLD)
        .call(SamrConnect5::OPNUM, Action::Rpc(CallReply::Fault(RpcFault::ACCESS_DENIED)))
        .call(OP4, Action::SamrStatus(NtStatus::STATUS_WRONG_PASSWORD));
    let server = MockServer::start(script).await;
    let req = DoctorRequest::new("127.0.0.1")
        .with_credentials(Credentials::password(USER, None, Password::from(OLD)))
        .with_config(config(server.port(), false, STEP));
    let report = tokio::time::timeout(LIMIT, doctor(req)).await.expect("doctor hung");
    let log = server.log_after_logoff().await;
    // Two signed sessions: the read path's, then a fresh one for the probe after the fault.
    assert_signed_sessions(&log, USER, 2);
    assert_eq!(log.opnums().iter().filter(|&&o| o == SamrConnect5::OPNUM).count(), 1);
    assert!(log.saw_opnum(OP4), "opnum 73 probed although SamrConnect5 was denied");
    let step = |name: &str| {
        report
            .steps
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no step {name}: {report:?}"))
    };
    assert!(step("authentication").ok, "{report:?}");
    assert!(!step("SamrConnect5").ok, "{report:?}");
    assert!(step("AES password change (opnum 73)").ok, "{report:?}");
    assert_eq!(report.passwd.possible, Some(true), "{:?}", report.passwd);
    assert_eq!(report.reset.possible, Some(false), "{:?}", report.reset);
    assert!(report.reset.reason.contains("SamrConnect5"), "{:?}", report.reset);
}

/// A reset of [`USER`] by [`ADMIN`] against an authenticated peer whose directory holds the
/// user, with `script`'s rules first.
async fn reset_against(script: Script, allow_rc4: bool) -> (Result<Outcome, Error>, MockServer) {
    reset_as(script, ADMIN_PASS, allow_rc4).await
}

async fn reset_as(
    script: Script,
    admin_password: &str,
    allow_rc4: bool,
) -> (Result<Outcome, Error>, MockServer) {
    let script = script.authenticated(ADMIN, ADMIN_PASS).directory("MOCK", USER, RID);
    let server = MockServer::start(script).await;
    let admin = Credentials::password(ADMIN, None, Password::from(admin_password));
    let req = ResetPassword::new("127.0.0.1", USER, admin, Password::from(NEW))
        .with_config(config(server.port(), allow_rc4, STEP));
    let r = tokio::time::timeout(LIMIT, reset_password(req)).await.expect("reset hung");
    (r, server)
}

/// The SamrSetInformationUser2 requests on the wire, decoded.
fn set_requests(log: &Log) -> Vec<SamrSetInformationUser2> {
    log.calls
        .iter()
        .filter(|c| c.opnum == SET)
        .map(|c| SamrSetInformationUser2::from_stub(&c.stub).expect("a well-formed request"))
        .collect()
}

#[tokio::test]
async fn invalid_tag_on_level_31_falls_back_to_level_25_when_rc4_is_allowed() {
    // 2.1 (the application key is the session key) and 3.1.1 (it is derived with the
    // session's preauth hash).
    for dialect in [Dialect::SMB210, Dialect::SMB311] {
        let mut script = Script::new()
            .once(When::Call(SET), Action::Rpc(CallReply::Fault(RpcFault::RPC_S_INVALID_TAG)))
            .call(SET, Action::SamrStatus(NtStatus::STATUS_SUCCESS));
        script.dialect = dialect;
        let (r, server) = reset_against(script, true).await;
        let outcome = r.unwrap_or_else(|e| panic!("{dialect}: the level-25 retry fails: {e}"));
        assert_eq!(outcome.method, Method::SetInternal4New);
        assert!(outcome.session.signing, "{:?}", outcome.session);
        let log = server.log_after_logoff().await;
        assert_signed_sessions(&log, ADMIN, 1);
        let sets = set_requests(&log);
        let levels: Vec<u16> = sets.iter().map(|s| s.info.level()).collect();
        assert_eq!(levels, [31, 25], "{dialect}: level 31 refused with RPC_S_INVALID_TAG, then 25");
        // Both are for the user the directory opened, and both decrypt to the new password
        // under the session's application key: the peer derived the same key as the client.
        let key = &log.application_keys[0];
        for s in &sets {
            assert_eq!(s.user_handle, support::mock_server::USER_HANDLE);
        }
        match &sets[0].info {
            UserInfo::Internal7 { password, .. } => {
                assert_eq!(decrypt_password_set_aes(key, password).unwrap().expose(), NEW);
            }
            other => panic!("first request is not level 31: {other:?}"),
        }
        match &sets[1].info {
            UserInfo::Internal4New { password, .. } => {
                assert_eq!(decrypt_user_password_new(key, password).unwrap().expose(), NEW);
            }
            other => panic!("second request is not level 25: {other:?}"),
        }
    }
}

#[tokio::test]
async fn invalid_tag_on_level_31_is_final_without_rc4() {
    let script =
        Script::new().call(SET, Action::Rpc(CallReply::Fault(RpcFault::RPC_S_INVALID_TAG)));
    let (r, server) = reset_against(script, false).await;
    let e = r.expect_err("no legacy level without allow_rc4");
    assert_eq!(e.rpc_fault(), Some(RpcFault::RPC_S_INVALID_TAG), "{e}");
    assert_eq!(e.operation(), Operation::Call(SamrSetInformationUser2::NAME));
    assert!(e.advice().contains(&Advice::AllowRc4), "{:?}", e.advice());
    assert!(e.hint().unwrap().contains("level 31"), "{:?}", e.hint());
    let log = server.log_after_logoff().await;
    assert_signed_sessions(&log, ADMIN, 1);
    let levels: Vec<u16> = set_requests(&log).iter().map(|s| s.info.level()).collect();
    assert_eq!(levels, [31], "no level-25 request without allow_rc4");
}

#[tokio::test]
async fn a_reset_with_a_wrong_administrator_password_is_not_the_users_wrong_password() {
    let (r, server) = reset_as(Script::new(), "Not-The-Admin-Pass", true).await;
    let e = r.expect_err("the peer refuses the logon");
    assert_eq!(e.operation(), Operation::SessionSetup, "{e}");
    assert_eq!(e.status(), Some(NtStatus::STATUS_LOGON_FAILURE), "{e}");
    assert_eq!(e.credentials_used(), CredentialsUsed::OtherAccount);
    assert!(!e.is_wrong_password(), "an administrator's failed logon says nothing of the user's");
    let log = server.log();
    assert_eq!(log.logon_failures, 1);
    assert!(log.authenticated_logons.is_empty());
    assert!(log.calls.is_empty());
}

#[tokio::test]
async fn a_wrong_old_password_refused_at_the_users_own_logon_is_a_wrong_password() {
    // The peer knows the user with another password: it recomputes the NTLMv2 proof and
    // refuses the logon, as a Windows DC does.
    let server = MockServer::start(Script::new().authenticated(USER, "Other-Pass-9!")).await;
    let req = change_request(server.port(), false, STEP).with_session(ChangeSession::Auto);
    let e = tokio::time::timeout(LIMIT, change_password(req))
        .await
        .expect("change_password hung")
        .expect_err("the logon is refused");
    assert_eq!(e.operation(), Operation::SessionSetup, "{e}");
    assert_eq!(e.status(), Some(NtStatus::STATUS_LOGON_FAILURE), "{e}");
    assert!(e.is_wrong_password(), "{e:?}");
    assert_eq!(e.kind_name(), "wrong_password");
    assert_eq!(e.credentials_used(), CredentialsUsed::TargetAccount);
    let log = server.log();
    assert_eq!(log.logon_failures, 1);
    assert!(log.calls.is_empty());
}

#[tokio::test]
async fn the_signed_peer_serves_an_authenticated_change_on_every_dialect() {
    // The mock's own proof: the client's default mode (authenticated as the user, signing
    // required, the server's mechListMIC required; VALIDATE_NEGOTIATE_INFO on 3.0 / 3.0.2,
    // the preauth hash on 3.1.1) completes against it.
    for dialect in [Dialect::SMB210, Dialect::SMB300, Dialect::SMB302, Dialect::SMB311] {
        let mut script = Script::new()
            .authenticated(USER, OLD)
            .call(OP4, Action::SamrStatus(NtStatus::STATUS_SUCCESS));
        script.dialect = dialect;
        let server = MockServer::start(script).await;
        let req = change_request(server.port(), false, STEP).with_session(ChangeSession::Auto);
        let outcome = tokio::time::timeout(LIMIT, change_password(req))
            .await
            .expect("change_password hung")
            .unwrap_or_else(|e| panic!("{dialect}: {e} ({:?})", server.log().errors));
        assert_eq!(outcome.method, Method::ChangeUser4);
        assert!(outcome.session.signing, "{dialect}: {:?}", outcome.session);
        let log = server.log_after_logoff().await;
        assert_signed_sessions(&log, USER, 1);
        assert_eq!(log.opnums(), [OP4], "{dialect}");
        let is_30x = dialect == Dialect::SMB300 || dialect == Dialect::SMB302;
        assert_eq!(log.validate_negotiates, usize::from(is_30x), "{dialect}: 3.0 / 3.0.2 only");
    }
}
