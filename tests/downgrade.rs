//! Downgrade and policy, against the real servers (tests/samba/samba.sh) through the
//! fault-injecting proxy (tests/support/fault_proxy.rs):
//! - a 3.1.1 NEGOTIATE altered in flight fails pre-authentication integrity;
//! - a 3.0 NEGOTIATE altered in flight fails VALIDATE_NEGOTIATE_INFO;
//! - an SMB 2.0.2 server is refused unless the caller lowers the policy;
//! - the legacy RC4/DES methods never go on the wire without the opt-in;
//! - a Guest or null session is never used where an authenticated one was asked for.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;

use common::{DC, S5, Server, add_user, assert_login_ok, unique_user};
use fault_proxy::{Action, BODY, Dir, FaultProxy, Seen, cmd, once, ptype};
use samrpc::api::{ChangePassword, ChangeSession, ResetPassword, change_password, reset_password};
use samrpc::{ClientConfig, Credentials, Error, ErrorKind, Operation, Password, Secret};
use std::time::Duration;

/// Standalone, SMB 2.0.2 only, signing not required (tests/samba/samba.sh server 6).
const S6: Server = Server { ip: "127.0.0.6", domain: "SRV6", role: "standalone SMB2_02" };

const OPNUM_CHANGE4: u16 = 73;
const OPNUM_CHANGE2: u16 = 55;
const OPNUM_SET_INFO2: u16 = 58;
/// The other legacy change methods (SamrChangePasswordUser, SamrOemChangePasswordUser2).
const OPNUM_LEGACY_CHANGE: [u16; 3] = [38, 54, 55];

fn request(user: &str, domain: &str, old: &str, new: &str, port: u16) -> ChangePassword {
    ChangePassword::new(
        "127.0.0.1",
        user,
        Secret::Password(Password::from(old)),
        Password::from(new),
    )
    .with_domain(domain)
    .with_iterations(5000)
    .with_config(ClientConfig::default().with_port(port).with_timeout(Duration::from_secs(10)))
}

fn fresh(server: Server, tag: &str) -> (String, String, String) {
    let user = unique_user(tag);
    let (old, new) = (format!("Old-{tag}-Pass-1!"), format!("New-{tag}-Pass-2!"));
    add_user(server, &user, &old, false);
    (user, old, new)
}

fn no_samr_call(proxy: &FaultProxy) {
    assert!(
        !proxy.seen().iter().any(|s| s.dir == Dir::ToServer && s.has_ptype(ptype::REQUEST)),
        "a SAMR call went out:\n{}",
        proxy.describe()
    );
}

/// Alter the first server→client NEGOTIATE response with `f`.
fn alter_negotiate_response(f: fn(&mut Vec<u8>)) -> fault_proxy::Script {
    once(move |s: &Seen, p: &mut Vec<u8>| {
        (s.dir == Dir::ToClient && s.command() == Some(cmd::NEGOTIATE)).then(|| {
            f(p);
            Action::Forward
        })
    })
}

/// Alter the first client→server NEGOTIATE request with `f`.
fn alter_negotiate_request(f: fn(&mut Vec<u8>)) -> fault_proxy::Script {
    once(move |s: &Seen, p: &mut Vec<u8>| {
        (s.dir == Dir::ToServer && s.command() == Some(cmd::NEGOTIATE)).then(|| {
            f(p);
            Action::Forward
        })
    })
}

fn assert_downgrade(e: &Error) {
    assert_eq!(e.exit_code(), 3, "{e}");
    assert!(matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Security), "{e} ({:?})", e.kind());
    let text = format!("{e} {}", e.hint().unwrap_or("")).to_lowercase();
    assert!(text.contains("downgrade") || text.contains("signature"), "{text}");
}

/// NEGOTIATE response body ([MS-SMB2] 2.2.4): SecurityMode @2, ServerGuid @8, Capabilities @24.
const NEG_SECURITY_MODE: usize = BODY + 2;
const NEG_SERVER_GUID: usize = BODY + 8;
const NEG_CAPABILITIES: usize = BODY + 24;
/// NEGOTIATE request body (2.2.3): ClientGuid @12.
const NEG_CLIENT_GUID: usize = BODY + 12;

