//! Kerberos inside SPNEGO, as SMB2 SESSION_SETUP carries it — [RFC 4178], [RFC 4121],
//! [MS-KILE] 3.2.5, [MS-SMB2] 3.2.5.3.

use super::kerberos::asn1::KrbTimestamp;
use super::kerberos::error::KerberosError;
use super::kerberos::exchange::{ApExchange, Credential};
use super::kerberos::gss::{self, TokId};
use super::kerberos::messages::KrbError;
use super::spnego::{NegState, NegTokenInit, OID_KERBEROS, OID_MS_KERBEROS};
use super::{AuthError, Authenticator, Step};
use crate::rng::SecureRandom;
use crate::secret::SessionKey;

enum State {
    Start,
    SentApReq(ApExchange),
    Done,
    Failed,
}

/// A SPNEGO/Kerberos client [`Authenticator`] for a service ticket (`cifs/<host>`) and its
/// session key.
///
/// # The step contract
///
/// 1. `step(None)` (or with the server's NegTokenInit2 hint, ignored) →
///    `Send(NegTokenInit{[MS-KRB5, KRB5], GSS(AP-REQ)})`. The AP-REQ requires mutual
///    authentication; its authenticator carries the 0x8003 checksum, a fresh subkey of the
///    ticket's etype and a sequence number.
/// 2. `step(Some(token))` with the server's NegTokenResp:
///    * an AP-REP: decrypted and checked (ctime/cusec ours) → `Done { token: None,
///      session_key }` where the session key is the AP-REP subkey (first 16 bytes as
///      `Session.SessionKey`, the whole key kept as the FullSessionKey).
///    * a KRB-ERROR: → [`AuthError::Kerberos`] with the typed error; for KRB_AP_ERR_SKEW it
///      carries the server's time so the caller can retry once with a corrected clock.
///    * anything else (reject, no response token, an AP-REP that does not verify) → an
///      error. **No session key is released unless the AP-REP verified.**
pub struct SpnegoKerberos {
    cred: Credential,
    state: State,
    clock_offset: i64,
    gss_flags: u32,
}

impl core::fmt::Debug for SpnegoKerberos {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SpnegoKerberos")
            .field("service", &self.cred.sname.to_string())
            .field("clock_offset", &self.clock_offset)
            .finish_non_exhaustive()
    }
}

impl SpnegoKerberos {
    /// An authenticator presenting `cred` (a service ticket for the server).
    pub fn new(cred: Credential) -> Self {
        Self { cred, state: State::Start, clock_offset: 0, gss_flags: gss::SMB_FLAGS }
    }

    /// Seconds to add to the local clock in the authenticator (after a SKEW error, the
    /// server's time minus ours). Only effective before the first step.
    pub fn set_clock_offset(&mut self, seconds: i64) {
        self.clock_offset = seconds;
    }

    fn step_inner(
        &mut self,
        input: Option<&[u8]>,
        rng: &mut dyn SecureRandom,
        now_filetime: u64,
    ) -> Result<Step, AuthError> {
        match core::mem::replace(&mut self.state, State::Failed) {
            State::Start => {
                let mut now = KrbTimestamp::from_filetime(now_filetime);
                now.time.0 = now.time.0.saturating_add(self.clock_offset);
                let (ap, ap_req) =
                    ApExchange::start(&self.cred, Some(self.gss_flags), None, rng, now);
                let init = NegTokenInit {
                    mech_types: vec![OID_MS_KERBEROS.to_vec(), OID_KERBEROS.to_vec()],
                    mech_token: Some(gss::wrap(TokId::ApReq, &ap_req)),
                    ..NegTokenInit::default()
                };
                self.state = State::SentApReq(ap);
                Ok(Step::Send(init.encode()))
            }
            State::SentApReq(ap) => {
                let input = input.filter(|i| !i.is_empty()).ok_or(AuthError::Protocol(
                    "the server sent no AP-REP (mutual authentication is required)",
                ))?;
                let r = super::spnego_ntlm::server_resp(input)?;
                if let Some(m) = &r.supported_mech {
                    if m != OID_MS_KERBEROS && m != OID_KERBEROS {
                        return Err(AuthError::Protocol(
                            "the server chose a mechanism other than Kerberos",
                        ));
                    }
                }
                let token = match (r.response_token.as_deref(), r.neg_state) {
                    (Some(t), _) => t,
                    (None, Some(NegState::Reject)) => return Err(AuthError::Rejected),
                    (None, _) => {
                        return Err(AuthError::Protocol(
                            "the server sent no AP-REP (mutual authentication is required)",
                        ));
                    }
                };
                let (tok, msg) =
                    gss::unwrap(token).map_err(|_| AuthError::Malformed("GSS Kerberos token"))?;
                match tok {
                    TokId::Error => {
                        let e = KrbError::decode(msg)
                            .map_err(|_| AuthError::Malformed("Kerberos KRB-ERROR"))?;
                        Err(AuthError::Kerberos(KerberosError::from_krb_error(&e)))
                    }
                    TokId::ApReq => Err(AuthError::Protocol("the server sent an AP-REQ")),
                    TokId::ApRep => {
                        if r.neg_state == Some(NegState::Reject) {
                            return Err(AuthError::Rejected);
                        }
                        let key = ap.verify(msg).map_err(AuthError::Kerberos)?;
                        let sk = SessionKey::from_full_key(key.expose())
                            .ok_or(AuthError::Protocol("unusable Kerberos context key length"))?;
                        self.state = State::Done;
                        Ok(Step::Done { token: None, session_key: Some(sk) })
                    }
                }
            }
            State::Done | State::Failed => Err(AuthError::State),
        }
    }
}

