//! Exchange tests: the full captured chain from the Samba DC decrypted with the lab
//! account's password (tests/vectors/kerberos/PROVENANCE.md), and a scripted KDC for the
//! paths the real one will not take on demand (salt retry, skew, nonce mismatch, …).

use super::*;
use crate::auth::spnego::{NegTokenInit, NegTokenResp};
use crate::rng::OsRandom;

macro_rules! vector {
    ($name:expr) => {{
        let v = hex::decode(
            include_str!(concat!("../../../../tests/vectors/kerberos/", $name, ".hex")).trim(),
        )
        .unwrap();
        v
    }};
}

fn body(v: &[u8]) -> &[u8] {
    &v[4..]
}

/// The capture's time (first AS-REQ), 2026-12-05T19:49:03Z.
fn capture_time() -> KrbTimestamp {
    KrbTimestamp { time: KerberosTime(1_796_500_143), usec: 0 }
}

fn krbvec_key() -> KerberosKey {
    KerberosKey::from_password(
        Etype::Aes256CtsHmacSha196,
        &Password::from("Vector-Pass-2026!"),
        b"SAMR.TESTkrbvec",
        None,
    )
    .unwrap()
}

fn as_exchange_for(req: &[u8], creds: ClientCredentials, key: KerberosKey) -> AsExchange {
    let r = KdcReq::decode(req).unwrap();
    AsExchange {
        realm: creds.realm.clone(),
        service: r.body.sname.unwrap(),
        salt: format!("{}{}", creds.realm, creds.user).into_bytes(),
        creds,
        nonce: r.body.nonce,
        key,
        s2kparams: None,
        salt_retried: false,
        skew_retried: false,
        clock_offset: 0,
        round_trips: 1,
    }
}

fn krbvec_creds() -> ClientCredentials {
    ClientCredentials {
        user: "krbvec".into(),
        realm: "SAMR.TEST".into(),
        secret: ClientSecret::Password(Password::from("Vector-Pass-2026!")),
    }
}

