//! NTLMv2 inside SPNEGO, as SMB2 SESSION_SETUP carries it — [MS-SPNG] 3.1.5, [MS-SMB2]
//! 3.2.4.2.3; notes 5.7, 6.7.

use super::ntlm::client::NtlmExpectChallenge;
use super::ntlm::sealer::NtlmSealer;
use super::ntlm::{NtlmClient, NtlmCredentials};
use super::spnego::{
    NegState, NegTokenInit, NegTokenResp, OID_NTLMSSP, SpnegoToken, decode_spnego,
};
use super::{AuthError, Authenticator, Step};
use crate::rng::SecureRandom;
use crate::secret::SessionKey;

/// Decode the server's SPNEGO answer, which must be a NegTokenResp (shared with the
/// Kerberos authenticator).
pub(super) fn server_resp(input: &[u8]) -> Result<NegTokenResp, AuthError> {
    match decode_spnego(input) {
        Ok(SpnegoToken::Resp(r)) => Ok(r),
        Ok(SpnegoToken::Init(_)) => Err(AuthError::Protocol("expected a SPNEGO NegTokenResp")),
        Err(_) => Err(AuthError::Malformed("SPNEGO token")),
    }
}

#[derive(Debug)]
enum State {
    Start { ntlm: NtlmClient },
    SentInit { ntlm: NtlmExpectChallenge, mech_types: Vec<u8> },
    SentAuth { mech_types: Vec<u8> },
    Done,
    Failed,
}

/// A SPNEGO/NTLMv2 client [`Authenticator`].
///
/// # The step contract
///
/// 1. `step(None)` (or `step(Some(server_hint))` with the SMB2 NEGOTIATE response's security
///    buffer, which is ignored) → `Send(NegTokenInit{[NTLMSSP], NEGOTIATE})`.
/// 2. `step(Some(token))` with the server's accept-incomplete NegTokenResp carrying the
///    CHALLENGE → `Send(NegTokenResp{AUTHENTICATE, mechListMIC})`.
///    From here on [`Self::session_key`] already returns the ExportedSessionKey.
/// 3. `step(Some(token))` with the server's final NegTokenResp (accept-completed) → the
///    server's mechListMIC is required and verified on an authenticated session (missing or
///    wrong is an error; RFC 4178 §5, [MS-SPNG]) → `Done { token: None, session_key }`
///    (`None` for anonymous). If the final SMB2 SESSION_SETUP response (STATUS_SUCCESS)
///    carries no security buffer, call `step(Some(&[]))` or `step(None)`: `Done` for an
///    anonymous session, an error for an authenticated one (no mechListMIC).
///
/// A negState of reject at any point → [`AuthError::Rejected`]. After an error or `Done`,
/// further calls return [`AuthError::State`].
#[derive(Debug)]
pub struct SpnegoNtlm {
    anonymous: bool,
    state: State,
    session_key: Option<SessionKey>,
    flags: Option<u32>,
    domain_used: Option<String>,
    server_nb_computer_name: Option<String>,
    server_nb_domain_name: Option<String>,
    server_dns_domain_name: Option<String>,
}

impl SpnegoNtlm {
    /// An authenticator for `creds` (see [`NtlmCredentials`] for the domain rule).
    pub fn new(creds: NtlmCredentials) -> Self {
        Self::from_client(NtlmClient::new(creds))
    }

    /// An anonymous (null session) authenticator.
    pub fn anonymous() -> Self {
        Self::from_client(NtlmClient::anonymous())
    }

    fn from_client(ntlm: NtlmClient) -> Self {
        Self {
            anonymous: ntlm.is_anonymous(),
            state: State::Start { ntlm },
            session_key: None,
            flags: None,
            domain_used: None,
            server_nb_computer_name: None,
            server_nb_domain_name: None,
            server_dns_domain_name: None,
        }
    }

    /// Set the SPN announced in MsvAvTargetName, e.g. `cifs/server.example.com`
    /// (`None`, the default, omits it). Only effective before the first step.
    pub fn set_target_spn(&mut self, spn: Option<String>) {
        if let State::Start { ntlm } = &mut self.state {
            ntlm.set_target_spn(spn);
        }
    }

