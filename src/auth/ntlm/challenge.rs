//! CHALLENGE_MESSAGE — [MS-NLMP] 2.2.1.2; notes 6.1, 6.3.

use super::av_pair::{AvId, AvPairs};
use super::{Version, flags, read_field, read_header};
use crate::wire::{DecodeError, Reader, Writer};

/// An NTLM CHALLENGE message (server → client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// TargetName, raw (UTF-16LE when UNICODE was negotiated, OEM otherwise).
    pub target_name: Vec<u8>,
    /// NegotiateFlags the server granted.
    pub flags: u32,
    /// The 8-byte server challenge.
    pub server_challenge: [u8; 8],
    /// TargetInfo, when the message carries the field (modern servers always do).
    pub target_info: Option<AvPairs>,
    /// Version, when the VERSION flag is set and the header holds one.
    pub version: Option<Version>,
}

/// Decode a CHALLENGE message (a plain function for fuzzing). See [`Challenge::decode`].
pub fn decode_challenge(buf: &[u8]) -> Result<Challenge, DecodeError> {
    Challenge::decode(buf)
}

impl Challenge {
    /// Decode a whole message.
    ///
    /// Every offset/length field is checked against the message; payload fields may not
    /// overlap the header; bytes past the last referenced field are rejected. A 32-byte
    /// message (no TargetInfo field, pre-2003 servers) is accepted; otherwise the
    /// TargetInfo field is read at offset 40 and parsed as an AV_PAIR list.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "NTLM CHALLENGE";
        let mut r = Reader::new(buf);
        read_header(&mut r, 2, W)?;
        let (target_name, tn_off, tn_len) = read_field(&mut r, W)?;
        let fl = r.u32(W)?;
        let server_challenge = r.array::<8>(W)?;
        let mut fields = vec![(tn_off, tn_len)];
        let mut target_info = None;
        let mut version = None;
        if !r.is_empty() {
            r.skip(8, W)?; // Reserved
            let (ti, ti_off, ti_len) = read_field(&mut r, W)?;
            fields.push((ti_off, ti_len));
            target_info = Some(AvPairs::decode(ti).map_err(|e| DecodeError { what: W, ..e })?);
            // The Version field exists only if the header extends that far: the smallest
            // payload offset tells us where the header ends.
            let payload_start =
                fields.iter().filter(|(_, l)| *l > 0).map(|(o, _)| *o).min().unwrap_or(buf.len());
            if fl & flags::VERSION != 0 && payload_start >= 56 {
                version = Some(Version::from_bytes(r.array(W)?));
            }
        }
        let header = r.position();
        let mut end = header;
        for (off, len) in fields {
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
        Ok(Self {
            target_name: target_name.to_vec(),
            flags: fl,
            server_challenge,
            target_info,
            version,
        })
    }

    /// Encode (for tests and fuzz round trips): header (48 bytes, 56 with a version), then
    /// TargetName, then TargetInfo. Without TargetInfo and version the 32-byte form is used.
    pub fn encode(&self) -> Vec<u8> {
        let short = self.target_info.is_none() && self.version.is_none();
        let header = if short {
            32
        } else if self.version.is_some() {
            56
        } else {
            48
        };
        let ti = self.target_info.as_ref().map(AvPairs::encode).unwrap_or_default();
        let mut w = Writer::with_capacity(header + self.target_name.len() + ti.len());
        w.bytes(super::SIGNATURE).u32(2);
        let tn_off = header;
        let ti_off = header + self.target_name.len();
        w.u16(self.target_name.len() as u16).u16(self.target_name.len() as u16).u32(tn_off as u32);
        w.u32(self.flags).bytes(&self.server_challenge);
        if !short {
            w.zeros(8);
            let o = if ti.is_empty() { header } else { ti_off };
            w.u16(ti.len() as u16).u16(ti.len() as u16).u32(o as u32);
            if let Some(v) = self.version {
                w.bytes(&v.to_bytes());
            }
        }
        w.bytes(&self.target_name).bytes(&ti);
        w.into_vec()
    }

    /// TargetName as text (UTF-16LE when UNICODE is set, else bytes as Latin-1/ASCII).
    pub fn target_name_string(&self) -> String {
        if self.flags & flags::UNICODE != 0 {
            super::from_utf16le_lossy(&self.target_name)
        } else {
            self.target_name.iter().map(|&b| char::from(b)).collect()
        }
    }

    /// MsvAvNbComputerName, if present.
    pub fn nb_computer_name(&self) -> Option<String> {
        self.target_info.as_ref()?.get_name(AvId::NB_COMPUTER_NAME)
    }

    /// MsvAvNbDomainName, if present.
    pub fn nb_domain_name(&self) -> Option<String> {
        self.target_info.as_ref()?.get_name(AvId::NB_DOMAIN_NAME)
    }

