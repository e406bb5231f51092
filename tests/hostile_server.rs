//! The whole client against a hostile or broken server (the scripted peer of
//! `tests/support/mock_server.rs`): every case ends in a typed error of the right kind — no
//! panic, no hang (each run is bounded by `tokio::time::timeout`), no large allocation driven
//! by the peer — and losing the connection after the password-change request was delivered is
//! reported as "outcome unknown" (exit code 4), before it as a plain network error (exit 3).
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use samrpc::api::{Outcome, change_password};
use samrpc::dcerpc::testing::CallReply;
use samrpc::ndr::Stub;
use samrpc::samr::{Call, SamrUnicodeChangePasswordUser4, StatusResponse};
use samrpc::smb2::Command;
use samrpc::{Error, ErrorKind, NtStatus};
use std::time::{Duration, Instant};
use support::change_request;
use support::mock_server::{Action, MockServer, Script, When};

const OP4: u16 = SamrUnicodeChangePasswordUser4::OPNUM;
/// The bound on every run: no case may come near it.
const LIMIT: Duration = Duration::from_secs(10);
/// The client's per-step timeout where the peer goes silent.
const SHORT: Duration = Duration::from_secs(1);
/// The client's per-step timeout elsewhere (the peer answers or fails at once).
const STEP: Duration = Duration::from_secs(5);

/// How a failed run went: the error, and how long the client took after the peer read the
/// last request (the one the peer answered badly or not at all) — independent of the
/// client's PBKDF2 work and of machine load before that point.
struct Failure {
    e: Error,
    after_last_request: Duration,
    server: MockServer,
}

/// Run an anonymous change against `script`.
async fn fail_with(script: Script, step_timeout: Duration) -> (Error, Duration, MockServer) {
    let f = run_failing(script, step_timeout).await;
    (f.e, f.after_last_request, f.server)
}

async fn run_failing(script: Script, step_timeout: Duration) -> Failure {
    let server = MockServer::start(script).await;
    let r: Result<Outcome, Error> = tokio::time::timeout(
        LIMIT,
        change_password(change_request(server.port(), false, step_timeout)),
    )
    .await
    .expect("the client hung");
    let end = Instant::now();
    let last = server.log().last_request_at().expect("the peer read no request");
    match r {
        Ok(o) => panic!("expected an error, got {o:?}"),
        Err(e) => Failure { e, after_last_request: end.saturating_duration_since(last), server },
    }
}

fn assert_kind(e: &Error, kind: ErrorKind, exit: i32) {
    assert_eq!(e.kind(), kind, "{e} (operation {:?}, hint {:?})", e.operation(), e.hint());
    assert_eq!(e.exit_code(), exit, "{e}");
}

/// Failed at once after the bad answer: no timeout was waited for.
fn fast(took: Duration) {
    assert!(took < Duration::from_secs(1), "took {took:?} after the last request");
}

/// The client gave up `timeout` after the request the peer left unanswered, within 1 s.
fn timed_out_after(took: Duration, timeout: Duration) {
    assert!(
        took + Duration::from_millis(50) >= timeout && took < timeout + Duration::from_secs(1),
        "took {took:?} after the last request (timeout {timeout:?})"
    );
}

#[tokio::test]
async fn garbage_instead_of_the_negotiate_response() {
    // Unframed text (an HTTP server on the port): the frame header's first byte is not zero.
    let script = Script::new().on(
        When::Smb(Command::NEGOTIATE),
        Action::Raw(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()),
    );
    let (e, took, server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Protocol, 3);
    fast(took);
    assert!(server.log().calls.is_empty());

    // A well-framed message that is not SMB2.
    let script = Script::new().on(When::Smb(Command::NEGOTIATE), Action::RawFrame(vec![0xAB; 100]));
    let (e, took, _server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Protocol, 3);
    fast(took);

    // An SMB2 header with a truncated NEGOTIATE body.
    let mut msg = vec![0u8; 64];
    msg[..4].copy_from_slice(b"\xFESMB");
    msg[4] = 64;
    msg[16] = 1; // SERVER_TO_REDIR
    msg.extend_from_slice(&[65, 0, 1, 0]);
    let script = Script::new().on(When::Smb(Command::NEGOTIATE), Action::RawFrame(msg));
    let (e, took, _server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Protocol, 3);
    fast(took);
}

