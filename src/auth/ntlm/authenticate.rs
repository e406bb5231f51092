//! AUTHENTICATE_MESSAGE — [MS-NLMP] 2.2.1.3; notes 6.1.

use super::{Version, read_field, read_header};
use crate::wire::{DecodeError, Reader, Writer};

/// Offset of the MIC field in an AUTHENTICATE message that carries one.
pub const MIC_OFFSET: usize = 72;
/// Header length of an AUTHENTICATE message with Version and MIC.
pub const HEADER_LEN: usize = 88;

/// An NTLM AUTHENTICATE message (client → server, last leg).
///
/// The session-key field holds only the RC4-*encrypted* random session key; the response
/// fields are proofs, not secrets. Strings are raw wire bytes (UTF-16LE under UNICODE).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticate {
    /// LmChallengeResponse.
    pub lm_response: Vec<u8>,
    /// NtChallengeResponse (NTProofStr ‖ temp for NTLMv2).
    pub nt_response: Vec<u8>,
    /// DomainName.
    pub domain: Vec<u8>,
    /// UserName.
    pub user: Vec<u8>,
    /// Workstation.
    pub workstation: Vec<u8>,
    /// EncryptedRandomSessionKey (empty without KEY_EXCH).
    pub encrypted_session_key: Vec<u8>,
    /// NegotiateFlags.
    pub flags: u32,
    /// Version (present whenever the header is at least 72 bytes).
    pub version: Option<Version>,
    /// MIC (present when the header is 88 bytes).
    pub mic: Option<[u8; 16]>,
}

/// Decode an AUTHENTICATE message (a plain function for fuzzing).
pub fn decode_authenticate(buf: &[u8]) -> Result<Authenticate, DecodeError> {
    Authenticate::decode(buf)
}

impl Authenticate {
    /// Encode. With a MIC (or a version) the header is 88 bytes, MIC at offset 72. Payload
    /// order: LM, NT, domain, user, workstation, session key; each field starts at an even
    /// offset; empty fields point at the payload start (as Windows and chromium do).
    pub fn encode(&self) -> Vec<u8> {
        let header = if self.mic.is_some() {
            HEADER_LEN
        } else if self.version.is_some() {
            72
        } else {
            64
        };
        let fields: [&[u8]; 6] = [
            &self.lm_response,
            &self.nt_response,
            &self.domain,
            &self.user,
            &self.workstation,
            &self.encrypted_session_key,
        ];
        let mut offsets = [header; 6];
        let mut off = header;
        for (i, f) in fields.iter().enumerate() {
            if !f.is_empty() {
                off += off % 2;
                offsets[i] = off;
                off += f.len();
            }
        }
        let mut w = Writer::with_capacity(off);
        w.bytes(super::SIGNATURE).u32(3);
        for (i, f) in fields.iter().enumerate() {
            // Field lengths are bounded by construction (names and responses are far below
            // 64 KiB); `SpnegoNtlm` rejects oversized names before encoding.
            w.u16(f.len() as u16).u16(f.len() as u16).u32(offsets[i] as u32);
        }
        w.u32(self.flags);
        if header >= 72 {
            w.bytes(
                &self
                    .version
                    .unwrap_or(Version { major: 0, minor: 0, build: 0, revision: 0 })
                    .to_bytes(),
            );
        }
        if let Some(m) = self.mic {
            w.bytes(&m);
        }
        for (i, f) in fields.iter().enumerate() {
            if !f.is_empty() {
                let pad = offsets[i] - w.len();
                w.zeros(pad).bytes(f);
            }
        }
        w.into_vec()
    }

