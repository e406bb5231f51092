//! SMB2/3 transport against the real Samba test servers (tests/samba/samba.sh).
//!
//! For each server: log on with a password, with an NT hash and anonymously, open `\PIPE\samr`,
//! send a DCE/RPC BIND for SAMR and expect a BIND_ACK; a wrong password must fail with
//! STATUS_LOGON_FAILURE as a typed status. These tests fail (never skip) when a server is
//! missing; start them with `bash tests/samba/samba.sh up`.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use samrpc::auth::{NtlmCredentials, SpnegoNtlm};
use samrpc::rng::OsRandom;
use samrpc::smb2::{Cipher, Dialect, SigningAlgorithm, Smb2Error};
use samrpc::transport::{SmbPipe, TransportConfig, TransportError};
use samrpc::{NtHash, NtStatus, Password};
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

const SETUP: &str = "bash tests/samba/samba.sh up";
/// The test account. The DC and the standalone servers use different names: on this host
/// winbind resolves DC accounts as Unix users, so a DC name would shadow the local Unix user
/// that `smbpasswd -a` needs on the standalone servers.
fn user(ip: &str) -> &'static str {
    if ip == "127.0.0.1" { "smbt_dc_user" } else { "smbt_local_user" }
}
const PASSWORD: &str = "Smb-Transport-Test-2026!";

/// The SAMR BIND from protocol notes 4.3: SAMR v1.0 over NDR20 plus a bind-time feature
/// negotiation context (116 bytes).
const SAMR_BIND: &str = "
    05000b03 10000000 7400 0000 01000000
    b810 b810 00000000 02 00 0000
    0000 01 00 78573412 3412 cdab ef00 0123456789ac 0100 0000
    045d888a eb1c c911 9fe8 08002b104860 0200 0000
    0100 01 00 78573412 3412 cdab ef00 0123456789ac 0100 0000
    2c1cb76c 1298 4045 0300 000000000000 0100 0000";

fn bind_pdu() -> Vec<u8> {
    let s: String = SAMR_BIND.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    let v = hex::decode(s).unwrap();
    assert_eq!(v.len(), 116);
    v
}

fn samba_sh() -> PathBuf {
    if let Ok(p) = std::env::var("SAMRPC_SAMBA_SH") {
        return PathBuf::from(p);
    }
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/samba/samba.sh");
    if local.exists() { local } else { PathBuf::from("/work/main/tests/samba/samba.sh") }
}

fn admin_password() -> String {
    let dir = std::env::var("SAMRPC_SAMBA_DIR").unwrap_or_else(|_| "/tmp/samrpc-samba".into());
    std::fs::read_to_string(format!("{dir}/admin-password"))
        .unwrap_or_else(|e| panic!("no Samba state in {dir} ({e}); run `{SETUP}`"))
        .trim()
        .to_owned()
}