#[tokio::test]
async fn a_16_mib_frame_length_fails_fast_without_waiting_for_the_bytes() {
    // 0xFFFFFF: the largest direct-TCP frame length (16 MiB - 1), then nothing. Rejected on
    // the header alone (above the negotiated maximum) instead of allocating and waiting for
    // 16 MiB that never come.
    let script =
        Script::new().on(When::Smb(Command::NEGOTIATE), Action::FrameLengthOnly(0xFF_FFFF));
    let (e, took, _server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Protocol, 3);
    assert!(e.to_string().contains("exceeds"), "{e}");
    fast(took);

    // The same on the answer to the password change itself.
    let script = Script::new().on(When::Call(OP4), Action::FrameLengthOnly(0xFF_FFFF));
    let (e, took, server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Protocol, 3);
    fast(took);
    assert_eq!(server.log().opnums(), vec![OP4]);
}

#[tokio::test]
async fn a_dce_rpc_fragment_larger_than_the_negotiated_maximum() {
    // The bind negotiated 4280-byte fragments; the answer announces (and carries) 8000.
    let script =
        Script::new().call(OP4, Action::Rpc(CallReply::OversizedFragment { frag_length: 8000 }));
    let (e, took, _server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Protocol, 3);
    fast(took);
    // The request was delivered: the error says the password may have changed.
    assert!(e.hint().unwrap_or_default().contains("may have changed"), "{:?}", e.hint());
}

#[tokio::test]
async fn a_response_with_the_wrong_call_id() {
    let stub = StatusResponse { status: NtStatus::STATUS_SUCCESS }.to_stub();
    let script = Script::new().call(OP4, Action::Rpc(CallReply::WrongCallId { stub }));
    let (e, took, _server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Protocol, 3);
    fast(took);
}

#[tokio::test]
async fn garbage_instead_of_a_dce_rpc_response() {
    let script = Script::new().call(OP4, Action::Rpc(CallReply::Raw(vec![0x05; 40])));
    let (e, took, _server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Protocol, 3);
    fast(took);
}

#[tokio::test]
async fn an_smb2_response_to_a_message_id_never_sent() {
    let script = Script::new().on(When::Smb(Command::TREE_CONNECT), Action::WrongMessageId);
    let (e, took, server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Protocol, 3);
    assert!(e.to_string().contains("message id"), "{e}");
    fast(took);
    assert!(server.log().calls.is_empty());
}

#[tokio::test]
async fn a_server_that_stops_answering_mid_session_times_out() {
    let script = Script::new().on(When::Smb(Command::CREATE), Action::Silent);
    let (e, took, _server) = fail_with(script, SHORT).await;
    assert_kind(&e, ErrorKind::Timeout, 3);
    timed_out_after(took, SHORT);
}

#[tokio::test]
async fn silence_after_the_change_request_is_outcome_unknown() {
    let script = Script::new().on(When::Call(OP4), Action::Silent);
    let (e, took, server) = fail_with(script, SHORT).await;
    assert_kind(&e, ErrorKind::OutcomeUnknown, 4);
    assert!(e.outcome_unknown());
    timed_out_after(took, SHORT);
    assert_eq!(server.log().opnums(), vec![OP4]);
}

#[tokio::test]
async fn connection_closed_after_the_change_request_is_outcome_unknown() {
    let script = Script::new().on(When::Call(OP4), Action::Close);
    let (e, took, server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::OutcomeUnknown, 4);
    assert!(e.outcome_unknown());
    assert!(e.to_string().contains("may or may not"), "{e}");
    fast(took);
    assert_eq!(server.log().opnums(), vec![OP4], "the request was delivered");
}

#[tokio::test]
async fn connection_closed_before_the_request_is_a_network_error() {
    for when in [When::Smb(Command::SESSION_SETUP), When::Smb(Command::CREATE), When::Bind] {
        let script = Script::new().on(when.clone(), Action::Close);
        let (e, took, server) = fail_with(script, STEP).await;
        assert_kind(&e, ErrorKind::Network, 3);
        assert!(!e.outcome_unknown(), "{when:?}: {e}");
        fast(took);
        assert!(server.log().calls.is_empty(), "{when:?}");
    }
}