/// 3.1.1: one bit of the server's NEGOTIATE response (its ServerGuid, which samrpc does not
/// otherwise check) changed in flight. The preauth hashes differ, so the signing key differs,
/// and the final SESSION_SETUP signature does not verify: downgrade detected, no SAMR call.
#[tokio::test]
async fn altered_311_negotiate_response_fails_preauth_integrity() {
    let (user, old, new) = fresh(DC, "dgr");
    let proxy =
        FaultProxy::start("127.0.0.1:445", alter_negotiate_response(|p| p[NEG_SERVER_GUID] ^= 1))
            .await;
    let e = change_password(request(&user, "SAMR", &old, &new, proxy.port)).await.unwrap_err();
    println!("{e}\nhint: {:?}", e.hint());
    assert_downgrade(&e);
    assert_eq!(e.operation(), Operation::SessionSetup);
    no_samr_call(&proxy);
    assert_login_ok(DC, &user, &old);
}

/// 3.1.1: one bit of the client's NEGOTIATE request (its ClientGuid) changed in flight: the
/// server hashes what it received, samrpc what it sent → the same failure.
#[tokio::test]
async fn altered_311_negotiate_request_fails_preauth_integrity() {
    let (user, old, new) = fresh(DC, "dgq");
    let proxy =
        FaultProxy::start("127.0.0.1:445", alter_negotiate_request(|p| p[NEG_CLIENT_GUID] ^= 1))
            .await;
    let e = change_password(request(&user, "SAMR", &old, &new, proxy.port)).await.unwrap_err();
    println!("{e}\nhint: {:?}", e.hint());
    assert_downgrade(&e);
    no_samr_call(&proxy);
    assert_login_ok(DC, &user, &old);
}

/// 3.1.1: a negotiate context altered (the last byte of the response, inside its negotiate
/// contexts) is also caught — by the context parser or by the preauth hash.
#[tokio::test]
async fn altered_311_negotiate_context_fails() {
    let (user, old, new) = fresh(DC, "dgc");
    let proxy = FaultProxy::start(
        "127.0.0.1:445",
        alter_negotiate_response(|p| {
            let n = p.len();
            p[n - 1] ^= 0x01;
        }),
    )
    .await;
    let e = change_password(request(&user, "SAMR", &old, &new, proxy.port)).await.unwrap_err();
    println!("{e}\nhint: {:?}", e.hint());
    assert_eq!(e.exit_code(), 3);
    assert!(matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Security), "{e}");
    no_samr_call(&proxy);
    assert_login_ok(DC, &user, &old);
}

async fn altered_30(f: fn(&mut Vec<u8>), tag: &str) {
    let (user, old, new) = fresh(S5, tag);
    let proxy = FaultProxy::start("127.0.0.5:445", alter_negotiate_response(f)).await;
    let e = change_password(request(&user, S5.domain, &old, &new, proxy.port)).await.unwrap_err();
    println!("{}\n{e}\nhint: {:?}", proxy.describe(), e.hint());
    assert_eq!(e.exit_code(), 3, "{e}");
    assert!(matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Security), "{e}");
    let text = format!("{e} {}", e.hint().unwrap_or("")).to_lowercase();
    assert!(text.contains("validate negotiate") || text.contains("downgrade"), "{text}");
    // The session was set up, the VALIDATE_NEGOTIATE_INFO IOCTL went out, no SAMR call did.
    assert!(proxy.seen().iter().any(|s| s.dir == Dir::ToServer && s.command() == Some(cmd::IOCTL)));
    no_samr_call(&proxy);
    assert_login_ok(S5, &user, &old);
}

/// 3.0: the server's ServerGuid altered → FSCTL_VALIDATE_NEGOTIATE_INFO disagrees → typed error.
#[tokio::test]
async fn altered_30_server_guid_fails_validate_negotiate() {
    altered_30(|p| p[NEG_SERVER_GUID] ^= 1, "dgg").await;
}

