//! Kerberos failures as a typed error: KRB-ERROR codes ([RFC 4120] 7.5.9, [MS-KILE] 3.1.5.x)
//! mapped to what they mean for a password tool, plus local protocol failures.

use super::asn1::KrbTimestamp;
use super::crypto::KrbCryptoError;
use super::messages::{EData, KrbError};
use crate::wire::DecodeError;

/// KRB-ERROR codes this crate interprets ([RFC 4120] 7.5.9).
pub mod code {
    /// KDC_ERR_C_PRINCIPAL_UNKNOWN.
    pub const C_PRINCIPAL_UNKNOWN: i32 = 6;
    /// KDC_ERR_S_PRINCIPAL_UNKNOWN.
    pub const S_PRINCIPAL_UNKNOWN: i32 = 7;
    /// KDC_ERR_BADOPTION.
    pub const BADOPTION: i32 = 13;
    /// KDC_ERR_ETYPE_NOSUPP.
    pub const ETYPE_NOSUPP: i32 = 14;
    /// KDC_ERR_CLIENT_REVOKED.
    pub const CLIENT_REVOKED: i32 = 18;
    /// KDC_ERR_KEY_EXPIRED.
    pub const KEY_EXPIRED: i32 = 23;
    /// KDC_ERR_PREAUTH_FAILED.
    pub const PREAUTH_FAILED: i32 = 24;
    /// KDC_ERR_PREAUTH_REQUIRED.
    pub const PREAUTH_REQUIRED: i32 = 25;
    /// KRB_AP_ERR_BAD_INTEGRITY.
    pub const BAD_INTEGRITY: i32 = 31;
    /// KRB_AP_ERR_TKT_EXPIRED.
    pub const TKT_EXPIRED: i32 = 32;
    /// KRB_AP_ERR_SKEW.
    pub const SKEW: i32 = 37;
    /// KRB_AP_ERR_MODIFIED.
    pub const MODIFIED: i32 = 41;
    /// KRB_ERR_RESPONSE_TOO_BIG.
    pub const RESPONSE_TOO_BIG: i32 = 52;
    /// KRB_ERR_GENERIC.
    pub const GENERIC: i32 = 60;
    /// KDC_ERR_WRONG_REALM.
    pub const WRONG_REALM: i32 = 68;
}

/// The RFC name of a KRB-ERROR code, or `"KRB_ERR_UNKNOWN"`.
pub fn code_name(c: i32) -> &'static str {
    match c {
        0 => "KDC_ERR_NONE",
        1 => "KDC_ERR_NAME_EXP",
        2 => "KDC_ERR_SERVICE_EXP",
        3 => "KDC_ERR_BAD_PVNO",
        6 => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
        7 => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        8 => "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
        9 => "KDC_ERR_NULL_KEY",
        12 => "KDC_ERR_POLICY",
        13 => "KDC_ERR_BADOPTION",
        14 => "KDC_ERR_ETYPE_NOSUPP",
        15 => "KDC_ERR_SUMTYPE_NOSUPP",
        16 => "KDC_ERR_PADATA_TYPE_NOSUPP",
        18 => "KDC_ERR_CLIENT_REVOKED",
        19 => "KDC_ERR_SERVICE_REVOKED",
        20 => "KDC_ERR_TGT_REVOKED",
        21 => "KDC_ERR_CLIENT_NOTYET",
        23 => "KDC_ERR_KEY_EXPIRED",
        24 => "KDC_ERR_PREAUTH_FAILED",
        25 => "KDC_ERR_PREAUTH_REQUIRED",
        31 => "KRB_AP_ERR_BAD_INTEGRITY",
        32 => "KRB_AP_ERR_TKT_EXPIRED",
        33 => "KRB_AP_ERR_TKT_NYV",
        34 => "KRB_AP_ERR_REPEAT",
        35 => "KRB_AP_ERR_NOT_US",
        36 => "KRB_AP_ERR_BADMATCH",
        37 => "KRB_AP_ERR_SKEW",
        41 => "KRB_AP_ERR_MODIFIED",
        52 => "KRB_ERR_RESPONSE_TOO_BIG",
        60 => "KRB_ERR_GENERIC",
        68 => "KDC_ERR_WRONG_REALM",
        _ => "KRB_ERR_UNKNOWN",
    }
}

