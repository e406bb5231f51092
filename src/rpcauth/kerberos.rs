//! Kerberos at the RPC level (`auth_type` 16, [MS-RPCE] 2.2.1.1.7 and 3.3.1.5.2; [MS-KILE]
//! 3.4.5.1 and 3.4.5.4.1; research note "ncacn-ip-tcp").
//!
//! # The DCE-style three-leg bind
//!
//! ```text
//! KrbRpcBind::new(ticket, level) ─► (KrbRpcBind, AP-REQ verifier)   → BIND
//! BIND_ACK (the server's AP-REP)  ─► KrbRpcBind::accept ─► (our AP-REP verifier, KrbPduAuth)
//! third leg carrying our AP-REP: ALTER_CONTEXT (answered) or AUTH3 (not); install KrbPduAuth
//! ```
//!
//! The AP-REQ is sent raw (no GSS framing) with mutual authentication required and the
//! GSS_C_DCE_STYLE flag in its checksum; the server's AP-REP is verified (its ctime must be
//! ours) before anything else, and carries the acceptor's subkey and sequence number. The
//! client then answers with an AP-REP of its own, built as a server would: the server's ctime
//! and sequence number, encrypted with the ticket's session key.
//!
//! # Per-PDU protection
//!
//! RFC 4121 tokens with AES keys ([`crate::auth::kerberos::wrap`]): at PRIVACY a 76-byte wrap
//! token seals the stub in place and checksums the whole PDU (header and sec_trailer sign
//! only); at INTEGRITY a 28-byte MIC token covers the whole PDU. Each response's token is
//! checked (checksum in constant time, flags, sequence number) before its stub is used.
//! Header signing must be agreed at bind, as for NTLM. RC4 tickets are refused: their DCE
//! tokens are a weaker, different format.

use core::fmt;

use crate::auth::kerberos::asn1::KrbTimestamp;
use crate::auth::kerberos::error::KerberosError;
use crate::auth::kerberos::exchange::{ApExchange, Credential};
use crate::auth::kerberos::gss::{self, DCE_RPC_FLAGS};
use crate::auth::kerberos::wrap::{CfxContext, DCE_WRAP_LEN, DceBuffers, MIC_LEN};
use crate::dcerpc::auth::AuthLayout;
use crate::dcerpc::{AuthLevel, AuthType, AuthVerifier, PduAuth, RpcError, VerifierParams};
use crate::rng::{OsRandom, SecureRandom};

use super::ntlm::CONTEXT_ID;

/// Why the RPC-level Kerberos bind could not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KrbRpcError {
    /// The AP exchange failed (the AP-REP does not verify, a KRB-ERROR, …).
    #[error(transparent)]
    Kerberos(#[from] KerberosError),
    /// The server's bind-time verifier is missing or does not match what was offered.
    #[error("bad bind-time auth verifier: {0}")]
    Verifier(&'static str),
    /// Only INTEGRITY and PRIVACY are supported.
    #[error("unsupported RPC authentication level {0}")]
    Level(u8),
    /// The service ticket's key cannot protect RPC messages (RC4).
    #[error("{0}")]
    Etype(&'static str),
}

/// The Kerberos side of a three-leg bind, between the BIND (AP-REQ) and the third leg.
pub struct KrbRpcBind {
    ap: ApExchange,
    level: AuthLevel,
}

impl fmt::Debug for KrbRpcBind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KrbRpcBind").field("level", &self.level).finish_non_exhaustive()
    }
}

impl KrbRpcBind {
    /// Start with a service ticket for the server (`host/NAME`): the AP-REQ verifier to attach
    /// to the BIND. `level` must be INTEGRITY or PRIVACY; the ticket's session key must be AES.
    pub fn new(
        ticket: &Credential,
        level: AuthLevel,
        rng: &mut dyn SecureRandom,
        now: KrbTimestamp,
    ) -> Result<(Self, AuthVerifier), KrbRpcError> {
        if level != AuthLevel::INTEGRITY && level != AuthLevel::PRIVACY {
            return Err(KrbRpcError::Level(level.0));
        }
        if !ticket.session_key.etype().is_aes() {
            return Err(KrbRpcError::Etype(
                "the service ticket's session key is RC4: Kerberos RPC protection needs AES \
                 (enable AES for the account and the server)",
            ));
        }
        // CONF only at privacy: Samba then expects every PDU sealed.
        let gss_flags = if level == AuthLevel::PRIVACY {
            DCE_RPC_FLAGS | gss::flags::CONF
        } else {
            DCE_RPC_FLAGS
        };
        let (ap, ap_req) = ApExchange::start(ticket, Some(gss_flags), None, rng, now);
        let v = AuthVerifier {
            auth_type: AuthType::KERBEROS,
            auth_level: level,
            context_id: CONTEXT_ID,
            auth_value: ap_req,
        };
        Ok((Self { ap, level }, v))
    }

    /// The level being negotiated.
    pub fn level(&self) -> AuthLevel {
        self.level
    }