/// Captured chain: AS-REP (usage 3) → TGT; TGS-REP (usage 8) → cifs ticket; the SMB AP-REQ's
/// authenticator (usage 11) with the 0x8003 checksum and a subkey; the AP-REP (usage 12)
/// answering it.
#[test]
fn captured_chain_decrypts_end_to_end() {
    let mut rng = OsRandom;
    let mut x = as_exchange_for(body(&vector!("as-req-preauth")), krbvec_creds(), krbvec_key());
    let AsStep::Done(tgt) = x.on_reply(body(&vector!("as-rep")), &mut rng, capture_time()).unwrap()
    else {
        panic!("expected the TGT")
    };
    assert_eq!(tgt.crealm, "SAMR.TEST");
    assert_eq!(tgt.sname.to_string(), "krbtgt/SAMR.TEST");
    assert_eq!(tgt.session_key.etype(), Etype::Aes256CtsHmacSha196);
    assert!(tgt.is_valid_at(capture_time().time));

    // The PA-ENC-TIMESTAMP MIT sent decrypts with the same key (usage 1).
    let req = KdcReq::decode(body(&vector!("as-req-preauth"))).unwrap();
    let pa = req.padata.iter().find(|p| p.padata_type == pa_type::ENC_TIMESTAMP).unwrap();
    let ed = EncryptedData::decode(&pa.value).unwrap();
    let ts = krbvec_key().decrypt(usage::PA_ENC_TIMESTAMP, &ed.cipher).unwrap();
    let ts = super::super::messages::decode_pa_enc_ts(&ts).unwrap();
    assert!((ts.time.0 - capture_time().time.0).abs() < 5);

    let tgs_req = KdcReq::decode(body(&vector!("tgs-req"))).unwrap();
    // MIT puts a subkey in the TGS-REQ authenticator (usage 7), so the reply uses usage 9.
    let pa = tgs_req.padata.iter().find(|p| p.padata_type == pa_type::TGS_REQ).unwrap();
    let tap = ApReq::decode(&pa.value).unwrap();
    let ta =
        tgt.session_key.decrypt(usage::TGS_REQ_AUTHENTICATOR, &tap.authenticator.cipher).unwrap();
    let ta = Authenticator::decode(&ta).unwrap();
    let ck = ta.cksum.as_ref().unwrap();
    tgt.session_key
        .verify_checksum(usage::TGS_REQ_CKSUM, ck.cksumtype, &tgs_req.body.encode(), &ck.checksum)
        .expect("the body re-encodes to the bytes MIT checksummed");
    // MIT armoured this TGS exchange with FAST (RFC 6113: PA-FX-FAST in the request and
    // reply), so its enc-part is in a strengthened reply key that samrpc (which does not use
    // FAST) cannot derive; the TGS-REP decryption is proven against the live DC instead.
    assert!(tgs_req.padata.iter().any(|p| p.padata_type == 136));
    let rep = KdcRep::decode(body(&vector!("tgs-rep")), msg_type::TGS_REP).unwrap();
    assert_eq!(rep.ticket.sname.to_string(), "cifs/dc1.samr.test");
    // The cifs ticket's session key, as kvno stored it in krbvec's FILE cache (PROVENANCE.md).
    let cifs = Credential {
        crealm: rep.crealm.clone(),
        cname: rep.cname.clone(),
        ticket: rep.ticket.clone(),
        session_key: KerberosKey::new(
            Etype::Aes256CtsHmacSha196,
            &hex::decode("c13228bb756f8b431775acd04a926614a7a2f369207e2a4667787991313b9729")
                .unwrap(),
        )
        .unwrap(),
        flags: 0,
        endtime: KerberosTime(capture_time().time.0 + 36_000),
        starttime: None,
        srealm: "SAMR.TEST".into(),
        sname: rep.ticket.sname.clone(),
    };
    let tgs = TgsExchange {
        nonce: tgs_req.body.nonce,
        session_key: tgt.session_key.clone(),
        subkey: None,
        service: PrincipalName::service("cifs", "dc1.samr.test"),
    };
    // Not decryptable without FAST: an integrity failure, never a bogus ticket.
    assert!(matches!(tgs.on_reply(body(&vector!("tgs-rep"))), Err(KerberosError::Crypto(_))));

    let init = NegTokenInit::decode(&vector!("smb-spnego-ap-req")).unwrap();
    let (_, ap_req) = gss::unwrap(init.mech_token.as_deref().unwrap()).unwrap();
    let ap_req = ApReq::decode(ap_req).unwrap();
    assert_eq!(ap_req.ticket.raw, cifs.ticket.raw, "smbclient used the kvno ticket");
    let a = cifs
        .session_key
        .decrypt(usage::AP_REQ_AUTHENTICATOR, &ap_req.authenticator.cipher)
        .unwrap();
    let a = Authenticator::decode(&a).unwrap();
    assert_eq!(a.cname.to_string(), "krbvec");
    let ck = a.cksum.as_ref().unwrap();
    assert_eq!(ck.cksumtype, gss::GSS_CHECKSUM_TYPE);
    let flags = gss::parse_checksum_8003(&ck.checksum[..24]).unwrap();
    assert!(flags & gss::flags::MUTUAL != 0);
    let subkey = key_from_raw(a.subkey.as_ref().unwrap()).unwrap();
    assert_eq!(subkey.etype(), Etype::Aes256CtsHmacSha196);

    let resp = NegTokenResp::decode(&vector!("smb-spnego-ap-rep")).unwrap();
    let (_, ap_rep) = gss::unwrap(resp.response_token.as_deref().unwrap()).unwrap();
    let ap = ApExchange { ctime: a.ctime, session_key: cifs.session_key.clone(), subkey, seq: 0 };
    let k = ap.verify(ap_rep).unwrap();
    assert_eq!(k.etype(), Etype::Aes256CtsHmacSha196);
    assert_ne!(k.expose(), ap.subkey().expose(), "Samba sends its own acceptor subkey");
    // Another ctime: not our AP-REP.
    let other = ApExchange {
        ctime: KrbTimestamp { time: a.ctime.time, usec: (a.ctime.usec + 1) % 1_000_000 },
        ..ap
    };
    assert!(matches!(other.verify(ap_rep), Err(KerberosError::Protocol(_))));
}

