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
    SamrUnicodeChangePasswordUser2, SamrUnicodeChangePasswordUser4, StatusResponse,
};
pub use server::{
    HandleResponse, RevisionInfoV1, SAMPR_REVISION_INFO_V1, SUPPORTED_FEATURES_AES,
    SamrCloseHandle, SamrCloseHandleResponse, SamrConnect2, SamrConnect5, SamrConnect5Response,
    SamrEnumerateDomainsInSamServer, SamrEnumerateDomainsInSamServerResponse,
    SamrLookupDomainInSamServer, SamrLookupDomainInSamServerResponse,
};
pub use types::{
    DomainInfo, DomainLockoutInformation, DomainPasswordInformation, EnumerationBuffer,
    LOGON_HOURS_MAX, LogonHours, MAX_AES_CIPHER, MAX_SECURITY_DESCRIPTOR, RidEnumeration,
    UlongArray, UserAllInformation, UserDomainPasswordInformation, UserInfo,
};
pub use user::{
    SamrGetUserDomainPasswordInformation, SamrGetUserDomainPasswordInformationResponse,
    SamrOpenUser, SamrQueryInformationUser2, SamrQueryInformationUser2Response,
    SamrSetInformationUser2,
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
        let v = T::from_stub(bytes).unwrap();
        assert_eq!(hex::encode(v.to_stub()), hex::encode(bytes), "re-encode");
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