    /// Builder form of [`Self::set_target_spn`].
    pub fn with_target_spn(mut self, spn: impl Into<String>) -> Self {
        self.set_target_spn(Some(spn.into()));
        self
    }

    /// The ExportedSessionKey (the SMB2 `Session.SessionKey` input), available once the
    /// AUTHENTICATE message was built; `None` before that and for anonymous sessions.
    pub fn session_key(&self) -> Option<SessionKey> {
        self.session_key.clone()
    }

    /// The DomainName actually sent (and hashed), once the CHALLENGE was processed.
    pub fn domain_used(&self) -> Option<&str> {
        self.domain_used.as_deref()
    }

    /// The server's NetBIOS computer name from the CHALLENGE (not secret).
    pub fn server_nb_computer_name(&self) -> Option<&str> {
        self.server_nb_computer_name.as_deref()
    }

    /// The server's NetBIOS domain name from the CHALLENGE (not secret).
    pub fn server_nb_domain_name(&self) -> Option<&str> {
        self.server_nb_domain_name.as_deref()
    }

    /// The server's DNS domain name from the CHALLENGE (not secret).
    pub fn server_dns_domain_name(&self) -> Option<&str> {
        self.server_dns_domain_name.as_deref()
    }

    /// The NTLM flags negotiated (sent in AUTHENTICATE).
    pub fn negotiated_flags(&self) -> Option<u32> {
        self.flags
    }

    /// A fresh NTLM sign/seal context (sequence numbers 0) for this session's key, e.g. for
    /// DCE/RPC-level NTLM protection; `None` before AUTHENTICATE and for anonymous.
    pub fn sealer(&self) -> Option<NtlmSealer> {
        Some(NtlmSealer::new(self.session_key.as_ref()?, self.flags?))
    }

    fn resp(input: &[u8]) -> Result<NegTokenResp, AuthError> {
        server_resp(input)
    }

    fn step_inner(
        &mut self,
        input: Option<&[u8]>,
        rng: &mut dyn SecureRandom,
        now_filetime: u64,
    ) -> Result<Step, AuthError> {
        match core::mem::replace(&mut self.state, State::Failed) {
            State::Start { ntlm } => {
                // The server's NegTokenInit2 hint (if any) is deliberately ignored.
                let (ntlm, negotiate) = ntlm.negotiate();
                let init = NegTokenInit::ntlm(negotiate);
                self.state = State::SentInit { ntlm, mech_types: init.mech_types_der() };
                Ok(Step::Send(init.encode()))
            }
            State::SentInit { ntlm, mech_types } => {
                let r = Self::resp(input.ok_or(AuthError::State)?)?;
                if r.neg_state == Some(NegState::Reject) {
                    return Err(AuthError::Rejected);
                }
                if r.supported_mech.as_deref().is_some_and(|m| m != OID_NTLMSSP) {
                    return Err(AuthError::Protocol(
                        "the server chose a mechanism other than NTLMSSP",
                    ));
                }
                let challenge = r
                    .response_token
                    .ok_or(AuthError::Protocol("no NTLM CHALLENGE in the server's token"))?;
                let out = ntlm.authenticate(&challenge, rng, now_filetime)?;
                let mic = match &out.exported_session_key {
                    Some(k) => Some(NtlmSealer::new(k, out.flags).sign(&mech_types).to_vec()),
                    None => None,
                };
                self.session_key = out.exported_session_key;
                self.flags = Some(out.flags);
                self.domain_used = Some(out.domain_used);
                self.server_nb_computer_name = out.server_nb_computer_name;
                self.server_nb_domain_name = out.server_nb_domain_name;
                self.server_dns_domain_name = out.server_dns_domain_name;
                let resp = NegTokenResp {
                    neg_state: None,
                    supported_mech: None,
                    response_token: Some(out.authenticate),
                    mech_list_mic: mic,
                };
                self.state = State::SentAuth { mech_types };
                Ok(Step::Send(resp.encode()))
            }
            State::SentAuth { mech_types } => {
                // RFC 4178 §5: the mechListMIC exchange may be skipped only when the chosen
                // mechanism is the first choice of *both* peers; "in all other cases" it MUST
                // be exchanged. The initiator cannot know the acceptor's preference, and
                // [MS-SPNG] (as Windows and Samba implement it) makes the exchange mandatory
                // for NTLM whenever the AUTHENTICATE carried a MIC — which ours always does. So
                // an authenticated session requires the server's mechListMIC, and a final
                // token without one (or no final token) is refused: it is what a relay or a
                // downgrade of the mechanism list looks like. Anonymous sessions have no key
                // to compute one with, and servers send none.
                let input = input.filter(|i| !i.is_empty());
                let (key, fl) = match (&self.session_key, self.flags) {
                    (Some(k), Some(f)) => (Some(k), f),
                    _ => (None, 0),
                };
                if key.is_some() && input.is_none() {
                    return Err(AuthError::Protocol(
                        "the server's final SPNEGO token is missing (no mechListMIC)",
                    ));
                }
                if let Some(input) = input {
                    let r = Self::resp(input)?;
                    match r.neg_state {
                        Some(NegState::Reject) => return Err(AuthError::Rejected),
                        Some(NegState::AcceptCompleted) | None => {}
                        Some(_) => {
                            return Err(AuthError::Protocol("the server did not complete SPNEGO"));
                        }
                    }
                    if let Some(key) = key {
                        let mic = r.mech_list_mic.as_ref().ok_or(AuthError::Protocol(
                            "the server's final SPNEGO token has no mechListMIC",
                        ))?;
                        NtlmSealer::new(key, fl).verify(&mech_types, mic).map_err(|_| {
                            AuthError::Protocol("the server's SPNEGO mechListMIC is wrong")
                        })?;
                    }
                }
                self.state = State::Done;
                Ok(Step::Done { token: None, session_key: self.session_key.clone() })
            }
            State::Done | State::Failed => Err(AuthError::State),
        }
    }
}

