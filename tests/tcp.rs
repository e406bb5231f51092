//! SAMR over ncacn_ip_tcp against the real Samba AD DC: the endpoint mapper, the three-leg NTLM
//! bind at packet privacy, password changes (a user's and a computer account's own), reads
//! equal to the SMB results, resets refused before anything is sent, the expired-password path
//! under `auto`, and `auto` falling back when the SMB port is closed.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

#[path = "support/capture.rs"]
mod capture;
use capture::Capture;

use samrpc::api::{
    ListUsersRequest, PolicyRequest, ResetPassword, SessionKind, change_password, list_users,
    password_policy, reset_password,
};
use samrpc::session::RpcTransportKind;
use samrpc::{ClientConfig, Credentials, ErrorKind, Password, RpcProtection, Transport};
use std::process::Command;

fn tcp() -> ClientConfig {
    ClientConfig::default().with_transport(Transport::Tcp)
}

/// A local TCP port with nothing listening on it.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let p = l.local_addr().unwrap().port();
    drop(l);
    p
}

#[test]
fn policy_and_users_over_tcp_equal_the_smb_results() {
    require_servers();
    let smb = block_on(password_policy(PolicyRequest::new(DC.ip, admin_credentials(DC)))).unwrap();
    let over_tcp = block_on(password_policy(
        PolicyRequest::new(DC.ip, admin_credentials(DC)).with_config(tcp()),
    ))
    .unwrap();
    assert_eq!(over_tcp.policy, smb.policy);
    assert_eq!(over_tcp.domain, smb.domain);
    assert_eq!(over_tcp.session.transport, RpcTransportKind::Tcp);
    assert_eq!(over_tcp.session.kind, SessionKind::Authenticated);
    assert!(over_tcp.session.signing && over_tcp.session.encryption, "{:?}", over_tcp.session);
    assert_eq!(smb.session.transport, RpcTransportKind::NamedPipe);

    // Other suites create and delete users on the same DC concurrently: list over SMB before
    // and after the TCP listing; TCP must see every user both SMB listings saw, and only users
    // one of them saw, with the same RIDs and account flags.
    // list_users opens each account; one deleted in between answers STATUS_NO_SUCH_USER:
    // list again then.
    let list = |config: ClientConfig| {
        for _ in 0..5 {
            let req =
                ListUsersRequest::new(DC.ip, admin_credentials(DC)).with_config(config.clone());
            match block_on(list_users(req)) {
                Err(e) if e.status() == Some(samrpc::NtStatus::STATUS_NO_SUCH_USER) => continue,
                r => return r.unwrap(),
            }
        }
        panic!("users kept disappearing during the listing");
    };
    let smb = || list(ClientConfig::default());
    let before = smb();
    let users_tcp = list(tcp());
    let after = smb();
    assert!(users_tcp.iter().any(|u| u.rid == 500 && u.name == "Administrator"));
    for u in &before {
        if after.contains(u) {
            assert!(users_tcp.contains(u), "{u:?} missing over TCP");
        }
    }
    for u in &users_tcp {
        assert!(before.contains(u) || after.contains(u), "{u:?} only over TCP");
    }
}

#[test]
fn integrity_level_works_too() {
    require_servers();
    let r = block_on(password_policy(
        PolicyRequest::new(DC.ip, admin_credentials(DC))
            .with_config(tcp().with_rpc_protection(RpcProtection::Integrity)),
    ))
    .unwrap();
    assert!(r.session.signing && !r.session.encryption, "{:?}", r.session);
    assert_eq!(r.policy.min_length, 7);
}

#[test]
fn user_changes_own_password_over_tcp() {
    let user = unique_user("tcpchg");
    add_user(DC, &user, "Old-Tcp-1!", false);
    let req = change_request(DC, &user, "Old-Tcp-1!", "New-Tcp-2!").with_config(tcp());
    let out = block_on(change_password(req)).unwrap();
    assert_eq!(out.session.transport, RpcTransportKind::Tcp);
    assert!(out.session.encryption);
    assert_login_ok(DC, &user, "New-Tcp-2!");
    assert_login_fails(DC, &user, "Old-Tcp-1!", "NT_STATUS_LOGON_FAILURE");
}

#[test]
fn wrong_old_password_over_tcp_is_a_clear_error() {
    let user = unique_user("tcpbad");
    add_user(DC, &user, "Old-Tcp-1!", false);
    let req = change_request(DC, &user, "Wrong-Old-9!", "New-Tcp-2!").with_config(tcp());
    let e = block_on(change_password(req)).unwrap_err();
    // Samba answers a failed AUTH3 with an access_denied fault on the first call.
    assert_eq!(e.rpc_fault(), Some(samrpc::RpcFault::ACCESS_DENIED), "{e:?}");
    assert!(e.hint().unwrap().contains("password"), "{e:?}");
    assert_login_ok(DC, &user, "Old-Tcp-1!");
}