#[tokio::test]
async fn a_bind_nak_and_a_refused_session_are_typed() {
    use samrpc::dcerpc::bind_nak::BindNakReason;
    use samrpc::dcerpc::testing::BindReply;
    let script = Script { bind_reply: BindReply::Nak(BindNakReason(2)), ..Script::new() };
    let (e, took, server) = fail_with(script, STEP).await;
    assert_eq!(e.operation(), samrpc::Operation::Bind, "{e}");
    assert_eq!(e.exit_code(), 3, "{e}");
    fast(took);
    assert!(server.log().calls.is_empty());

    let script = Script::new()
        .on(When::Smb(Command::SESSION_SETUP), Action::Status(NtStatus::STATUS_ACCESS_DENIED));
    let (e, took, _server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::ServerRefused, 1);
    assert_eq!(e.operation(), samrpc::Operation::SessionSetup);
    assert_eq!(e.status(), Some(NtStatus::STATUS_ACCESS_DENIED));
    fast(took);
}

/// Failures while reading a response name the step in progress, like failures while
/// writing do.
#[tokio::test]
async fn a_read_failure_names_the_step_in_progress() {
    let script = Script::new().on(When::Smb(Command::SESSION_SETUP), Action::Close);
    let (e, _took, _server) = fail_with(script, STEP).await;
    assert_eq!(e.operation(), samrpc::Operation::SessionSetup, "{e}");
    let script =
        Script::new().on(When::Smb(Command::NEGOTIATE), Action::FrameLengthOnly(0xFF_FFFF));
    let (e, _took, _server) = fail_with(script, STEP).await;
    assert_eq!(e.operation(), samrpc::Operation::Negotiate, "{e}");
}

/// An SMB2-level failure on the answer to a delivered change request is, like an RPC-level
/// one, reported with the advice that the password may have changed.
#[tokio::test]
async fn an_smb2_failure_after_the_change_request_says_it_may_have_changed() {
    for action in [Action::FrameLengthOnly(0xFF_FFFF), Action::RawFrame(vec![0xAB; 100])] {
        let script = Script::new().on(When::Call(OP4), action.clone());
        let (e, _took, _server) = fail_with(script, STEP).await;
        assert!(
            e.hint().unwrap_or_default().contains("may have changed"),
            "{action:?}: {e} / {:?}",
            e.hint()
        );
    }
}

/// A server that keeps answering STATUS_PENDING and never sends the final response must not
/// keep the client waiting past its request timeout.
#[tokio::test]
async fn endless_status_pending_times_out() {
    let every = Duration::from_millis(200);
    let script = Script::new().on(When::Smb(Command::CREATE), Action::PendingForever(every));
    let (e, took, _server) = fail_with(script, SHORT).await;
    assert_kind(&e, ErrorKind::Timeout, 3);
    timed_out_after(took, SHORT);
}

/// A server that grants no credits: the client cannot send its next request and says so.
#[tokio::test]
async fn no_credits_granted_is_a_typed_error() {
    let script = Script { credits: 0, ..Script::new() };
    let (e, took, server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Protocol, 3);
    assert!(e.to_string().contains("credits"), "{e}");
    fast(took);
    assert_eq!(server.log().commands(), vec![Command::NEGOTIATE]);
}

