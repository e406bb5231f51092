//! The Kerberos GSS-API mechanism's token framing and authenticator checksum ([RFC 4121]
//! 4.1; [RFC 2743] 3.1).
//!
//! An initial-context token is `60 len 06 09 <KRB5 OID> <TOK_ID> <message>` with TOK_ID
//! `01 00` (AP-REQ), `02 00` (AP-REP) or `03 00` (KRB-ERROR). Windows and Samba frame the
//! token with the standard KRB5 OID even when SPNEGO negotiated the MS-KRB5 one; both are
//! accepted on input.

use crate::auth::der::{TAG_OID, der, expect, read_tlv};
use crate::auth::spnego::{OID_KERBEROS, OID_MS_KERBEROS};
use crate::wire::{DecodeError, Reader};

/// The authenticator checksum type that carries GSS flags ([RFC 4121] 4.1.1).
pub const GSS_CHECKSUM_TYPE: i32 = 0x8003;

/// GSS context flags ([RFC 2744] / [RFC 4121] 4.1.1.1), little-endian in the checksum.
pub mod flags {
    /// GSS_C_DELEG_FLAG.
    pub const DELEG: u32 = 1;
    /// GSS_C_MUTUAL_FLAG.
    pub const MUTUAL: u32 = 2;
    /// GSS_C_REPLAY_FLAG.
    pub const REPLAY: u32 = 4;
    /// GSS_C_SEQUENCE_FLAG.
    pub const SEQUENCE: u32 = 8;
    /// GSS_C_CONF_FLAG.
    pub const CONF: u32 = 16;
    /// GSS_C_INTEG_FLAG.
    pub const INTEG: u32 = 32;
    /// GSS_C_DCE_STYLE ([RFC 4757] 7.1; [MS-KILE] 3.4.5.1): unframed AP-REQ, three legs.
    ///
    /// [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757
    /// [MS-KILE]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-kile/
    pub const DCE_STYLE: u32 = 0x1000;
}

/// The flags samrpc asks for over SMB: mutual authentication (required), replay and
/// sequence detection, confidentiality and integrity (SMB signing/encryption keys come from
/// the context's session key).
pub const SMB_FLAGS: u32 =
    flags::MUTUAL | flags::REPLAY | flags::SEQUENCE | flags::CONF | flags::INTEG;

/// The flags samrpc asks for in an RPC bind over TCP at integrity: mutual authentication,
/// replay and sequence detection, integrity, DCE style. Sealing adds [`flags::CONF`]; a server
/// that sees CONF expects every PDU sealed (Samba does), so it is asked for only at privacy.
pub const DCE_RPC_FLAGS: u32 =
    flags::MUTUAL | flags::REPLAY | flags::SEQUENCE | flags::INTEG | flags::DCE_STYLE;

/// The token kinds inside the framing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TokId {
    /// `01 00`: KRB_AP_REQ.
    ApReq,
    /// `02 00`: KRB_AP_REP.
    ApRep,
    /// `03 00`: KRB_ERROR.
    Error,
}

impl TokId {
    fn bytes(self) -> [u8; 2] {
        match self {
            Self::ApReq => [1, 0],
            Self::ApRep => [2, 0],
            Self::Error => [3, 0],
        }
    }
}

/// The 24-byte 0x8003 checksum value: Lgth = 16, Bnd = 16 zero bytes (no channel
/// bindings), Flags (little-endian). No delegation, no extensions.
pub fn checksum_8003(gss_flags: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(24);
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&[0u8; 16]);
    v.extend_from_slice(&(gss_flags & !flags::DELEG).to_le_bytes());
    v
}

/// Parse a 0x8003 checksum value: returns the flags. Rejects a Lgth other than 16 and
/// (since we never delegate) a delegation flag.
pub fn parse_checksum_8003(v: &[u8]) -> Result<u32, DecodeError> {
    const W: &str = "GSS 0x8003 checksum";
    let mut r = Reader::new(v);
    if r.u32(W)? != 16 {
        return Err(DecodeError::invalid(W));
    }
    r.skip(16, W)?;
    let f = r.u32(W)?;
    if f & flags::DELEG != 0 {
        return Err(DecodeError::invalid(W));
    }
    Ok(f) // extensions, if any, follow; not interpreted
}

/// Frame a Kerberos message as a GSS initial-context token (standard KRB5 OID).
pub fn wrap(tok: TokId, message: &[u8]) -> Vec<u8> {
    let mut inner = der(TAG_OID, OID_KERBEROS);
    inner.extend_from_slice(&tok.bytes());
    inner.extend_from_slice(message);
    der(0x60, &inner)
}

/// Unframe a GSS Kerberos token: returns the token kind and the Kerberos message bytes.
pub fn unwrap(buf: &[u8]) -> Result<(TokId, &[u8]), DecodeError> {
    const W: &str = "GSS Kerberos token";
    let mut r = Reader::new(buf);
    let (tag, content) = read_tlv(&mut r, W)?;
    r.finish(W)?;
    if tag != 0x60 {
        return Err(DecodeError::invalid(W));
    }
    let mut c = Reader::new(content);
    let oid = expect(&mut c, TAG_OID, W)?;
    if oid != OID_KERBEROS && oid != OID_MS_KERBEROS {
        return Err(DecodeError::invalid(W));
    }
    let tok = match c.array::<2>(W)? {
        [1, 0] => TokId::ApReq,
        [2, 0] => TokId::ApRep,
        [3, 0] => TokId::Error,
        _ => return Err(DecodeError::invalid(W)),
    };
    let msg = c.take_rest();
    if msg.is_empty() {
        return Err(DecodeError::truncated(W));
    }
    Ok((tok, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4121 4.1.1 layout: Lgth (4, LE) = 16, Bnd (16) zero, Flags (4, LE).
    #[test]
    fn checksum_layout() {
        let c = checksum_8003(SMB_FLAGS);
        assert_eq!(hex::encode(&c), "10000000000000000000000000000000000000003e000000",);
        assert_eq!(parse_checksum_8003(&c).unwrap(), SMB_FLAGS);
        assert!(parse_checksum_8003(&c[..23]).is_err());
        let mut d = c.clone();
        d[0] = 17;
        assert!(parse_checksum_8003(&d).is_err());
    }

    #[test]
    fn framing_round_trip_and_truncations() {
        let msg = [0x6f, 0x03, 0x30, 0x01, 0x00];
        let t = wrap(TokId::ApRep, &msg);
        assert_eq!(hex::encode(&t[..15]), "601206092a864886f7120102020200");
        assert_eq!(unwrap(&t).unwrap(), (TokId::ApRep, &msg[..]));
        for k in 0..t.len() {
            assert!(unwrap(&t[..k]).is_err(), "prefix {k}");
        }
        let mut x = t.clone();
        x.push(0);
        assert!(unwrap(&x).is_err());
        let mut bad = t.clone();
        bad[13] = 4; // TOK_ID 04 00
        assert!(unwrap(&bad).is_err());
    }
}