/// Captured kpasswd change for `krbvecexp`: AS for kadmin/changepw with the old password,
/// then the AP-REP + KRB-PRIV reply decrypts to result code 0.
#[test]
fn captured_kpasswd_change() {
    let mut rng = OsRandom;
    let creds = ClientCredentials {
        user: "krbvecexp".into(),
        realm: "SAMR.TEST".into(),
        secret: ClientSecret::Password(Password::from("Vector-Old-2026!")),
    };
    let key = KerberosKey::from_password(
        Etype::Aes256CtsHmacSha196,
        &Password::from("Vector-Old-2026!"),
        b"SAMR.TESTkrbvecexp",
        None,
    )
    .unwrap();
    let mut x = as_exchange_for(body(&vector!("as-req-changepw")), creds, key);
    let AsStep::Done(cp) =
        x.on_reply(body(&vector!("as-rep-changepw")), &mut rng, capture_time()).unwrap()
    else {
        panic!()
    };
    assert_eq!(cp.sname.to_string(), "kadmin/changepw");

    let req_bytes = vector!("kpasswd-req");
    let req = kpasswd::decode_request(body(&req_bytes)).unwrap();
    let ap_req = ApReq::decode(req.ap_req).unwrap();
    let a =
        cp.session_key.decrypt(usage::AP_REQ_AUTHENTICATOR, &ap_req.authenticator.cipher).unwrap();
    let a = Authenticator::decode(&a).unwrap();
    let subkey = key_from_raw(a.subkey.as_ref().unwrap()).unwrap();
    // The request's KRB-PRIV (usage 13, in the subkey) carries the new password (version 1).
    let p = KrbPriv::decode(req.krb_priv).unwrap();
    let part = EncKrbPrivPart::decode(
        &subkey.decrypt(usage::KRB_PRIV_ENC_PART, &p.enc_part.cipher).unwrap(),
    )
    .unwrap();
    assert_eq!(part.user_data.expose(), b"Vector-New-2026!");
    assert_eq!(part.seq_number, a.seq_number);

    let k = KpasswdExchange {
        ap: ApExchange { ctime: a.ctime, session_key: cp.session_key.clone(), subkey, seq: 0 },
    };
    let r = k.on_reply(body(&vector!("kpasswd-rep"))).unwrap();
    assert_eq!(r.code, kpasswd::ResultCode::Success);
}

/// The KRB-ERROR the DC sends for an expired password maps to PasswordExpired.
#[test]
fn captured_key_expired_is_typed() {
    let mut rng = OsRandom;
    let creds = ClientCredentials {
        user: "krbvecexp".into(),
        realm: "SAMR.TEST".into(),
        secret: ClientSecret::Key(KerberosKey::new(Etype::Aes256CtsHmacSha196, &[1; 32]).unwrap()),
    };
    let (mut x, _) = AsExchange::start(creds, None, &mut rng, capture_time()).unwrap();
    let e =
        x.on_reply(body(&vector!("krb-error-key-expired")), &mut rng, capture_time()).unwrap_err();
    assert_eq!(e, KerberosError::PasswordExpired { status: Some(0xc000_0224) });
}

// ---- a scripted KDC ----

const REALM: &str = "EXAMPLE.TEST";

struct Kdc {
    /// The account's real salt and etype.
    salt: Vec<u8>,
    account_key: KerberosKey,
    tgs_key: KerberosKey,
    /// Seconds the KDC's clock is ahead of the client's.
    skew: i64,
    /// Error codes to answer with, in order, before behaving.
    fail: Vec<i32>,
    /// Corrupt the nonce of the reply.
    wrong_nonce: bool,
    requests: u32,
}