/// The peer itself on every dialect the client offers (anonymous sessions never sign).
#[tokio::test]
async fn every_offered_dialect_works_anonymously() {
    use samrpc::smb2::Dialect;
    for (dialect, name) in [
        (Dialect::SMB210, "2.1"),
        (Dialect::SMB300, "3.0"),
        (Dialect::SMB302, "3.0.2"),
        (Dialect::SMB311, "3.1.1"),
    ] {
        let stub = StatusResponse { status: NtStatus::STATUS_SUCCESS }.to_stub();
        let script = Script { dialect, ..Script::new() }
            .call(OP4, Action::Rpc(CallReply::Response { stub, fragments: 1 }));
        let server = MockServer::start(script).await;
        let out = tokio::time::timeout(
            LIMIT,
            change_password(change_request(server.port(), false, STEP)),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(out.session.dialect.map(|d| d.name()), Some(name));
        assert!(!out.session.signing && !out.session.encryption);
        assert!(server.log().errors.is_empty(), "{name}: {:?}", server.log().errors);
    }
}

/// A dialect the client did not offer: below the minimum (2.0.2; what a NEGOTIATE rewritten
/// in flight produces) it is a security refusal naming the minimum; a dialect that does not
/// exist is a protocol error.
#[tokio::test]
async fn a_dialect_never_offered_is_refused() {
    let script = Script { dialect: samrpc::smb2::Dialect::SMB202, ..Script::new() };
    let (e, took, _server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Security, 3);
    assert!(e.to_string().contains("below the minimum"), "{e}");
    fast(took);
    let script = Script { dialect: samrpc::smb2::Dialect(0x0222), ..Script::new() };
    let (e, took, _server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Protocol, 3);
    fast(took);
}

/// A server that requires encryption (session flag or share flag) cannot be served over an
/// anonymous session: a security error, before any SAMR call.
#[tokio::test]
async fn encryption_required_on_an_anonymous_session_is_a_security_error() {
    let script = Script { session_flags: 0x0002 | 0x0004, ..Script::new() };
    let (e, _took, server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Security, 3);
    assert!(server.log().calls.is_empty());

    let script = Script {
        share_flags: 0x0000_8000,
        dialect: samrpc::smb2::Dialect::SMB311,
        ..Script::new()
    };
    let (e, _took, server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Security, 3);
    assert!(server.log().calls.is_empty());
}

/// A pipe message that never ends (STATUS_BUFFER_OVERFLOW on every READ) is cut off at the
/// client's cap instead of growing without bound.
#[tokio::test]
async fn an_endless_pipe_message_is_cut_off() {
    use support::mock_server::{ioctl_body, read_body};
    let chunk = vec![0u8; 60_000];
    let script = Script::new()
        .on(When::Call(OP4), Action::Respond(NtStatus::STATUS_BUFFER_OVERFLOW, ioctl_body(&chunk)))
        .on(
            When::Smb(Command::READ),
            Action::Respond(NtStatus::STATUS_BUFFER_OVERFLOW, read_body(&chunk)),
        );
    let (e, took, server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Protocol, 3);
    assert!(e.to_string().contains("too large"), "{e}");
    fast(took);
    assert_eq!(server.log().opnums(), vec![OP4]);
}

/// An IOCTL response whose OutputCount points far past the end of the message.
#[tokio::test]
async fn an_ioctl_output_count_past_the_message_end() {
    use support::mock_server::ioctl_body;
    let mut body = ioctl_body(&[0u8; 16]);
    body[36..40].copy_from_slice(&(16u32 << 20).to_le_bytes()); // OutputCount = 16 MiB
    let script = Script::new().on(When::Bind, Action::Respond(NtStatus::STATUS_SUCCESS, body));
    let (e, took, _server) = fail_with(script, STEP).await;
    assert_kind(&e, ErrorKind::Protocol, 3);
    fast(took);
}

/// An authenticated change (the default mode) against a signed-session peer with `script`.
async fn authenticated_failure(script: Script) -> (Error, MockServer) {
    let script = script
        .authenticated(support::USER, support::OLD)
        .call(OP4, Action::SamrStatus(NtStatus::STATUS_SUCCESS));
    let server = MockServer::start(script).await;
    let req =
        change_request(server.port(), false, STEP).with_session(samrpc::api::ChangeSession::Auto);
    let r = tokio::time::timeout(LIMIT, change_password(req)).await.expect("the client hung");
    (r.expect_err("the client refuses the peer"), server)
}

#[tokio::test]
async fn authenticated_logon_without_the_servers_mech_list_mic_is_refused() {
    // [MS-SPNG] 3.2.5.1 / RFC 4178 §5: the client's AUTHENTICATE carries a MIC, so the
    // server's mechListMIC is mandatory; a final token without one looks like a downgrade.
    let mut script = Script::new();
    script.server_mic = support::mock_server::ServerMic::Missing;
    let (e, server) = authenticated_failure(script).await;
    assert_eq!(e.operation(), samrpc::Operation::SessionSetup, "{e}");
    assert!(e.to_string().contains("mechListMIC"), "{e}");
    assert!(!e.is_wrong_password());
    // The peer accepted the logon; the client stopped before any tree connect.
    let log = server.log();
    assert_eq!(log.authenticated_logons.len(), 1);
    assert!(!log.commands().contains(&Command::TREE_CONNECT), "{:?}", log.commands());
}

#[tokio::test]
async fn authenticated_logon_with_a_wrong_mech_list_mic_is_refused() {
    let mut script = Script::new();
    script.server_mic = support::mock_server::ServerMic::Wrong;
    let (e, server) = authenticated_failure(script).await;
    assert_eq!(e.operation(), samrpc::Operation::SessionSetup, "{e}");
    assert!(e.to_string().contains("mechListMIC is wrong"), "{e}");
    assert!(!server.log().commands().contains(&Command::TREE_CONNECT));
}

#[tokio::test]
async fn unsigned_responses_on_a_signed_session_are_refused() {
    // The logon completes (on 2.1 the final SESSION_SETUP response may be unsigned); the
    // first unsigned response after it is refused, and no SAMR call is ever made.
    let mut script = Script::new();
    script.sign_responses = false;
    let (e, server) = authenticated_failure(script).await;
    assert_eq!(e.operation(), samrpc::Operation::TreeConnect, "{e}");
    assert!(e.to_string().contains("unsigned but signing is required"), "{e}");
    assert!(e.hint().is_some_and(|h| h.contains("integrity")), "{:?}", e.hint());
    assert!(server.log().calls.is_empty());
    assert!(
        server.log().errors.is_empty(),
        "the client's requests were signed: {:?}",
        server.log().errors
    );
}

/// A DCE/RPC RESPONSE fragment for `call_id` with these flags (FIRST_FRAG 0x01, LAST_FRAG
/// 0x02) and stub ([C706] 12.6.4.10: the 16-byte common header, alloc_hint, p_cont_id,
/// cancel_count, reserved).
fn response_fragment(call_id: u32, flags: u8, stub: &[u8]) -> Vec<u8> {
    let len = (24 + stub.len()) as u16;
    let mut b = vec![5, 0, 2, flags, 0x10, 0, 0, 0];
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&call_id.to_le_bytes());
    b.extend_from_slice(&(stub.len() as u32).to_le_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]);
    b.extend_from_slice(stub);
    b
}