#[test]
fn reset_over_tcp_is_refused_before_sending() {
    require_servers();
    // The endpoint mapper port is closed: any attempt to connect would fail differently.
    let config = tcp().with_epm_port(closed_port());
    let req = ResetPassword::new(DC.ip, "nobody", admin_credentials(DC), Password::from("X-1a!b"))
        .with_config(config);
    let e = block_on(reset_password(req)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
    assert!(e.message().contains("ncacn_ip_tcp"), "{e}");
    assert!(e.hint().unwrap().contains("SMB"), "{e:?}");
}

/// A client already connected over TCP (reused for several jobs) refuses a reset before any
/// call: nothing is sent on the association.
#[test]
fn reset_on_a_tcp_client_is_refused_before_any_call() {
    require_servers();
    block_on(async {
        let mut client = samrpc::client::SamrClient::connect(DC.ip, &admin_credentials(DC), &tcp())
            .await
            .unwrap();
        let flights = client.flights();
        let req =
            ResetPassword::new(DC.ip, "nobody", admin_credentials(DC), Password::from("X-1a!b"));
        let e = client.reset_password(&req).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
        assert!(e.hint().unwrap().contains("SMB"), "{e:?}");
        assert_eq!(client.flights(), flights, "nothing was sent");
        client.close().await;
    });
}

#[test]
fn auto_falls_back_to_tcp_when_the_smb_port_is_closed() {
    require_servers();
    let config = ClientConfig::default().with_transport(Transport::Auto).with_port(closed_port());
    let r = block_on(password_policy(
        PolicyRequest::new(DC.ip, admin_credentials(DC)).with_config(config.clone()),
    ))
    .unwrap();
    assert_eq!(r.session.transport, RpcTransportKind::Tcp);
    // SMB only: the same closed port fails.
    let e = block_on(password_policy(
        PolicyRequest::new(DC.ip, admin_credentials(DC))
            .with_config(config.with_transport(Transport::Smb)),
    ))
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Network, "{e:?}");
}

#[test]
fn expired_password_changes_under_auto_over_smb() {
    let user = unique_user("tcpexp");
    add_user(DC, &user, "Old-Exp-1!", true);
    // Over TCP the server refuses it.
    let req = change_request(DC, &user, "Old-Exp-1!", "New-Exp-2!").with_config(tcp());
    let e = block_on(change_password(req)).unwrap_err();
    assert!(e.hint().unwrap_or_default().contains("SMB"), "{e:?}");
    // Under auto: SMB's anonymous path.
    let req = change_request(DC, &user, "Old-Exp-1!", "New-Exp-2!")
        .with_config(ClientConfig::default().with_transport(Transport::Auto));
    let out = block_on(change_password(req)).unwrap();
    assert_eq!(out.session.transport, RpcTransportKind::NamedPipe);
    assert_eq!(out.session.kind, SessionKind::Anonymous);
    assert_login_ok(DC, &user, "New-Exp-2!");
}

/// The computer account's password, proven with MIT kinit against the DC's KDC.
fn kinit(principal: &str, password: &str) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("samrpc-tcp-krb5-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("krb5.conf");
    std::fs::write(
        &conf,
        "[libdefaults]\n default_realm = SAMR.TEST\n dns_lookup_kdc = false\n dns_lookup_realm = false\n\
         [realms]\n SAMR.TEST = {\n  kdc = 127.0.0.1:88\n }\n",
    )
    .unwrap();
    let cache = dir.join("ccache");
    let mut child = Command::new("kinit")
        .arg(principal)
        .env("KRB5_CONFIG", &conf)
        .env("KRB5CCNAME", format!("FILE:{}", cache.display()))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kinit (MIT krb5-user)");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    if o.status.success() {
        Ok(())
    } else {
        Err(format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
    }
}

#[test]
fn computer_account_changes_its_own_password_over_tcp() {
    require_servers();
    let name = unique_user("TCPC").to_uppercase();
    let name = &name[..name.len().min(15)];
    samba_tool(&["computer", "create", name]);
    let account = format!("{name}$");
    samba_tool(&["user", "setpassword", &account, "--newpassword=Old-Mach-1!"]);
    let principal = format!("{account}@SAMR.TEST");
    kinit(&principal, "Old-Mach-1!").expect("the set password works");
    // Under auto, an account ending in $ goes over TCP first.
    let req = change_request(DC, &account, "Old-Mach-1!", "New-Mach-2!")
        .with_config(ClientConfig::default().with_transport(Transport::Auto));
    let out = block_on(change_password(req)).unwrap();
    assert_eq!(out.session.transport, RpcTransportKind::Tcp);
    assert!(out.session.encryption);
    kinit(&principal, "New-Mach-2!").expect("the new password works");
    assert!(kinit(&principal, "Old-Mach-1!").is_err(), "the old password no longer works");
    samba_tool(&["computer", "delete", name]);
}