impl Authenticator for SpnegoKerberos {
    fn step(
        &mut self,
        input: Option<&[u8]>,
        rng: &mut dyn SecureRandom,
        now_filetime: u64,
    ) -> Result<Step, AuthError> {
        self.step_inner(input, rng, now_filetime)
    }

    fn is_anonymous(&self) -> bool {
        false
    }

    fn mechanism(&self) -> &'static str {
        "kerberos"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::kerberos::asn1::KerberosTime;
    use crate::auth::kerberos::crypto::{Etype, KerberosKey};
    use crate::auth::kerberos::exchange::usage;
    use crate::auth::kerberos::messages::{
        ApRep, ApReq, Authenticator as KrbAuthenticator, EncApRepPart, EncryptedData,
        PrincipalName, RawKey, Ticket,
    };
    use crate::auth::spnego::NegTokenResp;
    use crate::rng::OsRandom;
    use crate::secret::SecretBytes;

    const NOW_FT: u64 = 0x01dd_7a2e_d461_a6e6;

    fn cred(etype: Etype) -> Credential {
        let sk = KerberosKey::random(etype, &mut OsRandom);
        Credential {
            crealm: "EXAMPLE.TEST".into(),
            cname: PrincipalName::user("alice"),
            ticket: Ticket::new(
                "EXAMPLE.TEST",
                PrincipalName::service("cifs", "srv.example.test"),
                EncryptedData { etype: 18, kvno: Some(1), cipher: vec![0; 64] },
            ),
            session_key: sk,
            flags: 0,
            endtime: KerberosTime::FAR_FUTURE,
            starttime: None,
            srealm: "EXAMPLE.TEST".into(),
            sname: PrincipalName::service("cifs", "srv.example.test"),
        }
    }

    /// What a server does: decrypt the authenticator, answer with an AP-REP carrying its own
    /// subkey (or a tampered / foreign one).
    fn server_reply(
        c: &Credential,
        token: &[u8],
        acceptor_key: &KerberosKey,
        tamper: bool,
    ) -> (Vec<u8>, KrbAuthenticator) {
        let init = NegTokenInit::decode(token).unwrap();
        assert_eq!(init.mech_types, vec![OID_MS_KERBEROS.to_vec(), OID_KERBEROS.to_vec()]);
        let (tok, msg) = gss::unwrap(init.mech_token.as_deref().unwrap()).unwrap();
        assert_eq!(tok, TokId::ApReq);
        let ap = ApReq::decode(msg).unwrap();
        assert!(ap.options & crate::auth::kerberos::messages::ap_options::MUTUAL_REQUIRED != 0);
        let a =
            c.session_key.decrypt(usage::AP_REQ_AUTHENTICATOR, &ap.authenticator.cipher).unwrap();
        let a = KrbAuthenticator::decode(&a).unwrap();
        let part = EncApRepPart {
            ctime: a.ctime,
            subkey: Some(RawKey {
                keytype: acceptor_key.etype().number(),
                value: SecretBytes::new(acceptor_key.expose().to_vec()),
            }),
            seq_number: Some(7),
        };
        let mut cipher =
            c.session_key.encrypt(usage::AP_REP_ENC_PART, &part.encode(), &mut OsRandom);
        if tamper {
            cipher[20] ^= 1;
        }
        let rep = ApRep { enc_part: EncryptedData { etype: 18, kvno: None, cipher } };
        let resp = NegTokenResp {
            neg_state: Some(NegState::AcceptCompleted),
            supported_mech: Some(OID_MS_KERBEROS.to_vec()),
            response_token: Some(gss::wrap(TokId::ApRep, &rep.encode())),
            mech_list_mic: None,
        };
        (resp.encode(), a)
    }

