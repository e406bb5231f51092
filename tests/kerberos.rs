//! Kerberos against the real Samba AD DC (realm SAMR.TEST, KDC 127.0.0.1:88, kpasswd :464):
//! password changes with a password, an NT hash and an AES key, an expired account (kpasswd),
//! a Protected Users member (NTLM refused, Kerberos works), a wrong old password, reset /
//! policy / users from `kinit` FILE and DIR caches, AES-256-GCM encryption over a Kerberos
//! session, and KDC round-trip counts. The server is named `dc1.samr.test` (the SPN) and
//! dialled at 127.0.0.1 (`address`); krb5.conf comes from `tests/samba/samba.sh krb5-conf`
//! under the samba state directory (never /etc/krb5.conf).
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    DC, SETUP, add_user, admin_password, assert_login_fails, assert_login_ok, block_on, krb_config,
    krb5_env,
};
use samrpc::api::{ChangeSession, Method};
use samrpc::auth::kerberos::asn1::KrbTimestamp;
use samrpc::auth::kerberos::crypto::{Etype, KerberosKey};
use samrpc::auth::kerberos::messages::PrincipalName;
use samrpc::secret::SecretBytes;
use samrpc::transport::kdc::{KdcSettings, KdcTrips, get_initial, get_service_ticket};
use samrpc::{AuthMethod, ClientConfig, Credentials, Password, Secret};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

const HOST: &str = common::KRB_HOST;
const REALM: &str = common::KRB_REALM;

fn state_dir() -> std::path::PathBuf {
    std::env::var_os("SAMRPC_SAMBA_DIR")
        .map_or_else(|| std::path::PathBuf::from("/tmp/samrpc-samba"), Into::into)
}

fn change(user: &str, old: Secret, new: &str) -> samrpc::api::ChangePassword {
    samrpc::api::ChangePassword::new(HOST.to_owned(), user.to_owned(), old, Password::from(new))
        .with_iterations(5_000)
        .with_config(krb_config())
}

fn pw(s: &str) -> Secret {
    Secret::Password(Password::from(s))
}

#[test]
fn change_with_password_over_kerberos() {
    let user = common::unique_user("kpw");
    add_user(DC, &user, "Old-Pass-1!", false);
    let out =
        block_on(samrpc::api::change_password(change(&user, pw("Old-Pass-1!"), "New-Pass-2!")))
            .unwrap_or_else(|e| panic!("{e} / {:?}", e.hint()));
    assert_eq!(out.method, Method::ChangeUser4);
    assert_eq!(out.session.auth, "kerberos");
    assert!(out.session.signing);
    assert_login_ok(DC, &user, "New-Pass-2!");
}

#[test]
fn change_with_nt_hash_over_kerberos() {
    let user = common::unique_user("knt");
    add_user(DC, &user, "Old-Pass-1!", false);
    let h = samrpc::crypto::nt_hash(&Password::from("Old-Pass-1!"));
    let out =
        block_on(samrpc::api::change_password(change(&user, Secret::NtHash(h), "New-Pass-3!")))
            .unwrap_or_else(|e| panic!("{e} / {:?}", e.hint()));
    assert_eq!(out.session.auth, "kerberos");
    assert_login_ok(DC, &user, "New-Pass-3!");
}

#[test]
fn change_with_aes_key_goes_through_kpasswd() {
    let user = common::unique_user("kaes");
    add_user(DC, &user, "Old-Pass-1!", false);
    let salt = format!("{REALM}{user}");
    let key = KerberosKey::from_password(
        Etype::Aes256CtsHmacSha196,
        &Password::from("Old-Pass-1!"),
        salt.as_bytes(),
        None,
    )
    .unwrap();
    let old = Secret::AesKey(SecretBytes::new(key.expose().to_vec()));
    let out = block_on(samrpc::api::change_password(change(&user, old, "New-Pass-4!")))
        .unwrap_or_else(|e| panic!("{e} / {:?}", e.hint()));
    assert_eq!(out.method, Method::Kpasswd);
    assert_eq!(out.method.name(), "kpasswd");
    assert_login_ok(DC, &user, "New-Pass-4!");
}

#[test]
fn expired_password_changes_through_kpasswd_never_anonymous() {
    let user = common::unique_user("kexp");
    add_user(DC, &user, "Old-Pass-1!", true);
    let req = change(&user, pw("Old-Pass-1!"), "New-Pass-5!")
        .with_session(ChangeSession::AuthenticatedOnly);
    let out = block_on(samrpc::api::change_password(req))
        .unwrap_or_else(|e| panic!("{e} / {:?}", e.hint()));
    assert_eq!(out.method, Method::Kpasswd);
    assert_eq!(out.session.auth, "kerberos");
    assert_login_ok(DC, &user, "New-Pass-5!");
}

