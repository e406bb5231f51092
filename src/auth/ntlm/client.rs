//! The NTLMv2 client exchange: NEGOTIATE out, CHALLENGE in, AUTHENTICATE out —
//! [MS-NLMP] 3.1.5.1, 3.2.5.1.2; notes 6.4, 6.5, 8.3.

use super::authenticate::{Authenticate, MIC_OFFSET};
use super::av_pair::{AV_FLAG_MIC_PRESENT, AvId, AvPairs};
use super::challenge::Challenge;
use super::crypto::{compute_mic, encrypt_session_key, ntlmv2_response, ntowfv2};
use super::negotiate::Negotiate;
use super::{NtlmCredentials, Version, flags, utf16le};
use crate::auth::AuthError;
use crate::rng::{SecureRandom, SecureRandomExt};
use crate::secret::SessionKey;

/// Longest user, domain, workstation or SPN accepted, in UTF-16 code units.
pub const MAX_NAME_UNITS: usize = 512;

/// An NTLM client before the exchange: credentials and options. Phases are types:
/// [`NtlmClient::negotiate`] consumes it into [`NtlmExpectChallenge`], whose
/// [`NtlmExpectChallenge::authenticate`] consumes that into an [`NtlmOutcome`].
#[derive(Clone, Debug)]
pub struct NtlmClient {
    creds: Option<NtlmCredentials>,
    target_spn: Option<String>,
    channel_bindings: Option<[u8; 16]>,
    /// Whether MsvAvFlags announces the MIC (always, except to reproduce published vectors).
    announce_mic: bool,
}

/// An NTLM client that sent NEGOTIATE and waits for the server's CHALLENGE.
#[derive(Clone, Debug)]
pub struct NtlmExpectChallenge {
    client: NtlmClient,
    negotiate: Vec<u8>,
}

/// What the AUTHENTICATE leg produced (the authenticated phase).
#[derive(Debug)]
pub struct NtlmOutcome {
    /// The AUTHENTICATE message to send.
    pub authenticate: Vec<u8>,
    /// The ExportedSessionKey (`None` for anonymous).
    pub exported_session_key: Option<SessionKey>,
    /// The flags sent in AUTHENTICATE (the negotiated set).
    pub flags: u32,
    /// The DomainName sent (and hashed).
    pub domain_used: String,
    /// The server's MsvAvNbComputerName, if it sent one.
    pub server_nb_computer_name: Option<String>,
    /// The server's MsvAvNbDomainName, if it sent one.
    pub server_nb_domain_name: Option<String>,
    /// The server's MsvAvDnsDomainName, if it sent one.
    pub server_dns_domain_name: Option<String>,
    /// Whether the MIC was announced (MsvAvFlags 0x2).
    pub mic_present: bool,
}

impl NtlmOutcome {
    /// A fresh sign/seal context for this session (sequence numbers 0); `None` when
    /// anonymous.
    pub fn sealer(&self) -> Option<super::NtlmSealer> {
        Some(super::NtlmSealer::new(self.exported_session_key.as_ref()?, self.flags))
    }
}

fn check_name(s: &str) -> Result<(), AuthError> {
    if s.encode_utf16().count() > MAX_NAME_UNITS {
        return Err(AuthError::Credentials("a name is too long"));
    }
    Ok(())
}

impl NtlmClient {
    /// A client for `creds`.
    pub fn new(creds: NtlmCredentials) -> Self {
        Self {
            creds: Some(creds),
            target_spn: None,
            channel_bindings: Some([0; 16]),
            announce_mic: true,
        }
    }

    /// An anonymous (null session) client.
    pub fn anonymous() -> Self {
        Self { creds: None, target_spn: None, channel_bindings: Some([0; 16]), announce_mic: true }
    }

    /// Whether this client is anonymous.
    pub fn is_anonymous(&self) -> bool {
        self.creds.is_none()
    }

    /// Set the SPN sent as MsvAvTargetName (e.g. `cifs/server`); `None` omits the pair.
    pub fn set_target_spn(&mut self, spn: Option<String>) {
        self.target_spn = spn;
    }

