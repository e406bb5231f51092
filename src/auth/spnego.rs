//! SPNEGO tokens ([RFC 4178] 4.2, [MS-SPNG] 2.2; notes 6.7): a minimal DER codec for
//! NegTokenInit (with its GSS-API `[APPLICATION 0]` wrapper), NegTokenInit2 (what SMB2
//! servers put in the NEGOTIATE response) and NegTokenResp.
//!
//! The decoder is strict: single-byte tags only, definite lengths in the short, `81`, `82`
//! and `83` forms, every length checked against the enclosing element, context tags in
//! ascending order, no unknown fields, no trailing bytes at any level. The token structure is
//! fixed, so nesting depth is bounded by construction (at most 6 levels; the optional
//! negHints and reqFlags are kept as opaque elements and not descended into).

pub use super::der::der;
use super::der::{TAG_ENUM, TAG_OCTETS, TAG_OID, TAG_SEQ, expect, only, read_tlv};
use crate::wire::{DecodeError, Reader};

/// Largest SPNEGO token accepted.
pub const MAX_TOKEN_LEN: usize = 256 * 1024;
/// Most mechanisms accepted in a mechTypes list.
pub const MAX_MECHS: usize = 16;

/// The SPNEGO OID 1.3.6.1.5.5.2 (content bytes, without tag and length).
pub const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// The NTLMSSP OID 1.3.6.1.4.1.311.2.2.10.
pub const OID_NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
/// The Kerberos V5 OID 1.2.840.113554.1.2.2.
pub const OID_KERBEROS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// The legacy Microsoft Kerberos OID 1.2.840.48018.1.2.2.
pub const OID_MS_KERBEROS: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];

const TAG_APP0: u8 = 0x60;
const CTX0: u8 = 0xa0;
const CTX1: u8 = 0xa1;
const CTX2: u8 = 0xa2;
const CTX3: u8 = 0xa3;
const CTX4: u8 = 0xa4;

/// negState ([RFC 4178] 4.2.2).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum NegState {
    /// 0: accept-completed.
    AcceptCompleted,
    /// 1: accept-incomplete.
    AcceptIncomplete,
    /// 2: reject.
    Reject,
    /// 3: request-mic.
    RequestMic,
}

impl NegState {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::AcceptCompleted,
            1 => Self::AcceptIncomplete,
            2 => Self::Reject,
            3 => Self::RequestMic,
            _ => return None,
        })
    }
    fn to_u8(self) -> u8 {
        match self {
            Self::AcceptCompleted => 0,
            Self::AcceptIncomplete => 1,
            Self::Reject => 2,
            Self::RequestMic => 3,
        }
    }
}

/// NegTokenInit / NegTokenInit2.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NegTokenInit {
    /// mechTypes: OID content bytes, in preference order.
    pub mech_types: Vec<Vec<u8>>,
    /// reqFlags, as the complete inner DER element (opaque).
    pub req_flags: Option<Vec<u8>>,
    /// mechToken.
    pub mech_token: Option<Vec<u8>>,
    /// negHints (NegTokenInit2 only), as the complete inner DER element (opaque).
    pub neg_hints: Option<Vec<u8>>,
    /// mechListMIC.
    pub mech_list_mic: Option<Vec<u8>>,
}

/// NegTokenResp.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NegTokenResp {
    /// negState.
    pub neg_state: Option<NegState>,
    /// supportedMech (OID content bytes).
    pub supported_mech: Option<Vec<u8>>,
    /// responseToken.
    pub response_token: Option<Vec<u8>>,
    /// mechListMIC.
    pub mech_list_mic: Option<Vec<u8>>,
}

/// Any SPNEGO token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpnegoToken {
    /// A NegTokenInit (or NegTokenInit2), GSS-wrapped or bare.
    Init(NegTokenInit),
    /// A NegTokenResp.
    Resp(NegTokenResp),
}

/// Decode any SPNEGO token: a GSS-wrapped (`60`) or bare (`a0`) NegTokenInit, or a
/// NegTokenResp (`a1`). A plain function for fuzzing.
pub fn decode_spnego(buf: &[u8]) -> Result<SpnegoToken, DecodeError> {
    match buf.first() {
        Some(&TAG_APP0) | Some(&CTX0) => NegTokenInit::decode(buf).map(SpnegoToken::Init),
        Some(&CTX1) => NegTokenResp::decode(buf).map(SpnegoToken::Resp),
        Some(_) => Err(DecodeError::invalid("SPNEGO token")),
        None => Err(DecodeError::truncated("SPNEGO token")),
    }
}

