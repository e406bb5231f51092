//! The 16-byte common header of every connection-oriented PDU (C706 12.6.3.1, [MS-RPCE] 2.2.2.1).
//!
//! Layout (protocol notes 4.1): `rpc_vers(1) = 5, rpc_vers_minor(1) = 0, PTYPE(1), pfc_flags(1),
//! packed_drep(4) = 10 00 00 00, frag_length(2), auth_length(2), call_id(4)`.
//!
//! Only the little-endian, ASCII, IEEE data representation is supported: any other `packed_drep`
//! is rejected with [`DecodeErrorKind::Invalid`](crate::wire::DecodeErrorKind::Invalid) on the
//! field `"packed_drep"`, and any version other than 5.0 on `"rpc_vers"`.

use core::fmt;

use crate::wire::{DecodeError, Reader, Writer};

/// Size of the common header.
pub const HEADER_LEN: usize = 16;
/// Size of the `sec_trailer` that precedes an `auth_value` ([MS-RPCE] 2.2.2.11).
pub const SEC_TRAILER_LEN: usize = 8;
/// The only supported data representation: little-endian integers, ASCII, IEEE floats.
pub const DREP_LE: [u8; 4] = [0x10, 0x00, 0x00, 0x00];
/// The only supported protocol version, `(rpc_vers, rpc_vers_minor)`.
pub const RPC_VERSION: (u8, u8) = (5, 0);

/// A PDU type (`PTYPE`). Open newtype: unknown values can be held and shown.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct PacketType(pub u8);

impl PacketType {
    /// REQUEST (client → server call).
    pub const REQUEST: Self = Self(0);
    /// RESPONSE (server → client result).
    pub const RESPONSE: Self = Self(2);
    /// FAULT (server → client failure status).
    pub const FAULT: Self = Self(3);
    /// BIND.
    pub const BIND: Self = Self(11);
    /// BIND_ACK.
    pub const BIND_ACK: Self = Self(12);
    /// BIND_NAK.
    pub const BIND_NAK: Self = Self(13);
    /// ALTER_CONTEXT.
    pub const ALTER_CONTEXT: Self = Self(14);
    /// ALTER_CONTEXT_RESP.
    pub const ALTER_CONTEXT_RESP: Self = Self(15);
    /// AUTH3 (third leg of a three-leg bind authentication; no response).
    pub const AUTH3: Self = Self(16);
    /// CO_CANCEL.
    pub const CO_CANCEL: Self = Self(18);
    /// ORPHANED.
    pub const ORPHANED: Self = Self(19);

    /// The symbolic name, if known.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "REQUEST",
            2 => "RESPONSE",
            3 => "FAULT",
            11 => "BIND",
            12 => "BIND_ACK",
            13 => "BIND_NAK",
            14 => "ALTER_CONTEXT",
            15 => "ALTER_CONTEXT_RESP",
            16 => "AUTH3",
            17 => "SHUTDOWN",
            18 => "CO_CANCEL",
            19 => "ORPHANED",
            _ => return None,
        })
    }
}

impl fmt::Debug for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "PacketType({})", self.0),
        }
    }
}

/// The `pfc_flags` bit set.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
pub struct PfcFlags(pub u8);

impl PfcFlags {
    /// First fragment of a call.
    pub const FIRST_FRAG: Self = Self(0x01);
    /// Last fragment of a call.
    pub const LAST_FRAG: Self = Self(0x02);
    /// Both FIRST_FRAG and LAST_FRAG: a single-fragment PDU.
    pub const FIRST_LAST: Self = Self(0x03);
    /// On BIND/ALTER_CONTEXT: header signing supported. On other PDUs: PENDING_CANCEL.
    pub const SUPPORT_HEADER_SIGN: Self = Self(0x04);
    /// Concurrent multiplexing.
    pub const CONC_MPX: Self = Self(0x10);
    /// On FAULT: the call did not execute.
    pub const DID_NOT_EXECUTE: Self = Self(0x20);
    /// MAYBE semantics.
    pub const MAYBE: Self = Self(0x40);
    /// A 16-byte object UUID follows the REQUEST header.
    pub const OBJECT_UUID: Self = Self(0x80);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    /// `self` with the bits of `other` set.
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
    /// `self` with the bits of `other` cleared.
    pub const fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

impl fmt::Debug for PfcFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PfcFlags(0x{:02x})", self.0)
    }
}

