//! Kerberos password change ([RFC 3244], and the original version 1 protocol it extends;
//! [MS-KILE] 3.1.5.11 for AD's result strings): message framing and result codes.
//!
//! Request: `len (u16 BE, whole message) | version (u16 BE) | AP-REQ len (u16 BE) | AP-REQ |
//! KRB-PRIV`. Version `0x0001` carries the new password itself as the KRB-PRIV user-data;
//! version `0xff80` carries a ChangePasswdData (`SEQUENCE { newpasswd [0] OCTET STRING,
//! targname [1] PrincipalName OPTIONAL, targrealm [2] Realm OPTIONAL }`; without targname it
//! changes the ticket owner's own password). Reply: the same header with the AP-REP, then a
//! KRB-PRIV whose user-data is `result code (u16 BE) | result string`; or, with an AP-REP
//! length of 0, a KRB-ERROR.

use super::asn1::{field, string};
use super::messages::{PrincipalName, zder};
use crate::auth::der::TAG_SEQ;
use crate::secret::SecretBytes;
use crate::wire::{DecodeError, Reader};
use zeroize::Zeroizing;

/// Protocol version 1: change password, user-data = the new password.
pub const VERSION_CHANGE: u16 = 0x0001;
/// Protocol version 0xff80 (RFC 3244): set/change password with ChangePasswdData.
pub const VERSION_SET_CHANGE: u16 = 0xff80;
/// Largest kpasswd reply accepted.
pub const MAX_REPLY_LEN: usize = 64 * 1024;

/// Build a kpasswd request from an encoded AP-REQ and KRB-PRIV.
pub fn encode_request(
    version: u16,
    ap_req: &[u8],
    krb_priv: &[u8],
) -> Result<Vec<u8>, DecodeError> {
    let total = 6 + ap_req.len() + krb_priv.len();
    let (Ok(total16), Ok(ap16)) = (u16::try_from(total), u16::try_from(ap_req.len())) else {
        return Err(DecodeError::too_large("kpasswd request"));
    };
    let mut v = Vec::with_capacity(total);
    v.extend_from_slice(&total16.to_be_bytes());
    v.extend_from_slice(&version.to_be_bytes());
    v.extend_from_slice(&ap16.to_be_bytes());
    v.extend_from_slice(ap_req);
    v.extend_from_slice(krb_priv);
    Ok(v)
}

/// A decoded kpasswd request (for scripted servers and tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KpasswdRequest<'a> {
    /// The protocol version.
    pub version: u16,
    /// The AP-REQ.
    pub ap_req: &'a [u8],
    /// The KRB-PRIV.
    pub krb_priv: &'a [u8],
}

/// Decode a kpasswd request.
pub fn decode_request(buf: &[u8]) -> Result<KpasswdRequest<'_>, DecodeError> {
    const W: &str = "kpasswd request";
    let mut r = Reader::new(buf);
    if usize::from(r.u16_be(W)?) != buf.len() {
        return Err(DecodeError::invalid(W));
    }
    let version = r.u16_be(W)?;
    let n = usize::from(r.u16_be(W)?);
    let ap_req = r.take(n, W)?;
    let krb_priv = r.take_rest();
    if ap_req.is_empty() || krb_priv.is_empty() {
        return Err(DecodeError::invalid(W));
    }
    Ok(KpasswdRequest { version, ap_req, krb_priv })
}

/// A kpasswd reply, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KpasswdReply<'a> {
    /// An AP-REP and a KRB-PRIV carrying the result.
    Priv {
        /// The AP-REP.
        ap_rep: &'a [u8],
        /// The KRB-PRIV.
        krb_priv: &'a [u8],
    },
    /// A KRB-ERROR (AP-REP length 0): the request was not even authenticated.
    Error(&'a [u8]),
}

/// Split a kpasswd reply. The version field is not checked (Windows answers version 1 to
/// 0xff80 requests).
pub fn decode_reply(buf: &[u8]) -> Result<KpasswdReply<'_>, DecodeError> {
    const W: &str = "kpasswd reply";
    if buf.len() > MAX_REPLY_LEN {
        return Err(DecodeError::too_large(W));
    }
    let mut r = Reader::new(buf);
    if usize::from(r.u16_be(W)?) != buf.len() {
        return Err(DecodeError::invalid(W));
    }
    let _version = r.u16_be(W)?;
    let n = usize::from(r.u16_be(W)?);
    let ap_rep = r.take(n, W)?;
    let rest = r.take_rest();
    if rest.is_empty() {
        return Err(DecodeError::truncated(W));
    }
    if ap_rep.is_empty() {
        Ok(KpasswdReply::Error(rest))
    } else {
        Ok(KpasswdReply::Priv { ap_rep, krb_priv: rest })
    }
}