/// The call id of the anonymous change: the bind takes 1, opnum 73 is the first call.
const CHANGE_CALL_ID: u32 = 2;

/// Run an anonymous change against `script` with `request` per exchange and `operation` for
/// the whole call; `after_last_request` is measured from the change request.
async fn run_with_deadline(script: Script, request: Duration, operation: Duration) -> Failure {
    let server = MockServer::start(script).await;
    let mut req = change_request(server.port(), false, request);
    req.config = req.config.clone().with_operation_timeout(operation);
    let r = tokio::time::timeout(LIMIT, change_password(req)).await.expect("the client hung");
    let end = Instant::now();
    let log = server.log();
    assert!(log.call(OP4).is_some(), "no change request");
    // Measured from the IOCTL carrying the change: the operation deadline runs from there.
    let last = log.requests.iter().rev().find(|r| r.command == Command::IOCTL).unwrap().at;
    match r {
        Ok(o) => panic!("expected an error, got {o:?}"),
        Err(e) => Failure { e, after_last_request: end.saturating_duration_since(last), server },
    }
}

/// Issue 15 item 2: every READ answered STATUS_BUFFER_OVERFLOW with no data. Each answer is
/// immediate, so no per-exchange timeout would ever fire; the client stops at the first READ
/// that brings nothing, and the change — sent — ends as outcome unknown.
#[tokio::test]
async fn endless_buffer_overflow_without_data_is_outcome_unknown() {
    use support::mock_server::{ioctl_body, read_body};
    let script = Script::new()
        .on(When::Call(OP4), Action::Respond(NtStatus::STATUS_BUFFER_OVERFLOW, ioctl_body(&[])))
        .on(
            When::Smb(Command::READ),
            Action::Respond(NtStatus::STATUS_BUFFER_OVERFLOW, read_body(&[])),
        );
    let f = run_with_deadline(script, STEP, 2 * STEP).await;
    assert_kind(&f.e, ErrorKind::OutcomeUnknown, 4);
    fast(f.after_last_request);
    let reads = f.server.log().commands().iter().filter(|c| **c == Command::READ).count();
    assert!(reads <= 2, "{reads} READs");
}

