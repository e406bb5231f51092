//! The auth verifier: `sec_trailer` + `auth_value` ([MS-RPCE] 2.2.2.11; protocol notes 4.7), and
//! the [`PduAuth`] seam through which per-PDU signing/sealing plugs into the association.
//!
//! # Where the verifier sits
//!
//! ```text
//! header(16) | body ... | auth pad (auth_pad_length) | sec_trailer(8) | auth_value(auth_length)
//! ```
//!
//! `frag_length` counts everything; `auth_length` counts only `auth_value`. The pad makes the
//! sec_trailer start aligned relative to the start of the PDU body:
//! * REQUEST / RESPONSE: 16-byte aligned relative to the **stub start** (notes 4.7), so
//!   `pad = (16 − stub_len mod 16) mod 16`;
//! * BIND / ALTER_CONTEXT / their acks: 4-byte aligned ([MS-RPCE] 2.2.2.11);
//! * AUTH3: no pad (the body is the fixed 4-byte `_pad` field).
//!
//! Encoders compute the pad themselves (zeros); decoders use `auth_pad_length` to find where the
//! body ends, so [`AuthVerifier`] has no pad field.
//!
//! # The seam
//!
//! Bind-time tokens (NTLM NEGOTIATE in BIND, CHALLENGE in BIND_ACK, AUTHENTICATE in AUTH3) are
//! plain [`AuthVerifier`]s on those PDUs. Per-call protection (levels INTEGRITY and PRIVACY) is a
//! [`PduAuth`] given to the association: for each REQUEST fragment the association builds the
//! whole PDU in clear with final lengths, pad, sec_trailer and a zeroed `auth_value` of
//! [`VerifierParams::signature_len`] bytes, then calls [`PduAuth::protect`]; each RESPONSE
//! fragment goes through [`PduAuth::unprotect`] before its stub is read. [`NoAuth`] (level NONE,
//! and CONNECT, which carries no per-PDU verifier) is the no-op. NTLM signing and sealing are
//! not implemented here.

use core::fmt;
use core::ops::Range;

use super::RpcError;
use super::header::SEC_TRAILER_LEN;
use crate::wire::{DecodeError, Reader, Writer};

/// `auth_type`. Open newtype.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct AuthType(pub u8);

impl AuthType {
    /// No authentication.
    pub const NONE: Self = Self(0);
    /// SPNEGO (`RPC_C_AUTHN_GSS_NEGOTIATE`).
    pub const SPNEGO: Self = Self(9);
    /// Raw NTLMSSP (`RPC_C_AUTHN_WINNT`); the one to use (notes 4.7).
    pub const NTLMSSP: Self = Self(10);
    /// Kerberos.
    pub const KERBEROS: Self = Self(16);
}

/// `auth_level`. Open newtype.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct AuthLevel(pub u8);

impl AuthLevel {
    /// No protection.
    pub const NONE: Self = Self(1);
    /// Authenticate at connect time only.
    pub const CONNECT: Self = Self(2);
    /// Per call (treated as PACKET by Windows).
    pub const CALL: Self = Self(3);
    /// Per packet.
    pub const PACKET: Self = Self(4);
    /// Per-packet signature.
    pub const INTEGRITY: Self = Self(5);
    /// Per-packet signature and encryption.
    pub const PRIVACY: Self = Self(6);
}

/// The 8-byte `sec_trailer` exactly as on the wire.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct SecTrailer {
    /// Security provider.
    pub auth_type: AuthType,
    /// Protection level.
    pub auth_level: AuthLevel,
    /// Number of pad bytes between the body and this trailer.
    pub auth_pad_length: u8,
    /// Reserved (0 when sent; ignored when received).
    pub auth_reserved: u8,
    /// Constant for the association.
    pub auth_context_id: u32,
}

impl SecTrailer {
    /// Decode 8 bytes.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            auth_type: AuthType(r.u8("auth_type")?),
            auth_level: AuthLevel(r.u8("auth_level")?),
            auth_pad_length: r.u8("auth_pad_length")?,
            auth_reserved: r.u8("auth_reserved")?,
            auth_context_id: r.u32("auth_context_id")?,
        })
    }

    /// Append 8 bytes.
    pub fn encode(&self, w: &mut Writer) {
        w.u8(self.auth_type.0)
            .u8(self.auth_level.0)
            .u8(self.auth_pad_length)
            .u8(self.auth_reserved)
            .u32(self.auth_context_id);
    }
}

/// An auth verifier carried by a PDU: the sec_trailer fields other than the pad, and the
/// `auth_value` (an NTLM token on BIND / BIND_ACK / AUTH3, a signature on REQUEST / RESPONSE).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthVerifier {
    /// Security provider.
    pub auth_type: AuthType,
    /// Protection level.
    pub auth_level: AuthLevel,
    /// Constant for the association.
    pub context_id: u32,
    /// The token or signature.
    pub auth_value: Vec<u8>,
}

