//! Embedding patterns against the real Samba AD DC: one client for several jobs, the typed
//! steps of `api::domain`, synchronous use through `samrpc::blocking`, and a client whose
//! call was cancelled (closed, with a fresh client working). Every change is proven with
//! Samba's own client.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use samrpc::api::domain::{close_handle, lookup_rid, open_account_domain, open_user, query_user};
use samrpc::api::{AccountKind, ChangePassword, Method, ResetPassword};
use samrpc::client::SamrClient;
use samrpc::samr::{SamrGetDomainPasswordInformation, UserInfo, access, consts};
use samrpc::{ClientConfig, Credentials, ErrorKind, NtStatus, Operation, Password, blocking};
use std::time::{Duration, SystemTime};

const OLD: &str = "Old-Pass-1!";

#[test]
fn one_client_runs_several_jobs() {
    let (a, b) = (unique_user("emba"), unique_user("embb"));
    add_user(DC, &a, OLD, false);
    add_user(DC, &b, OLD, false);
    block_on(async {
        let cfg = ClientConfig::default().with_operation_timeout(Duration::from_secs(60));
        let mut client = SamrClient::connect(DC.ip, &admin_credentials(DC), &cfg).await.unwrap();

        let report = client.password_policy(Some(&a)).await.unwrap();
        assert_eq!(report.domain, DC.domain);
        assert_eq!(report.user.as_ref().unwrap().name, a);

        let state = client.user_state(&b).await.unwrap();
        assert_eq!(state.rid, rpcclient_rid(DC, &b));
        let set = state.password_last_set_time().expect("a password was set");
        let age = SystemTime::now().duration_since(set).unwrap_or_default();
        assert!(age < Duration::from_secs(3600), "set {age:?} ago");
        // The DC's policy has a maximum age: the deadline comes after the last set.
        let must = state.password_must_change_time().expect("a maximum password age");
        assert!(must > set, "{must:?} <= {set:?}");

        // Other suites create and delete accounts on the same DC; an account deleted between
        // the enumeration and its SamrOpenUser fails the listing (STATUS_NO_SUCH_USER), so a
        // few attempts are allowed.
        let mut users = Vec::new();
        for attempt in 1..=3 {
            match client.list_users(AccountKind::All).await {
                Ok(u) => {
                    users = u;
                    break;
                }
                Err(e) if attempt < 3 && e.status() == Some(NtStatus::STATUS_NO_SUCH_USER) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert!(users.iter().any(|u| u.name == a) && users.iter().any(|u| u.name == b));

        // Reset a, then change b, over the same administrator session.
        let reset =
            ResetPassword::new(DC.ip, &a, admin_credentials(DC), Password::from("Emb-Reset-2!"));
        assert_eq!(client.reset_password(&reset).await.unwrap().method, Method::SetInternal7);
        let change =
            ChangePassword::new(DC.ip, &b, Password::from(OLD), Password::from("Emb-Change-3!"))
                .with_iterations(5_000);
        let o = client.change_password(&change).await.unwrap();
        assert_eq!((o.method, o.iterations), (Method::ChangeUser4, Some(5_000)));
        // A refusal on the shared session leaves it usable.
        let wrong =
            ChangePassword::new(DC.ip, &b, Password::from("Not-It-9!"), Password::from("X-4-y!z"))
                .with_iterations(5_000);
        let e = client.change_password(&wrong).await.unwrap_err();
        assert_eq!(e.status(), Some(NtStatus::STATUS_WRONG_PASSWORD), "{e}");
        assert!(!client.is_closed());
        assert_eq!(client.user_state(&a).await.unwrap().name, a);
        client.close().await;
    });
    assert_login_ok(DC, &a, "Emb-Reset-2!");
    assert_login_ok(DC, &b, "Emb-Change-3!");
}

#[test]
fn the_typed_steps_compose() {
    let u = unique_user("embt");
    add_user(DC, &u, OLD, false);
    block_on(async {
        let mut client =
            SamrClient::connect(DC.ip, &admin_credentials(DC), &ClientConfig::default())
                .await
                .unwrap();
        let domain = open_account_domain(&mut client, access::DOMAIN_LOOKUP).await.unwrap();
        assert_eq!(domain.name, DC.domain);
        let rid = lookup_rid(&mut client, &domain, &u).await.unwrap();
        assert_eq!(rid, rpcclient_rid(DC, &u));
        let e = lookup_rid(&mut client, &domain, "no-such-user-emb").await.unwrap_err();
        assert_eq!(e.status(), Some(NtStatus::STATUS_NONE_MAPPED));
        assert_eq!(e.operation(), Operation::Call("SamrLookupNamesInDomain"));
        let user = open_user(&mut client, &domain, rid, access::USER_READ_ACCOUNT).await.unwrap();
        let info = query_user(&mut client, &user, consts::USER_CONTROL_INFORMATION).await.unwrap();
        close_handle(&mut client, user).await;
        domain.close(&mut client).await;
        match info {
            UserInfo::Control(bits) => assert_ne!(bits & 0x10, 0, "a normal account: {bits:#x}"),
            other => panic!("{other:?}"),
        }
        // A status check through NtStatus::check.
        let r = client.call(&SamrGetDomainPasswordInformation { unused: None }).await.unwrap();
        r.status.check(Operation::Call("SamrGetDomainPasswordInformation")).unwrap();
        client.close().await;
    });
}

/// Poll `fut` exactly once; `true` if it finished.
async fn poll_once<F: std::future::Future>(fut: F) -> bool {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx).is_ready())).await
}

#[test]
fn a_cancelled_call_closes_the_client_and_a_fresh_client_works() {
    block_on(async {
        let cfg = ClientConfig::default();
        let mut client = SamrClient::connect(DC.ip, &admin_credentials(DC), &cfg).await.unwrap();
        // Drop a call after its first poll (request written, answer not yet read). Should
        // the DC ever answer within that one poll, try again: the call finished normally.
        let mut cancelled = false;
        for _ in 0..20 {
            if !poll_once(client.call(&SamrGetDomainPasswordInformation { unused: None })).await {
                cancelled = true;
                break;
            }
        }
        assert!(cancelled, "every call completed within a single poll");
        assert!(client.is_closed());
        let e = client.password_policy(None).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
        assert!(e.to_string().contains("cancelled"), "{e}");
        assert!(!e.to_string().contains("protocol violation"), "{e}");
        client.close().await;

        let mut fresh = SamrClient::connect(DC.ip, &admin_credentials(DC), &cfg).await.unwrap();
        assert!(!fresh.is_closed());
        let r = fresh.call(&SamrGetDomainPasswordInformation { unused: None }).await.unwrap();
        assert!(r.status.is_success());
        fresh.close().await;
    });
}

/// What `examples/blocking.rs` does, from a plain test thread without any runtime.
#[test]
fn blocking_calls_work_without_a_runtime() {
    let u = unique_user("embs");
    add_user(DC, &u, OLD, false);
    let creds = Credentials::password(u.as_str(), Some(DC.domain.to_owned()), Password::from(OLD));
    let mut client = blocking::Client::connect(DC.ip, &creds, &ClientConfig::default()).unwrap();
    let report = client.password_policy(Some(&u)).unwrap();
    assert_eq!(report.user.unwrap().name, u);
    client.close();
    let o = blocking::change_password(change_request(DC, &u, OLD, "Emb-Sync-5!")).unwrap();
    assert_eq!(o.method, Method::ChangeUser4);
    assert_login_ok(DC, &u, "Emb-Sync-5!");
}