#[test]
fn wrong_old_password_is_refused_and_nothing_changes() {
    let user = common::unique_user("kwrong");
    add_user(DC, &user, "Old-Pass-1!", false);
    let e = block_on(samrpc::api::change_password(change(&user, pw("Not-It-9!"), "New-Pass-6!")))
        .unwrap_err();
    assert!(e.is_wrong_password(), "{e}");
    assert_login_ok(DC, &user, "Old-Pass-1!");
    assert_login_fails(DC, &user, "New-Pass-6!", "NT_STATUS_LOGON_FAILURE");
}

#[test]
fn protected_users_member_needs_kerberos() {
    let user = common::unique_user("kprot");
    add_user(DC, &user, "Old-Pass-1!", false);
    let o = Command::new("bash")
        .arg(common::root().join("tests/samba/samba.sh"))
        .args(["group-add", "Protected Users", &user])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // NTLM: refused for the account.
    let ntlm = samrpc::api::ChangePassword::new(
        DC.ip.to_owned(),
        user.clone(),
        pw("Old-Pass-1!"),
        Password::from("New-Pass-7!"),
    )
    .with_domain(DC.domain.to_owned())
    .with_iterations(5_000)
    .with_session(ChangeSession::AuthenticatedOnly);
    let e = block_on(samrpc::api::change_password(ntlm)).unwrap_err();
    assert_eq!(e.status(), Some(samrpc::NtStatus::STATUS_ACCOUNT_RESTRICTION), "{e}");
    assert!(e.hint().unwrap_or_default().contains("Protected Users"));
    // Kerberos: works.
    let out =
        block_on(samrpc::api::change_password(change(&user, pw("Old-Pass-1!"), "New-Pass-7!")))
            .unwrap_or_else(|e| panic!("{e} / {:?}", e.hint()));
    assert_eq!(out.session.auth, "kerberos");
    // Negotiate falls back to Kerberos by itself.
    let neg = samrpc::api::ChangePassword::new(
        HOST.to_owned(),
        user.clone(),
        pw("New-Pass-7!"),
        Password::from("New-Pass-8!"),
    )
    .with_iterations(5_000)
    .with_config(krb_config().with_auth(AuthMethod::Negotiate));
    let out = block_on(samrpc::api::change_password(neg)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.session.auth, "kerberos");
}

fn settings() -> KdcSettings {
    krb5_env();
    KdcSettings::discover(REALM, Some("127.0.0.1"), None, DC.ip, Duration::from_secs(20))
}