/// 3.0: the server's Capabilities altered (CAP_DFS toggled) → VALIDATE_NEGOTIATE_INFO fails.
#[tokio::test]
async fn altered_30_capabilities_fail_validate_negotiate() {
    altered_30(|p| p[NEG_CAPABILITIES] ^= 0x01, "dgk").await;
}

/// 3.0: the server's SecurityMode altered (SIGNING_REQUIRED cleared — an attacker trying to
/// make signing look optional) → VALIDATE_NEGOTIATE_INFO fails.
#[tokio::test]
async fn altered_30_security_mode_fails_validate_negotiate() {
    altered_30(|p| p[NEG_SECURITY_MODE] &= !0x02, "dgs").await;
}

/// A server that only speaks SMB 2.0.2 (127.0.0.6, signing not required): the default policy
/// (minimum 2.1) refuses it with a Security error before authenticating; the caller can lower
/// the policy at the transport level (`TransportConfig::min_dialect`, `require_signing`), and
/// then authenticated work (a SAMR bind and call) succeeds.
#[tokio::test]
async fn smb202_server_is_refused_unless_the_policy_is_lowered() {
    use samrpc::auth::{NtlmCredentials, NtlmSecret, SpnegoNtlm};
    use samrpc::dcerpc::{Association, AssociationConfig, Progress};
    use samrpc::samr::{Call, SamrGetDomainPasswordInformation};
    use samrpc::smb2::Dialect;
    use samrpc::transport::{SmbPipe, TransportConfig};

    let (user, old, new) = fresh(S6, "dg2");
    // Default policy: refused, typed, exit 3, nothing changed.
    let mut req = request(&user, S6.domain, &old, &new, 445);
    req.host = S6.ip.into();
    let e = change_password(req.clone()).await.unwrap_err();
    println!("default policy: {e}\nhint: {:?}", e.hint());
    assert_eq!(e.kind(), ErrorKind::Security, "{e}");
    assert_eq!(e.exit_code(), 3);
    assert_eq!(e.operation(), Operation::Negotiate);
    // Also with signing not required: ClientConfig alone cannot accept 2.0.2.
    req.config.require_signing = false;
    let e = change_password(req).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Security, "{e}");
    assert_login_ok(S6, &user, &old);

    // Lowered policy at the transport level: 2.0.2 accepted.
    for require_signing in [false, true] {
        let auth = SpnegoNtlm::new(NtlmCredentials {
            user: user.clone(),
            domain: Some(S6.domain.into()),
            workstation: None,
            secret: NtlmSecret::Password(Password::from(old.as_str())),
        });
        let cfg = TransportConfig {
            min_dialect: Dialect::SMB202,
            require_signing,
            request_timeout: Duration::from_secs(10),
            ..TransportConfig::default()
        };
        let mut pipe = SmbPipe::connect(S6.ip, cfg, Box::new(auth), &mut samrpc::rng::OsRandom)
            .await
            .unwrap_or_else(|e| panic!("lowered policy (signing {require_signing}): {e}"));
        let info = pipe.info();
        println!("lowered policy, require_signing {require_signing}: {info:?}");
        assert_eq!(info.dialect, Dialect::SMB202);
        assert!(!info.anonymous);
        assert!(!info.encryption);
        let mut unbound = Association::new(AssociationConfig::default());
        let bind = unbound.bind_pdu().unwrap();
        let ack = pipe.transceive(&bind).await.unwrap();
        let mut rpc = unbound.handle_bind_response(&ack).unwrap();
        let call = SamrGetDomainPasswordInformation { unused: None };
        let out = rpc.request(SamrGetDomainPasswordInformation::OPNUM, &call.encode()).unwrap();
        assert_eq!(out.fragments.len(), 1);
        let data = pipe.transceive(&out.fragments[0]).await.unwrap();
        let Progress::Complete(stub) = rpc.receive(out.call_id, &data).unwrap() else {
            panic!("incomplete answer")
        };
        let r = SamrGetDomainPasswordInformation::decode_response(&stub).unwrap();
        assert!(r.status.is_success(), "{:?}", r.status);
        let _ = pipe.close().await;
    }
}