/// Fail loudly if the server is not listening; create the test user once per server.
fn ensure(ip: &str) {
    static READY: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut g = READY.lock().unwrap_or_else(|e| e.into_inner());
    let set = g.get_or_insert_with(HashSet::new);
    if set.contains(ip) {
        return;
    }
    let addr = format!("{ip}:445").parse().unwrap();
    if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_err() {
        panic!("the Samba test server {ip}:445 is not running; start the servers with `{SETUP}`");
    }
    let out = Command::new("bash")
        .arg(samba_sh())
        .args(["add-user", ip, user(ip), PASSWORD])
        .output()
        .unwrap_or_else(|e| panic!("cannot run samba.sh ({e}); run `{SETUP}`"));
    assert!(
        out.status.success(),
        "samba.sh add-user {ip} failed: {}\n{}; run `{SETUP}`",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    set.insert(ip.to_owned());
}

fn config() -> TransportConfig {
    TransportConfig {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(20),
        operation_timeout: Some(Duration::from_secs(60)),
        ..Default::default()
    }
}

fn password_auth(user: &str, pw: &str) -> Box<SpnegoNtlm> {
    Box::new(SpnegoNtlm::new(NtlmCredentials::with_password(user, None, Password::from(pw))))
}

fn hash_auth(user: &str, pw: &str) -> Box<SpnegoNtlm> {
    let hash = NtlmCredentials::with_password(user, None, Password::from(pw)).nt_hash();
    let hash = NtHash::new(*hash.expose());
    Box::new(SpnegoNtlm::new(NtlmCredentials::with_nt_hash(user, None, hash)))
}

async fn bind_ack(pipe: &mut SmbPipe) {
    let ack = pipe.transceive(&bind_pdu()).await.unwrap();
    assert!(ack.len() >= 16, "short bind answer {ack:02x?}");
    assert_eq!(ack[0], 5, "rpc_vers");
    assert_eq!(ack[2], 12, "PTYPE must be BIND_ACK, got {}", ack[2]);
    assert_eq!(u16::from_le_bytes([ack[8], ack[9]]) as usize, ack.len(), "frag_length");
}

struct Expect {
    dialect: Dialect,
    signing: Option<SigningAlgorithm>,
    encryption: bool,
}

async fn authenticated(ip: &str, hash: bool, expect: &Expect) {
    ensure(ip);
    let auth = if hash { hash_auth(user(ip), PASSWORD) } else { password_auth(user(ip), PASSWORD) };
    let mut pipe = SmbPipe::connect(ip, config(), auth, &mut OsRandom)
        .await
        .unwrap_or_else(|e| panic!("{ip}: {e} ({e:?})"));
    let info = pipe.info();
    eprintln!("{ip} hash={hash}: {info:?}");
    assert_eq!(info.dialect, expect.dialect, "{ip} dialect");
    assert!(!info.anonymous);
    assert_eq!(info.encryption, expect.encryption, "{ip} encryption {info:?}");
    if expect.encryption {
        assert!(info.cipher.is_some());
    } else {
        assert!(info.signing, "{ip} signing {info:?}");
        if let Some(alg) = expect.signing {
            assert_eq!(info.signing_algorithm, Some(alg), "{ip} {info:?}");
        }
    }
    assert!(pipe.application_key().is_some());
    bind_ack(&mut pipe).await;
    pipe.close().await.unwrap();
}

async fn anonymous(ip: &str) -> Result<(), TransportError> {
    ensure(ip);
    let mut pipe =
        SmbPipe::connect(ip, config(), Box::new(SpnegoNtlm::anonymous()), &mut OsRandom).await?;
    let info = pipe.info();
    assert!(info.anonymous && !info.signing && !info.encryption, "{info:?}");
    assert!(pipe.application_key().is_none());
    bind_ack(&mut pipe).await;
    pipe.close().await.unwrap();
    Ok(())
}

async fn wrong_password(ip: &str) {
    ensure(ip);
    let e = SmbPipe::connect(
        ip,
        config(),
        password_auth(user(ip), "not-the-password-1"),
        &mut OsRandom,
    )
    .await
    .unwrap_err();
    assert_eq!(e.status(), Some(NtStatus::STATUS_LOGON_FAILURE), "{e:?}");
}

const DC: Expect = Expect { dialect: Dialect::SMB311, signing: None, encryption: false };
const S2: Expect = Expect { dialect: Dialect::SMB311, signing: None, encryption: false };
const S3: Expect = Expect { dialect: Dialect::SMB311, signing: None, encryption: true };
const S4: Expect = Expect {
    dialect: Dialect::SMB210,
    signing: Some(SigningAlgorithm::HmacSha256),
    encryption: false,
};
const S5: Expect = Expect {
    dialect: Dialect::SMB300,
    signing: Some(SigningAlgorithm::AesCmac),
    encryption: false,
};

macro_rules! server_tests {
    ($m:ident, $ip:expr, $exp:expr, anonymous: $anon:expr) => {
        mod $m {
            use super::*;
            #[tokio::test]
            async fn password() {
                authenticated($ip, false, &$exp).await;
            }
            #[tokio::test]
            async fn nt_hash() {
                authenticated($ip, true, &$exp).await;
            }
            #[tokio::test]
            async fn wrong_password_is_logon_failure() {
                wrong_password($ip).await;
            }
            #[tokio::test]
            async fn anonymous_session() {
                let r = anonymous($ip).await;
                ($anon)(r);
            }
        }
    };
}

fn anon_ok(r: Result<(), TransportError>) {
    r.unwrap();
}

/// Encryption is required on this server and an anonymous session cannot encrypt: the client
/// must refuse clearly (or the server must deny), never proceed in plaintext.
fn anon_refused_for_encryption(r: Result<(), TransportError>) {
    let e = r.unwrap_err();
    eprintln!("anonymous on the encrypted server: {e}");
    let ok = matches!(
        e.smb2(),
        Some(Smb2Error::EncryptionRequired(_)) | Some(Smb2Error::EncryptionUnavailable(_))
    ) || e.status() == Some(NtStatus::STATUS_ACCESS_DENIED);
    assert!(ok, "unexpected error {e:?}");
}

server_tests!(dc_127_0_0_1, "127.0.0.1", DC, anonymous: anon_ok);
server_tests!(standalone_127_0_0_2, "127.0.0.2", S2, anonymous: anon_ok);
server_tests!(encrypted_127_0_0_3, "127.0.0.3", S3, anonymous: anon_refused_for_encryption);
server_tests!(smb21_127_0_0_4, "127.0.0.4", S4, anonymous: anon_ok);
server_tests!(smb30_127_0_0_5, "127.0.0.5", S5, anonymous: anon_ok);

#[tokio::test]
async fn administrator_on_the_dc_with_required_encryption_by_the_client() {
    ensure("127.0.0.1");
    let cfg = TransportConfig { require_encryption: true, ..config() };
    let mut pipe = SmbPipe::connect(
        "127.0.0.1",
        cfg,
        password_auth("Administrator", &admin_password()),
        &mut OsRandom,
    )
    .await
    .unwrap();
    let info = pipe.info();
    assert!(info.encryption, "{info:?}");
    assert!(matches!(
        info.cipher,
        Some(Cipher::Aes256Gcm | Cipher::Aes128Gcm | Cipher::Aes256Ccm | Cipher::Aes128Ccm)
    ));
    bind_ack(&mut pipe).await;
    pipe.close().await.unwrap();
}

#[tokio::test]
async fn require_encryption_against_smb21_fails_clearly() {
    ensure("127.0.0.4");
    let cfg = TransportConfig { require_encryption: true, ..config() };
    let e = SmbPipe::connect(
        "127.0.0.4",
        cfg,
        password_auth(user("127.0.0.4"), PASSWORD),
        &mut OsRandom,
    )
    .await
    .unwrap_err();
    assert!(matches!(e.smb2(), Some(Smb2Error::EncryptionUnavailable(_))), "{e:?}");
}

#[tokio::test]
async fn write_then_read_path_works() {
    ensure("127.0.0.2");
    let mut pipe = SmbPipe::connect(
        "127.0.0.2",
        config(),
        password_auth(user("127.0.0.2"), PASSWORD),
        &mut OsRandom,
    )
    .await
    .unwrap();
    pipe.write(&bind_pdu()).await.unwrap();
    let ack = pipe.read().await.unwrap();
    assert_eq!(ack[2], 12);
    pipe.close().await.unwrap();
}

/// A password that must be changed is refused at logon with the typed status (protocol notes
/// 5.7), both on the DC and on a standalone server.
#[tokio::test]
async fn must_change_password_is_a_typed_status() {
    for ip in ["127.0.0.1", "127.0.0.2"] {
        ensure(ip);
        let name = if ip == "127.0.0.1" { "smbt_dc_mustchg" } else { "smbt_local_mustchg" };
        let out = Command::new("bash")
            .arg(samba_sh())
            .args(["add-user", ip, name, PASSWORD, "--must-change"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let e = SmbPipe::connect(ip, config(), password_auth(name, PASSWORD), &mut OsRandom)
            .await
            .unwrap_err();
        eprintln!("{ip} must-change: {e}");
        let st = e.status();
        assert!(
            st == Some(NtStatus::STATUS_PASSWORD_MUST_CHANGE)
                || st == Some(NtStatus::STATUS_PASSWORD_EXPIRED),
            "{ip}: {e:?}"
        );
    }
}

/// A tiny pipe read size forces STATUS_BUFFER_OVERFLOW on the transceive and READ
/// continuations against the real server (protocol notes 5.9).
#[tokio::test]
async fn buffer_overflow_continues_with_read() {
    for ip in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        ensure(ip);
        let cfg = TransportConfig { max_pipe_read: 16, ..config() };
        let mut pipe = SmbPipe::connect(ip, cfg, password_auth(user(ip), PASSWORD), &mut OsRandom)
            .await
            .unwrap_or_else(|e| panic!("{ip}: {e:?}"));
        bind_ack(&mut pipe).await;
        pipe.close().await.unwrap();
    }
}

/// Capping the dialect on the client side: the DC at 3.0 (VALIDATE_NEGOTIATE_INFO runs) and
/// at 2.1 (HMAC-SHA256).
#[tokio::test]
async fn dc_with_capped_dialects() {
    ensure("127.0.0.1");
    for (max, alg) in [
        (Dialect::SMB302, SigningAlgorithm::AesCmac),
        (Dialect::SMB300, SigningAlgorithm::AesCmac),
        (Dialect::SMB210, SigningAlgorithm::HmacSha256),
    ] {
        let cfg = TransportConfig { max_dialect: max, ..config() };
        let mut pipe = SmbPipe::connect(
            "127.0.0.1",
            cfg,
            password_auth(user("127.0.0.1"), PASSWORD),
            &mut OsRandom,
        )
        .await
        .unwrap_or_else(|e| panic!("{max}: {e:?}"));
        assert_eq!(pipe.info().dialect, max);
        assert_eq!(pipe.info().signing_algorithm, Some(alg));
        bind_ack(&mut pipe).await;
        pipe.close().await.unwrap();
    }
}

/// A server whose highest dialect is below our minimum fails clearly.
#[tokio::test]
async fn min_dialect_above_server_max_fails() {
    ensure("127.0.0.4");
    let cfg = TransportConfig { min_dialect: Dialect::SMB300, ..config() };
    let e = SmbPipe::connect(
        "127.0.0.4",
        cfg,
        password_auth(user("127.0.0.4"), PASSWORD),
        &mut OsRandom,
    )
    .await
    .unwrap_err();
    eprintln!("min 3.0 against an SMB2_10 server: {e} ({e:?})");
    assert!(
        !e.request_sent() || e.smb2().is_some() || matches!(e, TransportError::Closed { .. }),
        "{e:?}"
    );
}

/// Each 3.1.1 cipher, offered alone, interoperates with Samba (this checks the L=256 key
/// derivation of the AES-256 ciphers against a real server).
#[tokio::test]
async fn every_cipher_interoperates() {
    ensure("127.0.0.3");
    for c in Cipher::PREFERENCE {
        let cfg = TransportConfig { ciphers: vec![c], ..config() };
        let mut pipe = SmbPipe::connect(
            "127.0.0.3",
            cfg,
            password_auth(user("127.0.0.3"), PASSWORD),
            &mut OsRandom,
        )
        .await
        .unwrap_or_else(|e| panic!("{c}: {e:?}"));
        assert!(pipe.info().encryption);
        assert_eq!(pipe.info().cipher, Some(c));
        bind_ack(&mut pipe).await;
        pipe.close().await.unwrap();
    }
}

/// Each 3.1.1 signing algorithm, offered alone, interoperates with Samba.
#[tokio::test]
async fn every_signing_algorithm_interoperates_on_311() {
    ensure("127.0.0.2");
    for alg in [SigningAlgorithm::AesGmac, SigningAlgorithm::AesCmac, SigningAlgorithm::HmacSha256]
    {
        let cfg = TransportConfig { signing_algorithms: vec![alg], ..config() };
        let mut pipe = SmbPipe::connect(
            "127.0.0.2",
            cfg,
            password_auth(user("127.0.0.2"), PASSWORD),
            &mut OsRandom,
        )
        .await
        .unwrap_or_else(|e| panic!("{alg}: {e:?}"));
        assert_eq!(pipe.info().dialect, Dialect::SMB311);
        assert_eq!(pipe.info().signing_algorithm, Some(alg), "{alg}");
        bind_ack(&mut pipe).await;
        pipe.close().await.unwrap();
    }
}

/// `connect_with` leaves the authenticator with the caller, who can read what the server
/// announced in the NTLM CHALLENGE.
#[tokio::test]
async fn connect_with_keeps_the_authenticator() {
    ensure("127.0.0.1");
    let mut auth = SpnegoNtlm::new(NtlmCredentials::with_password(
        user("127.0.0.1"),
        None,
        Password::from(PASSWORD),
    ));
    let pipe =
        SmbPipe::connect_with("127.0.0.1", config(), &mut auth, &mut OsRandom).await.unwrap();
    assert_eq!(auth.server_nb_domain_name(), Some("SAMR"));
    assert_eq!(auth.domain_used(), Some("SAMR"));
    pipe.close().await.unwrap();
}

#[tokio::test]
async fn nothing_listening_is_a_typed_connect_error() {
    let cfg = TransportConfig { port: 1, ..config() };
    let e =
        SmbPipe::connect("127.0.0.1", cfg, password_auth("nobody-here", PASSWORD), &mut OsRandom)
            .await
            .unwrap_err();
    assert_eq!(e.io_kind(), Some(std::io::ErrorKind::ConnectionRefused), "{e:?}");
}