impl Kdc {
    fn new(password: &str, salt: &str) -> Self {
        let account_key = KerberosKey::from_password(
            Etype::Aes256CtsHmacSha196,
            &Password::from(password),
            salt.as_bytes(),
            None,
        )
        .unwrap();
        Self {
            salt: salt.as_bytes().to_vec(),
            account_key,
            tgs_key: KerberosKey::random(Etype::Aes256CtsHmacSha196, &mut OsRandom),
            skew: 0,
            fail: Vec::new(),
            wrong_nonce: false,
            requests: 0,
        }
    }

    fn error(&self, code: i32, now: KrbTimestamp) -> Vec<u8> {
        let info = EtypeInfo2Entry { etype: 18, salt: Some(self.salt.clone()), s2kparams: None };
        let pa = PaData {
            padata_type: pa_type::ETYPE_INFO2,
            value: EtypeInfo2Entry::encode_list(&[info]),
        };
        KrbError {
            ctime: None,
            cusec: None,
            stime: KrbTimestamp { time: KerberosTime(now.time.0 + self.skew), usec: 0 },
            error_code: code,
            crealm: None,
            cname: None,
            realm: REALM.into(),
            sname: PrincipalName::service("krbtgt", REALM),
            e_text: None,
            e_data: Some(super::super::asn1::seq(&[pa.encode()])),
        }
        .encode()
    }

    fn answer(&mut self, req: &[u8], now: KrbTimestamp) -> Vec<u8> {
        self.requests += 1;
        let r = KdcReq::decode(req).unwrap();
        if !self.fail.is_empty() {
            let c = self.fail.remove(0);
            return self.error(c, now);
        }
        let Some(pa) = r.padata.iter().find(|p| p.padata_type == pa_type::ENC_TIMESTAMP) else {
            return self.error(code::PREAUTH_REQUIRED, now);
        };
        let ed = EncryptedData::decode(&pa.value).unwrap();
        let Ok(ts) = self.account_key.decrypt(usage::PA_ENC_TIMESTAMP, &ed.cipher) else {
            return self.error(code::PREAUTH_FAILED, now);
        };
        let ts = super::super::messages::decode_pa_enc_ts(&ts).unwrap();
        if (ts.time.0 - (now.time.0 + self.skew)).abs() > 300 {
            return self.error(code::SKEW, now);
        }
        let session = KerberosKey::random(Etype::Aes256CtsHmacSha196, &mut OsRandom);
        let part = EncKdcRepPart {
            key: raw_from_key(&session),
            nonce: if self.wrong_nonce { r.body.nonce ^ 1 } else { r.body.nonce },
            key_expiration: None,
            flags: 0,
            authtime: now.time,
            starttime: None,
            endtime: KerberosTime(now.time.0 + 36_000),
            renew_till: None,
            srealm: REALM.into(),
            sname: r.body.sname.clone().unwrap(),
        };
        let ticket = Ticket::new(
            REALM,
            r.body.sname.clone().unwrap(),
            enc(&self.tgs_key, 2, b"opaque ticket part", &mut OsRandom),
        );
        KdcRep {
            msg_type: msg_type::AS_REP,
            padata: vec![],
            crealm: REALM.into(),
            cname: PrincipalName::user("Alice"), // canonical spelling
            ticket,
            enc_part: enc(
                &self.account_key,
                usage::AS_REP_ENC_PART,
                &part.encode(25),
                &mut OsRandom,
            ),
        }
        .encode()
    }
}

fn alice(pw: &str) -> ClientCredentials {
    ClientCredentials {
        user: "alice".into(),
        realm: "example.test".into(),
        secret: ClientSecret::Password(Password::from(pw)),
    }
}

fn run(kdc: &mut Kdc, creds: ClientCredentials) -> Result<(Credential, u32), KerberosError> {
    let mut rng = OsRandom;
    let now = capture_time();
    let (mut x, mut req) = AsExchange::start(creds, None, &mut rng, now)?;
    loop {
        let rep = kdc.answer(&req, now);
        match x.on_reply(&rep, &mut rng, now)? {
            AsStep::Send(r) => req = r,
            AsStep::Done(c) => return Ok((*c, x.round_trips())),
        }
    }
}

