//! Kerberos at the RPC level over ncacn_ip_tcp, against the real Samba AD DC: the DCE-style
//! bind (BIND with a raw AP-REQ, BIND_ACK with the AP-REP, ALTER_CONTEXT with the client's
//! AP-REP), every call sealed with RFC 4121 AES wrap tokens (or signed with MIC tokens at
//! integrity). A user's change proven by logging in, a computer account's own change proven by
//! MIT `kinit`, a Protected Users member (NTLM refused over TCP too, Kerberos works), reads from
//! a `kinit` ticket cache equal to the SMB results, a wrong old password, and the wire: auth
//! type 16 at level 6 throughout, no NTLMSSP over TCP, no cifs/ ticket, no password bytes; and
//! server clock skew at the bind (a typed KRB_AP_ERR_SKEW with the server's time, then a bind
//! on that time); an expired password changed through kpasswd.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

#[path = "support/capture.rs"]
mod capture;
use capture::Capture;

use samrpc::api::{ChangeSession, PolicyRequest, SessionKind, change_password, password_policy};
use samrpc::session::RpcTransportKind;
use samrpc::{ClientConfig, Credentials, Password, RpcProtection, Secret, Transport};
use std::process::{Command, Stdio};

/// The tests of this file run one at a time: the wire test's capture must see only its own
/// Kerberos bind.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn krb_tcp() -> ClientConfig {
    krb_config().with_transport(Transport::Tcp)
}

fn change(user: &str, old: &str, new: &str) -> samrpc::api::ChangePassword {
    samrpc::api::ChangePassword::new(
        KRB_HOST.to_owned(),
        user.to_owned(),
        Secret::Password(Password::from(old)),
        Password::from(new),
    )
    .with_iterations(5_000)
    .with_config(krb_tcp())
}

fn state_dir() -> std::path::PathBuf {
    std::env::var_os("SAMRPC_SAMBA_DIR")
        .map_or_else(|| std::path::PathBuf::from("/tmp/samrpc-samba"), Into::into)
}

/// MIT `kinit principal` with `password` into `ccname` (the DC's test krb5.conf).
fn kinit(principal: &str, password: &str, ccname: &str) -> Result<(), String> {
    krb5_env();
    let mut child = Command::new("kinit")
        .arg(principal)
        .env("KRB5_CONFIG", state_dir().join("krb5.conf"))
        .env("KRB5CCNAME", ccname)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("kinit (MIT krb5-user) must be installed ({e}); `{SETUP}`"));
    use std::io::Write;
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    if o.status.success() {
        Ok(())
    } else {
        Err(format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
    }
}