/// Anonymous over TCP binds at level NONE (no verifier): the DC answers reads there
/// (research note "ncacn-ip-tcp").
#[test]
fn anonymous_reads_over_tcp_bind_without_auth() {
    require_servers();
    let r = block_on(password_policy(
        PolicyRequest::new(DC.ip, Credentials::Anonymous).with_config(tcp()),
    ))
    .unwrap();
    assert_eq!(r.session.kind, SessionKind::Anonymous);
    assert_eq!(r.session.transport, RpcTransportKind::Tcp);
    assert!(!r.session.signing && !r.session.encryption);
    assert_eq!(r.policy.min_length, 7);
}

/// The proof on the wire: the change travels over the endpoint mapper and a dynamic port,
/// every request and response of the authenticated association is at auth level 6 (packet
/// privacy) with NTLMSSP, opnum 73 is among them, the AUTH3 reuses the bind's call id, this
/// user never authenticates on port 445, and neither password appears in any encoding.
#[test]
fn change_over_tcp_is_sealed_on_the_wire() {
    let user = unique_user("tcpwire");
    let (old, new) = ("Old-Wire-1!", "New-Wire-2!");
    add_user(DC, &user, old, false);
    let cap = Capture::start(
        "host 127.0.0.1 and (tcp port 135 or tcp port 445 or tcp portrange 49152-65535)",
        &user,
        SETUP,
    );
    let req = change_request(DC, &user, old, new).with_config(tcp());
    block_on(change_password(req)).unwrap();
    let file = cap.stop();

    // The stream in which this user authenticated (AUTH3 with its name).
    let auth = tshark_fields(
        &file,
        &format!("ntlmssp.auth.username == \"{user}\""),
        &["tcp.stream", "tcp.dstport", "dcerpc.pkt_type", "dcerpc.cn_call_id"],
    );
    assert_eq!(auth.len(), 1, "one AUTH3 for {user}: {auth:?}");
    let (stream, port) = (&auth[0][0], auth[0][1].parse::<u16>().unwrap());
    assert_eq!(auth[0][2], "16", "AUTH3 PDU");
    assert!(port >= 49152, "a dynamic RPC port, not {port}");
    let bind = tshark_fields(
        &file,
        &format!("tcp.stream == {stream} && dcerpc.pkt_type == 11"),
        &["dcerpc.cn_call_id", "dcerpc.cn_flags"],
    );
    assert_eq!(bind.len(), 1);
    assert_eq!(bind[0][0], auth[0][3], "AUTH3 reuses the BIND's call id");
    assert_eq!(bind[0][1], "0x07", "FIRST|LAST|SUPPORT_HEADER_SIGN");
    let pdus = tshark_fields(
        &file,
        &format!("tcp.stream == {stream} && (dcerpc.pkt_type == 0 || dcerpc.pkt_type == 2)"),
        &["dcerpc.pkt_type", "dcerpc.auth_type", "dcerpc.auth_level", "dcerpc.opnum"],
    );
    assert!(pdus.len() >= 2, "{pdus:?}");
    for p in &pdus {
        assert_eq!((p[1].as_str(), p[2].as_str()), ("10", "6"), "NTLMSSP at privacy: {p:?}");
    }
    assert!(pdus.iter().any(|p| p[0] == "0" && p[3] == "73"), "opnum 73 request: {pdus:?}");
    // The endpoint mapper was asked (ept_map, opnum 3 on port 135) without authentication.
    let epm = tshark_fields(&file, "tcp.port == 135 && dcerpc.pkt_type == 0", &["dcerpc.opnum"]);
    assert!(epm.iter().any(|p| p[0] == "3"), "{epm:?}");
    // This user never authenticated over SMB.
    let smb = tshark_fields(
        &file,
        &format!("tcp.port == 445 && ntlmssp.auth.username == \"{user}\""),
        &["frame.number"],
    );
    assert!(smb.is_empty(), "SMB traffic for {user}: {smb:?}");
    // Neither password, in ASCII or UTF-16LE, anywhere in the capture.
    assert_no_password_bytes(&std::fs::read(&file).unwrap(), &[old, new]);
    let _ = std::fs::remove_file(&file);
    assert_login_ok(DC, &user, new);
}