#[test]
fn optimistic_preauth_takes_one_round_trip_and_adopts_canonical_name() {
    let mut kdc = Kdc::new("pw-1", "EXAMPLE.TESTalice");
    let (c, n) = run(&mut kdc, alice("pw-1")).unwrap();
    assert_eq!((n, kdc.requests), (1, 1));
    assert_eq!(c.cname.to_string(), "Alice");
    assert_eq!(c.crealm, REALM);
}

#[test]
fn salt_from_etype_info2_is_retried_once() {
    // The directory spells the name "Alice": the default salt is wrong.
    let mut kdc = Kdc::new("pw-1", "EXAMPLE.TESTAlice");
    let (_, n) = run(&mut kdc, alice("pw-1")).unwrap();
    assert_eq!(n, 2);
    // A wrong password: one retry with the announced salt, then WrongPassword.
    let mut kdc = Kdc::new("pw-1", "EXAMPLE.TESTAlice");
    assert_eq!(run(&mut kdc, alice("wrong")).unwrap_err(), KerberosError::WrongPassword);
    assert_eq!(kdc.requests, 2);
    // Same salt as guessed: no retry at all.
    let mut kdc = Kdc::new("pw-1", "EXAMPLE.TESTalice");
    assert_eq!(run(&mut kdc, alice("wrong")).unwrap_err(), KerberosError::WrongPassword);
    assert_eq!(kdc.requests, 1);
}

#[test]
fn skew_is_corrected_once_with_the_kdc_time() {
    let mut kdc = Kdc::new("pw-1", "EXAMPLE.TESTalice");
    kdc.skew = 3600;
    let (_, n) = run(&mut kdc, alice("pw-1")).unwrap();
    assert_eq!(n, 2);
    // A KDC that keeps answering SKEW: the second one is an error.
    let mut kdc = Kdc::new("pw-1", "EXAMPLE.TESTalice");
    kdc.fail = vec![code::SKEW, code::SKEW];
    assert!(matches!(run(&mut kdc, alice("pw-1")), Err(KerberosError::ClockSkew { .. })));
}

#[test]
fn typed_errors_and_nonce_check() {
    for (c, want) in [
        (code::CLIENT_REVOKED, KerberosError::ClientRevoked { status: None }),
        (code::C_PRINCIPAL_UNKNOWN, KerberosError::ClientUnknown),
        (code::ETYPE_NOSUPP, KerberosError::EtypeNotSupported),
    ] {
        let mut kdc = Kdc::new("pw-1", "EXAMPLE.TESTalice");
        kdc.fail = vec![c];
        assert_eq!(run(&mut kdc, alice("pw-1")).unwrap_err(), want);
    }
    let mut kdc = Kdc::new("pw-1", "EXAMPLE.TESTalice");
    kdc.wrong_nonce = true;
    assert!(matches!(run(&mut kdc, alice("pw-1")), Err(KerberosError::Protocol(_))));
}

#[test]
fn nt_hash_offers_only_rc4_and_aes_keys_pick_their_etype() {
    let mut rng = OsRandom;
    let h = NtHash::new([0x11; 16]);
    let c =
        ClientCredentials { user: "u".into(), realm: "R".into(), secret: ClientSecret::NtHash(h) };
    let (_, req) = AsExchange::start(c, None, &mut rng, capture_time()).unwrap();
    let r = KdcReq::decode(&req).unwrap();
    assert_eq!(r.body.etypes, vec![23]);
    let pa = r.padata.iter().find(|p| p.padata_type == pa_type::ENC_TIMESTAMP).unwrap();
    assert_eq!(EncryptedData::decode(&pa.value).unwrap().etype, 23);
    assert!(r.padata.iter().any(|p| p.padata_type == pa_type::PAC_REQUEST));
    assert!(r.body.options & kdc_options::CANONICALIZE != 0);

    for (n, e) in [(16, 17), (32, 18)] {
        let c = ClientCredentials {
            user: "u".into(),
            realm: "R".into(),
            secret: ClientSecret::aes_key(&vec![3; n]).unwrap(),
        };
        let (_, req) = AsExchange::start(c, None, &mut rng, capture_time()).unwrap();
        assert_eq!(KdcReq::decode(&req).unwrap().body.etypes, vec![e]);
    }
    assert!(ClientSecret::aes_key(&[0; 24]).is_err());
    // A password offers AES only (no RC4 unless an NT hash is handed over).
    let (_, req) = AsExchange::start(alice("x"), None, &mut rng, capture_time()).unwrap();
    assert_eq!(KdcReq::decode(&req).unwrap().body.etypes, vec![18, 17]);
}