/// The same server trickling one byte per READ, every 200 ms: each READ makes progress and
/// each exchange is well within its 1 s timeout, so only the operation deadline (2 s) ends it.
#[tokio::test]
async fn a_trickled_answer_ends_at_the_operation_deadline_as_outcome_unknown() {
    use support::mock_server::{ioctl_body, read_body};
    let step = Duration::from_millis(200);
    let script = Script::new()
        .on(When::Call(OP4), Action::Respond(NtStatus::STATUS_BUFFER_OVERFLOW, ioctl_body(&[5])))
        .on(
            When::Smb(Command::READ),
            Action::DelayedRespond(step, NtStatus::STATUS_BUFFER_OVERFLOW, read_body(&[0])),
        );
    let deadline = Duration::from_secs(2);
    let f = run_with_deadline(script, Duration::from_secs(1), deadline).await;
    assert_kind(&f.e, ErrorKind::OutcomeUnknown, 4);
    assert!(f.e.message().contains("operation timeout"), "{}", f.e);
    timed_out_after(f.after_last_request, deadline);
}

/// Issue 15 item 2: DCE/RPC fragments without stub data and without LAST_FRAG. The first
/// one is refused (it cannot be progress), and the sent change is outcome unknown.
#[tokio::test]
async fn endless_empty_fragments_are_outcome_unknown() {
    use support::mock_server::{ioctl_body, read_body};
    let first = response_fragment(CHANGE_CALL_ID, 0x01, &[]);
    let more = response_fragment(CHANGE_CALL_ID, 0x00, &[]);
    let script = Script::new()
        .on(When::Call(OP4), Action::Respond(NtStatus::STATUS_SUCCESS, ioctl_body(&first)))
        .on(When::Smb(Command::READ), Action::Respond(NtStatus::STATUS_SUCCESS, read_body(&more)));
    let f = run_with_deadline(script, STEP, 2 * STEP).await;
    assert_eq!(f.server.log().call(OP4).unwrap().call_id, CHANGE_CALL_ID);
    assert_kind(&f.e, ErrorKind::OutcomeUnknown, 4);
    fast(f.after_last_request);
}

/// Fragments that each carry one stub byte and never LAST_FRAG, one every 200 ms: progress
/// every time, so only the operation deadline ends it.
#[tokio::test]
async fn endless_trickled_fragments_end_at_the_operation_deadline() {
    use support::mock_server::{ioctl_body, read_body};
    let step = Duration::from_millis(200);
    let first = response_fragment(CHANGE_CALL_ID, 0x01, &[0]);
    let more = response_fragment(CHANGE_CALL_ID, 0x00, &[0]);
    let script = Script::new()
        .on(When::Call(OP4), Action::Respond(NtStatus::STATUS_SUCCESS, ioctl_body(&first)))
        .on(
            When::Smb(Command::READ),
            Action::DelayedRespond(step, NtStatus::STATUS_SUCCESS, read_body(&more)),
        );
    let deadline = Duration::from_secs(2);
    let f = run_with_deadline(script, Duration::from_secs(1), deadline).await;
    assert_kind(&f.e, ErrorKind::OutcomeUnknown, 4);
    timed_out_after(f.after_last_request, deadline);
}

/// A scripted domain for `list_users`: SamrConnect5, the domain list, its SID and the
/// domain handle answered normally; opnum 13 (SamrEnumerateUsersInDomain) by `enumerate`.
fn domain_script(enumerate: Action) -> Script {
    use samrpc::ndr::{ContextHandle, RpcSid, RpcUnicodeString};
    use samrpc::samr::{
        EnumerationBuffer, HandleResponse, RevisionInfoV1, RidEnumeration, SamrConnect5Response,
        SamrEnumerateDomainsInSamServerResponse, SamrLookupDomainInSamServerResponse,
    };
    let ok = NtStatus::STATUS_SUCCESS;
    let stub = |s: Vec<u8>| Action::Rpc(CallReply::Response { stub: s, fragments: 1 });
    let connect = SamrConnect5Response {
        revision: RevisionInfoV1 { revision: 3, supported_features: 0 },
        handle: ContextHandle([1; 20]),
        status: ok,
    };
    let domains = SamrEnumerateDomainsInSamServerResponse {
        enumeration_context: 0,
        buffer: Some(EnumerationBuffer::new(vec![RidEnumeration {
            relative_id: 0,
            name: RpcUnicodeString::new("MOCK").unwrap(),
        }])),
        count_returned: 1,
        status: ok,
    };
    let sid = SamrLookupDomainInSamServerResponse {
        domain_id: RpcSid::parse("S-1-5-21-1-2-3"),
        status: ok,
    };
    let open = HandleResponse { handle: ContextHandle([2; 20]), status: ok };
    Script::new()
        .call(64, stub(connect.to_stub()))
        .call(6, stub(domains.to_stub()))
        .call(5, stub(sid.to_stub()))
        .call(7, stub(open.to_stub()))
        .call(13, enumerate)
}