/// Why a Kerberos exchange failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KerberosError {
    /// KDC_ERR_PREAUTH_FAILED (24), or an AS-REP that does not decrypt with the key made from
    /// the password: the password (or hash/key) is wrong.
    #[error("the KDC rejected the credentials (wrong password)")]
    WrongPassword,
    /// KDC_ERR_CLIENT_REVOKED (18): the account is disabled, locked out or expired. `status`
    /// is the NTSTATUS AD gives in the e-data, if any.
    #[error("the account is disabled, locked out or expired (KDC_ERR_CLIENT_REVOKED)")]
    ClientRevoked {
        /// The NTSTATUS from the e-data.
        status: Option<u32>,
    },
    /// KDC_ERR_KEY_EXPIRED (23): the password has expired or must be changed.
    #[error("the password has expired or must be changed (KDC_ERR_KEY_EXPIRED)")]
    PasswordExpired {
        /// The NTSTATUS from the e-data (0xC0000224 must change, 0xC0000071 expired).
        status: Option<u32>,
    },
    /// KDC_ERR_C_PRINCIPAL_UNKNOWN (6).
    #[error("no such user in the realm (KDC_ERR_C_PRINCIPAL_UNKNOWN)")]
    ClientUnknown,
    /// KDC_ERR_S_PRINCIPAL_UNKNOWN (7).
    #[error("no such server name in the realm: {sname} (KDC_ERR_S_PRINCIPAL_UNKNOWN)")]
    ServerUnknown {
        /// The service principal asked for.
        sname: String,
    },
    /// KDC_ERR_PREAUTH_REQUIRED (25) even after pre-authentication was sent.
    #[error("the KDC still demands pre-authentication (KDC_ERR_PREAUTH_REQUIRED)")]
    PreauthRequired,
    /// KDC_ERR_ETYPE_NOSUPP (14): no common encryption type.
    #[error("no encryption type in common with the KDC (KDC_ERR_ETYPE_NOSUPP)")]
    EtypeNotSupported,
    /// KRB_AP_ERR_SKEW (37): the clocks differ too much. `server_time` is the peer's clock.
    #[error("clock skew too great (KRB_AP_ERR_SKEW)")]
    ClockSkew {
        /// The KDC's or server's time from the KRB-ERROR.
        server_time: KrbTimestamp,
    },
    /// KDC_ERR_WRONG_REALM (68): ask `realm` instead (a referral).
    #[error("the principal belongs to realm {realm} (KDC_ERR_WRONG_REALM)")]
    WrongRealm {
        /// The realm the KDC refers to.
        realm: String,
    },
    /// Any other KRB-ERROR.
    #[error("Kerberos error {code} ({})", code_name(*code))]
    Other {
        /// The error-code.
        code: i32,
    },
    /// A peer message could not be decoded.
    #[error("malformed Kerberos message: {0}")]
    Malformed(DecodeError),
    /// A well-formed message violated the protocol (nonce mismatch, unexpected message type,
    /// AP-REP ctime mismatch, …).
    #[error("Kerberos protocol error: {0}")]
    Protocol(&'static str),
    /// A cryptographic operation failed (typically an integrity check: wrong key or
    /// tampered message).
    #[error("Kerberos crypto: {0}")]
    Crypto(KrbCryptoError),
    /// The credentials cannot be used (empty name, unsupported key length, …).
    #[error("unusable Kerberos credentials: {0}")]
    Credentials(&'static str),
}

impl From<DecodeError> for KerberosError {
    fn from(e: DecodeError) -> Self {
        Self::Malformed(e)
    }
}

impl From<KrbCryptoError> for KerberosError {
    fn from(e: KrbCryptoError) -> Self {
        Self::Crypto(e)
    }
}

impl KerberosError {
    /// The typed error for a KRB-ERROR (the numeric code is kept for unknown ones).
    pub fn from_krb_error(e: &KrbError) -> Self {
        let status = match e.e_data_parsed() {
            EData::NtStatus(s) => Some(s),
            _ => None,
        };
        match e.error_code {
            code::PREAUTH_FAILED => Self::WrongPassword,
            code::CLIENT_REVOKED => Self::ClientRevoked { status },
            code::KEY_EXPIRED => Self::PasswordExpired { status },
            code::C_PRINCIPAL_UNKNOWN => Self::ClientUnknown,
            code::S_PRINCIPAL_UNKNOWN => Self::ServerUnknown { sname: e.sname.to_string() },
            code::PREAUTH_REQUIRED => Self::PreauthRequired,
            code::ETYPE_NOSUPP => Self::EtypeNotSupported,
            code::SKEW => Self::ClockSkew { server_time: e.stime },
            code::WRONG_REALM => Self::WrongRealm { realm: e.realm.clone() },
            c => Self::Other { code: c },
        }
    }

    /// The KRB-ERROR code behind this error, if it came from one.
    pub fn krb_error_code(&self) -> Option<i32> {
        Some(match self {
            Self::WrongPassword => code::PREAUTH_FAILED,
            Self::ClientRevoked { .. } => code::CLIENT_REVOKED,
            Self::PasswordExpired { .. } => code::KEY_EXPIRED,
            Self::ClientUnknown => code::C_PRINCIPAL_UNKNOWN,
            Self::ServerUnknown { .. } => code::S_PRINCIPAL_UNKNOWN,
            Self::PreauthRequired => code::PREAUTH_REQUIRED,
            Self::EtypeNotSupported => code::ETYPE_NOSUPP,
            Self::ClockSkew { .. } => code::SKEW,
            Self::WrongRealm { .. } => code::WRONG_REALM,
            Self::Other { code } => *code,
            _ => return None,
        })
    }

    /// Advice for a person (library-level: no CLI flags named).
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Self::WrongPassword => {
                "check the password (or the NT hash / AES key) and the user name"
            }
            Self::ClientRevoked { .. } => {
                "the account is disabled or locked out; an administrator must enable or unlock it"
            }
            Self::PasswordExpired { .. } => {
                "the password must be changed first; a Kerberos password change (kpasswd) can do that with the old password"
            }
            Self::ClientUnknown => "check the user name and the realm",
            Self::ServerUnknown { .. } => {
                "no such server name in the realm; use the server's DNS name, not an address (connect to the address separately)"
            }
            Self::ClockSkew { .. } => {
                "the clocks of this machine and the domain differ by more than 5 minutes; synchronise the clock (NTP)"
            }
            Self::EtypeNotSupported => {
                "the KDC supports none of the offered encryption types (AES-128/256 or, with an NT hash, RC4)"
            }
            Self::WrongRealm { .. } => "the principal lives in another realm; name that realm",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::kerberos::messages::PrincipalName;

    fn err(code: i32, e_data: Option<Vec<u8>>) -> KrbError {
        KrbError {
            ctime: None,
            cusec: None,
            stime: KrbTimestamp { time: super::super::asn1::KerberosTime(1_796_500_143), usec: 7 },
            error_code: code,
            crealm: None,
            cname: None,
            realm: "OTHER.TEST".into(),
            sname: PrincipalName::service("cifs", "10.0.0.1"),
            e_text: None,
            e_data,
        }
    }

    #[test]
    fn typed_mapping() {
        assert_eq!(KerberosError::from_krb_error(&err(24, None)), KerberosError::WrongPassword);
        assert_eq!(
            KerberosError::from_krb_error(&err(18, None)),
            KerberosError::ClientRevoked { status: None }
        );
        // [MS-KILE] KERB-ERROR-DATA as the DC sent it (capture krb-error-key-expired.hex).
        let ed = hex::decode("3015a103020103a20e040c240200c00000000001000000").unwrap();
        assert_eq!(
            KerberosError::from_krb_error(&err(23, Some(ed))),
            KerberosError::PasswordExpired { status: Some(0xc000_0224) }
        );
        let s = KerberosError::from_krb_error(&err(7, None));
        assert_eq!(s, KerberosError::ServerUnknown { sname: "cifs/10.0.0.1".into() });
        assert!(s.hint().unwrap().contains("DNS name, not an address"));
        assert!(matches!(
            KerberosError::from_krb_error(&err(37, None)),
            KerberosError::ClockSkew { server_time } if server_time.usec == 7
        ));
        assert_eq!(
            KerberosError::from_krb_error(&err(68, None)),
            KerberosError::WrongRealm { realm: "OTHER.TEST".into() }
        );
        let o = KerberosError::from_krb_error(&err(12, None));
        assert_eq!(o, KerberosError::Other { code: 12 });
        assert_eq!(o.to_string(), "Kerberos error 12 (KDC_ERR_POLICY)");
        for c in [6, 7, 14, 18, 23, 24, 25, 37, 68, 99] {
            assert_eq!(KerberosError::from_krb_error(&err(c, None)).krb_error_code(), Some(c));
        }
    }
}
