//! NTLMSSP at the RPC level ([MS-RPCE] 3.3.1.5.2, [MS-NLMP] 3.4; research note
//! "ncacn-ip-tcp"; protocol notes 4.7).
//!
//! # The three-leg bind
//!
//! ```text
//! NtlmRpcBind::new(creds, level) ─► (NtlmRpcBind, NEGOTIATE verifier) → attach to the BIND
//! BIND_ACK (CHALLENGE verifier) ─► NtlmRpcBind::authenticate ─► (AUTHENTICATE verifier,
//!                                                                NtlmPduAuth)
//! AUTH3 carrying AUTHENTICATE, same call id as the BIND (no answer); install NtlmPduAuth
//! ```
//!
//! # Per-PDU protection
//!
//! Every REQUEST and RESPONSE fragment carries a 16-byte NTLMSSP_MESSAGE_SIGNATURE. With header
//! signing (both sides set `PFC_SUPPORT_HEADER_SIGN` at bind; required here), the signature is
//! computed over the whole PDU from the header through the sec_trailer, with the stub in
//! plaintext. At PRIVACY the stub and its auth pad (to a multiple of 16) are RC4-sealed first,
//! then the checksum is encrypted with the same RC4 handle; sequence numbers count from 0 per
//! direction. At INTEGRITY only the signature is added (its checksum is still RC4-encrypted
//! under KEY_EXCH). The wire form was checked against rpcclient ↔ Samba 4.22 captures
//! (`tests/vectors/samba-dc-tcp/`), whose keys the tests recompute from the throw-away password.
//!
//! Every response's signature is compared in constant time ([`NtlmSealer::verify`]); a
//! missing, mis-sized, out-of-sequence or wrong signature fails the fragment, and the
//! association then refuses further work.

use core::fmt;

use crate::auth::AuthError;
use crate::auth::ntlm::{NtlmClient, NtlmCredentials, NtlmExpectChallenge, NtlmSealer, flags};
use crate::dcerpc::auth::AuthLayout;
use crate::dcerpc::{AuthLevel, AuthType, AuthVerifier, PduAuth, RpcError, VerifierParams};
use crate::rng::SecureRandom;
use crate::secret::SecretBytes;

/// Length of an NTLM message signature.
pub const NTLM_SIGNATURE_LEN: u16 = 16;

/// The sec_trailer `auth_context_id` this client uses (Samba's and impacket's choice).
pub const CONTEXT_ID: u32 = 0;

/// Why the RPC-level NTLM bind could not complete.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RpcAuthError {
    /// The NTLM exchange itself failed (malformed CHALLENGE, unusable credentials, …).
    #[error(transparent)]
    Ntlm(#[from] AuthError),
    /// The server's bind-time verifier is missing or does not match what was offered.
    #[error("bad bind-time auth verifier: {0}")]
    Verifier(&'static str),
    /// Only INTEGRITY and PRIVACY are supported.
    #[error("unsupported RPC authentication level {0}")]
    Level(u8),
}

/// The NTLM side of a three-leg bind, between the BIND (NEGOTIATE) and the AUTH3.
pub struct NtlmRpcBind {
    ntlm: NtlmExpectChallenge,
    level: AuthLevel,
}

impl fmt::Debug for NtlmRpcBind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NtlmRpcBind").field("level", &self.level).finish_non_exhaustive()
    }
}

impl NtlmRpcBind {
    /// Start: the NEGOTIATE verifier to attach to the BIND. `level` must be
    /// [`AuthLevel::INTEGRITY`] or [`AuthLevel::PRIVACY`].
    pub fn new(
        creds: NtlmCredentials,
        level: AuthLevel,
    ) -> Result<(Self, AuthVerifier), RpcAuthError> {
        if level != AuthLevel::INTEGRITY && level != AuthLevel::PRIVACY {
            return Err(RpcAuthError::Level(level.0));
        }
        let (ntlm, negotiate) = NtlmClient::new(creds).negotiate();
        let v = AuthVerifier {
            auth_type: AuthType::NTLMSSP,
            auth_level: level,
            context_id: CONTEXT_ID,
            auth_value: negotiate,
        };
        Ok((Self { ntlm, level }, v))
    }

    /// The level being negotiated.
    pub fn level(&self) -> AuthLevel {
        self.level
    }