    /// Decode a whole message. The header length is inferred from the smallest non-empty
    /// payload offset (64: no version, 72: version, ≥ 88: version and MIC); fields may not
    /// overlap the header; trailing bytes past the last field are rejected.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "NTLM AUTHENTICATE";
        let mut r = Reader::new(buf);
        read_header(&mut r, 3, W)?;
        let mut raw = Vec::with_capacity(6);
        for _ in 0..6 {
            raw.push(read_field(&mut r, W)?);
        }
        let flags = r.u32(W)?;
        let payload_start = raw.iter().filter(|f| f.2 > 0).map(|f| f.1).min().unwrap_or(buf.len());
        let mut version = None;
        let mut mic = None;
        if payload_start >= 72 {
            version = Some(Version::from_bytes(r.array(W)?));
        }
        if payload_start >= HEADER_LEN {
            mic = Some(r.array::<16>(W)?);
        }
        let header = r.position();
        let mut end = header;
        for &(_, off, len) in &raw {
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
            lm_response: raw[0].0.to_vec(),
            nt_response: raw[1].0.to_vec(),
            domain: raw[2].0.to_vec(),
            user: raw[3].0.to_vec(),
            workstation: raw[4].0.to_vec(),
            encrypted_session_key: raw[5].0.to_vec(),
            flags,
            version,
            mic,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// chromium `net/ntlm/ntlm_test_data.h` `kExpectedAuthenticateMsgSpecResponseV2`
    /// (notes 7.7): the reply to the [MS-NLMP] 4.2.4.3 challenge with flags 0x00088203,
    /// client time 0x01d2d400fdc80b80, MsvAvFlags=2, channel bindings, TargetName
    /// `HTTP/Server`, MIC f7361633…
    pub(crate) const CHROMIUM_AUTH_V2: &str = concat!(
        "4e544c4d53535000",
        "03000000",                                             // signature, type 3
        "1800180058000000",                                     // LM: 24 @ 88
        "8a008a0070000000",                                     // NT: 138 @ 112
        "0c000c00fa000000",                                     // Domain: 12 @ 250
        "0800080006010000",                                     // User: 8 @ 262
        "100010000e010000",                                     // Workstation: 16 @ 270
        "0000000058000000",                                     // EncryptedRandomSessionKey: 0 @ 88
        "03820800",                                             // flags 0x00088203
        "0000000000000000",                                     // version (zeros)
        "f7361633f0ad9bdf4a7c421bc6b824a3",                     // MIC
        "000000000000000000000000000000000000000000000000",     // LM response Z(24)
        "8c0260dbef690662af9c42d50782d2ed",                     // NTProofStr
        "0101000000000000",                                     // RespType, HiRespType, Z6
        "800bc8fd00d4d201",                                     // client time
        "aaaaaaaaaaaaaaaa",                                     // client challenge
        "00000000",                                             // Z4
        "02000c0044006f006d00610069006e00",                     // NbDomainName "Domain"
        "01000c00530065007200760065007200",                     // NbComputerName "Server"
        "0600040002000000",                                     // MsvAvFlags = 2 (MIC present)
        "0a0010006586e99d81c2fc984e47172fd4dd0310",             // ChannelBindings
        "0900160048005400540050002f00530065007200760065007200", // TargetName "HTTP/Server"
        "00000000",                                             // EOL
        "00000000",                                             // Z4
        "44006f006d00610069006e00",                             // "Domain"
        "5500730065007200",                                     // "User"
        "43004f004d0050005500540045005200",                     // "COMPUTER"
    );

    #[test]
    fn chromium_vector_round_trips() {
        let b = hex::decode(CHROMIUM_AUTH_V2).unwrap();
        assert_eq!(b.len(), 286);
        let a = Authenticate::decode(&b).unwrap();
        assert_eq!(a.flags, 0x0008_8203);
        assert_eq!(a.lm_response, [0u8; 24]);
        assert_eq!(a.nt_response.len(), 138);
        assert_eq!(a.user, super::super::utf16le("User"));
        assert_eq!(a.mic.unwrap()[..4], [0xf7, 0x36, 0x16, 0x33]);
        assert_eq!(a.encode(), b);
        assert_eq!(decode_authenticate(&b).unwrap(), a);
        for k in 0..b.len() {
            assert!(Authenticate::decode(&b[..k]).is_err(), "prefix {k}");
        }
        let mut t = b.clone();
        t.push(0);
        assert!(Authenticate::decode(&t).is_err());
    }

    #[test]
    fn odd_fields_keep_even_offsets() {
        let a = Authenticate {
            lm_response: vec![0],
            nt_response: vec![],
            domain: vec![],
            user: vec![],
            workstation: super::super::utf16le("WS"),
            encrypted_session_key: vec![],
            flags: 0x801,
            version: None,
            mic: Some([0; 16]),
        };
        let b = a.encode();
        // LM @ 88, workstation @ 90 (padded)
        assert_eq!(&b[12..20], &hex::decode("0100010058000000").unwrap()[..]);
        assert_eq!(&b[44..52], &hex::decode("040004005a000000").unwrap()[..]);
        let d = Authenticate::decode(&b).unwrap();
        assert_eq!(d.workstation, a.workstation);
        assert_eq!(d.mic, Some([0; 16]));
    }
}