/// The decoded common header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// PDU type.
    pub ptype: PacketType,
    /// `pfc_flags`.
    pub flags: PfcFlags,
    /// Length of the whole PDU, header and auth verifier included.
    pub frag_length: u16,
    /// Length of the `auth_value` only (the 8-byte sec_trailer is not counted).
    pub auth_length: u16,
    /// Call identifier.
    pub call_id: u32,
}

impl Header {
    /// Decode and validate the first 16 bytes of `buf` (the rest is not looked at).
    ///
    /// Checks: version 5.0, little-endian `packed_drep`, `frag_length >= 16`, and, when
    /// `auth_length > 0`, that the sec_trailer and auth_value fit inside `frag_length`.
    /// It does not check `frag_length` against `buf.len()`: stream framing uses this on a
    /// prefix (see [`decode_pdu`](super::decode_pdu) for whole-PDU checks).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let vers = r.u8("rpc_vers")?;
        let minor = r.u8("rpc_vers_minor")?;
        let ptype = PacketType(r.u8("PTYPE")?);
        let flags = PfcFlags(r.u8("pfc_flags")?);
        let drep = r.array::<4>("packed_drep")?;
        let frag_length = r.u16("frag_length")?;
        let auth_length = r.u16("auth_length")?;
        let call_id = r.u32("call_id")?;
        if (vers, minor) != RPC_VERSION {
            return Err(DecodeError::invalid("rpc_vers (only DCE/RPC 5.0 is supported)"));
        }
        if drep != DREP_LE {
            return Err(DecodeError::invalid(
                "packed_drep (only little-endian ASCII IEEE is supported)",
            ));
        }
        if usize::from(frag_length) < HEADER_LEN {
            return Err(DecodeError::invalid("frag_length"));
        }
        if auth_length > 0
            && HEADER_LEN + SEC_TRAILER_LEN + usize::from(auth_length) > usize::from(frag_length)
        {
            return Err(DecodeError::invalid("auth_length"));
        }
        Ok(Self { ptype, flags, frag_length, auth_length, call_id })
    }

    /// Append the 16 header bytes.
    pub fn encode(&self, w: &mut Writer) {
        w.u8(RPC_VERSION.0)
            .u8(RPC_VERSION.1)
            .u8(self.ptype.0)
            .u8(self.flags.0)
            .bytes(&DREP_LE)
            .u16(self.frag_length)
            .u16(self.auth_length)
            .u32(self.call_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::DecodeErrorKind;

    // Protocol notes 4.1 / 4.3: first line of the bind example.
    const HDR: [u8; 16] = [
        0x05, 0x00, 0x0b, 0x03, // v5.0, BIND, FIRST|LAST
        0x10, 0x00, 0x00, 0x00, // drep
        0x74, 0x00, 0x00, 0x00, // frag_length 116, auth_length 0
        0x01, 0x00, 0x00, 0x00, // call_id 1
    ];

    #[test]
    fn decodes_and_reencodes() {
        let h = Header::decode(&HDR).unwrap();
        assert_eq!(h.ptype, PacketType::BIND);
        assert_eq!(h.flags, PfcFlags::FIRST_LAST);
        assert_eq!((h.frag_length, h.auth_length, h.call_id), (116, 0, 1));
        let mut w = Writer::new();
        h.encode(&mut w);
        assert_eq!(w.as_slice(), &HDR);
        for n in 0..HDR.len() {
            assert_eq!(Header::decode(&HDR[..n]).unwrap_err().kind, DecodeErrorKind::Truncated);
        }
    }

    #[test]
    fn rejects_bad_version_and_drep() {
        for (i, v) in [(0, 4u8), (1, 1), (4, 0x00), (5, 1), (7, 1)] {
            let mut b = HDR;
            b[i] = v;
            assert_eq!(Header::decode(&b).unwrap_err().kind, DecodeErrorKind::Invalid, "{i}");
        }
    }

    #[test]
    fn rejects_inconsistent_lengths() {
        let mut b = HDR;
        b[8] = 15;
        assert!(Header::decode(&b).is_err());
        let mut b = HDR;
        b[10] = 100; // 16 + 8 + 100 > 116
        assert!(Header::decode(&b).is_err());
        b[10] = 92; // exactly fits
        assert!(Header::decode(&b).is_ok());
    }
}