impl Authenticator for SpnegoNtlm {
    fn step(
        &mut self,
        input: Option<&[u8]>,
        rng: &mut dyn SecureRandom,
        now_filetime: u64,
    ) -> Result<Step, AuthError> {
        // On error the state stays `Failed` (set by `step_inner`'s replace).
        self.step_inner(input, rng, now_filetime)
    }

    fn is_anonymous(&self) -> bool {
        self.anonymous
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::ntlm::client::tests::{challenge_with_timestamp, server_verify};
    use crate::auth::ntlm::crypto::nt_hash;
    use crate::auth::ntlm::{Authenticate, Negotiate};
    use crate::rng::FixedRandom;
    use crate::secret::Password;

    fn creds(domain: Option<&str>) -> NtlmCredentials {
        NtlmCredentials::with_password(
            "User",
            domain.map(str::to_owned),
            Password::from("Password"),
        )
    }

    fn send(s: Step) -> Vec<u8> {
        match s {
            Step::Send(t) => t,
            other => panic!("expected Send, got {other:?}"),
        }
    }

    fn server_leg1(challenge: &[u8]) -> Vec<u8> {
        NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: Some(OID_NTLMSSP.to_vec()),
            response_token: Some(challenge.to_vec()),
            mech_list_mic: None,
        }
        .encode()
    }

    /// Drive a full exchange against a scripted server; returns (client, final server token
    /// builder inputs).
    fn run_to_auth(a: &mut SpnegoNtlm) -> (Vec<u8>, Vec<u8>, NegTokenResp) {
        let mut rng = FixedRandom::new(vec![0xaa; 8].into_iter().chain([0x55; 16]).collect());
        let t1 = send(a.step(None, &mut rng, 0).unwrap());
        let init = NegTokenInit::decode(&t1).unwrap();
        let neg = init.mech_token.clone().unwrap();
        assert!(Negotiate::decode(&neg).is_ok());
        let chal = challenge_with_timestamp(0x01d0_0000_0000_0000);
        let t2 = send(a.step(Some(&server_leg1(&chal)), &mut rng, 0).unwrap());
        (neg, chal, NegTokenResp::decode(&t2).unwrap())
    }