#[test]
fn tgs_request_checksums_the_exact_body() {
    let mut rng = OsRandom;
    let mut kdc = Kdc::new("pw-1", "EXAMPLE.TESTalice");
    let (tgt, _) = run(&mut kdc, alice("pw-1")).unwrap();
    let (_, req) = TgsExchange::start(
        &tgt,
        PrincipalName::service("cifs", "srv.example.test"),
        REALM,
        &mut rng,
        capture_time(),
    )
    .unwrap();
    let r = KdcReq::decode(&req).unwrap();
    let ap = ApReq::decode(&r.padata[0].value).unwrap();
    let a =
        tgt.session_key.decrypt(usage::TGS_REQ_AUTHENTICATOR, &ap.authenticator.cipher).unwrap();
    let a = Authenticator::decode(&a).unwrap();
    let ck = a.cksum.unwrap();
    tgt.session_key
        .verify_checksum(usage::TGS_REQ_CKSUM, ck.cksumtype, &r.body.encode(), &ck.checksum)
        .unwrap();
    assert_eq!(r.body.etypes, vec![18, 17], "AES only for an AES TGT");
}

// ---- a scripted kpasswd server ----

fn changepw_cred() -> Credential {
    let sk = KerberosKey::random(Etype::Aes256CtsHmacSha196, &mut OsRandom);
    Credential {
        crealm: REALM.into(),
        cname: PrincipalName::user("alice"),
        ticket: Ticket::new(
            REALM,
            PrincipalName::service("kadmin", "changepw"),
            EncryptedData { etype: 18, kvno: Some(2), cipher: vec![0; 48] },
        ),
        session_key: sk,
        flags: 0,
        endtime: KerberosTime(capture_time().time.0 + 300),
        starttime: None,
        srealm: REALM.into(),
        sname: PrincipalName::service("kadmin", "changepw"),
    }
}

/// Answer a kpasswd request the way RFC 3244 servers do: AP-REP (with an acceptor subkey)
/// and a KRB-PRIV in that subkey carrying `result`. `tamper` flips a bit of the AP-REP.
fn kpasswd_server(
    c: &Credential,
    req: &[u8],
    result: &kpasswd::KpasswdResult,
    tamper: bool,
) -> (Vec<u8>, Vec<u8>) {
    let r = kpasswd::decode_request(req).unwrap();
    let ap = ApReq::decode(r.ap_req).unwrap();
    let a = c.session_key.decrypt(usage::AP_REQ_AUTHENTICATOR, &ap.authenticator.cipher).unwrap();
    let a = Authenticator::decode(&a).unwrap();
    let subkey = key_from_raw(a.subkey.as_ref().unwrap()).unwrap();
    let p = KrbPriv::decode(r.krb_priv).unwrap();
    let part = EncKrbPrivPart::decode(
        &subkey.decrypt(usage::KRB_PRIV_ENC_PART, &p.enc_part.cipher).unwrap(),
    )
    .unwrap();
    assert!(part.s_address.is_some(), "RFC 4120 requires the sender address");
    let acceptor = KerberosKey::random(Etype::Aes256CtsHmacSha196, &mut OsRandom);
    let rep_part =
        EncApRepPart { ctime: a.ctime, subkey: Some(raw_from_key(&acceptor)), seq_number: Some(1) };
    let mut cipher =
        c.session_key.encrypt(usage::AP_REP_ENC_PART, &rep_part.encode(), &mut OsRandom);
    if tamper {
        cipher[17] ^= 0x40;
    }
    let ap_rep = ApRep { enc_part: EncryptedData { etype: 18, kvno: None, cipher } }.encode();
    let priv_part = EncKrbPrivPart {
        user_data: result.encode(),
        timestamp: None,
        seq_number: Some(1),
        s_address: Some(HostAddress::ip("127.0.0.1".parse().unwrap())),
        r_address: None,
    };
    let krb_priv = KrbPriv {
        enc_part: enc(&acceptor, usage::KRB_PRIV_ENC_PART, &priv_part.encode(), &mut OsRandom),
    }
    .encode();
    let total = 6 + ap_rep.len() + krb_priv.len();
    let mut out = (total as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(ap_rep.len() as u16).to_be_bytes());
    out.extend_from_slice(&ap_rep);
    out.extend_from_slice(&krb_priv);
    (out, part.user_data.expose().to_vec())
}