/// AES-256-GCM over a Kerberos session: only AES-256 ciphers offered, encryption required;
/// the encrypted TREE_CONNECT/CREATE/bind succeed only if the cipher keys come from the full
/// 32-byte key ([MS-SMB2] FullSessionKey).
#[test]
fn aes256_gcm_encryption_over_kerberos() {
    let admin = Password::from(admin_password().as_str());
    let s = settings();
    let mut trips = KdcTrips::default();
    let (tgt, cifs) = block_on(async {
        let creds = samrpc::auth::kerberos::exchange::ClientCredentials {
            user: "Administrator".into(),
            realm: REALM.into(),
            secret: samrpc::auth::kerberos::exchange::ClientSecret::Password(admin),
        };
        let tgt = get_initial(&s, creds, None, &mut trips).await.unwrap();
        let cifs = get_service_ticket(&s, &tgt, PrincipalName::service("cifs", HOST), &mut trips)
            .await
            .unwrap();
        (tgt, cifs)
    });
    assert_eq!(trips, KdcTrips { as_req: 1, tgs_req: 1 }, "optimistic pre-auth: 2 KDC round trips");
    assert_eq!(tgt.sname.to_string(), format!("krbtgt/{REALM}"));
    assert_eq!(cifs.session_key.etype(), Etype::Aes256CtsHmacSha196);
    let cfg = samrpc::transport::TransportConfig {
        ciphers: vec![samrpc::smb2::Cipher::Aes256Gcm],
        require_encryption: true,
        server_name: Some(HOST.to_owned()),
        ..Default::default()
    };
    let mut auth = samrpc::auth::SpnegoKerberos::new(cifs);
    block_on(async {
        let pipe = samrpc::transport::SmbPipe::connect_with(
            DC.ip,
            cfg,
            &mut auth,
            &mut samrpc::rng::OsRandom,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let sum = pipe.summary();
        assert!(sum.encryption, "{sum:?}");
        assert_eq!(sum.auth, "kerberos");
        assert_eq!(sum.dialect, Some(samrpc::session::Dialect::Smb311));
        pipe.close().await.unwrap();
    });
}

static CACHE_LOCK: Mutex<()> = Mutex::new(());

fn kinit(ccname: &str) {
    kinit_for(ccname, None);
}

/// reset, policy and users with the administrator's tickets from a `kinit` FILE cache and a
/// DIR cache: no password given at all.
#[test]
fn reset_policy_users_from_kinit_caches() {
    let _g = CACHE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    krb5_env();
    let dir = std::env::temp_dir().join(format!("samrpc-krb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = format!("FILE:{}", dir.join("cc").display());
    let dircc = dir.join("dircc");
    std::fs::create_dir_all(&dircc).unwrap();
    let dirname = format!("DIR:{}", dircc.display());
    for cc in [file, dirname] {
        kinit(&cc);
        let cfg = krb_config().with_ccache(Some(cc.clone()));
        let user = common::unique_user("kcc");
        add_user(DC, &user, "Old-Pass-1!", false);
        let req = samrpc::api::ResetPassword::new(
            HOST,
            user.clone(),
            Credentials::TicketCache,
            Password::from("Reset-Pass-9!"),
        )
        .with_config(cfg.clone());
        let out =
            block_on(samrpc::api::reset_password(req)).unwrap_or_else(|e| panic!("{cc}: {e}"));
        assert_eq!(out.session.auth, "kerberos", "{cc}");
        assert_login_ok(DC, &user, "Reset-Pass-9!");

        let p = block_on(samrpc::api::password_policy(
            samrpc::api::PolicyRequest::new(HOST, Credentials::TicketCache)
                .with_user(user.clone())
                .with_config(cfg.clone()),
        ))
        .unwrap_or_else(|e| panic!("{cc}: {e}"));
        assert_eq!(p.session.auth, "kerberos");
        assert!(p.user.is_some());

        let users = block_on(samrpc::api::list_users(
            samrpc::api::ListUsersRequest::new(HOST, Credentials::TicketCache).with_config(cfg),
        ))
        .unwrap_or_else(|e| panic!("{cc}: {e}"));
        assert!(users.iter().any(|u| u.name == user), "{cc}: {user} listed");
    }
    // No ticket for the realm: a clear error, no password prompt.
    let empty = format!("FILE:{}", dir.join("none").display());
    let e = block_on(samrpc::api::list_users(
        samrpc::api::ListUsersRequest::new(HOST, Credentials::TicketCache)
            .with_config(krb_config().with_ccache(Some(empty))),
    ))
    .unwrap_err();
    assert_eq!(e.kind(), samrpc::ErrorKind::InvalidInput, "{e}");
    // KCM: refused naming the FILE: workaround.
    let e = block_on(samrpc::api::list_users(
        samrpc::api::ListUsersRequest::new(HOST, Credentials::TicketCache)
            .with_config(krb_config().with_ccache(Some("KCM:".into()))),
    ))
    .unwrap_err();
    assert!(e.to_string().contains("FILE:"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An IP address as the server name: the KDC has no such SPN, and the error says to use the
/// DNS name.
#[test]
fn an_address_as_server_name_gets_the_dns_name_hint() {
    let cfg = krb_config().with_address(None);
    let e = block_on(samrpc::api::list_users(
        samrpc::api::ListUsersRequest::new(
            DC.ip,
            Credentials::password(
                "Administrator",
                Some(REALM.into()),
                Password::from(admin_password().as_str()),
            ),
        )
        .with_config(cfg),
    ))
    .unwrap_err();
    assert!(
        e.hint().unwrap_or_default().contains("DNS name, not an address"),
        "{e} / {:?}",
        e.hint()
    );
}

/// Clock skew at the KDC: the AS exchange retries once with the KDC's time (scripted in the
/// exchange unit tests; here the real KDC accepts the first try, 1 AS round trip).
#[test]
fn kdc_round_trips_for_a_password_logon() {
    let s = settings();
    let mut trips = KdcTrips::default();
    let user = common::unique_user("ktrip");
    add_user(DC, &user, "Old-Pass-1!", false);
    block_on(async {
        let creds = samrpc::auth::kerberos::exchange::ClientCredentials {
            user: user.clone(),
            realm: REALM.into(),
            secret: samrpc::auth::kerberos::exchange::ClientSecret::Password(Password::from(
                "Old-Pass-1!",
            )),
        };
        get_initial(&s, creds, None, &mut trips).await.unwrap();
    });
    assert_eq!(trips.as_req, 1, "the default salt REALM+name is right: one AS round trip");
    let _ = KrbTimestamp::from_filetime(0);
}

fn admin_creds() -> Credentials {
    Credentials::password(
        "Administrator",
        Some(REALM.into()),
        Password::from(admin_password().as_str()),
    )
}

/// Round trips: with a password, Kerberos costs 2 KDC round trips (optimistic pre-auth: one
/// AS, one TGS) and saves one SMB flight (SESSION_SETUP is one round trip instead of two);
/// with a cached service ticket it costs no KDC round trip at all.
#[test]
fn kerberos_round_trips_and_flights() {
    let _g = CACHE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    krb5_env();
    let mut trips = KdcTrips::default();
    block_on(samrpc::client::kerberos_service_ticket(
        HOST,
        &admin_creds(),
        &krb_config(),
        &mut trips,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(trips, KdcTrips { as_req: 1, tgs_req: 1 });
    let krb_flights = block_on(async {
        let c =
            samrpc::client::SamrClient::connect(HOST, &admin_creds(), &krb_config()).await.unwrap();
        assert_eq!(c.session().auth, "kerberos");
        let n = c.flights();
        c.close().await;
        n
    });
    let ntlm_flights = block_on(async {
        let c = samrpc::client::SamrClient::connect(
            DC.ip,
            &common::admin_credentials(DC),
            &ClientConfig::default(),
        )
        .await
        .unwrap();
        assert_eq!(c.session().auth, "ntlm");
        let n = c.flights();
        c.close().await;
        n
    });
    eprintln!("SMB setup flights: Kerberos {krb_flights}, NTLM {ntlm_flights}");
    assert_eq!(krb_flights + 1, ntlm_flights, "one SESSION_SETUP round trip instead of two");

    // A cached service ticket (kinit + kvno): no KDC round trip.
    let dir = std::env::temp_dir().join(format!("samrpc-krb-trips-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cc = format!("FILE:{}", dir.join("cc").display());
    kinit(&cc);
    let o = Command::new("kvno")
        .arg(format!("cifs/{HOST}"))
        .env("KRB5_CONFIG", state_dir().join("krb5.conf"))
        .env("KRB5CCNAME", &cc)
        .output()
        .expect("kvno");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut trips = KdcTrips::default();
    let cfg = krb_config().with_ccache(Some(cc));
    block_on(samrpc::client::kerberos_service_ticket(
        HOST,
        &Credentials::TicketCache,
        &cfg,
        &mut trips,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(trips, KdcTrips::default(), "cached service ticket: 0 KDC round trips");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The wire shows Kerberos and no NTLMSSP when Kerberos is used (tshark on loopback).
#[test]
fn wire_shows_no_ntlmssp_under_kerberos() {
    krb5_env();
    let user = common::unique_user("kwire");
    add_user(DC, &user, "Old-Pass-1!", false);
    let path = format!("/tmp/samrpc-krbwire-{}.pcapng", std::process::id());
    let _ = std::fs::remove_file(&path);
    let mut child = Command::new("tshark")
        .args(["-i", "lo", "-f", "tcp port 445 or tcp port 88", "-w", &path])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start tshark ({e}); install it with `{SETUP}`"));
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Capturing on") || line.contains("Capture started") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(20)).expect("tshark did not start within 20 s");
    std::thread::sleep(Duration::from_millis(300));
    let out =
        block_on(samrpc::api::change_password(change(&user, pw("Old-Pass-1!"), "New-Pass-2!")));
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let _ = child.wait();
    out.unwrap_or_else(|e| panic!("{e}"));
    let count = |filter: &str| {
        let o = Command::new("tshark").args(["-r", &path, "-Y", filter]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).lines().filter(|l| !l.trim().is_empty()).count()
    };
    // Other tests (and other users of the machine) talk to the DC at the same time: judge only
    // our own connections, found by the account name in the SAMR request (UTF-16LE; the
    // session is signed, not encrypted) and in the KDC exchange.
    let utf16: Vec<String> =
        user.encode_utf16().flat_map(u16::to_le_bytes).map(|b| format!("{b:02x}")).collect();
    let o = Command::new("tshark")
        .args([
            "-r",
            &path,
            "-Y",
            &format!("tcp.port == 445 && frame contains {}", utf16.join(":")),
        ])
        .args(["-T", "fields", "-e", "tcp.stream"])
        .output()
        .unwrap();
    let mut streams: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect();
    streams.dedup();
    assert!(!streams.is_empty(), "our SMB connection was captured");
    for st in &streams {
        assert_eq!(
            count(&format!("tcp.stream == {st} && ntlmssp")),
            0,
            "no NTLMSSP under Kerberos"
        );
        assert!(count(&format!("tcp.stream == {st} && kerberos.msg_type == 14")) >= 1, "an AP-REQ");
        assert!(count(&format!("tcp.stream == {st} && kerberos.msg_type == 15")) >= 1, "an AP-REP");
    }
    assert!(
        count(&format!("kerberos.msg_type == 11 && kerberos.CNameString == \"{user}\"")) >= 1,
        "the AS-REP from the KDC for our user"
    );
    let _ = std::fs::remove_file(&path);
}

#[cfg(feature = "cli")]
#[path = "support/cli_run.rs"]
mod cli_run;

/// The CLI contract: `-k` with a `kinit` cache needs no password (stdin is /dev/null) for
/// users/policy/reset/doctor; `passwd -k` changes with the old password; `--json` reports
/// `"auth": "kerberos"`; an address as HOST gets the `--address` advice.
#[cfg(feature = "cli")]
#[test]
fn cli_kerberos_contract() {
    let _g = CACHE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    krb5_env();
    let conf = state_dir().join("krb5.conf");
    let dir = std::env::temp_dir().join(format!("samrpc-krb-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cc = format!("FILE:{}", dir.join("cc").display());
    kinit(&cc);
    let env = [("KRB5_CONFIG", conf.to_str().unwrap()), ("KRB5CCNAME", cc.as_str())];
    let k = ["-k", "--address", DC.ip, "--json"];
    let run = |args: &[&str], stdin: Option<&[u8]>| {
        let mut v = args.to_vec();
        v.extend(k);
        cli_run::run(&v, stdin, &env)
    };
    let o = run(&["users", HOST, "-U", "Administrator"], None);
    assert_eq!(cli_run::code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let j = cli_run::json(&o);
    assert_eq!(j["auth"], "kerberos");
    let o = run(&["policy", HOST, "-U", "Administrator"], None);
    assert_eq!(cli_run::code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(cli_run::json(&o)["auth"], "kerberos");
    let user = common::unique_user("kcli");
    add_user(DC, &user, "Old-Pass-1!", false);
    let o = run(
        &["reset", HOST, &user, "-U", "Administrator"],
        Some(b"Reset-Pass-2!\nReset-Pass-2!\n"),
    );
    assert_eq!(cli_run::code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(cli_run::json(&o)["auth"], "kerberos");
    assert_login_ok(DC, &user, "Reset-Pass-2!");
    let o = run(&["passwd", HOST, &user], Some(b"Reset-Pass-2!\nNew-Pass-3!\nNew-Pass-3!\n"));
    assert_eq!(cli_run::code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let j = cli_run::json(&o);
    assert_eq!(
        (j["auth"].as_str(), j["method"].as_str()),
        (Some("kerberos"), Some("SamrUnicodeChangePasswordUser4"))
    );
    assert_login_ok(DC, &user, "New-Pass-3!");
    let o = run(&["doctor", HOST, "-U", "Administrator"], None);
    assert_eq!(cli_run::code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let steps = cli_run::json(&o)["steps"].to_string();
    for s in [
        "Kerberos realm",
        "KDC reached",
        "ticket cache",
        "TGS for cifs/dc1.samr.test",
        "AP-REP verified",
    ] {
        assert!(steps.contains(s), "{s} in {steps}");
    }
    // rotate with the cache: no password either.
    let users_file = dir.join("users.txt");
    std::fs::write(&users_file, format!("{user}\n")).unwrap();
    let out_file = dir.join("out.jsonl");
    let o = run(
        &[
            "rotate",
            HOST,
            "-U",
            "Administrator",
            "--users",
            users_file.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        cli_run::code(&o),
        0,
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let results = std::fs::read_to_string(&out_file).unwrap();
    assert!(results.contains(&user), "{user} rotated");
    // NTLM refused for a Protected Users member: the CLI hint names -k.
    let prot = common::unique_user("kclip");
    add_user(DC, &prot, "Old-Pass-1!", false);
    let g = Command::new("bash")
        .arg(common::root().join("tests/samba/samba.sh"))
        .args(["group-add", "Protected Users", &prot])
        .output()
        .unwrap();
    assert!(g.status.success());
    let o = cli_run::run(
        &["passwd", DC.ip, &prot, "-d", DC.domain, "--no-anonymous", "--json"],
        Some(b"Old-Pass-1!\nNew-Pass-2!\nNew-Pass-2!\n"),
        &env,
    );
    assert_eq!(cli_run::code(&o), 1, "{}", String::from_utf8_lossy(&o.stdout));
    let j = cli_run::json(&o);
    assert_eq!(j["status"], "STATUS_ACCOUNT_RESTRICTION");
    let hint = j["error"]["hint"].to_string();
    assert!(hint.contains("Protected Users") && hint.contains("-k"), "{hint}");
    // An address as HOST: the SPN does not exist; the hint says to use --address.
    let o = cli_run::run(&["users", DC.ip, "-U", "Administrator", "-k", "--json"], None, &env);
    assert_eq!(cli_run::code(&o), 1, "{}", String::from_utf8_lossy(&o.stdout));
    let hint = cli_run::json(&o)["error"]["hint"].to_string();
    assert!(hint.contains("--address"), "{hint}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// One KDC round trip over TCP with the RFC 4120 record mark (plain std, for tests that drive
/// the sans-IO exchange themselves).
fn kdc_send(req: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", 88)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(&u32::try_from(req.len()).unwrap().to_be_bytes()).unwrap();
    s.write_all(req).unwrap();
    let mut n = [0u8; 4];
    s.read_exact(&mut n).unwrap();
    let mut b = vec![0u8; u32::from_be_bytes(n) as usize];
    s.read_exact(&mut b).unwrap();
    b
}

/// Injected clock skew at the KDC: a client clock 10 minutes fast gets KRB_AP_ERR_SKEW from
/// the real KDC, and the AS exchange retries once with the KDC's time and succeeds.
#[test]
fn kdc_clock_skew_is_retried_once_with_the_kdc_time() {
    use samrpc::auth::kerberos::exchange::{AsExchange, AsStep, ClientCredentials, ClientSecret};
    krb5_env();
    let user = common::unique_user("kskew");
    add_user(DC, &user, "Old-Pass-1!", false);
    let fast = || {
        let mut t = KrbTimestamp::from_filetime(samrpc::transport::now_filetime());
        t.time.0 += 600;
        t
    };
    let creds = ClientCredentials {
        user: user.clone(),
        realm: REALM.into(),
        secret: ClientSecret::Password(Password::from("Old-Pass-1!")),
    };
    let (mut x, mut req) =
        AsExchange::start(creds, None, &mut samrpc::rng::OsRandom, fast()).unwrap();
    let cred = loop {
        let rep = kdc_send(&req);
        match x.on_reply(&rep, &mut samrpc::rng::OsRandom, fast()).unwrap_or_else(|e| panic!("{e}"))
        {
            AsStep::Send(r) => req = r,
            AsStep::Done(c) => break c,
        }
    };
    assert_eq!(x.round_trips(), 2, "one SKEW, one retry");
    assert!((x.clock_offset() + 600).abs() < 30, "offset {} ≈ -600", x.clock_offset());
    assert_eq!(cred.cname.to_string(), user);
}

/// Injected clock skew at the SMB server: an authenticator 10 minutes fast gets a KRB-ERROR
/// token (KRB_AP_ERR_SKEW) with the server's time; one retry with that time succeeds (what
/// the client does by itself).
#[test]
fn server_clock_skew_carries_the_server_time_and_the_retry_works() {
    let s = settings();
    let mut trips = KdcTrips::default();
    let cifs = block_on(async {
        let creds = samrpc::auth::kerberos::exchange::ClientCredentials {
            user: "Administrator".into(),
            realm: REALM.into(),
            secret: samrpc::auth::kerberos::exchange::ClientSecret::Password(Password::from(
                admin_password().as_str(),
            )),
        };
        let tgt = get_initial(&s, creds, None, &mut trips).await.unwrap();
        get_service_ticket(&s, &tgt, PrincipalName::service("cifs", HOST), &mut trips)
            .await
            .unwrap()
    });
    let cfg = || samrpc::transport::TransportConfig {
        server_name: Some(HOST.to_owned()),
        ..Default::default()
    };
    let mut auth = samrpc::auth::SpnegoKerberos::new(cifs.clone());
    auth.set_clock_offset(600);
    let e = block_on(samrpc::transport::SmbPipe::connect_with(
        DC.ip,
        cfg(),
        &mut auth,
        &mut samrpc::rng::OsRandom,
    ))
    .unwrap_err();
    let samrpc::transport::TransportError::Auth(samrpc::auth::AuthError::Kerberos(
        samrpc::auth::kerberos::error::KerberosError::ClockSkew { server_time },
    )) = e
    else {
        panic!("expected a typed SKEW error, got {e}")
    };
    let now = KrbTimestamp::from_filetime(samrpc::transport::now_filetime());
    assert!((server_time.time.0 - now.time.0).abs() < 30, "the server's time is the real time");
    let mut auth = samrpc::auth::SpnegoKerberos::new(cifs);
    auth.set_clock_offset(600 + (server_time.time.0 - (now.time.0 + 600)));
    block_on(async {
        let p = samrpc::transport::SmbPipe::connect_with(
            DC.ip,
            cfg(),
            &mut auth,
            &mut samrpc::rng::OsRandom,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.summary().auth, "kerberos");
        p.close().await.unwrap();
    });
}

/// `ChangeSession::AuthenticatedOnly` over NTLM: an expired password is refused with a hint
/// instead of falling back to the unauthenticated anonymous session (nothing changes).
#[test]
fn authenticated_only_never_falls_back_to_anonymous_over_ntlm() {
    let user = common::unique_user("knoanon");
    add_user(DC, &user, "Old-Pass-1!", true);
    let req = samrpc::api::ChangePassword::new(
        DC.ip.to_owned(),
        user.clone(),
        pw("Old-Pass-1!"),
        Password::from("New-Pass-2!"),
    )
    .with_domain(DC.domain.to_owned())
    .with_iterations(5_000)
    .with_session(ChangeSession::AuthenticatedOnly);
    let e = block_on(samrpc::api::change_password(req)).unwrap_err();
    assert_eq!(e.status(), Some(samrpc::NtStatus::STATUS_PASSWORD_MUST_CHANGE), "{e}");
    assert!(
        e.hint().unwrap_or_default().contains("anonymous fallback is disabled"),
        "{:?}",
        e.hint()
    );
    // Still the old password (must change), not the new one.
    assert_login_fails(DC, &user, "New-Pass-2!", "NT_STATUS_LOGON_FAILURE");
}

/// RFC 3244 version 0xff80 (ChangePasswdData without a target: a change of the ticket
/// owner's own password) against the DC's kpasswd, next to the version 1 the library uses.
#[test]
fn kpasswd_version_ff80_changes_the_own_password() {
    use samrpc::auth::kerberos::exchange::{
        AsExchange, AsStep, ClientCredentials, ClientSecret, KpasswdExchange,
    };
    use samrpc::auth::kerberos::kpasswd::{ResultCode, VERSION_SET_CHANGE};
    use samrpc::auth::kerberos::messages::HostAddress;
    krb5_env();
    let user = common::unique_user("kff80");
    add_user(DC, &user, "Old-Pass-1!", false);
    let now = || KrbTimestamp::from_filetime(samrpc::transport::now_filetime());
    let creds = ClientCredentials {
        user: user.clone(),
        realm: REALM.into(),
        secret: ClientSecret::Password(Password::from("Old-Pass-1!")),
    };
    let (mut x, mut req) = AsExchange::start(
        creds,
        Some(PrincipalName::service("kadmin", "changepw")),
        &mut samrpc::rng::OsRandom,
        now(),
    )
    .unwrap();
    let cp = loop {
        match x.on_reply(&kdc_send(&req), &mut samrpc::rng::OsRandom, now()).unwrap() {
            AsStep::Send(r) => req = r,
            AsStep::Done(c) => break c,
        }
    };
    let (k, req) = KpasswdExchange::start(
        &cp,
        &Password::from("New-Pass-ff80!"),
        VERSION_SET_CHANGE,
        HostAddress::ip("127.0.0.1".parse().unwrap()),
        &mut samrpc::rng::OsRandom,
        now(),
    )
    .unwrap();
    let rep = {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", 464)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(&u32::try_from(req.len()).unwrap().to_be_bytes()).unwrap();
        s.write_all(&req).unwrap();
        let mut n = [0u8; 4];
        s.read_exact(&mut n).unwrap();
        let mut b = vec![0u8; u32::from_be_bytes(n) as usize];
        s.read_exact(&mut b).unwrap();
        b
    };
    let r = k.on_reply(&rep).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.code, ResultCode::Success, "{}", r.message());
    assert_login_ok(DC, &user, "New-Pass-ff80!");
}

/// A scripted DNS server on 127.0.0.1 (random UDP port, a std thread): answers every SRV query
/// for `_kerberos._tcp.SAMR.TEST` with one record, priority 0 weight 0 port 88 and `target`
/// (a name in wire form; RFC 2782 RDATA; the owner is a pointer to the echoed question,
/// RFC 1035 4.1.4), and any other name with NXDOMAIN (RCODE 3). Returns its address.
fn srv_responder(target: &'static [u8]) -> std::net::SocketAddr {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let q = &buf[..n];
            let question = &q[12..];
            let asked = b"\x09_kerberos\x04_tcp\x04SAMR\x04TEST\x00\x00\x21\x00\x01";
            let ours = question.eq_ignore_ascii_case(asked);
            // Header (RFC 1035 4.1.1): the query's id, QR RD RA, RCODE 0 or 3; one question.
            let mut m = vec![q[0], q[1], 0x81, if ours { 0x80 } else { 0x83 }, 0, 1];
            m.extend_from_slice(&[0, u8::from(ours), 0, 0, 0, 0]);
            m.extend_from_slice(question);
            if ours {
                m.extend_from_slice(&[0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0]);
                m.push(6 + target.len() as u8);
                m.extend_from_slice(&[0, 0, 0, 0, 0, 88]);
                m.extend_from_slice(target);
            }
            let _ = sock.send_to(&m, from);
        }
    });
    addr
}

/// KDC discovery through DNS SRV, then a real AS exchange with the discovered KDC: krb5.conf
/// names no KDC and says `dns_lookup_kdc = true`, no KDC is given explicitly, and the target
/// host fallback is a name that cannot resolve, so only the SRV answer can lead to the DC.
#[test]
fn dns_srv_discovered_kdc_serves_an_as_exchange() {
    krb5_env();
    let conf = samrpc::auth::kerberos::krb5conf::parse_krb5conf(
        "[libdefaults]\n default_realm = SAMR.TEST\n dns_lookup_kdc = true\n",
    )
    .unwrap();
    let ns = srv_responder(b"\x03127\x010\x010\x011\x00");
    let t = Duration::from_secs(5);
    let s = block_on(KdcSettings::discover_with_dns(
        REALM,
        None,
        Some(&conf),
        "no-kdc.invalid",
        t,
        &[ns],
    ));
    let kdcs: Vec<String> = s.kdcs.iter().map(ToString::to_string).collect();
    assert_eq!(kdcs, ["127.0.0.1:88"], "the KDC from the SRV record");
    // _kpasswd._tcp is NXDOMAIN here: the KDC's host on 464.
    let kpasswd: Vec<String> = s.kpasswd.iter().map(ToString::to_string).collect();
    assert_eq!(kpasswd, ["127.0.0.1:464"]);
    let mut trips = KdcTrips::default();
    let tgt = block_on(async {
        let creds = samrpc::auth::kerberos::exchange::ClientCredentials {
            user: "Administrator".into(),
            realm: REALM.into(),
            secret: samrpc::auth::kerberos::exchange::ClientSecret::Password(Password::from(
                admin_password().as_str(),
            )),
        };
        get_initial(&s, creds, None, &mut trips).await.unwrap_or_else(|e| panic!("{e}"))
    });
    assert_eq!(tgt.sname.to_string(), format!("krbtgt/{REALM}"));
    assert_eq!(trips.as_req, 1);
}

/// The client's own discovery reaches DNS SRV: the CLI's `doctor -k` with a krb5.conf that
/// names no KDC (`dns_lookup_kdc = true`) and [`samrpc::transport::kdc::RESOLV_CONF_ENV`]
/// naming a resolv.conf whose nameserver is the scripted responder, which answers with the
/// target `localhost`: the "KDC reached" step names `localhost:88`, an endpoint only the SRV
/// record could have produced (the target-host fallback would be 127.0.0.1:88).
#[cfg(feature = "cli")]
#[test]
fn cli_discovers_the_kdc_through_dns_srv() {
    let _g = CACHE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    krb5_env();
    let dir = std::env::temp_dir().join(format!("samrpc-krb-dns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cc = format!("FILE:{}", dir.join("cc").display());
    kinit(&cc);
    let conf = dir.join("krb5.conf");
    std::fs::write(&conf, "[libdefaults]\n default_realm = SAMR.TEST\n dns_lookup_kdc = true\n")
        .unwrap();
    let ns = srv_responder(b"\x09localhost\x00");
    let resolv = dir.join("resolv.conf");
    std::fs::write(&resolv, format!("nameserver {ns}\n")).unwrap();
    let env = [
        ("KRB5_CONFIG", conf.to_str().unwrap()),
        ("KRB5CCNAME", cc.as_str()),
        (samrpc::transport::kdc::RESOLV_CONF_ENV, resolv.to_str().unwrap()),
    ];
    let args = ["doctor", HOST, "-U", "Administrator", "-k", "--address", DC.ip, "--json"];
    let o = cli_run::run(&args, None, &env);
    assert_eq!(cli_run::code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let steps = cli_run::json(&o)["steps"].to_string();
    assert!(steps.contains("localhost:88"), "KDC from DNS SRV in {steps}");
    assert!(steps.contains("AP-REP verified"), "{steps}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `kinit [-l LIFETIME] Administrator` into `ccname` (the KDC will not hand out service
/// tickets on a TGT with less than about two minutes left, so short lifetimes start at 130 s).
fn kinit_for(ccname: &str, lifetime: Option<&str>) {
    let life = lifetime.map(|l| ["-l", l]);
    let o = Command::new("kinit")
        .args(life.iter().flatten())
        .arg("Administrator@SAMR.TEST")
        .env("KRB5_CONFIG", state_dir().join("krb5.conf"))
        .env("KRB5CCNAME", ccname)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(format!("{}\n", admin_password()).as_bytes())?;
            c.wait_with_output()
        })
        .expect("kinit (MIT krb5-user) must be installed");
    assert!(o.status.success(), "kinit failed: {}", String::from_utf8_lossy(&o.stderr));
}

/// Session expiry with real tickets (issue 14 item 2): the DC ends an SMB session when its
/// service ticket ends (STATUS_NETWORK_SESSION_EXPIRED). Two clients logged on from ticket
/// caches whose tickets last 130 s; then one cache is renewed (as k5start or krenew would do),
/// the other is not. After the tickets end, the next call on the first client renews its
/// service ticket from the cache, re-authenticates the same session and succeeds; the second
/// cannot renew, so it fails with KRB_AP_ERR_TKT_EXPIRED without sending the expired ticket.
#[test]
fn an_expired_session_renews_its_service_ticket_and_carries_on() {
    krb5_env();
    let dir = std::env::temp_dir().join(format!("samrpc-krb-expiry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (renewed, stale) = (
        format!("FILE:{}", dir.join("renewed").display()),
        format!("FILE:{}", dir.join("stale").display()),
    );
    kinit_for(&renewed, Some("130s"));
    kinit_for(&stale, Some("130s"));
    let start = std::time::Instant::now();
    block_on(async {
        let connect = |cc: &str| {
            let cfg = krb_config().with_ccache(Some(cc.to_owned()));
            async move {
                samrpc::client::SamrClient::connect(HOST, &Credentials::TicketCache, &cfg)
                    .await
                    .unwrap_or_else(|e| panic!("{e} / {:?}", e.hint()))
            }
        };
        let mut a = connect(&renewed).await;
        let mut b = connect(&stale).await;
        assert_eq!(a.password_policy(None).await.unwrap().policy.min_length, 7);
        assert_eq!(b.password_policy(None).await.unwrap().policy.min_length, 7);
        kinit_for(&renewed, Some("10h"));
        // The first tickets end 130 s after their kinit.
        tokio::time::sleep(Duration::from_secs(140).saturating_sub(start.elapsed())).await;
        let r = a.password_policy(None).await.unwrap_or_else(|e| panic!("{e} / {:?}", e.hint()));
        assert_eq!(r.policy.min_length, 7);
        assert_eq!(a.reauthentications(), 1, "one re-authentication on the same session");
        let e = b.password_policy(None).await.unwrap_err();
        assert!(e.to_string().contains("KRB_AP_ERR_TKT_EXPIRED"), "{e}");
        assert_eq!(b.reauthentications(), 0);
    });
    let _ = std::fs::remove_dir_all(&dir);
}