/// The KRB-PRIV user-data of a version 0xff80 request: ChangePasswdData (zeroizing).
pub fn change_passwd_data(
    new_password: &[u8],
    target: Option<(&PrincipalName, &str)>,
) -> Zeroizing<Vec<u8>> {
    let pw = zder(0x04, &[new_password]);
    let f0 = zder(0xa0, &[&pw]);
    let rest = match target {
        Some((name, realm)) => [field(1, &name.encode()), field(2, &string(realm))].concat(),
        None => Vec::new(),
    };
    zder(TAG_SEQ, &[&f0, &rest])
}

/// Result codes ([RFC 3244] 2, with the version 1 values).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResultCode {
    /// 0 KRB5_KPASSWD_SUCCESS.
    Success,
    /// 1 KRB5_KPASSWD_MALFORMED.
    Malformed,
    /// 2 KRB5_KPASSWD_HARDERROR.
    HardError,
    /// 3 KRB5_KPASSWD_AUTHERROR.
    AuthError,
    /// 4 KRB5_KPASSWD_SOFTERROR (AD: the new password does not meet the policy).
    SoftError,
    /// 5 KRB5_KPASSWD_ACCESSDENIED.
    AccessDenied,
    /// 6 KRB5_KPASSWD_BAD_VERSION.
    BadVersion,
    /// 7 KRB5_KPASSWD_INITIAL_FLAG_NEEDED.
    InitialFlagNeeded,
    /// Anything else.
    Other(u16),
}

impl ResultCode {
    /// From the wire value.
    pub fn from_u16(v: u16) -> Self {
        match v {
            0 => Self::Success,
            1 => Self::Malformed,
            2 => Self::HardError,
            3 => Self::AuthError,
            4 => Self::SoftError,
            5 => Self::AccessDenied,
            6 => Self::BadVersion,
            7 => Self::InitialFlagNeeded,
            n => Self::Other(n),
        }
    }
    /// The wire value.
    pub fn to_u16(self) -> u16 {
        match self {
            Self::Success => 0,
            Self::Malformed => 1,
            Self::HardError => 2,
            Self::AuthError => 3,
            Self::SoftError => 4,
            Self::AccessDenied => 5,
            Self::BadVersion => 6,
            Self::InitialFlagNeeded => 7,
            Self::Other(n) => n,
        }
    }
}

/// AD's password-policy blob, sent as the result string of a soft error ([MS-KILE]
/// 3.1.5.11.1: 30 bytes, big-endian).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AdPolicy {
    /// Minimum password length.
    pub min_length: u32,
    /// Password history length.
    pub history: u32,
    /// Password properties (bit 0: complexity required).
    pub properties: u32,
    /// Maximum password age (100 ns units).
    pub max_age: u64,
    /// Minimum password age (100 ns units).
    pub min_age: u64,
}

/// The result a kpasswd server returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KpasswdResult {
    /// The result code.
    pub code: ResultCode,
    /// The result string's raw bytes (UTF-8 per RFC 3244, but AD sends a binary policy blob).
    pub raw: Vec<u8>,
}

impl KpasswdResult {
    /// Decode the KRB-PRIV user-data of a reply.
    pub fn decode(user_data: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "kpasswd result";
        let mut r = Reader::new(user_data);
        let code = ResultCode::from_u16(r.u16_be(W)?);
        let raw = r.take_rest();
        if raw.len() > 4096 {
            return Err(DecodeError::too_large(W));
        }
        Ok(Self { code, raw: raw.to_vec() })
    }

    /// Encode (scripted servers).
    pub fn encode(&self) -> SecretBytes {
        let mut v = self.code.to_u16().to_be_bytes().to_vec();
        v.extend_from_slice(&self.raw);
        SecretBytes::new(v)
    }