fn scratch_cache(tag: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("samrpc-tcpkrb-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cc = format!("FILE:{}", dir.join("cc").display());
    (dir, cc)
}

fn samba_sh(args: &[&str]) {
    let o = Command::new("bash")
        .arg(root().join("tests/samba/samba.sh"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("samba.sh: {e}; `{SETUP}`"));
    assert!(o.status.success(), "samba.sh {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// The proof on the wire: a user's change over TCP with Kerberos. The SAMR stream binds with
/// auth_type 16 at level 6 (BIND, BIND_ACK, then ALTER_CONTEXT and its answer, all on the
/// BIND's call id), every REQUEST/RESPONSE carries a 76-byte Kerberos token at level 6, opnum
/// 73 is among them, there is no NTLMSSP over TCP, the only service ticket asked of the KDC is
/// `host/dc1.samr.test` (no SMB logon, which would need `cifs/`), and neither password appears
/// in any encoding.
/// The new password then logs in and the old one does not.
#[test]
fn change_over_tcp_with_kerberos_is_sealed_on_the_wire() {
    let _serial = serial();
    let user = unique_user("ktcpw");
    let (old, new) = ("Old-KWire-1!", "New-KWire-2!");
    add_user(DC, &user, old, false);
    let cap = Capture::start(
        "host 127.0.0.1 and (tcp port 88 or tcp port 135 or tcp port 445 or tcp portrange 49152-65535)",
        &user,
        SETUP,
    );
    let out = block_on(change_password(change(&user, old, new)))
        .unwrap_or_else(|e| panic!("{e} / {:?}", e.hint()));
    let file = cap.stop();
    assert_eq!(out.session.transport, RpcTransportKind::Tcp);
    assert_eq!(out.session.auth, "kerberos");
    assert!(out.session.signing && out.session.encryption, "{:?}", out.session);

    let binds = tshark_fields(
        &file,
        "dcerpc.pkt_type == 11 && dcerpc.auth_type == 16",
        &["tcp.stream", "dcerpc.cn_call_id", "dcerpc.cn_flags", "dcerpc.auth_level"],
    );
    assert_eq!(binds.len(), 1, "one Kerberos BIND: {binds:?}");
    let (stream, call_id) = (&binds[0][0], &binds[0][1]);
    assert_eq!(binds[0][2], "0x07", "FIRST|LAST|SUPPORT_HEADER_SIGN");
    assert_eq!(binds[0][3], "6");
    // BIND_ACK (AP-REP), ALTER_CONTEXT (our AP-REP) and its answer, on the BIND's call id.
    for ptype in ["12", "14", "15"] {
        let p = tshark_fields(
            &file,
            &format!("tcp.stream == {stream} && dcerpc.pkt_type == {ptype}"),
            &["dcerpc.cn_call_id"],
        );
        assert_eq!(p.len(), 1, "PDU type {ptype}: {p:?}");
        assert_eq!(&p[0][0], call_id, "PDU type {ptype} on the BIND's call id");
    }
    let ap = tshark_fields(
        &file,
        &format!("tcp.stream == {stream} && (kerberos.msg_type == 14 || kerberos.msg_type == 15)"),
        &["dcerpc.pkt_type", "kerberos.msg_type"],
    );
    assert!(ap.contains(&vec!["11".into(), "14".into()]), "AP-REQ in the BIND: {ap:?}");
    assert!(ap.contains(&vec!["12".into(), "15".into()]), "AP-REP in the BIND_ACK: {ap:?}");
    assert!(ap.contains(&vec!["14".into(), "15".into()]), "our AP-REP in ALTER_CONTEXT: {ap:?}");
    let pdus = tshark_fields(
        &file,
        &format!("tcp.stream == {stream} && (dcerpc.pkt_type == 0 || dcerpc.pkt_type == 2)"),
        &[
            "dcerpc.pkt_type",
            "dcerpc.auth_type",
            "dcerpc.auth_level",
            "dcerpc.cn_auth_len",
            "dcerpc.opnum",
        ],
    );
    assert!(pdus.len() >= 2, "{pdus:?}");
    for p in &pdus {
        assert_eq!((p[1].as_str(), p[2].as_str(), p[3].as_str()), ("16", "6", "76"), "{p:?}");
    }
    assert!(pdus.iter().any(|p| p[0] == "0" && p[4] == "73"), "opnum 73 request: {pdus:?}");
    // No NTLM outside SMB (other suites' SMB traffic on 445 may share the capture).
    assert!(
        tshark_fields(&file, "ntlmssp && !(tcp.port == 445)", &["frame.number"]).is_empty(),
        "NTLMSSP over TCP"
    );
    // The only service ticket asked for is host/dc1.samr.test (an SMB logon would need
    // cifs/…), and no SMB session was set up with Kerberos.
    let tgs = |name: &str| {
        tshark_fields(
            &file,
            &format!("kerberos.msg_type == 12 && kerberos.SNameString == \"{name}\""),
            &["frame.number"],
        )
        .len()
    };
    assert!(tgs("host") >= 1, "a TGS-REQ for host/dc1.samr.test");
    assert_eq!(tgs("cifs"), 0, "a TGS-REQ for cifs/…");
    assert!(
        tshark_fields(&file, "smb2.cmd == 1 && kerberos", &["frame.number"]).is_empty(),
        "a Kerberos SMB session setup"
    );
    assert_no_password_bytes(&std::fs::read(&file).unwrap(), &[old, new]);
    let _ = std::fs::remove_file(&file);
    assert_login_ok(DC, &user, new);
    assert_login_fails(DC, &user, old, "NT_STATUS_LOGON_FAILURE");
}

/// A pre-created computer account changes its own password over TCP with Kerberos (the
/// case TCP exists for); MIT `kinit` as the machine account proves the new password.
#[test]
fn computer_account_changes_its_own_password_over_tcp_with_kerberos() {
    let _serial = serial();
    require_servers();
    let name = unique_user("KTCPC").to_uppercase();
    let name = &name[..name.len().min(15)];
    samba_tool(&["computer", "create", name]);
    let account = format!("{name}$");
    samba_tool(&["user", "setpassword", &account, "--newpassword=Old-KMach-1!"]);
    let principal = format!("{account}@{KRB_REALM}");
    let (dir, cc) = scratch_cache("mach");
    kinit(&principal, "Old-KMach-1!", &cc).expect("the set password works");
    let out = block_on(change_password(change(&account, "Old-KMach-1!", "New-KMach-2!")))
        .unwrap_or_else(|e| panic!("{e} / {:?}", e.hint()));
    assert_eq!(out.session.transport, RpcTransportKind::Tcp);
    assert_eq!(out.session.auth, "kerberos");
    kinit(&principal, "New-KMach-2!", &cc).expect("the new password works");
    assert!(kinit(&principal, "Old-KMach-1!", &cc).is_err(), "the old password no longer works");
    let _ = std::fs::remove_dir_all(dir);
    samba_tool(&["computer", "delete", name]);
}

/// A Protected Users member: NTLM is refused over TCP as over SMB (the bind's AUTH3 fails and
/// the first call faults), Kerberos over TCP changes the password.
#[test]
fn protected_users_member_changes_over_tcp_with_kerberos() {
    let _serial = serial();
    let user = unique_user("ktcpprot");
    add_user(DC, &user, "Old-KProt-1!", false);
    samba_sh(&["group-add", "Protected Users", &user]);
    let ntlm = change_request(DC, &user, "Old-KProt-1!", "New-KProt-2!")
        .with_config(ClientConfig::default().with_transport(Transport::Tcp))
        .with_session(ChangeSession::AuthenticatedOnly);
    assert!(block_on(change_password(ntlm)).is_err(), "NTLM over TCP for a Protected User");
    let out = block_on(change_password(change(&user, "Old-KProt-1!", "New-KProt-2!")))
        .unwrap_or_else(|e| panic!("{e} / {:?}", e.hint()));
    assert_eq!(out.session.transport, RpcTransportKind::Tcp);
    let (dir, cc) = scratch_cache("prot");
    kinit(&format!("{user}@{KRB_REALM}"), "New-KProt-2!", &cc).expect("the new password works");
    let _ = std::fs::remove_dir_all(dir);
}

/// Reads with the administrator's tickets from a `kinit` cache (no password given), at
/// privacy and at integrity, equal to the SMB result.
#[test]
fn policy_from_a_ticket_cache_over_tcp_equals_smb() {
    let _serial = serial();
    let (dir, cc) = scratch_cache("cache");
    kinit("Administrator@SAMR.TEST", &admin_password(), &cc).unwrap();
    let smb = block_on(password_policy(PolicyRequest::new(DC.ip, admin_credentials(DC)))).unwrap();
    for (level, sealed) in [(RpcProtection::Privacy, true), (RpcProtection::Integrity, false)] {
        let cfg = krb_tcp().with_ccache(Some(cc.clone())).with_rpc_protection(level);
        let r = block_on(password_policy(
            PolicyRequest::new(KRB_HOST, Credentials::TicketCache).with_config(cfg),
        ))
        .unwrap_or_else(|e| panic!("{e} / {:?}", e.hint()));
        assert_eq!(r.policy, smb.policy);
        assert_eq!(r.session.transport, RpcTransportKind::Tcp);
        assert_eq!(r.session.kind, SessionKind::Authenticated);
        assert_eq!(r.session.auth, "kerberos");
        assert!(r.session.signing);
        assert_eq!(r.session.encryption, sealed, "{level:?}: {:?}", r.session);
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A wrong old password fails at the KDC (pre-authentication), before any SAMR traffic, as a
/// wrong password; nothing changes.
#[test]
fn wrong_old_password_over_tcp_with_kerberos() {
    let _serial = serial();
    let user = unique_user("ktcpbad");
    add_user(DC, &user, "Old-KBad-1!", false);
    let e = block_on(change_password(change(&user, "Not-It-9!", "New-KBad-2!"))).unwrap_err();
    assert!(e.is_wrong_password(), "{e} / {:?}", e.hint());
    assert_login_ok(DC, &user, "Old-KBad-1!");
}

/// Injected clock skew at the server: an authenticator 10 minutes fast gets a GSS-framed
/// KRB-ERROR (KRB_AP_ERR_SKEW) in the BIND_ACK, typed with the server's time; a bind on a new
/// connection with an authenticator on that time succeeds (what `SamrClient::connect` does by
/// itself, once).
#[test]
fn server_clock_skew_at_the_bind_is_typed_and_the_retry_works() {
    let _serial = serial();
    krb5_env();
    use samrpc::auth::kerberos::asn1::KrbTimestamp;
    use samrpc::auth::kerberos::error::KerberosError;
    use samrpc::auth::kerberos::messages::PrincipalName;
    use samrpc::dcerpc::{Association, AssociationConfig, AuthLevel};
    use samrpc::rpcauth::{KrbRpcBind, KrbRpcError};
    use samrpc::transport::kdc::{KdcSettings, KdcTrips, get_initial, get_service_ticket};
    let s = KdcSettings::discover(
        KRB_REALM,
        Some("127.0.0.1"),
        None,
        DC.ip,
        std::time::Duration::from_secs(10),
    );
    block_on(async {
        let mut trips = KdcTrips::default();
        let creds = samrpc::auth::kerberos::exchange::ClientCredentials {
            user: "Administrator".into(),
            realm: KRB_REALM.into(),
            secret: samrpc::auth::kerberos::exchange::ClientSecret::Password(Password::from(
                admin_password().as_str(),
            )),
        };
        let tgt = get_initial(&s, creds, None, &mut trips).await.unwrap();
        let host = PrincipalName::service("host", KRB_HOST);
        let ticket = get_service_ticket(&s, &tgt, host, &mut trips).await.unwrap();
        let tcfg = samrpc::transport::TcpConfig::default();
        let syntax = samrpc::dcerpc::syntax::SAMR_SYNTAX;
        let bind_at = |offset: i64| {
            let ticket = ticket.clone();
            let tcfg = tcfg.clone();
            async move {
                let port =
                    samrpc::transport::epm::map_tcp_port(DC.ip, 135, syntax, &tcfg).await.unwrap();
                let mut tcp = samrpc::transport::RpcTcp::connect(DC.ip, port, &tcfg).await.unwrap();
                let mut now = KrbTimestamp::from_filetime(samrpc::transport::now_filetime());
                now.time.0 += offset;
                let (b, v) =
                    KrbRpcBind::new(&ticket, AuthLevel::PRIVACY, &mut samrpc::rng::OsRandom, now)
                        .unwrap();
                let mut u = Association::new(AssociationConfig::default());
                u.set_bind_auth(Some(v));
                let ack = tcp.transceive(&u.bind_pdu().unwrap()).await.unwrap();
                let bound = u.handle_bind_response(&ack).unwrap();
                b.accept(bound.bind_ack_auth(), bound.header_signing(), &mut samrpc::rng::OsRandom)
                    .map(|_| ())
            }
        };
        let e = bind_at(600).await.unwrap_err();
        let KrbRpcError::Kerberos(KerberosError::ClockSkew { server_time }) = e else {
            panic!("expected a typed SKEW error, got {e}")
        };
        let now = KrbTimestamp::from_filetime(samrpc::transport::now_filetime());
        assert!((server_time.time.0 - now.time.0).abs() < 30, "the server's time is the real time");
        bind_at(server_time.time.0 - now.time.0).await.unwrap();
    });
}

/// An expired password under `-k --transport tcp`: the KDC answers KEY_EXPIRED and the change
/// goes through kpasswd (RFC 3244), which needs neither SAMR transport; the new password logs
/// in. (With NTLM over TCP the server refuses expired changes; see tests/tcp.rs.)
#[test]
fn expired_password_over_tcp_with_kerberos_goes_through_kpasswd() {
    let _serial = serial();
    let user = unique_user("ktcpexp");
    add_user(DC, &user, "Old-KExp-1!", true);
    let req =
        change(&user, "Old-KExp-1!", "New-KExp-2!").with_session(ChangeSession::AuthenticatedOnly);
    let out = block_on(change_password(req)).unwrap_or_else(|e| panic!("{e} / {:?}", e.hint()));
    assert_eq!(out.method, samrpc::api::Method::Kpasswd);
    assert_login_ok(DC, &user, "New-KExp-2!");
}
