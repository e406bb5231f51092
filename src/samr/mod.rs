//! Typed MS-SAMR calls: one request/response pair per opnum ([MS-SAMR] 3.1.5; protocol-notes 1–3).
//!
//! Each request implements [`Call`]: [`Call::encode`] gives the request stub (the bytes after
//! the DCE/RPC REQUEST header) and [`Call::decode_response`] turns a response stub into a typed
//! response carrying the returned [`NtStatus`](crate::NtStatus). Requests and responses also
//! implement [`Stub`] both ways (`to_stub` / `from_stub`), so a scripted server can decode
//! requests and encode responses.
//!
//! Error responses: servers answer failures with NULL pointers and zeroed out-parameters
//! (for example SamrLookupNamesInDomain with STATUS_NONE_MAPPED); every decoder accepts those
//! and returns the status. Check `response.status` before using the other fields.

pub mod access;
#[cfg(test)]
mod capture_tests;
pub mod consts;
mod domain;
mod password;
mod server;
mod types;
mod user;

pub use domain::{
    MAX_LOOKUP_NAMES, SamrEnumerateUsersInDomain, SamrEnumerateUsersInDomainResponse,
    SamrGetDomainPasswordInformation, SamrGetDomainPasswordInformationResponse,
    SamrLookupNamesInDomain, SamrLookupNamesInDomainResponse, SamrOpenDomain,
    SamrOpenDomainResponse, SamrQueryInformationDomain2, SamrQueryInformationDomain2Response,
};
pub use password::{
    SamrUnicodeChangePasswordUser2, SamrUnicodeChangePasswordUser2Response,
    SamrUnicodeChangePasswordUser4, SamrUnicodeChangePasswordUser4Response, StatusResponse,
};
pub use server::{
    HandleResponse, RevisionInfoV1, SAMPR_REVISION_INFO_V1, SUPPORTED_FEATURES_AES,
    SamrCloseHandle, SamrCloseHandleResponse, SamrConnect2, SamrConnect2Response, SamrConnect5,
    SamrConnect5Response, SamrEnumerateDomainsInSamServer, SamrEnumerateDomainsInSamServerResponse,
    SamrLookupDomainInSamServer, SamrLookupDomainInSamServerResponse,
};
pub use types::{
    DomainInfo, DomainLockoutInformation, DomainPasswordInformation, EnumerationBuffer,
    LOGON_HOURS_MAX, LogonHours, MAX_AES_CIPHER, MAX_SECURITY_DESCRIPTOR, RidEnumeration,
    SrSecurityDescriptor, UlongArray, UserAllInformation, UserDomainPasswordInformation, UserInfo,
};
pub use user::{
    SamrGetUserDomainPasswordInformation, SamrGetUserDomainPasswordInformationResponse,
    SamrOpenUser, SamrOpenUserResponse, SamrQueryInformationUser2,
    SamrQueryInformationUser2Response, SamrSetInformationUser2, SamrSetInformationUser2Response,
};

pub use crate::ndr::Stub;
use crate::wire::DecodeError;

/// One SAMR operation: a request that knows its opnum and how to decode its response.
pub trait Call: Stub {
    /// The operation number ([MS-SAMR] 3.1.5).
    const OPNUM: u16;
    /// The method name, for logs and errors (e.g. `"SamrUnicodeChangePasswordUser4"`).
    const NAME: &'static str;
    /// The typed response (it includes the returned NTSTATUS).
    type Response: Stub;

    /// The request stub bytes.
    fn encode(&self) -> Vec<u8> {
        self.to_stub()
    }
    /// Decode a response stub (whole stub; trailing bytes are rejected).
    fn decode_response(stub: &[u8]) -> Result<Self::Response, DecodeError> {
        Self::Response::from_stub(stub)
    }
}

type StubDecoder = fn(&[u8]) -> Result<(), DecodeError>;

/// The request and response decoders of operation `opnum`: the one table of typed calls.
fn decoders(opnum: u16) -> Option<(StubDecoder, StubDecoder)> {
    fn request<C: Call>(stub: &[u8]) -> Result<(), DecodeError> {
        C::from_stub(stub).map(|_| ())
    }
    fn response<C: Call>(stub: &[u8]) -> Result<(), DecodeError> {
        C::decode_response(stub).map(|_| ())
    }
    macro_rules! table {
        ($($call:ident),* $(,)?) => {
            match opnum {
                $( $call::OPNUM => Some((request::<$call> as StubDecoder, response::<$call> as StubDecoder)), )*
                _ => None,
            }
        };
    }
    table!(
        SamrCloseHandle,
        SamrLookupDomainInSamServer,
        SamrEnumerateDomainsInSamServer,
        SamrOpenDomain,
        SamrEnumerateUsersInDomain,
        SamrLookupNamesInDomain,
        SamrOpenUser,
        SamrGetUserDomainPasswordInformation,
        SamrQueryInformationDomain2,
        SamrQueryInformationUser2,
        SamrUnicodeChangePasswordUser2,
        SamrGetDomainPasswordInformation,
        SamrConnect2,
        SamrSetInformationUser2,
        SamrConnect5,
        SamrUnicodeChangePasswordUser4,
    )
}