    /// Set the MsvAvChannelBindings value: the default is 16 zero bytes ("no channel
    /// bindings", what Windows and Samba send without TLS); `None` omits the pair (only for
    /// reproducing published vectors).
    pub fn set_channel_bindings(&mut self, hash: Option<[u8; 16]>) {
        self.channel_bindings = hash;
    }

    /// Builder form of [`Self::set_target_spn`].
    pub fn with_target_spn(mut self, spn: impl Into<String>) -> Self {
        self.target_spn = Some(spn.into());
        self
    }

    /// Leave MsvAvFlags as the server sent it (no MIC announced): only for reproducing the
    /// published [MS-NLMP] 4.2.4 vectors, whose CHALLENGE has no timestamp.
    #[cfg(test)]
    pub(crate) fn without_mic_flag(mut self) -> Self {
        self.announce_mic = false;
        self
    }

    /// Build the NEGOTIATE message to send; the returned state remembers it for the MIC.
    pub fn negotiate(self) -> (NtlmExpectChallenge, Vec<u8>) {
        let b = Negotiate::client_default().encode();
        (NtlmExpectChallenge { client: self, negotiate: b.clone() }, b)
    }
}

impl NtlmExpectChallenge {
    /// Whether this client is anonymous.
    pub fn is_anonymous(&self) -> bool {
        self.client.is_anonymous()
    }

