//! Round trips (issue 6, goal 2): SMB2 request flights of a password change against every
//! real Samba test server. A flight is one TCP frame carrying a request or a compound chain.
//!
//! Expected: NEGOTIATE, SESSION_SETUP × 2, [TREE_CONNECT + CREATE + bind IOCTL], the call,
//! [CLOSE + TREE_DISCONNECT + LOGOFF] = 6. On SMB 3.0 (127.0.0.5) VALIDATE_NEGOTIATE_INFO must
//! follow the tree connect, so TREE_CONNECT and VALIDATE go alone and CREATE + bind form the
//! compound: 8.
//!
//! The reset path (`api::reset_password`) is 15: the same 4 to set up, SamrConnect5,
//! EnumerateDomains, LookupDomainInSamServer, OpenDomain, LookupNamesInDomain, OpenUser,
//! SetInformationUser2, CloseHandle x3, teardown 1 (before the compounds: 19). Bulk rotation's
//! count is asserted in tests/rotate.rs (3 flights per further account).
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{ALL, S5, Server};
use samrpc::client::SamrClient;
use samrpc::crypto::{encrypt_password_change_aes, nt_hash};
use samrpc::ndr::RpcUnicodeString;
use samrpc::rng::OsRandom;
use samrpc::samr::SamrUnicodeChangePasswordUser4;
use samrpc::{ClientConfig, Credentials, NtStatus, Password, Secret};

const OLD: &str = "Flights-Old-2026!a";
const NEW: &str = "Flights-New-2026!b";

async fn change_counting(server: Server) -> (u32, u32) {
    let user = common::unique_user("fl");
    common::add_user(server, &user, OLD, false);
    let creds = Credentials::User {
        user: user.clone(),
        domain: Some(server.domain.to_owned()),
        secret: Secret::Password(Password::from(OLD)),
    };
    let mut client = SamrClient::connect(server.ip, &creds, &ClientConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{}: connect: {e}", server.ip));
    let setup = client.flights();
    let enc = encrypt_password_change_aes(
        &nt_hash(&Password::from(OLD)),
        &Password::from(NEW),
        5000,
        &mut OsRandom,
    )
    .unwrap();
    let call = SamrUnicodeChangePasswordUser4 {
        server_name: Some(RpcUnicodeString::new(&format!("\\\\{}", server.ip)).unwrap()),
        user_name: RpcUnicodeString::new(&user).unwrap(),
        encrypted_password: enc,
    };
    let r = client.call_mutating(&call).await.unwrap();
    assert_eq!(r.status, NtStatus::STATUS_SUCCESS, "{}: change", server.ip);
    let total = client.close_counted().await.expect("teardown sent");
    common::assert_login_ok(server, &user, NEW);
    (setup, total)
}

#[tokio::test]
async fn change_takes_six_flights_on_every_server() {
    common::require_servers();
    for server in ALL {
        let (setup, total) = change_counting(server).await;
        eprintln!("{} ({}): setup {setup}, change total {total} flights", server.ip, server.role);
        if server.ip == S5.ip {
            // TREE_CONNECT and VALIDATE_NEGOTIATE_INFO cannot join the compound on 3.0.
            assert_eq!((setup, total), (6, 8), "{}", server.ip);
        } else {
            assert_eq!((setup, total), (4, 6), "{}", server.ip);
        }
    }
}