    /// AD's policy blob, if the result string is one.
    pub fn ad_policy(&self) -> Option<AdPolicy> {
        let b = &self.raw;
        if b.len() != 30 || b[..2] != [0, 0] {
            return None;
        }
        let u32at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64at = |i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_be_bytes(a)
        };
        Some(AdPolicy {
            min_length: u32at(2),
            history: u32at(6),
            properties: u32at(10),
            max_age: u64at(14),
            min_age: u64at(22),
        })
    }

    /// The result string for display: the text (invalid UTF-8 replaced), or a description
    /// of AD's policy blob, trimmed to 256 characters.
    pub fn message(&self) -> String {
        if let Some(p) = self.ad_policy() {
            return format!(
                "password policy: minimum length {}, history {}, complexity {}",
                p.min_length,
                p.history,
                if p.properties & 1 != 0 { "required" } else { "not required" }
            );
        }
        let s = String::from_utf8_lossy(&self.raw);
        s.trim_matches(char::from(0)).chars().take(256).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(s: &str) -> Vec<u8> {
        hex::decode(s.trim()).unwrap()
    }

    /// Capture tests/vectors/kerberos/kpasswd-req.hex and kpasswd-rep.hex (MIT kinit changing
    /// an expired password against the Samba DC; see PROVENANCE.md): TCP length prefix, then
    /// the RFC 3244 framing with version 1.
    #[test]
    fn captured_framing() {
        let req = vector(include_str!("../../../tests/vectors/kerberos/kpasswd-req.hex"));
        let body = &req[4..];
        assert_eq!(u32::from_be_bytes(req[..4].try_into().unwrap()) as usize, body.len());
        let d = decode_request(body).unwrap();
        assert_eq!(d.version, VERSION_CHANGE);
        super::super::messages::ApReq::decode(d.ap_req).unwrap();
        super::super::messages::KrbPriv::decode(d.krb_priv).unwrap();
        assert_eq!(encode_request(d.version, d.ap_req, d.krb_priv).unwrap(), body);

        let rep = vector(include_str!("../../../tests/vectors/kerberos/kpasswd-rep.hex"));
        let body = &rep[4..];
        let KpasswdReply::Priv { ap_rep, krb_priv } = decode_reply(body).unwrap() else {
            panic!("expected AP-REP + KRB-PRIV")
        };
        super::super::messages::ApRep::decode(ap_rep).unwrap();
        super::super::messages::KrbPriv::decode(krb_priv).unwrap();
        for k in 0..body.len() {
            let ok = decode_reply(&body[..k]).is_ok_and(|r| match r {
                KpasswdReply::Priv { ap_rep, krb_priv } => {
                    super::super::messages::ApRep::decode(ap_rep).is_ok()
                        && super::super::messages::KrbPriv::decode(krb_priv).is_ok()
                }
                KpasswdReply::Error(_) => false,
            });
            assert!(!ok, "prefix {k}");
        }
    }

    #[test]
    fn error_reply_and_hostile_lengths() {
        let mut b = vec![0, 0, 0, 1, 0, 0, 0x7e, 0x00];
        b[1] = b.len() as u8;
        assert_eq!(decode_reply(&b).unwrap(), KpasswdReply::Error(&[0x7e, 0x00]));
        // Announced length disagrees with the buffer.
        let mut c = b.clone();
        c[1] += 1;
        assert!(decode_reply(&c).is_err());
        // AP-REP length beyond the buffer.
        let d = [0, 8, 0, 1, 0xff, 0xff, 1, 2];
        assert!(decode_reply(&d).is_err());
        assert!(decode_reply(&[]).is_err());
        assert!(decode_request(&[0, 6, 0, 1, 0, 0]).is_err());
    }

    /// [MS-KILE] 3.1.5.11.1 policy blob (values chosen; layout per the spec) and a non-UTF-8
    /// result string (Kerberos.NET #364: AD's strings are not always text).
    #[test]
    fn result_strings() {
        let mut blob = vec![0, 4, 0, 0];
        blob.extend_from_slice(&7u32.to_be_bytes());
        blob.extend_from_slice(&24u32.to_be_bytes());
        blob.extend_from_slice(&1u32.to_be_bytes());
        blob.extend_from_slice(&0x8000_0000_0000_0000u64.to_be_bytes());
        blob.extend_from_slice(&0u64.to_be_bytes());
        let r = KpasswdResult::decode(&blob).unwrap();
        assert_eq!(r.code, ResultCode::SoftError);
        let p = r.ad_policy().unwrap();
        assert_eq!((p.min_length, p.history, p.properties), (7, 24, 1));
        assert!(r.message().contains("minimum length 7"));
        let r = KpasswdResult::decode(&[0, 2, b'b', 0xff, b'd']).unwrap();
        assert_eq!(r.code, ResultCode::HardError);
        assert_eq!(r.message(), "b\u{fffd}d");
        assert!(KpasswdResult::decode(&[0]).is_err());
        assert_eq!(KpasswdResult::decode(r.encode().expose()).unwrap(), r);
    }

    #[test]
    fn change_passwd_data_layout() {
        let d = change_passwd_data(b"pw", None);
        assert_eq!(hex::encode(&*d), "3006a00404027077");
        let n = PrincipalName::user("u");
        let d = change_passwd_data(b"pw", Some((&n, "R")));
        assert!(d.starts_with(&[0x30]));
        assert!(d.ends_with(&[0xa2, 0x03, 0x1b, 0x01, b'R']));
    }
}