/// The DER encoding of a mechTypes list (`30 len 06 len oid …`): the exact bytes a
/// mechListMIC covers.
pub fn encode_mech_types(mechs: &[Vec<u8>]) -> Vec<u8> {
    let mut inner = Vec::new();
    for m in mechs {
        inner.extend_from_slice(&der(TAG_OID, m));
    }
    der(TAG_SEQ, &inner)
}

fn decode_mech_types(buf: &[u8]) -> Result<Vec<Vec<u8>>, DecodeError> {
    const W: &str = "SPNEGO mechTypes";
    let seq = only(buf, TAG_SEQ, W)?;
    let mut r = Reader::new(seq);
    let mut out = Vec::new();
    while !r.is_empty() {
        if out.len() >= MAX_MECHS {
            return Err(DecodeError::too_large(W));
        }
        let oid = expect(&mut r, TAG_OID, W)?;
        if oid.is_empty() {
            return Err(DecodeError::invalid(W));
        }
        out.push(oid.to_vec());
    }
    Ok(out)
}

/// Read the context-tagged fields of a SEQUENCE body in strictly ascending tag order.
fn fields<'a>(
    body: &'a [u8],
    max_tag: u8,
    what: &'static str,
) -> Result<[Option<&'a [u8]>; 5], DecodeError> {
    let mut out: [Option<&'a [u8]>; 5] = [None; 5];
    let mut r = Reader::new(body);
    let mut last: Option<u8> = None;
    while !r.is_empty() {
        let (tag, content) = read_tlv(&mut r, what)?;
        if !(CTX0..=max_tag).contains(&tag) || last.is_some_and(|l| tag <= l) {
            return Err(DecodeError::invalid(what));
        }
        last = Some(tag);
        out[usize::from(tag - CTX0)] = Some(content);
    }
    Ok(out)
}

/// The single inner element of an explicit context tag, returned whole (tag+len+content).
fn whole_inner(buf: &[u8], what: &'static str) -> Result<(u8, Vec<u8>), DecodeError> {
    let mut r = Reader::new(buf);
    let (tag, _) = read_tlv(&mut r, what)?;
    r.finish(what)?;
    Ok((tag, buf.to_vec()))
}

impl NegTokenInit {
    /// A client NegTokenInit offering only NTLMSSP with `mech_token` (the NTLM NEGOTIATE).
    pub fn ntlm(mech_token: Vec<u8>) -> Self {
        Self {
            mech_types: vec![OID_NTLMSSP.to_vec()],
            mech_token: Some(mech_token),
            ..Self::default()
        }
    }

    /// The DER of the mechTypes list (what mechListMIC covers).
    pub fn mech_types_der(&self) -> Vec<u8> {
        encode_mech_types(&self.mech_types)
    }

    /// Whether NTLMSSP is among the offered mechanisms.
    pub fn offers_ntlm(&self) -> bool {
        self.mech_types.iter().any(|m| m == OID_NTLMSSP)
    }

    /// Encode with the GSS-API InitialContextToken wrapper (`60 len 06 06 <SPNEGO> a0 …`).
    pub fn encode(&self) -> Vec<u8> {
        let mut seq = der(CTX0, &self.mech_types_der());
        if let Some(f) = &self.req_flags {
            seq.extend_from_slice(&der(CTX1, f));
        }
        if let Some(t) = &self.mech_token {
            seq.extend_from_slice(&der(CTX2, &der(TAG_OCTETS, t)));
        }
        match (&self.neg_hints, &self.mech_list_mic) {
            (Some(h), mic) => {
                seq.extend_from_slice(&der(CTX3, h));
                if let Some(m) = mic {
                    seq.extend_from_slice(&der(CTX4, &der(TAG_OCTETS, m)));
                }
            }
            (None, Some(m)) => seq.extend_from_slice(&der(CTX3, &der(TAG_OCTETS, m))),
            (None, None) => {}
        }
        let mut inner = der(TAG_OID, OID_SPNEGO);
        inner.extend_from_slice(&der(CTX0, &der(TAG_SEQ, &seq)));
        der(TAG_APP0, &inner)
    }

    /// Decode a GSS-wrapped (`60`) or bare (`a0`) NegTokenInit / NegTokenInit2.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "SPNEGO NegTokenInit";
        if buf.len() > MAX_TOKEN_LEN {
            return Err(DecodeError::too_large(W));
        }
        let mut r = Reader::new(buf);
        let (tag, content) = read_tlv(&mut r, W)?;
        r.finish(W)?;
        let ctx0 = match tag {
            TAG_APP0 => {
                let mut a = Reader::new(content);
                if expect(&mut a, TAG_OID, W)? != OID_SPNEGO {
                    return Err(DecodeError::invalid(W));
                }
                let c = expect(&mut a, CTX0, W)?;
                a.finish(W)?;
                c
            }
            CTX0 => content,
            _ => return Err(DecodeError::invalid(W)),
        };
        let seq = only(ctx0, TAG_SEQ, W)?;
        let f = fields(seq, CTX4, W)?;
        let mut t = Self::default();
        if let Some(m) = f[0] {
            t.mech_types = decode_mech_types(m)?;
        }
        if let Some(x) = f[1] {
            t.req_flags = Some(whole_inner(x, W)?.1);
        }
        if let Some(x) = f[2] {
            t.mech_token = Some(only(x, TAG_OCTETS, W)?.to_vec());
        }
        if let Some(x) = f[3] {
            let (tag, whole) = whole_inner(x, W)?;
            match tag {
                TAG_OCTETS => t.mech_list_mic = Some(only(x, TAG_OCTETS, W)?.to_vec()),
                TAG_SEQ => t.neg_hints = Some(whole),
                _ => return Err(DecodeError::invalid(W)),
            }
        }
        if let Some(x) = f[4] {
            if t.neg_hints.is_none() && t.mech_list_mic.is_some() {
                return Err(DecodeError::invalid(W));
            }
            t.mech_list_mic = Some(only(x, TAG_OCTETS, W)?.to_vec());
        }
        if t.mech_types.is_empty() {
            return Err(DecodeError::invalid(W)); // mechTypes is mandatory
        }
        Ok(t)
    }
}