    /// MsvAvDnsComputerName, if present.
    pub fn dns_computer_name(&self) -> Option<String> {
        self.target_info.as_ref()?.get_name(AvId::DNS_COMPUTER_NAME)
    }

    /// MsvAvDnsDomainName, if present.
    pub fn dns_domain_name(&self) -> Option<String> {
        self.target_info.as_ref()?.get_name(AvId::DNS_DOMAIN_NAME)
    }

    /// MsvAvTimestamp, if present.
    pub fn timestamp(&self) -> Option<u64> {
        self.target_info.as_ref()?.timestamp()
    }

    /// The domain a client with no explicit domain should use (notes 8.3): MsvAvNbDomainName,
    /// else MsvAvNbComputerName, else the TargetName, else "" (non-empty values only).
    pub fn default_domain(&self) -> String {
        let tn = self.target_name_string();
        [self.nb_domain_name(), self.nb_computer_name(), Some(tn)]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty())
            .unwrap_or_default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// [MS-NLMP] 4.2.4.3 CHALLENGE (chromium `kChallengeMsgFromSpecV2`).
    pub(crate) const SPEC_CHALLENGE_V2: &str = concat!(
        "4e544c4d53535000",
        "02000000",                         // signature, type 2
        "0c000c0038000000",                 // TargetName: len 12, offset 56
        "33828ae2",                         // flags 0xE28A8233
        "0123456789abcdef",                 // server challenge
        "0000000000000000",                 // reserved
        "2400240044000000",                 // TargetInfo: len 36, offset 68
        "060070170000000f",                 // version 6.0.6000, revision 15
        "530065007200760065007200",         // TargetName "Server"
        "02000c0044006f006d00610069006e00", // NbDomainName "Domain"
        "01000c00530065007200760065007200", // NbComputerName "Server"
        "00000000",                         // EOL
    );

    pub(crate) fn spec_challenge_bytes() -> Vec<u8> {
        hex::decode(SPEC_CHALLENGE_V2).unwrap()
    }

    #[test]
    fn spec_vector_round_trips() {
        let b = spec_challenge_bytes();
        let c = Challenge::decode(&b).unwrap();
        assert_eq!(c.flags, 0xE28A_8233);
        assert_eq!(c.server_challenge, hex::decode("0123456789abcdef").unwrap()[..]);
        assert_eq!(c.target_name_string(), "Server");
        assert_eq!(c.nb_domain_name().as_deref(), Some("Domain"));
        assert_eq!(c.nb_computer_name().as_deref(), Some("Server"));
        assert_eq!(c.version, Some(Version { major: 6, minor: 0, build: 6000, revision: 15 }));
        assert_eq!(c.encode(), b);
        assert_eq!(decode_challenge(&b).unwrap(), c);
    }

    #[test]
    fn rejects_every_truncation_and_trailing_bytes() {
        let b = spec_challenge_bytes();
        for k in 0..b.len() {
            assert!(Challenge::decode(&b[..k]).is_err(), "prefix {k}");
        }
        let mut t = b.clone();
        t.push(0);
        assert!(Challenge::decode(&t).is_err());
    }

    #[test]
    fn rejects_bad_offsets() {
        let b = spec_challenge_bytes();
        // TargetInfo offset pointing past the end.
        let mut x = b.clone();
        x[44] = 0xff;
        assert!(Challenge::decode(&x).is_err());
        // TargetName overlapping the header.
        let mut x = b.clone();
        x[16] = 8;
        assert!(Challenge::decode(&x).is_err());
        // Huge offset (overflow-safe).
        let mut x = b.clone();
        x[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Challenge::decode(&x).is_err());
        // TargetInfo length cutting the EOL off.
        let mut x = b;
        x[40] = 0x20;
        x[42] = 0x20;
        assert!(Challenge::decode(&x).is_err());
    }

    /// chromium `kMinChallengeMessage`: a 32-byte CHALLENGE with no TargetInfo field.
    #[test]
    fn minimal_challenge() {
        let b = hex::decode(concat!(
            "4e544c4d53535000",
            "02000000",
            "0000000020000000",
            "07820800",
            "0123456789abcdef"
        ))
        .unwrap();
        let c = Challenge::decode(&b).unwrap();
        assert!(c.target_info.is_none());
        assert_eq!(c.encode(), b);
        assert_eq!(c.default_domain(), "");
    }

    #[test]
    fn default_domain_fallbacks() {
        let mut c = Challenge::decode(&spec_challenge_bytes()).unwrap();
        assert_eq!(c.default_domain(), "Domain");
        let mut ti = AvPairs::new();
        ti.set(AvId::NB_COMPUTER_NAME, crate::auth::ntlm::utf16le("SRV1"));
        c.target_info = Some(ti);
        assert_eq!(c.default_domain(), "SRV1");
        c.target_info = None;
        assert_eq!(c.default_domain(), "Server");
    }
}