impl fmt::Debug for AuthVerifier {
    /// Shows the length of `auth_value`, not its bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthVerifier")
            .field("auth_type", &self.auth_type)
            .field("auth_level", &self.auth_level)
            .field("context_id", &self.context_id)
            .field("auth_value_len", &self.auth_value.len())
            .finish()
    }
}

/// Where the parts of a REQUEST or RESPONSE fragment sit, as absolute offsets into the PDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthLayout {
    /// The stub bytes.
    pub stub: Range<usize>,
    /// Number of auth pad bytes right after the stub.
    pub pad: usize,
    /// Offset of the 8-byte sec_trailer.
    pub sec_trailer: usize,
    /// The auth_value bytes (up to the end of the PDU).
    pub auth_value: Range<usize>,
}

impl AuthLayout {
    /// The bytes sealed at level PRIVACY: `stub ‖ pad`.
    pub fn sealed(&self) -> Range<usize> {
        self.stub.start..self.sec_trailer
    }
    /// The bytes covered by the signature: the PDU from its start to the end of the sec_trailer.
    pub fn signed(&self) -> Range<usize> {
        0..self.sec_trailer + SEC_TRAILER_LEN
    }
}

/// What a [`PduAuth`] attaches to every REQUEST fragment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VerifierParams {
    /// Security provider.
    pub auth_type: AuthType,
    /// Protection level.
    pub auth_level: AuthLevel,
    /// The sec_trailer context id.
    pub context_id: u32,
    /// Length of the `auth_value` that [`PduAuth::protect`] fills (16 for NTLM).
    pub signature_len: u16,
}

/// Per-PDU message protection for REQUEST and RESPONSE fragments.
///
/// FAULT PDUs are not passed through it: their status ends the call either way.
///
/// Implemented later by the NTLM layer (sign/seal with sequence numbers, notes 4.7); the
/// association calls it once per fragment, in order, so stateful ciphers (RC4) and sequence
/// numbers advance correctly.
pub trait PduAuth: Send {
    /// The verifier to attach to requests, or `None` for no verifier (levels NONE and CONNECT).
    /// With `None`, responses carrying a verifier are rejected.
    fn verifier(&self) -> Option<VerifierParams>;

    /// Protect an outgoing fragment in place: `pdu` is complete, with final header lengths,
    /// zeroed pad, sec_trailer, and a zeroed `auth_value` of `signature_len` bytes at
    /// `layout.auth_value`. Fill the signature and, for PRIVACY, encrypt `layout.sealed()`.
    fn protect(&mut self, pdu: &mut [u8], layout: &AuthLayout) -> Result<(), RpcError>;

    /// Check (and, for PRIVACY, decrypt `layout.sealed()` of) an incoming fragment in place.
    /// Signature comparison must be constant time.
    fn unprotect(&mut self, pdu: &mut [u8], layout: &AuthLayout) -> Result<(), RpcError>;
}

/// No per-PDU protection: requests carry no verifier and responses must carry none.
#[derive(Copy, Clone, Debug, Default)]
pub struct NoAuth;

impl PduAuth for NoAuth {
    fn verifier(&self) -> Option<VerifierParams> {
        None
    }
    fn protect(&mut self, _pdu: &mut [u8], _layout: &AuthLayout) -> Result<(), RpcError> {
        Ok(())
    }
    fn unprotect(&mut self, _pdu: &mut [u8], _layout: &AuthLayout) -> Result<(), RpcError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec_trailer_round_trip() {
        // Notes 4.7: NTLMSSP (10), PRIVACY (6), pad 8, reserved 0, context id 1.
        let bytes = [0x0a, 0x06, 0x08, 0x00, /* ctx */ 0x01, 0x00, 0x00, 0x00];
        let t = SecTrailer::decode(&mut Reader::new(&bytes)).unwrap();
        assert_eq!(t.auth_type, AuthType::NTLMSSP);
        assert_eq!(t.auth_level, AuthLevel::PRIVACY);
        assert_eq!((t.auth_pad_length, t.auth_context_id), (8, 1));
        let mut w = Writer::new();
        t.encode(&mut w);
        assert_eq!(w.as_slice(), &bytes);
        for n in 0..bytes.len() {
            assert!(SecTrailer::decode(&mut Reader::new(&bytes[..n])).is_err());
        }
    }

    #[test]
    fn verifier_debug_hides_value() {
        let v = AuthVerifier {
            auth_type: AuthType::NTLMSSP,
            auth_level: AuthLevel::PRIVACY,
            context_id: 1,
            auth_value: vec![0xAB; 16],
        };
        let s = format!("{v:?}");
        assert!(!s.contains("171") && !s.to_lowercase().contains("ab, "), "{s}");
    }
}