#[test]
fn kpasswd_results_from_a_scripted_server() {
    let c = changepw_cred();
    let new = Password::from("New-Pass-9!");
    let start = |v| {
        KpasswdExchange::start(
            &c,
            &new,
            v,
            HostAddress::ip("127.0.0.1".parse().unwrap()),
            &mut OsRandom,
            capture_time(),
        )
        .unwrap()
    };
    // Success; version 1 sends the password itself.
    let (x, req) = start(kpasswd::VERSION_CHANGE);
    let ok = kpasswd::KpasswdResult { code: kpasswd::ResultCode::Success, raw: vec![] };
    let (rep, sent) = kpasswd_server(&c, &req, &ok, false);
    assert_eq!(sent, b"New-Pass-9!");
    assert_eq!(x.on_reply(&rep).unwrap().code, kpasswd::ResultCode::Success);
    // Version 0xff80 sends ChangePasswdData without a target (a change, never a set).
    let (_, req) = start(kpasswd::VERSION_SET_CHANGE);
    let (_, sent) = kpasswd_server(&c, &req, &ok, false);
    assert_eq!(sent, kpasswd::change_passwd_data(b"New-Pass-9!", None).to_vec());
    // AD's soft error with the policy blob.
    let (x, req) = start(kpasswd::VERSION_CHANGE);
    let mut blob = vec![0, 0];
    blob.extend_from_slice(&7u32.to_be_bytes());
    blob.extend_from_slice(&24u32.to_be_bytes());
    blob.extend_from_slice(&1u32.to_be_bytes());
    blob.extend_from_slice(&[0; 16]);
    let soft = kpasswd::KpasswdResult { code: kpasswd::ResultCode::SoftError, raw: blob };
    let (rep, _) = kpasswd_server(&c, &req, &soft, false);
    let r = x.on_reply(&rep).unwrap();
    assert_eq!(r.code, kpasswd::ResultCode::SoftError);
    assert_eq!(r.ad_policy().unwrap().min_length, 7);
    // A tampered AP-REP: nothing is believed.
    let (x, req) = start(kpasswd::VERSION_CHANGE);
    let (rep, _) = kpasswd_server(&c, &req, &ok, true);
    assert!(matches!(x.on_reply(&rep), Err(KerberosError::Crypto(_))));
    // A KRB-ERROR instead of an AP-REP (e.g. an expired changepw ticket).
    let (x, _) = start(kpasswd::VERSION_CHANGE);
    let e = KrbError {
        ctime: None,
        cusec: None,
        stime: capture_time(),
        error_code: code::TKT_EXPIRED,
        crealm: None,
        cname: None,
        realm: REALM.into(),
        sname: PrincipalName::service("kadmin", "changepw"),
        e_text: None,
        e_data: None,
    }
    .encode();
    let mut rep = ((6 + e.len()) as u16).to_be_bytes().to_vec();
    rep.extend_from_slice(&[0, 1, 0, 0]);
    rep.extend_from_slice(&e);
    assert_eq!(x.on_reply(&rep).unwrap_err(), KerberosError::Other { code: code::TKT_EXPIRED });
    // Garbage.
    assert!(x.on_reply(&[0, 6, 0, 1, 0, 0]).is_err());
}