impl NegTokenResp {
    /// Encode (`a1 len 30 len …`).
    pub fn encode(&self) -> Vec<u8> {
        let mut seq = Vec::new();
        if let Some(s) = self.neg_state {
            seq.extend_from_slice(&der(CTX0, &der(TAG_ENUM, &[s.to_u8()])));
        }
        if let Some(m) = &self.supported_mech {
            seq.extend_from_slice(&der(CTX1, &der(TAG_OID, m)));
        }
        if let Some(t) = &self.response_token {
            seq.extend_from_slice(&der(CTX2, &der(TAG_OCTETS, t)));
        }
        if let Some(m) = &self.mech_list_mic {
            seq.extend_from_slice(&der(CTX3, &der(TAG_OCTETS, m)));
        }
        der(CTX1, &der(TAG_SEQ, &seq))
    }

    /// Decode a whole NegTokenResp.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "SPNEGO NegTokenResp";
        if buf.len() > MAX_TOKEN_LEN {
            return Err(DecodeError::too_large(W));
        }
        let outer = only(buf, CTX1, W)?;
        let seq = only(outer, TAG_SEQ, W)?;
        let f = fields(seq, CTX3, W)?;
        let mut t = Self::default();
        if let Some(x) = f[0] {
            let e = only(x, TAG_ENUM, W)?;
            let [v] = e else { return Err(DecodeError::invalid(W)) };
            t.neg_state = Some(NegState::from_u8(*v).ok_or(DecodeError::invalid(W))?);
        }
        if let Some(x) = f[1] {
            t.supported_mech = Some(only(x, TAG_OID, W)?.to_vec());
        }
        if let Some(x) = f[2] {
            t.response_token = Some(only(x, TAG_OCTETS, W)?.to_vec());
        }
        if let Some(x) = f[3] {
            t.mech_list_mic = Some(only(x, TAG_OCTETS, W)?.to_vec());
        }
        Ok(t)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn assert_rejects_truncations(b: &[u8]) {
        for k in 0..b.len() {
            assert!(decode_spnego(&b[..k]).is_err(), "prefix {k}");
        }
        let mut t = b.to_vec();
        t.push(0);
        assert!(decode_spnego(&t).is_err(), "trailing byte");
    }