    /// Consume the server's CHALLENGE and build the AUTHENTICATE message.
    ///
    /// `now_filetime` is used as the NTLMv2 timestamp only when the CHALLENGE has no
    /// MsvAvTimestamp.
    pub fn authenticate(
        self,
        challenge_bytes: &[u8],
        rng: &mut dyn SecureRandom,
        now_filetime: u64,
    ) -> Result<NtlmOutcome, AuthError> {
        let negotiate = self.negotiate.as_slice();
        let chal = Challenge::decode(challenge_bytes)
            .map_err(|_| AuthError::Malformed("NTLM CHALLENGE"))?;
        if chal.flags & flags::UNICODE == 0 {
            return Err(AuthError::Protocol("the server did not grant UNICODE"));
        }
        let mut neg = flags::CLIENT_DEFAULT & chal.flags;
        let names = (chal.nb_computer_name(), chal.nb_domain_name(), chal.dns_domain_name());

        let Some(creds) = &self.client.creds else {
            // Anonymous: empty names, Z(1) LM response, empty NT response, no key
            // ([MS-NLMP] 3.1.5.1.2; notes 6.5).
            neg = (neg | flags::ANONYMOUS) & !flags::KEY_EXCH;
            let msg = Authenticate {
                lm_response: vec![0],
                nt_response: Vec::new(),
                domain: Vec::new(),
                user: Vec::new(),
                workstation: Vec::new(),
                encrypted_session_key: Vec::new(),
                flags: neg,
                version: Some(Version::CLIENT),
                mic: Some([0; 16]),
            };
            return Ok(NtlmOutcome {
                authenticate: msg.encode(),
                exported_session_key: None,
                flags: neg,
                domain_used: String::new(),
                server_nb_computer_name: names.0,
                server_nb_domain_name: names.1,
                server_dns_domain_name: names.2,
                mic_present: false,
            });
        };

        if chal.flags & flags::EXTENDED_SESSIONSECURITY == 0 {
            return Err(AuthError::Protocol("the server did not grant extended session security"));
        }
        // Relay/downgrade hardening: without KEY_EXCH the session key is the NTLMv2
        // SessionBaseKey itself, without 128-bit the sealing keys shrink, and without SIGN
        // the SPNEGO mechListMIC (which protects our mechanism list) cannot be computed. Real
        // servers grant all three; an attacker in the middle strips them.
        for (flag, name) in [
            (flags::KEY_EXCH, "NTLMSSP_NEGOTIATE_KEY_EXCH"),
            (flags::NEGOTIATE_128, "NTLMSSP_NEGOTIATE_128"),
            (flags::SIGN, "NTLMSSP_NEGOTIATE_SIGN"),
        ] {
            if neg & flag == 0 {
                return Err(AuthError::WeakNegotiation(name));
            }
        }
        let domain = creds.domain.clone().unwrap_or_else(|| chal.default_domain());
        let workstation = creds.workstation.clone().unwrap_or_default();
        for s in [&creds.user, &domain, &workstation] {
            check_name(s)?;
        }
        if let Some(spn) = &self.client.target_spn {
            check_name(spn)?;
        }

        let timestamp = chal.timestamp();
        let time = timestamp.unwrap_or(now_filetime);
        let mut pairs = chal.target_info.clone().unwrap_or_else(AvPairs::new);
        // Always announce the MIC ([MS-NLMP] 2.2.2.1 MsvAvFlags 0x2), not only when the
        // CHALLENGE has a timestamp (3.1.5.2.1 says SHOULD then, and does not forbid it
        // otherwise): the MIC binds NEGOTIATE, CHALLENGE and AUTHENTICATE under the
        // ExportedSessionKey, and a server that sees the flag must verify it (3.2.5.1.2), so
        // flags stripped in flight fail the logon. The MIC is computed the same way either
        // way; only the AV pair (inside the NTProofStr) changes.
        if self.client.announce_mic {
            let f = pairs.av_flags().unwrap_or(0) | AV_FLAG_MIC_PRESENT;
            pairs.set(AvId::FLAGS, f.to_le_bytes().to_vec());
        }
        if let Some(cb) = self.client.channel_bindings {
            pairs.set(AvId::CHANNEL_BINDINGS, cb.to_vec());
        }
        if let Some(spn) = &self.client.target_spn {
            pairs.set(AvId::TARGET_NAME, utf16le(spn));
        }
        let av = pairs.encode();

        let client_challenge: [u8; 8] = rng.array();
        let key = ntowfv2(&creds.nt_hash(), &creds.user, &domain);
        let resp = ntlmv2_response(
            &key,
            &chal.server_challenge,
            &client_challenge,
            time,
            &av,
            timestamp.is_some(),
        );
        if resp.nt_response.len() > usize::from(u16::MAX) {
            return Err(AuthError::Protocol("the server's target info is too large"));
        }

        let (exported, encrypted) = if neg & flags::KEY_EXCH != 0 {
            let exported = SessionKey::new(rng.array());
            let enc = encrypt_session_key(&resp.session_base_key, &exported);
            (exported, enc.to_vec())
        } else {
            (resp.session_base_key.clone(), Vec::new())
        };

        let msg = Authenticate {
            lm_response: resp.lm_response,
            nt_response: resp.nt_response,
            domain: utf16le(&domain),
            user: utf16le(&creds.user),
            workstation: utf16le(&workstation),
            encrypted_session_key: encrypted,
            flags: neg,
            version: Some(Version::CLIENT),
            mic: Some([0; 16]),
        };
        let mut out = msg.encode();
        let mic = compute_mic(&exported, negotiate, challenge_bytes, &out);
        out[MIC_OFFSET..MIC_OFFSET + 16].copy_from_slice(&mic);

        Ok(NtlmOutcome {
            authenticate: out,
            exported_session_key: Some(exported),
            flags: neg,
            domain_used: domain,
            server_nb_computer_name: names.0,
            server_nb_domain_name: names.1,
            server_dns_domain_name: names.2,
            mic_present: self.client.announce_mic,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::auth::ntlm::challenge::tests::spec_challenge_bytes;
    use crate::auth::ntlm::crypto::nt_hash;
    use crate::auth::ntlm::sealer::NtlmSealer;
    use crate::rng::FixedRandom;
    use crate::secret::{NtHash, Password};

    fn creds(domain: Option<&str>) -> NtlmCredentials {
        NtlmCredentials::with_password(
            "User",
            domain.map(str::to_owned),
            Password::from("Password"),
        )
    }

    /// A CHALLENGE like Windows/Samba send: the spec one plus a MsvAvTimestamp.
    pub(crate) fn challenge_with_timestamp(ts: u64) -> Vec<u8> {
        let mut c = Challenge::decode(&spec_challenge_bytes()).unwrap();
        let mut ti = c.target_info.take().unwrap();
        ti.set(AvId::TIMESTAMP, ts.to_le_bytes().to_vec());
        c.target_info = Some(ti);
        c.encode()
    }

    /// Server-side check of an AUTHENTICATE (what Samba's ntlm_check does), returning the
    /// ExportedSessionKey: recompute NTProofStr from the DomainName as sent.
    pub(crate) fn server_verify(
        auth: &[u8],
        chal: &[u8],
        neg: &[u8],
        hash: &NtHash,
    ) -> Option<SessionKey> {
        use crate::auth::ntlm::crypto::{hmac_md5, nt_proof_str};
        let a = Authenticate::decode(auth).ok()?;
        let c = Challenge::decode(chal).ok()?;
        let user = crate::auth::ntlm::from_utf16le_lossy(&a.user);
        let dom = crate::auth::ntlm::from_utf16le_lossy(&a.domain);
        let key = ntowfv2(hash, &user, &dom);
        let proof = nt_proof_str(&key, &c.server_challenge, &a.nt_response[16..]);
        if proof[..] != a.nt_response[..16] {
            return None;
        }
        let base = SessionKey::new(hmac_md5(key.expose(), &[&proof]));
        let exported = if a.flags & flags::KEY_EXCH != 0 {
            let mut k = [0u8; 16];
            k.copy_from_slice(&a.encrypted_session_key);
            crate::auth::ntlm::rc4::rc4_oneshot(base.expose(), &mut k);
            SessionKey::new(k)
        } else {
            base
        };
        let mut zeroed = auth.to_vec();
        zeroed[MIC_OFFSET..MIC_OFFSET + 16].fill(0);
        let mic = compute_mic(&exported, neg, chal, &zeroed);
        if Some(mic) != a.mic {
            return None;
        }
        Some(exported)
    }

    #[test]
    fn full_exchange_against_spec_challenge_with_timestamp() {
        let c = NtlmClient::new(creds(Some("Domain"))).with_target_spn("cifs/Server");
        let (c, neg) = c.negotiate();
        let chal = challenge_with_timestamp(0x01d2_d400_fdc8_0b80);
        let mut rng = FixedRandom::new(vec![0xaa; 8].into_iter().chain([0x55; 16]).collect());
        let out = c.authenticate(&chal, &mut rng, 1).unwrap();
        let a = Authenticate::decode(&out.authenticate).unwrap();
        assert_eq!(a.lm_response, vec![0; 24], "Z(24) LM when the server sent a timestamp");
        assert_eq!(a.flags, flags::CLIENT_DEFAULT & 0xE28A_8233);
        assert_eq!(out.domain_used, "Domain");
        assert!(out.mic_present);
        // Client AV list: server pairs + timestamp, then Flags=2, CB zeros, TargetName, EOL.
        let ti = AvPairs::decode(&a.nt_response[16 + 28..a.nt_response.len() - 4]).unwrap();
        assert_eq!(ti.av_flags(), Some(2));
        assert_eq!(ti.get(AvId::CHANNEL_BINDINGS), Some(&[0u8; 16][..]));
        assert_eq!(ti.get_name(AvId::TARGET_NAME).as_deref(), Some("cifs/Server"));
        assert_eq!(ti.timestamp(), Some(0x01d2_d400_fdc8_0b80));
        // Temp timestamp is the server's, not `now`.
        assert_eq!(a.nt_response[24..32], 0x01d2_d400_fdc8_0b80u64.to_le_bytes());
        // RandomSessionKey 0x55 x16 -> ExportedSessionKey, recovered by a server.
        let exported = out.exported_session_key.clone().unwrap();
        assert_eq!(exported.expose(), &[0x55; 16]);
        let h = nt_hash(&Password::from("Password"));
        let srv = server_verify(&out.authenticate, &chal, &neg, &h).unwrap();
        assert_eq!(srv, exported);
        // Payload offsets are even.
        for i in 0..6 {
            let off =
                u32::from_le_bytes(out.authenticate[16 + 8 * i..20 + 8 * i].try_into().unwrap());
            assert_eq!(off % 2, 0);
        }
        let mut a = out.sealer().unwrap();
        let mut b = NtlmSealer::new_server(&srv, out.flags);
        b.verify(b"x", &a.sign(b"x")).unwrap();
    }

    /// [MS-NLMP] 4.2.4 end to end (notes 7.7): User/Domain/Password, Workstation COMPUTER,
    /// the 4.2.4.3 CHALLENGE, Time 0, ClientChallenge 0xaa x8 and RandomSessionKey 0x55 x16
    /// from a fixed RNG, no channel-bindings or SPN pairs added.
    #[test]
    fn spec_4_2_4_through_the_client() {
        let mut cr = creds(Some("Domain"));
        cr.workstation = Some("COMPUTER".into());
        let mut c = NtlmClient::new(cr).without_mic_flag();
        c.set_channel_bindings(None);
        let (c, neg) = c.negotiate();
        let chal = spec_challenge_bytes();
        let mut rng = FixedRandom::new([[0xaa; 8].as_slice(), &[0x55; 16]].concat());
        let out = c.authenticate(&chal, &mut rng, 0).unwrap();
        let a = Authenticate::decode(&out.authenticate).unwrap();
        assert_eq!(hex::encode(&a.nt_response[..16]), "68cd0ab851e51c96aabc927bebef6a1c"); // NTProofStr
        assert_eq!(
            hex::encode(&a.lm_response),
            concat!("86c35097ac9cec102554764a57cccc19", "aaaaaaaaaaaaaaaa") // LMv2
        );
        assert_eq!(hex::encode(&a.encrypted_session_key), "c5dad2544fc9799094ce1ce90bc9d03e");
        assert_eq!(out.exported_session_key.as_ref().unwrap().expose(), &[0x55; 16]);
        assert_eq!(a.workstation, utf16le("COMPUTER"));
        assert_eq!(a.domain, utf16le("Domain"));
        // 4.2.4.4: the resulting sealer reproduces the spec signature.
        let mut s = out.sealer().unwrap();
        let mut m = utf16le("Plaintext");
        assert_eq!(hex::encode(s.seal(&mut m)), "010000007fb38ec5c55d497600000000");
        let h = nt_hash(&Password::from("Password"));
        assert!(server_verify(&out.authenticate, &chal, &neg, &h).is_some());
    }

    #[test]
    fn no_timestamp_uses_now_and_lmv2() {
        let (c, neg) = NtlmClient::new(creds(Some("Domain"))).negotiate();
        let mut rng = FixedRandom::new(vec![0xaa]);
        let out = c.authenticate(&spec_challenge_bytes(), &mut rng, 0x1234).unwrap();
        let a = Authenticate::decode(&out.authenticate).unwrap();
        // [MS-NLMP] 4.2.4.2.1 LMv2 response.
        assert_eq!(hex::encode(&a.lm_response), "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
        assert_eq!(a.nt_response[24..32], 0x1234u64.to_le_bytes());
        // The MIC is announced even without a server timestamp, and it verifies.
        assert!(out.mic_present);
        let ti = AvPairs::decode(&a.nt_response[16 + 28..a.nt_response.len() - 4]).unwrap();
        assert_eq!(ti.av_flags(), Some(2));
        let h = nt_hash(&Password::from("Password"));
        assert!(server_verify(&out.authenticate, &spec_challenge_bytes(), &neg, &h).is_some());
    }

    /// A CHALLENGE whose NegotiateFlags lack KEY_EXCH, 128-bit or SIGN (what a relaying or
    /// downgrading man in the middle sends) is refused with a typed error naming the flag.
    #[test]
    fn challenge_without_key_exch_128_or_sign_is_refused() {
        for (strip, name) in [
            (flags::KEY_EXCH, "NTLMSSP_NEGOTIATE_KEY_EXCH"),
            (flags::NEGOTIATE_128, "NTLMSSP_NEGOTIATE_128"),
            (flags::SIGN, "NTLMSSP_NEGOTIATE_SIGN"),
        ] {
            let mut ch = Challenge::decode(&challenge_with_timestamp(5)).unwrap();
            ch.flags &= !strip;
            let (c, _) = NtlmClient::new(creds(Some("Domain"))).negotiate();
            let e = c.authenticate(&ch.encode(), &mut FixedRandom::new(vec![7]), 0).unwrap_err();
            assert_eq!(e, AuthError::WeakNegotiation(name));
        }
        // Anonymous logons have no key to protect: the check does not apply.
        let mut ch = Challenge::decode(&challenge_with_timestamp(5)).unwrap();
        ch.flags &= !(flags::KEY_EXCH | flags::NEGOTIATE_128 | flags::SIGN);
        let (c, _) = NtlmClient::anonymous().negotiate();
        assert!(c.authenticate(&ch.encode(), &mut FixedRandom::new(vec![7]), 0).is_ok());
    }

    /// Notes 8.3 / seed 003: with no domain given, the CHALLENGE's NetBIOS domain name is
    /// sent and hashed; an explicit domain always wins.
    #[test]
    fn domain_fallback_rule() {
        let h = nt_hash(&Password::from("Password"));
        let chal = challenge_with_timestamp(5);
        for (given, expect) in [(None, "Domain"), (Some("OTHER"), "OTHER"), (Some(""), "")] {
            let (c, neg) = NtlmClient::new(creds(given)).negotiate();
            let out = c.authenticate(&chal, &mut FixedRandom::new(vec![7]), 0).unwrap();
            assert_eq!(out.domain_used, expect);
            let a = Authenticate::decode(&out.authenticate).unwrap();
            assert_eq!(a.domain, utf16le(expect));
            // Hashed with exactly the DomainName sent: a server recomputing from the
            // message accepts it.
            assert!(server_verify(&out.authenticate, &chal, &neg, &h).is_some());
        }
        // Fallback to the NetBIOS computer name when no NbDomainName is present.
        let mut ch = Challenge::decode(&chal).unwrap();
        let mut ti = AvPairs::new();
        ti.set(AvId::NB_COMPUTER_NAME, utf16le("SUT311"));
        ch.target_info = Some(ti);
        let (c, _) = NtlmClient::new(creds(None)).negotiate();
        let out = c.authenticate(&ch.encode(), &mut FixedRandom::new(vec![7]), 0).unwrap();
        assert_eq!(out.domain_used, "SUT311");
        assert_eq!(out.server_nb_computer_name.as_deref(), Some("SUT311"));
    }

    #[test]
    fn hash_credentials_equal_password_credentials() {
        let chal = challenge_with_timestamp(9);
        let run = |cr: NtlmCredentials| {
            let (c, _) = NtlmClient::new(cr).negotiate();
            c.authenticate(&chal, &mut FixedRandom::new(vec![1, 2, 3]), 0).unwrap().authenticate
        };
        let by_pw = run(creds(Some("Domain")));
        let hash = NtHash::from_hex("a4f49c406510bdcab6824ee7c30fd852").unwrap();
        let by_hash = run(NtlmCredentials::with_nt_hash("User", Some("Domain".into()), hash));
        assert_eq!(by_pw, by_hash);
    }

    #[test]
    fn anonymous_message() {
        let (c, _) = NtlmClient::anonymous().negotiate();
        assert!(c.is_anonymous());
        let out = c
            .authenticate(&challenge_with_timestamp(1), &mut FixedRandom::new(vec![1]), 0)
            .unwrap();
        assert!(out.exported_session_key.is_none());
        assert!(out.sealer().is_none());
        let a = Authenticate::decode(&out.authenticate).unwrap();
        assert_eq!(a.lm_response, vec![0]);
        assert!(a.nt_response.is_empty() && a.user.is_empty() && a.domain.is_empty());
        assert!(a.encrypted_session_key.is_empty());
        assert_ne!(a.flags & flags::ANONYMOUS, 0);
        assert_eq!(a.flags & flags::KEY_EXCH, 0);
    }

    #[test]
    fn debug_does_not_leak_secrets() {
        let c = NtlmClient::new(NtlmCredentials::with_password(
            "u",
            None,
            Password::from("hunter2-Sécret"),
        ));
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2"), "{s}");
        let hc = NtlmCredentials::with_nt_hash(
            "u",
            None,
            NtHash::from_hex("a4f49c406510bdcab6824ee7c30fd852").unwrap(),
        );
        let s = format!("{hc:?}");
        assert!(!s.contains("a4f4") && !s.contains("164"), "{s}");
    }
}