/// One SamrEnumerateUsersInDomain answer: STATUS_MORE_ENTRIES, `n` accounts, this resume
/// handle.
fn more_entries(context: u32, n: u32) -> Vec<u8> {
    use samrpc::ndr::RpcUnicodeString;
    use samrpc::samr::{EnumerationBuffer, RidEnumeration, SamrEnumerateUsersInDomainResponse};
    let entries = (0..n)
        .map(|i| RidEnumeration {
            relative_id: 1000 + i,
            name: RpcUnicodeString::new(&format!("user{context}x{i}")).unwrap(),
        })
        .collect();
    SamrEnumerateUsersInDomainResponse {
        enumeration_context: context,
        buffer: Some(EnumerationBuffer::new(entries)),
        count_returned: n,
        status: NtStatus::STATUS_MORE_ENTRIES,
    }
    .to_stub()
}

async fn list_users_against(
    script: Script,
) -> (Result<Vec<samrpc::api::UserEntry>, Error>, MockServer) {
    use samrpc::api::{ListUsersRequest, list_users};
    let server = MockServer::start(script).await;
    let req = ListUsersRequest::new("127.0.0.1", samrpc::Credentials::Anonymous).with_config(
        // A deadline far out, so that the caps are what stops the run (1,000 calls take
        // a few seconds, more on a busy machine).
        support::config(server.port(), false, STEP)
            .with_operation_timeout(Duration::from_secs(100)),
    );
    let r = tokio::time::timeout(Duration::from_secs(120), list_users(req))
        .await
        .expect("the client hung");
    (r, server)
}

fn enumerate_calls(server: &MockServer) -> usize {
    server.log().opnums().iter().filter(|o| **o == 13).count()
}

/// Issue 15 item 3: STATUS_MORE_ENTRIES forever with the same resume handle is stopped at
/// the second answer.
#[tokio::test]
async fn endless_more_entries_with_a_stuck_resume_handle() {
    let script =
        domain_script(Action::Rpc(CallReply::Response { stub: more_entries(7, 10), fragments: 1 }));
    let (r, server) = list_users_against(script).await;
    let e = r.unwrap_err();
    assert_kind(&e, ErrorKind::Protocol, 3);
    assert!(e.to_string().contains("resume handle"), "{e}");
    // The first answer gave handle 7 (from 0); the second repeated it.
    assert_eq!(enumerate_calls(&server), 2);
}

/// STATUS_MORE_ENTRIES forever with an advancing resume handle and 1,000 accounts per
/// answer: the entry cap stops it after MAX_ENUMERATED_USERS accounts (1,000 calls), with
/// the memory that many names take, not more.
#[tokio::test]
async fn endless_more_entries_with_an_advancing_handle_hits_the_cap() {
    use samrpc::api::MAX_ENUMERATED_USERS;
    use std::sync::atomic::{AtomicU32, Ordering};
    let next = std::sync::Arc::new(AtomicU32::new(1));
    let handler: support::mock_server::CallHandler = std::sync::Arc::new(move |_call| {
        let c = next.fetch_add(1, Ordering::SeqCst);
        CallReply::Response { stub: more_entries(c, 1000), fragments: 16 }
    });
    let (r, server) = list_users_against(domain_script(Action::Handler(handler))).await;
    let e = r.unwrap_err();
    assert_kind(&e, ErrorKind::Protocol, 3);
    assert!(e.to_string().contains("more than"), "{e}");
    assert_eq!(enumerate_calls(&server), MAX_ENUMERATED_USERS / 1000 + 1);
}

