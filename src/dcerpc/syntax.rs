//! Presentation syntax identifiers (`p_syntax_id_t`, C706 12.6.3.1) and the bind-time feature
//! negotiation syntax ([MS-RPCE] 3.3.1.5.3; protocol notes 3 and 4.4).

use core::fmt;

use crate::wire::{DecodeError, Reader, Writer};

/// Wire size of a [`SyntaxId`].
pub const SYNTAX_ID_LEN: usize = 20;

/// An interface or transfer syntax: a UUID in wire form (first three fields little-endian)
/// plus a major and minor version.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct SyntaxId {
    /// The UUID as it appears on the wire.
    pub uuid: [u8; 16],
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

/// Build the wire form of the UUID `d1-d2-d3-d4[0..2]-d4[2..8]`.
pub const fn uuid_wire(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> [u8; 16] {
    let a = d1.to_le_bytes();
    let b = d2.to_le_bytes();
    let c = d3.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5],
        d4[6], d4[7],
    ]
}

/// MS-SAMR `12345778-1234-ABCD-EF00-0123456789AC` v1.0 (protocol notes 3).
pub const SAMR_SYNTAX: SyntaxId = SyntaxId {
    uuid: uuid_wire(0x1234_5778, 0x1234, 0xABCD, [0xEF, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAC]),
    major: 1,
    minor: 0,
};

/// NDR 2.0 transfer syntax `8A885D04-1CEB-11C9-9FE8-08002B104860` v2.0.
pub const NDR20_SYNTAX: SyntaxId = SyntaxId {
    uuid: uuid_wire(0x8A88_5D04, 0x1CEB, 0x11C9, [0x9F, 0xE8, 0x08, 0x00, 0x2B, 0x10, 0x48, 0x60]),
    major: 2,
    minor: 0,
};

/// NDR64 transfer syntax `71710533-BEBA-4937-8319-B5DBEF9CCC36` v1.0 (not used by this crate).
pub const NDR64_SYNTAX: SyntaxId = SyntaxId {
    uuid: uuid_wire(0x7171_0533, 0xBEBA, 0x4937, [0x83, 0x19, 0xB5, 0xDB, 0xEF, 0x9C, 0xCC, 0x36]),
    major: 1,
    minor: 0,
};

/// Bind-time feature bit: security context multiplexing.
pub const BTFN_SECURITY_CONTEXT_MULTIPLEXING: u64 = 0x01;
/// Bind-time feature bit: keep the connection on orphan.
pub const BTFN_KEEP_CONNECTION_ON_ORPHAN: u64 = 0x02;

/// The first 8 wire bytes of every bind-time feature negotiation UUID (`6CB71C2C-9812-4540`).
const BTFN_PREFIX: [u8; 8] = [0x2c, 0x1c, 0xb7, 0x6c, 0x12, 0x98, 0x40, 0x45];

impl SyntaxId {
    /// The bind-time feature negotiation transfer syntax `6CB71C2C-9812-4540-xxxx-xxxxxxxxxxxx`
    /// v1.0, whose last 8 UUID bytes carry `features` as a little-endian u64 (notes 4.4).
    pub const fn bind_time_features(features: u64) -> Self {
        let f = features.to_le_bytes();
        let p = BTFN_PREFIX;
        Self {
            uuid: [
                p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], f[0], f[1], f[2], f[3], f[4], f[5],
                f[6], f[7],
            ],
            major: 1,
            minor: 0,
        }
    }

    /// If this is a bind-time feature negotiation syntax, the feature bits it carries.
    pub fn bind_time_feature_bits(&self) -> Option<u64> {
        let (prefix, bits) = self.uuid.split_at(8);
        if prefix != BTFN_PREFIX {
            return None;
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(bits);
        Some(u64::from_le_bytes(b))
    }

    /// Decode 20 bytes.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let uuid = r.array::<16>("syntax uuid")?;
        let major = r.u16("syntax major version")?;
        let minor = r.u16("syntax minor version")?;
        Ok(Self { uuid, major, minor })
    }

    /// Append 20 bytes.
    pub fn encode(&self, w: &mut Writer) {
        w.bytes(&self.uuid).u16(self.major).u16(self.minor);
    }
}

impl fmt::Debug for SyntaxId {
    /// Shows the UUID in its usual text form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = &self.uuid;
        write!(
            f,
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-",
            u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6], u[8], u[9]
        )?;
        for b in &u[10..] {
            write!(f, "{b:02x}")?;
        }
        write!(f, " v{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms_match_protocol_notes_3() {
        // Protocol notes section 3 table (wire column).
        let mut w = Writer::new();
        SAMR_SYNTAX.encode(&mut w);
        assert_eq!(hex::encode(w.as_slice()), "785734123412cdabef000123456789ac01000000");
        let mut w = Writer::new();
        NDR20_SYNTAX.encode(&mut w);
        assert_eq!(hex::encode(w.as_slice()), "045d888aeb1cc9119fe808002b10486002000000");
        assert_eq!(format!("{NDR64_SYNTAX:?}"), "71710533-beba-4937-8319-b5dbef9ccc36 v1.0");
        assert_eq!(format!("{SAMR_SYNTAX:?}"), "12345778-1234-abcd-ef00-0123456789ac v1.0");
    }

    #[test]
    fn bind_time_features_round_trip() {
        // Protocol notes 4.3: 2c 1c b7 6c 12 98 40 45 03 00 00 00 00 00 00 00, v1.0.
        let s = SyntaxId::bind_time_features(3);
        assert_eq!(hex::encode(s.uuid), "2c1cb76c129840450300000000000000");
        assert_eq!(s.bind_time_feature_bits(), Some(3));
        assert_eq!(NDR20_SYNTAX.bind_time_feature_bits(), None);
        let mut w = Writer::new();
        s.encode(&mut w);
        let mut r = Reader::new(w.as_slice());
        assert_eq!(SyntaxId::decode(&mut r).unwrap(), s);
        r.finish("syntax").unwrap();
        for n in 0..SYNTAX_ID_LEN {
            assert!(SyntaxId::decode(&mut Reader::new(&w.as_slice()[..n])).is_err());
        }
    }
}