    #[test]
    fn mutual_auth_yields_the_acceptor_subkey_with_its_full_length() {
        let c = cred(Etype::Aes256CtsHmacSha196);
        let mut auth = SpnegoKerberos::new(c.clone());
        let Step::Send(t) = auth.step(None, &mut OsRandom, NOW_FT).unwrap() else { panic!() };
        let acceptor = KerberosKey::random(Etype::Aes256CtsHmacSha196, &mut OsRandom);
        let (resp, a) = server_reply(&c, &t, &acceptor, false);
        let ck = a.cksum.unwrap();
        assert_eq!(ck.cksumtype, 0x8003);
        assert_eq!(gss::parse_checksum_8003(&ck.checksum).unwrap(), gss::SMB_FLAGS);
        assert_eq!(a.subkey.unwrap().keytype, 18, "subkey of the ticket's etype");
        assert!(a.seq_number.is_some());
        let Step::Done { token: None, session_key: Some(sk) } =
            auth.step(Some(&resp), &mut OsRandom, NOW_FT).unwrap()
        else {
            panic!("expected Done with a key")
        };
        assert_eq!(&sk.expose()[..], &acceptor.expose()[..16]);
        assert_eq!(sk.full_key(), acceptor.expose());
        assert!(matches!(auth.step(None, &mut OsRandom, NOW_FT), Err(AuthError::State)));
    }

    #[test]
    fn no_key_without_a_verified_ap_rep() {
        let c = cred(Etype::Aes256CtsHmacSha196);
        let acceptor = KerberosKey::random(Etype::Aes256CtsHmacSha196, &mut OsRandom);
        // Tampered AP-REP.
        let mut auth = SpnegoKerberos::new(c.clone());
        let Step::Send(t) = auth.step(None, &mut OsRandom, NOW_FT).unwrap() else { panic!() };
        let (resp, _) = server_reply(&c, &t, &acceptor, true);
        assert!(matches!(
            auth.step(Some(&resp), &mut OsRandom, NOW_FT),
            Err(AuthError::Kerberos(KerberosError::Crypto(_)))
        ));
        // Accept-completed without any token (a server that skips mutual auth).
        let mut auth = SpnegoKerberos::new(c.clone());
        auth.step(None, &mut OsRandom, NOW_FT).unwrap();
        let bare =
            NegTokenResp { neg_state: Some(NegState::AcceptCompleted), ..Default::default() };
        assert!(matches!(
            auth.step(Some(&bare.encode()), &mut OsRandom, NOW_FT),
            Err(AuthError::Protocol(_))
        ));
        // An empty final buffer.
        let mut auth = SpnegoKerberos::new(c.clone());
        auth.step(None, &mut OsRandom, NOW_FT).unwrap();
        assert!(auth.step(Some(&[]), &mut OsRandom, NOW_FT).is_err());
        // An AP-REP answering another authenticator (replayed from an earlier session).
        let mut first = SpnegoKerberos::new(c.clone());
        let Step::Send(t1) = first.step(None, &mut OsRandom, NOW_FT).unwrap() else { panic!() };
        let (old, _) = server_reply(&c, &t1, &acceptor, false);
        let mut auth = SpnegoKerberos::new(c);
        auth.step(None, &mut OsRandom, NOW_FT + 10_000_000).unwrap();
        assert!(matches!(
            auth.step(Some(&old), &mut OsRandom, NOW_FT),
            Err(AuthError::Kerberos(KerberosError::Protocol(_)))
        ));
    }

    #[test]
    fn skew_error_token_is_typed_with_the_server_time() {
        let c = cred(Etype::Aes128CtsHmacSha196);
        let mut auth = SpnegoKerberos::new(c);
        auth.step(None, &mut OsRandom, NOW_FT).unwrap();
        let server_time = KrbTimestamp { time: KerberosTime(1_796_500_743), usec: 5 };
        let e = KrbError {
            ctime: None,
            cusec: None,
            stime: server_time,
            error_code: 37,
            crealm: None,
            cname: None,
            realm: "EXAMPLE.TEST".into(),
            sname: PrincipalName::service("cifs", "srv.example.test"),
            e_text: None,
            e_data: None,
        };
        let resp = NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: Some(OID_MS_KERBEROS.to_vec()),
            response_token: Some(gss::wrap(TokId::Error, &e.encode())),
            mech_list_mic: None,
        };
        assert_eq!(
            auth.step(Some(&resp.encode()), &mut OsRandom, NOW_FT).unwrap_err(),
            AuthError::Kerberos(KerberosError::ClockSkew { server_time })
        );
    }

    #[test]
    fn clock_offset_moves_the_authenticator_time() {
        let c = cred(Etype::Aes256CtsHmacSha196);
        let mut auth = SpnegoKerberos::new(c.clone());
        auth.set_clock_offset(600);
        let Step::Send(t) = auth.step(None, &mut OsRandom, NOW_FT).unwrap() else { panic!() };
        let acceptor = KerberosKey::random(Etype::Aes256CtsHmacSha196, &mut OsRandom);
        let (_, a) = server_reply(&c, &t, &acceptor, false);
        assert_eq!(a.ctime.time.0, KrbTimestamp::from_filetime(NOW_FT).time.0 + 600);
    }
}