/// Which opnums a normal change and a normal reset put on the wire (the DC signs but does not
/// encrypt, so the proxy reads the DCE/RPC requests): opnum 73 for the change and level 31
/// of opnum 58 for the reset; never an RC4/DES method (opnums 38, 54, 55; levels 23, 25).
#[tokio::test]
async fn legacy_methods_never_reach_the_wire_by_default() {
    let (user, old, new) = fresh(DC, "dgw");
    let proxy = FaultProxy::transparent("127.0.0.1:445").await;
    change_password(request(&user, "SAMR", &old, &new, proxy.port)).await.unwrap();
    let admin = common::admin_password();
    reset_password(
        ResetPassword::new(
            "127.0.0.1",
            user.clone(),
            Credentials::password("Administrator", None, Password::from(admin.as_str())),
            Password::from("Reset-dgw-Pass-3!"),
        )
        .with_config(ClientConfig::default().with_port(proxy.port)),
    )
    .await
    .unwrap();
    let calls: Vec<(u16, Vec<u8>)> = proxy
        .seen()
        .iter()
        .filter(|s| s.dir == Dir::ToServer)
        .flat_map(|s| s.rpc.clone())
        .filter_map(|r| Some((r.opnum?, r.stub_head)))
        .collect();
    let opnums: Vec<u16> = calls.iter().map(|c| c.0).collect();
    println!("opnums on the wire: {opnums:?}");
    assert_eq!(opnums.iter().filter(|&&o| o == OPNUM_CHANGE4).count(), 1, "{opnums:?}");
    for legacy in OPNUM_LEGACY_CHANGE {
        assert!(!opnums.contains(&legacy), "legacy opnum {legacy} sent: {opnums:?}");
    }
    // SamrSetInformationUser2: UserHandle (20 bytes), then the level (u16).
    let levels: Vec<u16> = calls
        .iter()
        .filter(|c| c.0 == OPNUM_SET_INFO2)
        .map(|c| u16::from_le_bytes([c.1[20], c.1[21]]))
        .collect();
    assert_eq!(levels, [31], "SetInformationUser2 levels sent: {levels:?}");
    assert_login_ok(DC, &user, "Reset-dgw-Pass-3!");
}

/// A server that "lacks" opnum 73 (the proxy rewrites the opnum of the request to one the
/// server does not have, possible only because anonymous sessions are unsigned — the server
/// answers nca_s_op_rng_error): without `allow_rc4` samrpc stops with a typed error and never
/// sends the RC4 method; with it, opnum 55 goes out.
#[tokio::test]
async fn rc4_fallback_needs_the_opt_in() {
    fn rewrite_73() -> fault_proxy::Script {
        once(|s: &Seen, p: &mut Vec<u8>| {
            if s.dir != Dir::ToServer || !s.has_opnum(OPNUM_CHANGE4) {
                return None;
            }
            let at = fault_proxy::request_opnum_offset(p)?;
            p[at..at + 2].copy_from_slice(&500u16.to_le_bytes());
            Some(Action::Forward)
        })
    }
    let (user, old, new) = fresh(DC, "dgn");
    let proxy = FaultProxy::start("127.0.0.1:445", rewrite_73()).await;
    let mut req = request(&user, "SAMR", &old, &new, proxy.port);
    req.session = ChangeSession::Anonymous;
    let e = change_password(req.clone()).await.unwrap_err();
    println!("{}\n{e}\nhint: {:?}", proxy.describe(), e.hint());
    assert_eq!(e.kind(), ErrorKind::RpcFault, "{e}");
    assert!(e.hint().unwrap().contains("allow"), "{:?}", e.hint());
    let sent: Vec<Seen> = proxy.seen().into_iter().filter(|s| s.dir == Dir::ToServer).collect();
    // (The log shows opnum 73: it records frames before the script rewrites them; the
    // server's nca_s_op_rng_error above shows the rewrite happened.)
    assert!(sent.iter().any(|s| s.has_opnum(OPNUM_CHANGE4)));
    assert!(!sent.iter().any(|s| s.has_opnum(OPNUM_CHANGE2)));
    assert_login_ok(DC, &user, &old);
    drop(proxy);

    // With the opt-in, the legacy method is tried (whatever the DC then answers).
    let proxy = FaultProxy::start("127.0.0.1:445", rewrite_73()).await;
    req.config.port = proxy.port;
    req.config.allow_rc4 = true;
    let r = change_password(req).await;
    println!("with allow_rc4: {r:?}");
    assert!(proxy.seen().iter().any(|s| s.dir == Dir::ToServer && s.has_opnum(OPNUM_CHANGE2)));
}

