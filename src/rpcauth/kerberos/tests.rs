use super::*;
use crate::auth::kerberos::asn1::KerberosTime;
use crate::auth::kerberos::crypto::{Etype, KerberosKey};
use crate::auth::kerberos::gss::{flags, parse_checksum_8003};
use crate::auth::kerberos::messages::{
    ApRep, ApReq, Authenticator, EncApRepPart, EncryptedData, KrbError, PrincipalName, RawKey,
    Ticket,
};
use crate::auth::kerberos::wrap::CfxContext;
use crate::dcerpc::response::Response;
use crate::rng::FixedRandom;
use crate::rpcauth::testing::request_layout;
use crate::secret::SecretBytes;

// rpcclient ↔ Samba 4.22 with Kerberos over ncacn_ip_tcp: tests/vectors/samba-dc-tcp-krb5
// (PROVENANCE.md). The ticket's session key opens both AP messages.
fn vector(name: &str) -> Vec<u8> {
    let p = format!("{}/tests/vectors/samba-dc-tcp-krb5/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    hex::decode(std::fs::read_to_string(p).unwrap().trim()).unwrap()
}

fn auth_value(pdu: &[u8]) -> &[u8] {
    let len = usize::from(u16::from_le_bytes([pdu[10], pdu[11]]));
    &pdu[pdu.len() - len..]
}

fn session_key() -> KerberosKey {
    KerberosKey::new(Etype::Aes256CtsHmacSha196, &vector("ticket-session-key")).unwrap()
}

fn authenticator(bind: &[u8], key: &KerberosKey) -> Authenticator {
    let ap = ApReq::decode(auth_value(bind)).unwrap();
    Authenticator::decode(&key.decrypt(11, &ap.authenticator.cipher).unwrap()).unwrap()
}

/// What the captured client did, which ours does too: a raw AP-REQ (0x6e, no GSS framing)
/// with DCE_STYLE and mutual authentication, CONF only at privacy; a third leg that is an
/// AP-REP with the server's ctime and sequence number and no subkey.
#[test]
fn captured_bind_legs_have_the_dce_shape() {
    let key = session_key();
    for (prefix, conf) in [("", true), ("sign-", false)] {
        let bind = vector(&format!("{prefix}bind"));
        assert_eq!(auth_value(&bind)[0], 0x6e, "raw AP-REQ");
        let auth = authenticator(&bind, &key);
        let f = parse_checksum_8003(&auth.cksum.unwrap().checksum).unwrap();
        assert_ne!(f & flags::DCE_STYLE, 0);
        assert_ne!(f & flags::MUTUAL, 0);
        assert_eq!(f & flags::CONF != 0, conf, "{prefix}: {f:#x}");
        let rep = ApRep::decode(auth_value(&vector(&format!("{prefix}bind-ack")))).unwrap();
        let server = EncApRepPart::decode(&key.decrypt(12, &rep.enc_part.cipher).unwrap()).unwrap();
        assert!(server.subkey.is_some());
        let third = ApRep::decode(auth_value(&vector(&format!("{prefix}auth3")))).unwrap();
        let ours = EncApRepPart::decode(&key.decrypt(12, &third.enc_part.cipher).unwrap()).unwrap();
        assert_eq!(ours.ctime, server.ctime);
        assert_eq!(ours.seq_number, server.seq_number);
        assert!(ours.subkey.is_none());
    }
}

/// Our PduAuth glue (layout split into head / stub / sec_trailer) on the captured PDUs: it
/// opens Samba's sealed and signed responses, and what it protects the server side opens.
#[test]
fn pdu_auth_opens_the_captured_responses_and_protects_requests_the_server_opens() {
    let key = session_key();
    for (prefix, level) in [("", AuthLevel::PRIVACY), ("sign-", AuthLevel::INTEGRITY)] {
        let auth = authenticator(&vector(&format!("{prefix}bind")), &key);
        let rep = ApRep::decode(auth_value(&vector(&format!("{prefix}bind-ack")))).unwrap();
        let part = EncApRepPart::decode(&key.decrypt(12, &rep.enc_part.cipher).unwrap()).unwrap();
        let sub = part.subkey.unwrap();
        let subkey = KerberosKey::from_number(sub.keytype, sub.value.expose()).unwrap();
        let (cseq, sseq) =
            (u64::from(auth.seq_number.unwrap()), u64::from(part.seq_number.unwrap()));
        let mut client = KrbPduAuth::new(
            CfxContext::new(subkey.clone(), true, true, cseq, sseq).unwrap(),
            level,
        );
        let mut server =
            KrbPduAuth::new(CfxContext::new(subkey, false, true, sseq, cseq).unwrap(), level);
        // The captured request, opened by our server view.
        let req_bytes = vector(&format!("{prefix}req"));
        let layout = request_layout(&req_bytes).unwrap();
        let mut req = req_bytes.clone();
        server.unprotect(&mut req, &layout).unwrap();
        // Our client protects the plaintext again (fresh confounder); the server view of a
        // second context in the same state opens it to the same plaintext.
        let mut again = req.clone();
        client.protect(&mut again, &layout).unwrap();
        if level == AuthLevel::PRIVACY {
            assert_ne!(again[layout.stub.clone()], req[layout.stub.clone()], "sealed");
        }
        // The captured response, opened by our client (whose send side advanced by one, the
        // receive side not at all).
        let resp_bytes = vector(&format!("{prefix}resp"));
        let (_, rl) = Response::decode_with_layout(&resp_bytes).unwrap();
        let rl = rl.unwrap();
        let mut resp = resp_bytes.clone();
        client.unprotect(&mut resp, &rl).unwrap();
        assert_eq!(hex::encode(&resp[rl.stub.clone()]), "070000000100000000000000");
        // A flipped byte anywhere in the signed range or the token fails.
        for i in [0, 17, rl.stub.start, rl.stub.end - 1, rl.sec_trailer, rl.auth_value.end - 1] {
            let mut bad = resp_bytes.clone();
            bad[i] ^= 0x01;
            let mut fresh = KrbPduAuth::new(
                CfxContext::new(
                    KerberosKey::from_number(sub.keytype, sub.value.expose()).unwrap(),
                    true,
                    true,
                    cseq,
                    sseq,
                )
                .unwrap(),
                level,
            );
            assert!(fresh.unprotect(&mut bad, &rl).is_err(), "{prefix} byte {i}");
        }
    }
}

// A scripted acceptor for the bind legs.

fn ticket(etype: Etype) -> Credential {
    let key_bytes = vec![0x42u8; etype.key_len()];
    Credential {
        crealm: "SAMR.TEST".into(),
        cname: PrincipalName::user("alice"),
        ticket: Ticket::new(
            "SAMR.TEST",
            PrincipalName::service("host", "dc1.samr.test"),
            EncryptedData { etype: 18, kvno: Some(2), cipher: vec![1, 2, 3, 4] },
        ),
        session_key: KerberosKey::new(etype, &key_bytes).unwrap(),
        flags: 0,
        endtime: KerberosTime(i64::MAX / 2),
        starttime: None,
        srealm: "SAMR.TEST".into(),
        sname: PrincipalName::service("host", "dc1.samr.test"),
    }
}

fn now() -> KrbTimestamp {
    KrbTimestamp::from_filetime(134_000_000_000_000_000)
}

fn rng() -> FixedRandom {
    FixedRandom::new((0u8..=255).cycle().take(4096).collect())
}

/// The acceptor's answer: an AP-REP (subkey, seq 777) for the AP-REQ in `v`, or with `ctime`
/// overridden.
fn ap_rep_for(
    v: &AuthVerifier,
    cred: &Credential,
    ctime: Option<KrbTimestamp>,
) -> (Vec<u8>, KrbTimestamp) {
    let ap = ApReq::decode(&v.auth_value).unwrap();
    let auth =
        Authenticator::decode(&cred.session_key.decrypt(11, &ap.authenticator.cipher).unwrap())
            .unwrap();
    let part = EncApRepPart {
        ctime: ctime.unwrap_or(auth.ctime),
        subkey: Some(RawKey { keytype: 18, value: SecretBytes::new(vec![0x24; 32]) }),
        seq_number: Some(777),
    };
    let enc = cred.session_key.encrypt(12, &part.encode(), &mut rng());
    (ApRep { enc_part: EncryptedData { etype: 18, kvno: None, cipher: enc } }.encode(), auth.ctime)
}

fn verifier(level: AuthLevel, value: Vec<u8>) -> AuthVerifier {
    AuthVerifier {
        auth_type: AuthType::KERBEROS,
        auth_level: level,
        context_id: 0,
        auth_value: value,
    }
}

#[test]
fn scripted_bind_and_sealed_round_trip() {
    for level in [AuthLevel::PRIVACY, AuthLevel::INTEGRITY] {
        let cred = ticket(Etype::Aes256CtsHmacSha196);
        let (b, v) = KrbRpcBind::new(&cred, level, &mut rng(), now()).unwrap();
        assert_eq!((v.auth_type, v.auth_level, v.context_id), (AuthType::KERBEROS, level, 0));
        assert_eq!(v.auth_value[0], 0x6e, "raw AP-REQ");
        let auth = Authenticator::decode(
            &cred
                .session_key
                .decrypt(11, &ApReq::decode(&v.auth_value).unwrap().authenticator.cipher)
                .unwrap(),
        )
        .unwrap();
        let f = parse_checksum_8003(&auth.cksum.unwrap().checksum).unwrap();
        assert_eq!(f & flags::CONF != 0, level == AuthLevel::PRIVACY, "{f:#x}");
        assert_ne!(f & flags::DCE_STYLE, 0);
        let (rep, ctime) = ap_rep_for(&v, &cred, None);
        let (third, mut client) = b.accept(Some(&verifier(level, rep)), true, &mut rng()).unwrap();
        // The third leg: our AP-REP with the server's ctime and seq, no subkey.
        let ours = ApRep::decode(&third.auth_value).unwrap();
        let part =
            EncApRepPart::decode(&cred.session_key.decrypt(12, &ours.enc_part.cipher).unwrap())
                .unwrap();
        assert_eq!((part.ctime, part.seq_number, part.subkey.is_none()), (ctime, Some(777), true));
        // Per-PDU protection under the acceptor's subkey, client seq from the authenticator.
        let sub = KerberosKey::new(Etype::Aes256CtsHmacSha196, &[0x24; 32]).unwrap();
        let cseq = u64::from(auth.seq_number.unwrap());
        let mut server =
            KrbPduAuth::new(CfxContext::new(sub, false, true, 777, cseq).unwrap(), level);
        let p = client.verifier().unwrap();
        assert_eq!(usize::from(p.signature_len), if level == AuthLevel::PRIVACY { 76 } else { 28 });
        // A request-shaped PDU: 24-byte header, 32-byte stub, sec_trailer, token.
        let mut pdu = vec![0u8; 24 + 32 + 8 + usize::from(p.signature_len)];
        pdu[24..56].copy_from_slice(&[0x5a; 32]);
        pdu[56] = 16;
        pdu[57] = level.0;
        let layout =
            AuthLayout { stub: 24..56, pad: 0, sec_trailer: 56, auth_value: 64..pdu.len() };
        client.protect(&mut pdu, &layout).unwrap();
        assert_eq!(pdu[24..56] != [0x5a; 32], level == AuthLevel::PRIVACY);
        server.unprotect(&mut pdu, &layout).unwrap();
        assert_eq!(pdu[24..56], [0x5a; 32]);
        // Replayed: refused.
        let mut again = pdu.clone();
        client.protect(&mut again, &layout).unwrap();
        let replay = again.clone();
        server.unprotect(&mut again, &layout).unwrap();
        let mut replay = replay;
        assert!(server.unprotect(&mut replay, &layout).is_err());
        // A token of the wrong size is refused before any crypto.
        let short = AuthLayout { auth_value: 65..pdu.len(), ..layout.clone() };
        assert!(client.protect(&mut pdu, &short).is_err());
    }
}

#[test]
fn an_ap_rep_that_does_not_answer_our_authenticator_is_refused() {
    let cred = ticket(Etype::Aes256CtsHmacSha196);
    let (b, v) = KrbRpcBind::new(&cred, AuthLevel::PRIVACY, &mut rng(), now()).unwrap();
    let other = KrbTimestamp::from_filetime(134_000_000_010_000_000);
    let (rep, _) = ap_rep_for(&v, &cred, Some(other));
    let e = b.accept(Some(&verifier(AuthLevel::PRIVACY, rep)), true, &mut rng()).unwrap_err();
    assert!(matches!(e, KrbRpcError::Kerberos(_)), "{e}");
}

#[test]
fn bind_ack_verifier_checks() {
    let cred = ticket(Etype::Aes256CtsHmacSha196);
    let start = || KrbRpcBind::new(&cred, AuthLevel::PRIVACY, &mut rng(), now()).unwrap();
    let (b, _) = start();
    assert!(matches!(b.accept(None, true, &mut rng()), Err(KrbRpcError::Verifier(_))));
    let (b, v) = start();
    let (rep, _) = ap_rep_for(&v, &cred, None);
    let mut ntlm = verifier(AuthLevel::PRIVACY, rep.clone());
    ntlm.auth_type = AuthType::NTLMSSP;
    assert!(matches!(b.accept(Some(&ntlm), true, &mut rng()), Err(KrbRpcError::Verifier(_))));
    let (b, _) = start();
    let lower = verifier(AuthLevel::INTEGRITY, rep.clone());
    assert!(matches!(b.accept(Some(&lower), true, &mut rng()), Err(KrbRpcError::Verifier(_))));
    // Header signing refused by the server: no protection is handed out.
    let (b, v) = start();
    let (rep, _) = ap_rep_for(&v, &cred, None);
    let e = b.accept(Some(&verifier(AuthLevel::PRIVACY, rep)), false, &mut rng()).unwrap_err();
    assert!(matches!(e, KrbRpcError::Verifier("the server did not agree to header signing")));
    // Garbage in place of the AP-REP.
    let (b, _) = start();
    assert!(
        b.accept(Some(&verifier(AuthLevel::PRIVACY, vec![0x6f, 3, 1, 2])), true, &mut rng())
            .is_err()
    );
}

#[test]
fn a_krb_error_in_the_bind_ack_is_reported_as_itself() {
    let cred = ticket(Etype::Aes256CtsHmacSha196);
    let (b, _) = KrbRpcBind::new(&cred, AuthLevel::PRIVACY, &mut rng(), now()).unwrap();
    let err = KrbError {
        ctime: None,
        cusec: None,
        stime: now(),
        error_code: 37, // KRB_AP_ERR_SKEW
        crealm: None,
        cname: None,
        realm: "SAMR.TEST".into(),
        sname: PrincipalName::service("host", "dc1.samr.test"),
        e_text: None,
        e_data: None,
    };
    let e =
        b.accept(Some(&verifier(AuthLevel::PRIVACY, err.encode())), true, &mut rng()).unwrap_err();
    assert!(matches!(e, KrbRpcError::Kerberos(_)), "{e}");
    assert!(e.to_string().to_lowercase().contains("skew"), "{e}");
    // GSS-framed, as Samba sends it (`60 … 03 00 7e …`; seen at the bind with a skewed clock).
    let (b, _) = KrbRpcBind::new(&cred, AuthLevel::PRIVACY, &mut rng(), now()).unwrap();
    let framed =
        crate::auth::kerberos::gss::wrap(crate::auth::kerberos::gss::TokId::Error, &err.encode());
    assert_eq!(framed[0], 0x60);
    let e = b.accept(Some(&verifier(AuthLevel::PRIVACY, framed)), true, &mut rng()).unwrap_err();
    assert!(
        matches!(
            e,
            KrbRpcError::Kerberos(crate::auth::kerberos::error::KerberosError::ClockSkew { .. })
        ),
        "{e}"
    );
}

#[test]
fn rc4_tickets_and_other_levels_are_refused() {
    let rc4 = ticket(Etype::Rc4Hmac);
    assert!(matches!(
        KrbRpcBind::new(&rc4, AuthLevel::PRIVACY, &mut rng(), now()),
        Err(KrbRpcError::Etype(_))
    ));
    let aes = ticket(Etype::Aes128CtsHmacSha196);
    assert!(matches!(
        KrbRpcBind::new(&aes, AuthLevel::CONNECT, &mut rng(), now()),
        Err(KrbRpcError::Level(2))
    ));
}

#[test]
fn debug_hides_keys() {
    let cred = ticket(Etype::Aes256CtsHmacSha196);
    let (b, v) = KrbRpcBind::new(&cred, AuthLevel::PRIVACY, &mut rng(), now()).unwrap();
    assert!(!format!("{b:?}").contains("66, 66"));
    let (rep, _) = ap_rep_for(&v, &cred, None);
    let (_, p) = b.accept(Some(&verifier(AuthLevel::PRIVACY, rep)), true, &mut rng()).unwrap();
    let s = format!("{p:?}");
    assert!(!s.contains("36, 36") && s.contains("KrbPduAuth"), "{s}");
}