/// The same, slowed to one answer every 100 ms: the operation deadline (2 s) ends it, as a
/// timeout, long before any cap.
#[tokio::test]
async fn a_slow_endless_enumeration_ends_at_the_operation_deadline() {
    use samrpc::api::{ListUsersRequest, list_users};
    use std::sync::atomic::{AtomicU32, Ordering};
    let next = std::sync::Arc::new(AtomicU32::new(1));
    let handler: support::mock_server::CallHandler = std::sync::Arc::new(move |_call| {
        std::thread::sleep(Duration::from_millis(100));
        let c = next.fetch_add(1, Ordering::SeqCst);
        CallReply::Response { stub: more_entries(c, 10), fragments: 1 }
    });
    let server = MockServer::start(domain_script(Action::Handler(handler))).await;
    let deadline = Duration::from_secs(2);
    let req = ListUsersRequest::new("127.0.0.1", samrpc::Credentials::Anonymous)
        .with_config(support::config(server.port(), false, STEP).with_operation_timeout(deadline));
    let started = Instant::now();
    let r = tokio::time::timeout(LIMIT, list_users(req)).await.expect("the client hung");
    let took = started.elapsed();
    let e = r.unwrap_err();
    assert_kind(&e, ErrorKind::Timeout, 3);
    assert!(e.to_string().contains("operation timeout"), "{e}");
    assert!(took < deadline + Duration::from_secs(2), "took {took:?}");
    assert!(enumerate_calls(&server) < 40, "{}", enumerate_calls(&server));
}

/// Issue 14 item 2: the server answers the change request STATUS_NETWORK_SESSION_EXPIRED
/// (without acting on it). The client re-authenticates on the same connection — SESSION_SETUP
/// legs carrying the existing SessionId ([MS-SMB2] 3.2.4.2.3) — and sends the request again;
/// the change succeeds and the server acted on it once.
#[tokio::test]
async fn an_expired_session_is_reauthenticated_and_the_request_replayed() {
    use support::mock_server::SESSION_ID;
    let script = Script::new()
        .once(When::Call(OP4), Action::Status(NtStatus::STATUS_NETWORK_SESSION_EXPIRED))
        .call(OP4, Action::SamrStatus(NtStatus::STATUS_SUCCESS));
    let server = MockServer::start(script).await;
    let r =
        tokio::time::timeout(LIMIT, change_password(change_request(server.port(), false, STEP)))
            .await
            .expect("the client hung");
    let log = server.log();
    r.unwrap_or_else(|e| panic!("{e}: {:?} {:?}", e.hint(), log.errors));
    assert_eq!(log.connections, 1, "same connection");
    assert_eq!(log.session_setup_ids, [0, SESSION_ID, SESSION_ID, SESSION_ID]);
    assert_eq!(log.anonymous_logons, [true, true]);
    // The refused request was not processed; the replay was, once.
    assert_eq!(log.opnums(), [OP4]);
    let ioctls = log.commands().iter().filter(|c| **c == Command::IOCTL).count();
    assert_eq!(ioctls, 3, "bind, the refused change, the replay: {:?}", log.commands());
    assert!(log.errors.is_empty(), "{:?}", log.errors);
}

/// The re-authentication itself refused: a typed session-setup failure, no replay.
#[tokio::test]
async fn a_refused_reauthentication_fails_the_call_without_replaying_it() {
    // Rules are first-match and a `once` rule is spent when it fires: the logon's two legs
    // answer normally, the re-authentication's first leg is refused.
    let script = Script::new()
        .once(When::Smb(Command::SESSION_SETUP), Action::Reply)
        .once(When::Smb(Command::SESSION_SETUP), Action::Reply)
        .once(When::Smb(Command::SESSION_SETUP), Action::Status(NtStatus::STATUS_ACCESS_DENIED))
        .once(When::Call(OP4), Action::Status(NtStatus::STATUS_NETWORK_SESSION_EXPIRED))
        .call(OP4, Action::SamrStatus(NtStatus::STATUS_SUCCESS));
    let (e, took, server) = fail_with(script, STEP).await;
    assert_eq!(e.status(), Some(NtStatus::STATUS_ACCESS_DENIED), "{e}");
    fast(took);
    assert!(server.log().opnums().is_empty(), "never replayed");
}