/// Rewrite the SessionFlags of the final (STATUS_SUCCESS) SESSION_SETUP response.
fn set_session_flags(flags: u16) -> fault_proxy::Script {
    once(move |s: &Seen, p: &mut Vec<u8>| {
        (s.dir == Dir::ToClient && s.command() == Some(cmd::SESSION_SETUP) && s.statuses == [0])
            .then(|| {
                // SESSION_SETUP response body (2.2.6): SessionFlags @2.
                p[BODY + 2..BODY + 4].copy_from_slice(&flags.to_le_bytes());
                Action::Forward
            })
    })
}

/// The final SESSION_SETUP response claims IS_GUEST although credentials were given: refused
/// with a typed Security error, and no SAMR call is made.
#[tokio::test]
async fn guest_session_is_never_used_for_authenticated_work() {
    let (user, old, new) = fresh(DC, "dgu");
    let proxy = FaultProxy::start("127.0.0.1:445", set_session_flags(0x0001)).await;
    let e = change_password(request(&user, "SAMR", &old, &new, proxy.port)).await.unwrap_err();
    println!("{e}\nhint: {:?}", e.hint());
    assert_eq!(e.kind(), ErrorKind::Security, "{e}");
    assert_eq!(e.exit_code(), 3);
    assert!(e.message().contains("Guest"), "{e}");
    no_samr_call(&proxy);
    assert!(
        !proxy
            .seen()
            .iter()
            .any(|s| s.dir == Dir::ToServer && s.command() == Some(cmd::TREE_CONNECT))
    );
    assert_login_ok(DC, &user, &old);
}

/// The same with IS_NULL (an anonymous session where credentials were given).
#[tokio::test]
async fn null_session_is_never_used_for_authenticated_work() {
    let (user, old, new) = fresh(DC, "dgo");
    let proxy = FaultProxy::start("127.0.0.1:445", set_session_flags(0x0002)).await;
    let e = change_password(request(&user, "SAMR", &old, &new, proxy.port)).await.unwrap_err();
    println!("{e}\nhint: {:?}", e.hint());
    assert_eq!(e.kind(), ErrorKind::Security, "{e}");
    no_samr_call(&proxy);
    assert_login_ok(DC, &user, &old);
}

/// A reset (which needs the session key) over a session the server marked Guest: refused.
#[tokio::test]
async fn guest_session_is_never_used_for_a_reset() {
    let (user, _old, _new) = fresh(DC, "dgv");
    let proxy = FaultProxy::start("127.0.0.1:445", set_session_flags(0x0001)).await;
    let admin = common::admin_password();
    let e = reset_password(
        ResetPassword::new(
            "127.0.0.1",
            user.clone(),
            Credentials::password("Administrator", None, Password::from(admin.as_str())),
            Password::from("Reset-dgv-Pass-3!"),
        )
        .with_config(ClientConfig::default().with_port(proxy.port)),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Security, "{e}");
    no_samr_call(&proxy);
}

/// NEGOTIATE request body ([MS-SMB2] 2.2.3): DialectCount @2, Dialects @36.
const NEG_DIALECT_COUNT: usize = BODY + 2;
const NEG_DIALECTS: usize = BODY + 36;