    /// Consume the BIND_ACK's verifier (the CHALLENGE) and build the AUTHENTICATE verifier for
    /// the AUTH3, plus the per-PDU protection to install in the association.
    ///
    /// `header_signing` is whether the BIND_ACK agreed to header signing; this client requires
    /// it. The negotiated NTLM flags must include SIGN, extended session security and KEY_EXCH,
    /// and SEAL at PRIVACY.
    pub fn authenticate(
        self,
        challenge: Option<&AuthVerifier>,
        header_signing: bool,
        rng: &mut dyn SecureRandom,
        now_filetime: u64,
    ) -> Result<(AuthVerifier, NtlmPduAuth), RpcAuthError> {
        let c = super::bind_ack_verifier(
            challenge,
            AuthType::NTLMSSP,
            self.level,
            "the BIND_ACK carries no NTLM CHALLENGE",
        )
        .map_err(RpcAuthError::Verifier)?;
        if !header_signing {
            return Err(RpcAuthError::Verifier("the server did not agree to header signing"));
        }
        let out = self.ntlm.authenticate(&c.auth_value, rng, now_filetime)?;
        let mut need = vec![
            (flags::SIGN, "NTLMSSP_NEGOTIATE_SIGN"),
            (flags::EXTENDED_SESSIONSECURITY, "NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY"),
            (flags::KEY_EXCH, "NTLMSSP_NEGOTIATE_KEY_EXCH"),
        ];
        if self.level == AuthLevel::PRIVACY {
            need.push((flags::SEAL, "NTLMSSP_NEGOTIATE_SEAL"));
        }
        if let Some((_, name)) = need.iter().find(|(f, _)| out.flags & f == 0) {
            return Err(RpcAuthError::Ntlm(AuthError::WeakNegotiation(name)));
        }
        let sealer =
            out.sealer().ok_or(RpcAuthError::Ntlm(AuthError::Protocol("no NTLM session key")))?;
        let verifier = AuthVerifier {
            auth_type: AuthType::NTLMSSP,
            auth_level: self.level,
            context_id: CONTEXT_ID,
            auth_value: out.authenticate,
        };
        Ok((verifier, NtlmPduAuth::new(sealer, self.level)))
    }
}

/// NTLM per-PDU signing (INTEGRITY) or sealing (PRIVACY) with header signing: the
/// [`PduAuth`] installed after AUTH3.
pub struct NtlmPduAuth {
    sealer: NtlmSealer,
    level: AuthLevel,
}

impl fmt::Debug for NtlmPduAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NtlmPduAuth")
            .field("level", &self.level)
            .field("sealer", &self.sealer)
            .finish()
    }
}

impl NtlmPduAuth {
    /// Protection at `level` (INTEGRITY or PRIVACY; anything else is treated as INTEGRITY)
    /// with `sealer`'s keys and sequence numbers.
    pub fn new(sealer: NtlmSealer, level: AuthLevel) -> Self {
        let level = if level == AuthLevel::PRIVACY { level } else { AuthLevel::INTEGRITY };
        Self { sealer, level }
    }

    /// The protection level.
    pub fn level(&self) -> AuthLevel {
        self.level
    }

    /// The next outgoing sequence number.
    pub fn send_seq(&self) -> u32 {
        self.sealer.send_seq()
    }

    /// The next expected incoming sequence number.
    pub fn recv_seq(&self) -> u32 {
        self.sealer.recv_seq()
    }
}

fn check_layout(pdu: &[u8], layout: &AuthLayout) -> Result<(), RpcError> {
    let sig = layout.auth_value.clone();
    if sig.len() != usize::from(NTLM_SIGNATURE_LEN) || sig.end != pdu.len() {
        return Err(RpcError::Auth("NTLM signature has the wrong length"));
    }
    if layout.sealed().end > pdu.len() || layout.signed().end > sig.start {
        return Err(RpcError::Auth("verifier layout out of range"));
    }
    Ok(())
}

impl PduAuth for NtlmPduAuth {
    fn verifier(&self) -> Option<VerifierParams> {
        Some(VerifierParams {
            auth_type: AuthType::NTLMSSP,
            auth_level: self.level,
            context_id: CONTEXT_ID,
            signature_len: NTLM_SIGNATURE_LEN,
        })
    }

    fn protect(&mut self, pdu: &mut [u8], layout: &AuthLayout) -> Result<(), RpcError> {
        check_layout(pdu, layout)?;
        let sig = if self.level == AuthLevel::PRIVACY {
            // The MAC covers the plaintext PDU; keep a (zeroized) copy before sealing.
            let mac_input = SecretBytes::new(pdu[layout.signed()].to_vec());
            self.sealer.seal_detached(mac_input.expose(), &mut pdu[layout.sealed()])
        } else {
            self.sealer.sign(&pdu[layout.signed()])
        };
        pdu[layout.auth_value.clone()].copy_from_slice(&sig);
        Ok(())
    }

    fn unprotect(&mut self, pdu: &mut [u8], layout: &AuthLayout) -> Result<(), RpcError> {
        check_layout(pdu, layout)?;
        let mut sig = [0u8; 16];
        sig.copy_from_slice(&pdu[layout.auth_value.clone()]);
        // The sequence number is sent in clear (bytes 12..16); a mismatch is reported as such
        // (the full signature comparison below covers it too).
        if sig[..4] != [1, 0, 0, 0] {
            return Err(RpcError::Auth("NTLM signature has the wrong version"));
        }
        if sig[12..] != self.sealer.recv_seq().to_le_bytes() {
            return Err(RpcError::Auth("NTLM signature has an unexpected sequence number"));
        }
        if self.level == AuthLevel::PRIVACY {
            self.sealer.decrypt_incoming(&mut pdu[layout.sealed()]);
        }
        self.sealer
            .verify(&pdu[layout.signed()], &sig)
            .map_err(|_| RpcError::Auth("response signature does not verify"))
    }
}

#[cfg(test)]
mod tests;
