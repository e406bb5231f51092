//! Cancellation and the operation timeout against the scripted peer
//! (`tests/support/mock_server.rs`), where silence at an exact step can be arranged: a job
//! bounded by `ClientConfig::operation_timeout` reports "outcome unknown" exactly when the
//! password-change request reached the server, and a plain timeout before it; a client whose
//! call was dropped mid-flight is closed and says why.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use samrpc::api::change_password;
use samrpc::client::SamrClient;
use samrpc::samr::{Call, SamrGetDomainPasswordInformation, SamrUnicodeChangePasswordUser4};
use samrpc::smb2::Command;
use samrpc::{Credentials, ErrorKind, Operation};
use std::time::{Duration, Instant};
use support::mock_server::{Action, MockServer, Script, When};
use support::{change_request, config};

const OP4: u16 = SamrUnicodeChangePasswordUser4::OPNUM;
/// The per-step timeout: far longer than the operation timeout, so only the latter can fire.
const STEP: Duration = Duration::from_secs(30);
/// The whole-job bound under test.
const OPERATION: Duration = Duration::from_millis(1500);
/// The outer safety bound of every run.
const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn operation_timeout_after_the_change_request_is_outcome_unknown() {
    let server = MockServer::start(Script::new().on(When::Call(OP4), Action::Silent)).await;
    let mut req = change_request(server.port(), false, STEP);
    req.config = req.config.with_operation_timeout(OPERATION);
    let start = Instant::now();
    let e = tokio::time::timeout(LIMIT, change_password(req)).await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutcomeUnknown, "{e}");
    assert!(e.outcome_unknown());
    assert_eq!(e.exit_code(), 4);
    assert_eq!(e.operation(), Operation::Call(SamrUnicodeChangePasswordUser4::NAME));
    assert!(e.to_string().contains("operation timeout"), "{e}");
    // The operation timeout fired, not the 30 s step timeout.
    assert!(start.elapsed() < STEP / 2, "took {:?}", start.elapsed());
    assert_eq!(server.log().opnums(), vec![OP4], "the request was delivered");
}

#[tokio::test]
async fn operation_timeout_before_the_change_request_is_a_plain_timeout() {
    for when in [When::Smb(Command::SESSION_SETUP), When::Smb(Command::CREATE), When::Bind] {
        let server = MockServer::start(Script::new().on(when.clone(), Action::Silent)).await;
        let mut req = change_request(server.port(), false, STEP);
        req.config = req.config.with_operation_timeout(OPERATION);
        let e = tokio::time::timeout(LIMIT, change_password(req)).await.unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{when:?}: {e}");
        assert!(!e.outcome_unknown(), "{when:?}: {e}");
        assert_eq!(e.operation(), Operation::Connect, "{when:?}: {e}");
        assert!(server.log().calls.is_empty(), "{when:?}: no SAMR call was made");
    }
}

/// Poll `fut` exactly once; `true` if it finished.
async fn poll_once<F: std::future::Future>(fut: F) -> bool {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx).is_ready())).await
}

#[tokio::test]
async fn a_client_whose_call_was_dropped_is_closed_and_says_why() {
    // The peer never answers opnum 56, so the dropped call is surely mid-flight.
    let opnum = SamrGetDomainPasswordInformation::OPNUM;
    let server = MockServer::start(Script::new().on(When::Call(opnum), Action::Silent)).await;
    let cfg = config(server.port(), false, STEP);
    let mut client = SamrClient::connect("127.0.0.1", &Credentials::Anonymous, &cfg).await.unwrap();
    assert!(!client.is_closed());
    let call = client.call(&SamrGetDomainPasswordInformation { unused: None });
    assert!(!poll_once(call).await, "the silent peer cannot have answered");
    assert!(client.is_closed());
    let e = client.call(&SamrGetDomainPasswordInformation { unused: None }).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
    assert!(e.to_string().contains("closed"), "{e}");
    assert!(e.to_string().contains("cancelled"), "{e}");
    assert!(!e.to_string().contains("protocol violation"), "{e}");
    assert!(e.hint().unwrap().contains("new client"), "{e:?}");
    // The first call reached the peer; the second never went on the wire.
    for _ in 0..100 {
        if !server.log().opnums().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.log().opnums(), vec![opnum]);
    client.close().await;
}