/// A proxy in front of the DC that rewrites every dialect the client offers to 2.1 (same
/// length, so every offset stays valid): the server can only pick 2.1.
async fn rewrite_dialects_to_21() -> FaultProxy {
    FaultProxy::start(
        "127.0.0.1:445",
        alter_negotiate_request(|p| {
            let n =
                usize::from(u16::from_le_bytes([p[NEG_DIALECT_COUNT], p[NEG_DIALECT_COUNT + 1]]));
            for i in 0..n {
                p[NEG_DIALECTS + 2 * i..NEG_DIALECTS + 2 * i + 2]
                    .copy_from_slice(&0x0210u16.to_le_bytes());
            }
        }),
    )
    .await
}

fn policy_config(port: u16) -> ClientConfig {
    ClientConfig::default().with_port(port).with_timeout(Duration::from_secs(10))
}

fn admin_policy(config: ClientConfig) -> samrpc::api::PolicyRequest {
    samrpc::api::PolicyRequest::new("127.0.0.1", common::admin_credentials(DC)).with_config(config)
}

/// Issue 15 item 6: a NEGOTIATE rewritten to 2.1 in flight is invisible on SMB 2.x (no
/// preauth hash, no VALIDATE_NEGOTIATE_INFO), so with the default minimum (2.1) the session
/// silently runs on 2.1 — and is refused, before authenticating, with a minimum of 3.0 or
/// with encryption required.
#[tokio::test]
async fn negotiate_rewritten_to_21_is_refused_with_min_30_or_required_encryption() {
    use samrpc::api::password_policy;
    use samrpc::session::Dialect;
    // Default policy: the downgrade goes through (this is what the options are for).
    let proxy = rewrite_dialects_to_21().await;
    let report = password_policy(admin_policy(policy_config(proxy.port))).await.unwrap();
    assert_eq!(report.session.dialect, Some(Dialect::Smb210), "the rewrite did not take effect");
    assert!(!report.session.encryption);

    let strict = [
        ("min 3.0", policy_config(0).with_min_dialect(Dialect::Smb300)),
        ("require encryption", policy_config(0).with_require_encryption(true)),
    ];
    for (what, cfg) in strict {
        let proxy = rewrite_dialects_to_21().await;
        let e = password_policy(admin_policy(cfg.with_port(proxy.port))).await.unwrap_err();
        println!("{what}: {e}\nhint: {:?}", e.hint());
        assert_eq!(e.kind(), ErrorKind::Security, "{what}: {e}");
        assert_eq!(e.exit_code(), 3);
        assert_eq!(e.operation(), Operation::Negotiate, "{what}: refused at the negotiation");
        assert!(
            !proxy
                .seen()
                .iter()
                .any(|s| s.dir == Dir::ToServer && s.command() == Some(cmd::SESSION_SETUP)),
            "{what}: authentication was attempted after the downgrade:\n{}",
            proxy.describe()
        );
    }
}

/// The same through the CLI: `--min-smb 3.0` and `--require-encryption` refuse the rewritten
/// negotiation (exit 3, JSON error kind "security"); without them `policy` runs on 2.1.
#[cfg(feature = "cli")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_min_smb_and_require_encryption_refuse_the_rewritten_negotiation() {
    use std::process::Command;
    for (flag, expect_ok) in
        [(None, true), (Some("--min-smb=3.0"), false), (Some("--require-encryption"), false)]
    {
        let proxy = rewrite_dialects_to_21().await;
        let port = proxy.port.to_string();
        let out = tokio::task::spawn_blocking(move || {
            let mut args = vec![
                "policy",
                "127.0.0.1",
                "-U",
                "SAMR\\Administrator",
                "--port",
                &port,
                "--timeout",
                "10",
                "--json",
            ];
            args.extend(flag);
            Command::new(env!("CARGO_BIN_EXE_samrpc"))
                .args(&args)
                .env("SAMRPC_PASSWORD", common::admin_password())
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let v: serde_json::Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{flag:?}: {e}: {stdout}"));
        if expect_ok {
            assert_eq!(out.status.code(), Some(0), "{v}");
            assert_eq!(v["dialect"], "2.1", "{v}");
        } else {
            assert_eq!(out.status.code(), Some(3), "{flag:?}: {v}");
            assert_eq!(v["error"]["kind"], "security", "{flag:?}: {v}");
        }
    }
}