    /// Verify the BIND_ACK's AP-REP and build the third leg's verifier (our AP-REP) plus the
    /// per-PDU protection to install. Nothing is returned unless the AP-REP verifies, the
    /// server agreed to header signing and the context key is AES.
    pub fn accept(
        self,
        ack: Option<&AuthVerifier>,
        header_signing: bool,
        rng: &mut dyn SecureRandom,
    ) -> Result<(AuthVerifier, KrbPduAuth), KrbRpcError> {
        let v = super::bind_ack_verifier(
            ack,
            AuthType::KERBEROS,
            self.level,
            "the BIND_ACK carries no Kerberos AP-REP",
        )
        .map_err(KrbRpcError::Verifier)?;
        // A KRB-ERROR in place of the AP-REP (e.g. KRB_AP_ERR_SKEW, with the server's time) is
        // reported as itself. Samba sends it GSS-framed (`60 … 03 00 7e …`); a raw one is
        // accepted too.
        let error = match v.auth_value.first() {
            Some(0x60) => match gss::unwrap(&v.auth_value) {
                Ok((gss::TokId::Error, inner)) => Some(inner),
                _ => None,
            },
            Some(0x7e) => Some(&v.auth_value[..]),
            _ => None,
        };
        if let Some(bytes) = error {
            let e = crate::auth::kerberos::exchange::decode_krb_error(bytes)?;
            return Err(KrbRpcError::Kerberos(e));
        }
        let ctx = self.ap.verify_context(&v.auth_value)?;
        if !header_signing {
            return Err(KrbRpcError::Verifier("the server did not agree to header signing"));
        }
        let reply = self.ap.dce_reply(&ctx, rng);
        let cfx = CfxContext::new(
            ctx.key,
            true,
            ctx.acceptor_subkey,
            u64::from(ctx.initiator_seq),
            u64::from(ctx.acceptor_seq),
        )
        .map_err(|e| KrbRpcError::Etype(e.0))?;
        let verifier = AuthVerifier {
            auth_type: AuthType::KERBEROS,
            auth_level: self.level,
            context_id: CONTEXT_ID,
            auth_value: reply,
        };
        Ok((verifier, KrbPduAuth { cfx, level: self.level }))
    }
}

/// Kerberos per-PDU sealing (PRIVACY) or signing (INTEGRITY) with header signing: the
/// [`PduAuth`] installed after the third leg.
pub struct KrbPduAuth {
    cfx: CfxContext,
    level: AuthLevel,
}

impl fmt::Debug for KrbPduAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KrbPduAuth").field("level", &self.level).field("cfx", &self.cfx).finish()
    }
}

impl KrbPduAuth {
    /// Protection at `level` (PRIVACY, or INTEGRITY for anything else) with `cfx`.
    pub fn new(cfx: CfxContext, level: AuthLevel) -> Self {
        let level = if level == AuthLevel::PRIVACY { level } else { AuthLevel::INTEGRITY };
        Self { cfx, level }
    }

    /// The protection level.
    pub fn level(&self) -> AuthLevel {
        self.level
    }

    fn token_len(&self) -> usize {
        if self.level == AuthLevel::PRIVACY { DCE_WRAP_LEN } else { MIC_LEN }
    }
}

/// Split `pdu` into the three token buffers and the auth_value range, after checking the
/// layout against the token length.
fn check_layout(pdu: &[u8], layout: &AuthLayout, token_len: usize) -> Result<(), RpcError> {
    let sig = layout.auth_value.clone();
    if sig.len() != token_len || sig.end != pdu.len() {
        return Err(RpcError::Auth("Kerberos token has the wrong length"));
    }
    let sealed = layout.sealed();
    if sealed.start > sealed.end || sealed.end > pdu.len() || layout.signed().end > sig.start {
        return Err(RpcError::Auth("verifier layout out of range"));
    }
    Ok(())
}

/// The token's three buffers of a PDU whose layout [`check_layout`] accepted: the head (sign
/// only), the stub and its pad (sealed), the sec_trailer (sign only).
fn dce_buffers<'a>(pdu: &'a mut [u8], layout: &AuthLayout) -> DceBuffers<'a> {
    let sealed = layout.sealed();
    let signed_end = layout.signed().end;
    let (head, rest) = pdu.split_at_mut(sealed.start);
    let (data, rest) = rest.split_at_mut(sealed.len());
    DceBuffers { head, data, tail: &rest[..signed_end - sealed.end] }
}

impl PduAuth for KrbPduAuth {
    fn verifier(&self) -> Option<VerifierParams> {
        Some(VerifierParams {
            auth_type: AuthType::KERBEROS,
            auth_level: self.level,
            context_id: CONTEXT_ID,
            // DCE_WRAP_LEN and MIC_LEN are small constants.
            signature_len: self.token_len() as u16,
        })
    }

    fn protect(&mut self, pdu: &mut [u8], layout: &AuthLayout) -> Result<(), RpcError> {
        check_layout(pdu, layout, self.token_len())?;
        let token = if self.level == AuthLevel::PRIVACY {
            self.cfx
                .wrap_dce(dce_buffers(pdu, layout), &mut OsRandom)
                .map_err(|e| RpcError::Auth(e.0))?
        } else {
            self.cfx.get_mic(&[&pdu[layout.signed()]]).map_err(|e| RpcError::Auth(e.0))?
        };
        pdu[layout.auth_value.clone()].copy_from_slice(&token);
        Ok(())
    }

    fn unprotect(&mut self, pdu: &mut [u8], layout: &AuthLayout) -> Result<(), RpcError> {
        check_layout(pdu, layout, self.token_len())?;
        let token = pdu[layout.auth_value.clone()].to_vec();
        if self.level == AuthLevel::PRIVACY {
            self.cfx.unwrap_dce(dce_buffers(pdu, layout), &token).map_err(|e| RpcError::Auth(e.0))
        } else {
            self.cfx.verify_mic(&[&pdu[layout.signed()]], &token).map_err(|e| RpcError::Auth(e.0))
        }
    }
}

#[cfg(test)]
mod tests;