    #[test]
    fn full_flow_with_server_mech_list_mic() {
        let mut a = SpnegoNtlm::new(creds(None)).with_target_spn("cifs/Server");
        let (neg, chal, resp) = run_to_auth(&mut a);
        // Leg 2 carries only responseToken and mechListMIC (as Windows clients send).
        assert_eq!((resp.neg_state, resp.supported_mech.as_ref()), (None, None));
        let auth = resp.response_token.unwrap();
        let h = nt_hash(&Password::from("Password"));
        let key = server_verify(&auth, &chal, &neg, &h).expect("server accepts");
        assert_eq!(a.session_key().unwrap(), key);
        assert_eq!(a.domain_used(), Some("Domain"));
        assert_eq!(a.server_nb_computer_name(), Some("Server"));
        assert_eq!(a.server_nb_domain_name(), Some("Domain"));
        let fl = Authenticate::decode(&auth).unwrap().flags;
        // The client's mechListMIC verifies on the server side (seq 0, client->server keys).
        let mech_types = NegTokenInit::ntlm(vec![]).mech_types_der();
        let mut srv = NtlmSealer::new_server(&key, fl);
        srv.verify(&mech_types, &resp.mech_list_mic.unwrap()).unwrap();
        // The server's own mechListMIC (seq 0, server->client keys).
        let mut srv = NtlmSealer::new_server(&key, fl);
        let final_tok = NegTokenResp {
            neg_state: Some(NegState::AcceptCompleted),
            mech_list_mic: Some(srv.sign(&mech_types).to_vec()),
            ..Default::default()
        }
        .encode();
        let mut rng = FixedRandom::new(vec![0]);
        match a.step(Some(&final_tok), &mut rng, 0).unwrap() {
            Step::Done { token: None, session_key: Some(k) } => assert_eq!(k, key),
            other => panic!("{other:?}"),
        }
        assert_eq!(a.step(None, &mut rng, 0).unwrap_err(), AuthError::State);
    }

    #[test]
    fn wrong_server_mech_list_mic_is_an_error() {
        let mut a = SpnegoNtlm::new(creds(Some("Domain")));
        run_to_auth(&mut a);
        let final_tok = NegTokenResp {
            neg_state: Some(NegState::AcceptCompleted),
            mech_list_mic: Some(vec![1, 0, 0, 0, 9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0]),
            ..Default::default()
        }
        .encode();
        let e = a.step(Some(&final_tok), &mut FixedRandom::new(vec![0]), 0).unwrap_err();
        assert!(matches!(e, AuthError::Protocol(_)));
        assert_eq!(a.step(None, &mut FixedRandom::new(vec![0]), 0).unwrap_err(), AuthError::State);
    }

    #[test]
    fn final_token_without_mech_list_mic_is_refused() {
        // No final token at all, an empty one, or an accept-completed without mechListMIC:
        // an authenticated session requires the server's mechListMIC.
        let no_mic =
            NegTokenResp { neg_state: Some(NegState::AcceptCompleted), ..Default::default() }
                .encode();
        for input in [None, Some(&[][..]), Some(&no_mic[..])] {
            let mut a = SpnegoNtlm::new(creds(None));
            run_to_auth(&mut a);
            let e = a.step(input, &mut FixedRandom::new(vec![0]), 0).unwrap_err();
            assert!(matches!(e, AuthError::Protocol(m) if m.contains("mechListMIC")), "{e:?}");
            // And the exchange is over.
            assert_eq!(
                a.step(None, &mut FixedRandom::new(vec![0]), 0).unwrap_err(),
                AuthError::State
            );
        }
    }