    /// Notes 6.7, MS blog SESSION_SETUP capture: the NTLM-only NegTokenInit framing
    /// `60 48 06 06 2b0601050502 a0 3e 30 3c a0 0e 30 0c 06 0a <NTLMSSP> a2 2a 04 28 <40 bytes>`.
    #[test]
    fn blog_neg_token_init_framing() {
        let neg = crate::auth::ntlm::Negotiate::client_default().encode();
        assert_eq!(neg.len(), 40);
        let b = NegTokenInit::ntlm(neg.clone()).encode();
        let head = h(concat!(
            "60 48",
            "06 06 2b0601050502",                     // GSS wrapper, SPNEGO OID
            "a0 3e 30 3c",                            // NegTokenInit
            "a0 0e 30 0c 06 0a 2b06010401823702020a", // mechTypes = [NTLMSSP]
            "a2 2a 04 28"                             // mechToken
        ));
        assert_eq!(&b[..head.len()], &head[..]);
        assert_eq!(&b[head.len()..], &neg[..]);
        let d = NegTokenInit::decode(&b).unwrap();
        assert!(d.offers_ntlm());
        assert_eq!(d.mech_token.as_deref(), Some(&neg[..]));
        assert_eq!(d.encode(), b);
        assert_eq!(hex::encode(d.mech_types_der()), "300c060a2b06010401823702020a");
        assert_rejects_truncations(&b);
    }

    /// Notes 6.7, MS blog: the server's final token, accept-completed with a mechListMIC.
    #[test]
    fn blog_final_server_token() {
        let b = h(concat!(
            "a1 1b 30 19",
            "a0 03 0a 01 00", // negState accept-completed
            "a3 12 04 10 01000000 3b453cdc35241642 00000000"  // mechListMIC
        ));
        let SpnegoToken::Resp(r) = decode_spnego(&b).unwrap() else { panic!() };
        assert_eq!(r.neg_state, Some(NegState::AcceptCompleted));
        assert_eq!(r.mech_list_mic.as_deref().unwrap().len(), 16);
        assert_eq!(r.encode(), b);
        assert_rejects_truncations(&b);
    }

    /// A NegTokenInit2 as Windows puts in the SMB2 NEGOTIATE response: several mechanisms
    /// and the "not_defined_in_RFC4178@please_ignore" negHints.
    #[test]
    fn server_neg_token_init2() {
        let mechs = vec![
            b"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x1e".to_vec(),
            OID_MS_KERBEROS.to_vec(),
            OID_KERBEROS.to_vec(),
            OID_NTLMSSP.to_vec(),
        ];
        let hint = b"not_defined_in_RFC4178@please_ignore";
        let hints = der(TAG_SEQ, &der(CTX0, &der(0x1b, hint)));
        let t = NegTokenInit {
            mech_types: mechs,
            neg_hints: Some(hints),
            mech_list_mic: Some(vec![7; 40]),
            ..Default::default()
        };
        let b = t.encode();
        assert!(b.len() > 0x7f && b[1] == 0x81, "uses the 81 length form");
        let d = NegTokenInit::decode(&b).unwrap();
        assert_eq!(d, t);
        assert!(d.offers_ntlm());
        assert_rejects_truncations(&b);
    }

    /// Captured from this project's Samba 4.22 test servers (SMB2 NEGOTIATE response
    /// security buffers): a standalone server offers NTLMSSP only, the AD DC offers
    /// MS-Kerberos, Kerberos and NTLMSSP; both add the "please_ignore" negHints.
    pub(crate) const SAMBA_STANDALONE_HINT: &str = concat!(
        "6048",
        "06062b0601050502",
        "a03e303c",
        "a00e300c060a2b06010401823702020a", // mechTypes [NTLMSSP]
        "a32a3028a0261b24",
        "6e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265"
    );
    pub(crate) const SAMBA_DC_HINT: &str = concat!(
        "605e",
        "06062b0601050502",
        "a0543052",
        "a024302206092a864882f71201020206092a864886f712010202060a2b06010401823702020a",
        "a32a3028a0261b24",
        "6e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265"
    );
    /// Captured: the standalone server's accept-incomplete reply carrying its CHALLENGE.
    pub(crate) const SAMBA_LEG1: &str = concat!(
        "a1818e30818b",
        "a0030a0101",                   // negState accept-incomplete
        "a10c060a2b06010401823702020a", // supportedMech NTLMSSP
        "a2760474",                     // responseToken (116 bytes)
        "4e544c4d53535000",
        "02000000",
        "0800080038000000",
        "35828ae2",
        "57b338e287d612e2",
        "0000000000000000",
        "3400340040000000",
        "060100000000000f",
        "5300520056003200",         // TargetName "SRV2"
        "020008005300520056003200", // NbDomainName "SRV2"
        "010008005300520056003200", // NbComputerName "SRV2"
        "04000000",                 // DnsDomainName ""
        "0300040076006d00",         // DnsComputerName "vm"
        "07000800e6a661d42e7add01", // Timestamp
        "00000000"                  // EOL
    );

