//! NEGOTIATE_MESSAGE — [MS-NLMP] 2.2.1.1; notes 6.1.

use super::{Version, flags, read_field, read_header};
use crate::wire::{DecodeError, Writer};

/// An NTLM NEGOTIATE message (client → server, first leg).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiate {
    /// NegotiateFlags.
    pub flags: u32,
    /// DomainName (OEM bytes; this client sends none).
    pub domain: Vec<u8>,
    /// Workstation (OEM bytes; this client sends none).
    pub workstation: Vec<u8>,
    /// Version, present when the VERSION flag is set.
    pub version: Option<Version>,
}

impl Negotiate {
    /// The message this client sends: [`flags::CLIENT_DEFAULT`], no domain or workstation,
    /// [`Version::CLIENT`].
    pub fn client_default() -> Self {
        Self {
            flags: flags::CLIENT_DEFAULT,
            domain: Vec::new(),
            workstation: Vec::new(),
            version: Some(Version::CLIENT),
        }
    }

    /// Encode. The header is 40 bytes when a version is present (32 otherwise); payload
    /// fields follow in order domain, workstation; empty fields point at the payload start.
    pub fn encode(&self) -> Vec<u8> {
        let header = if self.version.is_some() { 40 } else { 32 };
        let mut w = Writer::with_capacity(header + self.domain.len() + self.workstation.len());
        w.bytes(super::SIGNATURE).u32(1).u32(self.flags);
        let mut off = header;
        for f in [&self.domain, &self.workstation] {
            let o = if f.is_empty() { header } else { off };
            w.u16(f.len() as u16).u16(f.len() as u16).u32(o as u32);
            off += f.len();
        }
        if let Some(v) = self.version {
            w.bytes(&v.to_bytes());
        }
        w.bytes(&self.domain).bytes(&self.workstation);
        w.into_vec()
    }

    /// Decode a whole message (bounds-checked; trailing bytes rejected).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "NTLM NEGOTIATE";
        let mut r = crate::wire::Reader::new(buf);
        read_header(&mut r, 1, W)?;
        let fl = r.u32(W)?;
        let (domain, d_off, d_len) = read_field(&mut r, W)?;
        let (workstation, w_off, w_len) = read_field(&mut r, W)?;
        let version =
            if fl & flags::VERSION != 0 { Some(Version::from_bytes(r.array(W)?)) } else { None };
        let header = r.position();
        let mut end = header;
        for (off, len) in [(d_off, d_len), (w_off, w_len)] {
            if len > 0 {
                if off < header {
                    return Err(DecodeError::invalid(W));
                }
                end = end.max(off + len);
            }
        }
        if buf.len() != end {
            return Err(DecodeError::trailing(W));
        }
        Ok(Self { flags: fl, domain: domain.to_vec(), workstation: workstation.to_vec(), version })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// chromium `net/ntlm/ntlm_test_data.h` `kExpectedNegotiateMsg` (no VERSION; flags 0x00088207).
    const CHROMIUM_NEG: &str = concat!(
        "4e544c4d53535000",
        "01000000",         // signature, type 1
        "07820800",         // flags
        "0000000020000000", // domain: len 0, offset 32
        "0000000020000000"  // workstation: len 0, offset 32
    );

    #[test]
    fn chromium_vector_round_trips() {
        let b = hex::decode(CHROMIUM_NEG).unwrap();
        let n = Negotiate::decode(&b).unwrap();
        assert_eq!(n.flags, 0x0008_8207);
        assert_eq!(n.version, None);
        assert_eq!(n.encode(), b);
        for k in 0..b.len() {
            assert!(Negotiate::decode(&b[..k]).is_err(), "prefix {k}");
        }
        let mut t = b.clone();
        t.push(0);
        assert!(Negotiate::decode(&t).is_err());
    }

    #[test]
    fn client_default_layout() {
        let b = Negotiate::client_default().encode();
        // signature, type 1, flags 0xE2888235, empty fields at offset 40, version 10.0.20348 rev 15
        assert_eq!(
            hex::encode(&b),
            concat!(
                "4e544c4d53535000",
                "01000000",
                "358288e2",
                "0000000028000000",
                "0000000028000000",
                "0a007c4f0000000f"
            )
        );
        let n = Negotiate::decode(&b).unwrap();
        assert_eq!(n, Negotiate::client_default());
        for k in 0..b.len() {
            assert!(Negotiate::decode(&b[..k]).is_err());
        }
    }

    #[test]
    fn rejects_wrong_type_and_signature() {
        let mut b = Negotiate::client_default().encode();
        b[8] = 2;
        assert!(Negotiate::decode(&b).is_err());
        let mut b = Negotiate::client_default().encode();
        b[0] = b'X';
        assert!(Negotiate::decode(&b).is_err());
    }
}