/// Decode a request stub of operation `opnum` (for scripted servers and fuzzing). Unknown
/// opnums are an `Invalid` decode error.
pub fn decode_request(opnum: u16, stub: &[u8]) -> Result<(), DecodeError> {
    let (request, _) = decoders(opnum).ok_or(DecodeError::invalid("unknown SAMR opnum"))?;
    request(stub)
}

/// Decode a response stub of operation `opnum` with the matching [`Call::decode_response`]
/// (for fuzzing). Unknown opnums are an `Invalid` decode error.
pub fn decode_response(opnum: u16, stub: &[u8]) -> Result<(), DecodeError> {
    let (_, response) = decoders(opnum).ok_or(DecodeError::invalid("unknown SAMR opnum"))?;
    response(stub)
}

/// The opnums with a typed call in this module.
pub const OPNUMS: [u16; 16] = [1, 5, 6, 7, 13, 17, 34, 44, 46, 47, 55, 56, 57, 58, 64, 73];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// No input makes a decoder panic.
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
            for op in OPNUMS {
                let _ = decode_request(op, &bytes);
                let _ = decode_response(op, &bytes);
            }
        }

        /// Mutating one byte of a valid stub never panics either.
        #[test]
        fn mutated_vectors_never_panic(pos in 0usize..1152, val in any::<u8>()) {
            for hex_text in [
                include_str!("../../tests/vectors/samba/samr_setuserinfo2_in_data.hex"),
                include_str!("../../tests/vectors/samba/samr_lookupnamesindomain_in_data.hex"),
                include_str!("../../tests/vectors/samba/samr_changepassworduser3_w2k_in_data.hex"),
                include_str!("../../tests/vectors/samba/samr_connect5_in_data.hex"),
            ] {
                let mut b = hex::decode(hex_text.trim()).unwrap();
                let n = b.len();
                if let Some(x) = b.get_mut(pos % n) {
                    *x = val;
                }
                for op in OPNUMS {
                    let _ = decode_request(op, &b);
                    let _ = decode_response(op, &b);
                }
            }
        }
    }

    #[test]
    fn opnums_match_calls() {
        for op in OPNUMS {
            assert_ne!(decode_request(op, &[]), Err(DecodeError::invalid("unknown SAMR opnum")));
        }
        assert_eq!(decode_request(2, &[]), Err(DecodeError::invalid("unknown SAMR opnum")));
    }

    #[test]
    fn user_state_helpers() {
        let mut u = UserAllInformation { password_last_set: 1, ..Default::default() };
        assert!(!u.must_change_password());
        u.user_account_control = consts::USER_NORMAL_ACCOUNT
            | consts::USER_ACCOUNT_DISABLED
            | consts::USER_ACCOUNT_AUTO_LOCKED
            | consts::USER_DONT_EXPIRE_PASSWORD;
        assert!(u.is_disabled() && u.is_locked_out() && u.password_never_expires());
        u.password_expired = 1;
        assert!(u.must_change_password());
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::ndr::Stub;
    use core::fmt::Debug;

    /// A vector from `tests/vectors/`, as bytes.
    pub(crate) fn vector(hex_text: &str) -> Vec<u8> {
        hex::decode(hex_text.trim()).unwrap()
    }

    /// Decode `bytes`, re-encode to the same bytes, reject every truncation and a trailing byte.
    pub(crate) fn roundtrip<T: Stub + PartialEq + Debug>(bytes: &[u8]) -> T {
        roundtrip_as(bytes, bytes)
    }

    /// As [`roundtrip`], for a peer whose referent ids differ from ours: `ours` is `bytes` with
    /// the referent ids renumbered 0x00020000, 0x00020004, …
    pub(crate) fn roundtrip_as<T: Stub + PartialEq + Debug>(bytes: &[u8], ours: &[u8]) -> T {
        let v = T::from_stub(bytes).unwrap();
        assert_eq!(hex::encode(v.to_stub()), hex::encode(ours), "re-encode");
        assert_eq!(T::from_stub(&v.to_stub()).unwrap(), v);
        for n in 0..bytes.len() {
            assert!(T::from_stub(&bytes[..n]).is_err(), "truncation at {n} accepted");
        }
        let mut long = bytes.to_vec();
        long.push(0);
        assert!(T::from_stub(&long).is_err(), "trailing byte accepted");
        v
    }
}