    #[test]
    fn captured_samba_tokens() {
        for (hx, n) in [(SAMBA_STANDALONE_HINT, 1), (SAMBA_DC_HINT, 3)] {
            let b = h(hx);
            let SpnegoToken::Init(i) = decode_spnego(&b).unwrap() else { panic!() };
            assert_eq!(i.mech_types.len(), n);
            assert!(i.offers_ntlm() && i.neg_hints.is_some() && i.mech_token.is_none());
            assert_eq!(i.encode(), b);
            assert_rejects_truncations(&b);
        }
        let b = h(SAMBA_LEG1);
        let r = NegTokenResp::decode(&b).unwrap();
        assert_eq!(r.neg_state, Some(NegState::AcceptIncomplete));
        assert_eq!(r.supported_mech.as_deref(), Some(OID_NTLMSSP));
        let c = crate::auth::ntlm::Challenge::decode(r.response_token.as_deref().unwrap()).unwrap();
        assert_eq!(c.flags, 0xe28a_8235);
        assert_eq!(c.default_domain(), "SRV2");
        assert_eq!(c.timestamp(), Some(0x01dd_7a2e_d461_a6e6));
        assert_eq!(r.encode(), b);
        assert_rejects_truncations(&b);
    }

    #[test]
    fn neg_token_resp_round_trip_all_fields_long_lengths() {
        let t = NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: Some(OID_NTLMSSP.to_vec()),
            response_token: Some(vec![0x42; 300]),
            mech_list_mic: Some(vec![1; 16]),
        };
        let b = t.encode();
        assert_eq!(b[1], 0x82, "uses the 82 length form");
        assert_eq!(NegTokenResp::decode(&b).unwrap(), t);
        assert_rejects_truncations(&b);
        let big = NegTokenResp { response_token: Some(vec![0; 0x1_0000]), ..Default::default() };
        let bb = big.encode();
        assert_eq!(bb[1], 0x83, "uses the 83 length form");
        assert_eq!(NegTokenResp::decode(&bb).unwrap(), big);
        assert!(NegTokenResp::decode(&NegTokenResp::default().encode()).is_ok());
    }

    #[test]
    fn rejects_malformed() {
        // Indefinite length.
        assert!(decode_spnego(&h("a1 80 30 00 00 00")).is_err());
        // Out-of-order fields.
        assert!(decode_spnego(&h("a1 0a 30 08 a2 02 04 00 a0 02 0a 00")).is_err());
        // Unknown negState value.
        assert!(decode_spnego(&h("a1 07 30 05 a0 03 0a 01 07")).is_err());
        // Unknown field tag.
        assert!(decode_spnego(&h("a1 06 30 04 a5 02 04 00")).is_err());
        // Inner trailing bytes inside a field.
        assert!(decode_spnego(&h("a1 08 30 06 a2 04 04 00 00 00")).is_err());
        // Wrong OID in the GSS wrapper.
        assert!(decode_spnego(&h("60 0e 06 06 2b0601050503 a0 04 30 02 a0 00")).is_err());
        // Empty mechTypes.
        assert!(decode_spnego(&h("60 10 06 06 2b0601050502 a0 06 30 04 a0 02 30 00")).is_err());
        // Length larger than the buffer / the cap.
        assert!(decode_spnego(&h("a1 83 ff ff ff")).is_err());
        assert!(decode_spnego(&h("a1 84 00 00 00 01 00")).is_err());
        // Multi-byte tag.
        assert!(decode_spnego(&h("bf 01 00")).is_err());
        assert!(decode_spnego(&[]).is_err());
    }
}