    #[test]
    fn anonymous_empty_final_token_completes() {
        for input in [None, Some(&[][..])] {
            let mut a = SpnegoNtlm::anonymous();
            let mut rng = FixedRandom::new(vec![3]);
            send(a.step(None, &mut rng, 0).unwrap());
            send(a.step(Some(&server_leg1(&challenge_with_timestamp(1))), &mut rng, 0).unwrap());
            match a.step(input, &mut rng, 0).unwrap() {
                Step::Done { token: None, session_key: None } => {}
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn reject_is_rejected() {
        let mut a = SpnegoNtlm::new(creds(None));
        run_to_auth(&mut a);
        let rej = NegTokenResp { neg_state: Some(NegState::Reject), ..Default::default() }.encode();
        assert_eq!(
            a.step(Some(&rej), &mut FixedRandom::new(vec![0]), 0).unwrap_err(),
            AuthError::Rejected
        );
        let mut b = SpnegoNtlm::new(creds(None));
        b.step(None, &mut FixedRandom::new(vec![0]), 0).unwrap();
        assert_eq!(
            b.step(Some(&rej), &mut FixedRandom::new(vec![0]), 0).unwrap_err(),
            AuthError::Rejected
        );
    }

    #[test]
    fn garbage_and_wrong_mechanism() {
        let mut a = SpnegoNtlm::new(creds(None));
        a.step(Some(&[0xde, 0xad]), &mut FixedRandom::new(vec![0]), 0).unwrap(); // hint ignored
        assert!(matches!(
            a.step(Some(&[0xa1, 0x05]), &mut FixedRandom::new(vec![0]), 0),
            Err(AuthError::Malformed(_))
        ));
        let mut b = SpnegoNtlm::new(creds(None));
        b.step(None, &mut FixedRandom::new(vec![0]), 0).unwrap();
        let krb = NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: Some(crate::auth::spnego::OID_KERBEROS.to_vec()),
            response_token: Some(vec![1]),
            mech_list_mic: None,
        }
        .encode();
        assert!(matches!(
            b.step(Some(&krb), &mut FixedRandom::new(vec![0]), 0),
            Err(AuthError::Protocol(_))
        ));
    }

    /// Replays the captured Samba leg-1 token (spnego tests): the client answers with an
    /// AUTHENTICATE the scripted server check accepts, hashed with the domain "SRV2" taken
    /// from the CHALLENGE, and with the server's timestamp in the blob.
    #[test]
    fn captured_samba_challenge() {
        use crate::auth::spnego::tests::{SAMBA_LEG1, SAMBA_STANDALONE_HINT};
        let mut a = SpnegoNtlm::new(creds(None));
        let mut rng = FixedRandom::new(vec![9, 8, 7]);
        let hint = hex::decode(SAMBA_STANDALONE_HINT).unwrap();
        let t1 = send(a.step(Some(&hint), &mut rng, 0).unwrap());
        let neg = NegTokenInit::decode(&t1).unwrap().mech_token.unwrap();
        let leg1 = hex::decode(SAMBA_LEG1).unwrap();
        let t2 = send(a.step(Some(&leg1), &mut rng, 0).unwrap());
        let auth = NegTokenResp::decode(&t2).unwrap().response_token.unwrap();
        let chal = NegTokenResp::decode(&leg1).unwrap().response_token.unwrap();
        let key = server_verify(&auth, &chal, &neg, &nt_hash(&Password::from("Password"))).unwrap();
        assert_eq!(a.session_key().unwrap(), key);
        assert_eq!(a.domain_used(), Some("SRV2"));
        let a3 = Authenticate::decode(&auth).unwrap();
        assert_eq!(a3.nt_response[24..32], 0x01dd_7a2e_d461_a6e6u64.to_le_bytes());
        assert_eq!(a3.lm_response, vec![0; 24]);
    }

    #[test]
    fn anonymous_flow() {
        let mut a = SpnegoNtlm::anonymous();
        assert!(a.is_anonymous());
        let mut rng = FixedRandom::new(vec![3]);
        send(a.step(None, &mut rng, 0).unwrap());
        let chal = challenge_with_timestamp(1);
        let t2 = send(a.step(Some(&server_leg1(&chal)), &mut rng, 0).unwrap());
        let r = NegTokenResp::decode(&t2).unwrap();
        assert!(r.mech_list_mic.is_none());
        let auth = Authenticate::decode(&r.response_token.unwrap()).unwrap();
        assert_eq!(auth.lm_response, vec![0]);
        assert!(auth.nt_response.is_empty());
        assert_eq!(a.session_key(), None);
        assert!(a.sealer().is_none());
        // Samba's final anonymous token has no mechListMIC.
        let fin = NegTokenResp { neg_state: Some(NegState::AcceptCompleted), ..Default::default() }
            .encode();
        match a.step(Some(&fin), &mut rng, 0).unwrap() {
            Step::Done { token: None, session_key: None } => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn debug_does_not_leak_secrets() {
        let c = NtlmCredentials::with_password(
            "alice",
            Some("D".into()),
            Password::from("hunter2-Sécret"),
        );
        let mut a = SpnegoNtlm::new(c.clone());
        run_to_auth(&mut a);
        let s = format!("{c:?} {a:?}");
        assert!(!s.contains("hunter2"), "{s}");
        assert!(!s.contains("85, 85"), "{s}"); // the 0x55 session key bytes
    }
}
