//! Domain-handle calls: SamrOpenDomain (7), SamrQueryInformationDomain2 (46),
//! SamrGetDomainPasswordInformation (56), SamrEnumerateUsersInDomain (13),
//! SamrLookupNamesInDomain (17) ([MS-SAMR] 3.1.5.1.5, 3.1.5.5.1, 3.1.5.13.2, 3.1.5.2.5,
//! 3.1.5.11.2; protocol-notes 3).

use super::Call;
use super::server::{HandleResponse, SamrEnumerateDomainsInSamServerResponse, read_status};
use super::types::{DomainInfo, UlongArray, UserDomainPasswordInformation};
use crate::ndr::{ContextHandle, NdrReader, NdrWriter, RpcSid, RpcUnicodeString, Stub, len_u32};
use crate::status::NtStatus;
use crate::wire::DecodeError;

/// SamrOpenDomain, opnum 7 ([MS-SAMR] 3.1.5.1.5).
///
/// ```text
/// NTSTATUS SamrOpenDomain(
///     [in] SAMPR_HANDLE ServerHandle,
///     [in] unsigned long DesiredAccess,
///     [in] PRPC_SID DomainId,
///     [out] SAMPR_HANDLE* DomainHandle);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrOpenDomain {
    /// ServerHandle.
    pub server_handle: ContextHandle,
    /// DesiredAccess (e.g. `DOMAIN_LOOKUP | DOMAIN_READ_PASSWORD_PARAMETERS`).
    pub desired_access: u32,
    /// DomainId (from SamrLookupDomainInSamServer).
    pub domain_id: RpcSid,
}

/// The SamrOpenDomain response: DomainHandle and status.
pub type SamrOpenDomainResponse = HandleResponse;

impl Stub for SamrOpenDomain {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.write(&self.server_handle);
        w.u32(self.desired_access);
        w.write(&self.domain_id);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            server_handle: r.read()?,
            desired_access: r.u32("DesiredAccess")?,
            domain_id: r.read()?,
        })
    }
}

impl Call for SamrOpenDomain {
    const OPNUM: u16 = 7;
    const NAME: &'static str = "SamrOpenDomain";
    type Response = HandleResponse;
}

/// SamrQueryInformationDomain2, opnum 46 ([MS-SAMR] 3.1.5.5.1). Levels 1
/// (DomainPasswordInformation) and 12 (DomainLockoutInformation) are decoded; another level in
/// the response is a typed decode error ("unsupported DOMAIN_INFORMATION_CLASS").
///
/// ```text
/// NTSTATUS SamrQueryInformationDomain2(
///     [in] SAMPR_HANDLE DomainHandle,
///     [in] DOMAIN_INFORMATION_CLASS DomainInformationClass,          // enum: u16
///     [out, switch_is(DomainInformationClass)] PSAMPR_DOMAIN_INFO_BUFFER* Buffer);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrQueryInformationDomain2 {
    /// DomainHandle (needs DOMAIN_READ_PASSWORD_PARAMETERS for levels 1 and 12).
    pub domain_handle: ContextHandle,
    /// DomainInformationClass (`consts::DOMAIN_PASSWORD_INFORMATION` or
    /// `consts::DOMAIN_LOCKOUT_INFORMATION`).
    pub level: u16,
}

impl Stub for SamrQueryInformationDomain2 {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.write(&self.domain_handle);
        w.u16(self.level);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { domain_handle: r.read()?, level: r.u16("DomainInformationClass")? })
    }
}

/// The SamrQueryInformationDomain2 response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrQueryInformationDomain2Response {
    /// Buffer (`None` on error).
    pub info: Option<DomainInfo>,
    /// The return value.
    pub status: NtStatus,
}

impl Stub for SamrQueryInformationDomain2Response {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.referent(self.info.is_some());
        if let Some(info) = &self.info {
            info.write_union(w);
        }
        w.u32(self.status.0);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        let info = if r.referent("Buffer")? { Some(DomainInfo::read_union(r)?) } else { None };
        Ok(Self { info, status: read_status(r)? })
    }
}

impl Call for SamrQueryInformationDomain2 {
    const OPNUM: u16 = 46;
    const NAME: &'static str = "SamrQueryInformationDomain2";
    type Response = SamrQueryInformationDomain2Response;
}

/// SamrGetDomainPasswordInformation, opnum 56 ([MS-SAMR] 3.1.5.13.2): the password policy
/// without any handle (works anonymously on most servers).
///
/// ```text
/// NTSTATUS SamrGetDomainPasswordInformation(
///     [in] handle_t BindingHandle,
///     [in, unique] PRPC_UNICODE_STRING Unused,
///     [out] PUSER_DOMAIN_PASSWORD_INFORMATION PasswordInformation);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SamrGetDomainPasswordInformation {
    /// Unused: send `None` (NULL).
    pub unused: Option<RpcUnicodeString>,
}

impl Stub for SamrGetDomainPasswordInformation {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.unique(self.unused.as_ref());
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { unused: r.unique("Unused")? })
    }
}

/// The response of SamrGetDomainPasswordInformation (56) and
/// SamrGetUserDomainPasswordInformation (44).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrGetDomainPasswordInformationResponse {
    /// PasswordInformation.
    pub info: UserDomainPasswordInformation,
    /// The return value.
    pub status: NtStatus,
}

impl Stub for SamrGetDomainPasswordInformationResponse {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.write(&self.info);
        w.u32(self.status.0);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { info: r.read()?, status: read_status(r)? })
    }
}

impl Call for SamrGetDomainPasswordInformation {
    const OPNUM: u16 = 56;
    const NAME: &'static str = "SamrGetDomainPasswordInformation";
    type Response = SamrGetDomainPasswordInformationResponse;
}

/// SamrEnumerateUsersInDomain, opnum 13 ([MS-SAMR] 3.1.5.2.5). Resume with the returned
/// `enumeration_context` while the status is STATUS_MORE_ENTRIES.
///
/// ```text
/// NTSTATUS SamrEnumerateUsersInDomain(
///     [in] SAMPR_HANDLE DomainHandle,
///     [in, out] unsigned long* EnumerationContext,
///     [in] unsigned long UserAccountControl,
///     [out] PSAMPR_ENUMERATION_BUFFER* Buffer,
///     [in] unsigned long PreferedMaximumLength,
///     [out] unsigned long* CountReturned);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrEnumerateUsersInDomain {
    /// DomainHandle (needs DOMAIN_LIST_ACCOUNTS).
    pub domain_handle: ContextHandle,
    /// EnumerationContext: 0 first, then the value returned.
    pub enumeration_context: u32,
    /// UserAccountControl filter (0 = all; e.g. `consts::USER_NORMAL_ACCOUNT`).
    pub user_account_control: u32,
    /// PreferedMaximumLength in bytes.
    pub prefered_maximum_length: u32,
}

/// The SamrEnumerateUsersInDomain response (the same shape as opnum 6's).
pub type SamrEnumerateUsersInDomainResponse = SamrEnumerateDomainsInSamServerResponse;

impl Stub for SamrEnumerateUsersInDomain {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.write(&self.domain_handle);
        w.u32(self.enumeration_context);
        w.u32(self.user_account_control);
        w.u32(self.prefered_maximum_length);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            domain_handle: r.read()?,
            enumeration_context: r.u32("EnumerationContext")?,
            user_account_control: r.u32("UserAccountControl")?,
            prefered_maximum_length: r.u32("PreferedMaximumLength")?,
        })
    }
}

impl Call for SamrEnumerateUsersInDomain {
    const OPNUM: u16 = 13;
    const NAME: &'static str = "SamrEnumerateUsersInDomain";
    type Response = SamrEnumerateDomainsInSamServerResponse;
}

/// The most names SamrLookupNamesInDomain takes (`size_is(1000)`).
pub const MAX_LOOKUP_NAMES: usize = 1000;

/// SamrLookupNamesInDomain, opnum 17 ([MS-SAMR] 3.1.5.11.2): account names → RIDs.
///
/// ```text
/// NTSTATUS SamrLookupNamesInDomain(
///     [in] SAMPR_HANDLE DomainHandle,
///     [in, range(0,1000)] unsigned long Count,
///     [in, size_is(1000), length_is(Count)] RPC_UNICODE_STRING Names[*],
///     [out] PSAMPR_ULONG_ARRAY RelativeIds,
///     [out] PSAMPR_ULONG_ARRAY Use);
/// ```
///
/// Names is a conformant varying array with MaxCount fixed at 1000 (notes 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrLookupNamesInDomain {
    /// DomainHandle (needs DOMAIN_LOOKUP).
    pub domain_handle: ContextHandle,
    /// Names (at most [`MAX_LOOKUP_NAMES`]; more are not sent).
    pub names: Vec<RpcUnicodeString>,
}

impl SamrLookupNamesInDomain {
    /// A lookup of `names` (at most [`MAX_LOOKUP_NAMES`]; `None` beyond that or for a name too
    /// long for an RPC_UNICODE_STRING).
    pub fn new(domain_handle: ContextHandle, names: &[&str]) -> Option<Self> {
        if names.len() > MAX_LOOKUP_NAMES {
            return None;
        }
        let names = names.iter().map(|n| RpcUnicodeString::new(n).ok()).collect::<Option<_>>()?;
        Some(Self { domain_handle, names })
    }
}

impl Stub for SamrLookupNamesInDomain {
    fn write_stub(&self, w: &mut NdrWriter) {
        let names = self.names.get(..MAX_LOOKUP_NAMES).unwrap_or(&self.names);
        w.write(&self.domain_handle);
        w.u32(len_u32(names.len()));
        w.varying_header(len_u32(MAX_LOOKUP_NAMES), len_u32(names.len()));
        w.array_body(names);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        const WHAT: &str = "SamrLookupNamesInDomain Names";
        let domain_handle = r.read()?;
        let count = usize::try_from(r.u32("Count")?).map_err(|_| DecodeError::too_large(WHAT))?;
        if count > MAX_LOOKUP_NAMES {
            return Err(DecodeError::too_large(WHAT));
        }
        let max = r.conformance(MAX_LOOKUP_NAMES, WHAT)?;
        if max != MAX_LOOKUP_NAMES {
            return Err(DecodeError::invalid(WHAT));
        }
        let actual = r.variance(max, 8, WHAT)?;
        if actual != count {
            return Err(DecodeError::invalid(WHAT));
        }
        Ok(Self { domain_handle, names: r.array_body(actual, WHAT)? })
    }
}

/// The SamrLookupNamesInDomain response. With STATUS_NONE_MAPPED both arrays are NULL (or
/// hold zeros); with STATUS_SOME_NOT_MAPPED unmapped names have Use = SidTypeUnknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrLookupNamesInDomainResponse {
    /// RelativeIds, one per name.
    pub relative_ids: UlongArray,
    /// Use (`consts::SidNameUse` values), one per name.
    pub uses: UlongArray,
    /// The return value.
    pub status: NtStatus,
}

impl Stub for SamrLookupNamesInDomainResponse {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.write(&self.relative_ids);
        w.write(&self.uses);
        w.u32(self.status.0);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { relative_ids: r.read()?, uses: r.read()?, status: read_status(r)? })
    }
}

impl Call for SamrLookupNamesInDomain {
    const OPNUM: u16 = 17;
    const NAME: &'static str = "SamrLookupNamesInDomain";
    type Response = SamrLookupNamesInDomainResponse;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samr::consts::{
        DOMAIN_LOCKOUT_INFORMATION, DOMAIN_PASSWORD_COMPLEX, DOMAIN_PASSWORD_INFORMATION,
        SidNameUse,
    };
    use crate::samr::test_util::{roundtrip, vector};
    use crate::samr::{DomainLockoutInformation, DomainPasswordInformation};

    const DOMAIN_HANDLE: &str = "01000000 60f0162b 52194a47 9e888be8 93e6bf36";

    fn dh() -> ContextHandle {
        let b = hex::decode(DOMAIN_HANDLE.replace(' ', "")).unwrap();
        ContextHandle(b.try_into().unwrap())
    }

    #[test]
    fn open_domain_samba_capture() {
        // samba source4/torture/ndr/samr.c samr_opendomain_in_data / _out_data (notes 7.8):
        // handle | access 0x200 | RPC_SID (MaxCount 4, 1, 4, NT authority, 21-…).
        let b = vector(include_str!("../../tests/vectors/samba/samr_opendomain_in_data.hex"));
        let req: SamrOpenDomain = roundtrip(&b);
        assert_eq!(req.desired_access, crate::samr::access::DOMAIN_LOOKUP);
        assert_eq!(req.domain_id.to_string(), "S-1-5-21-73289978-35886354-64005093");
        assert_eq!(req.encode(), b);
        let b = vector(include_str!("../../tests/vectors/samba/samr_opendomain_out_data.hex"));
        let resp: HandleResponse = roundtrip(&b);
        assert_eq!(resp.handle, dh());
        assert_eq!(SamrOpenDomain::decode_response(&b).unwrap().status, NtStatus::STATUS_SUCCESS);
    }

    #[test]
    fn lookup_names_samba_capture() {
        // samr_lookupnamesindomain_in_data: handle | Count 1 | MaxCount 1000, Offset 0, Actual 1
        // | Length 0x12 MaximumLength 0x14 referent 0x00156f60 | MaxCount 10, Offset 0,
        // Actual 9 | "XPPROSP2$" (a Windows XP client, MaximumLength = Length + 2).
        let b =
            vector(include_str!("../../tests/vectors/samba/samr_lookupnamesindomain_in_data.hex"));
        let req = SamrLookupNamesInDomain::from_stub(&b).unwrap();
        assert_eq!(req.domain_handle, dh());
        assert_eq!(req.names.len(), 1);
        assert_eq!(req.names[0].to_string(), "XPPROSP2$");
        assert_eq!(req.names[0].maximum_length(), 0x14);
        let mut expect = b.clone();
        expect[40..44].copy_from_slice(&0x0002_0000u32.to_le_bytes());
        assert_eq!(hex::encode(req.encode()), hex::encode(&expect));
        roundtrip::<SamrLookupNamesInDomain>(&expect);

        // samr_lookupnamesindomain_out_data: RelativeIds {1, ptr, [1003]}, Use {1, ptr, [1]}.
        let b =
            vector(include_str!("../../tests/vectors/samba/samr_lookupnamesindomain_out_data.hex"));
        let resp = SamrLookupNamesInDomain::decode_response(&b).unwrap();
        assert_eq!(resp.relative_ids.as_slice(), &[1003]);
        assert_eq!(resp.uses.as_slice(), &[SidNameUse::USER.0]);
        assert_eq!(resp.status, NtStatus::STATUS_SUCCESS);
        let mut expect = b.clone();
        expect[4..8].copy_from_slice(&0x0002_0000u32.to_le_bytes());
        expect[20..24].copy_from_slice(&0x0002_0004u32.to_le_bytes());
        roundtrip::<SamrLookupNamesInDomainResponse>(&expect);
    }

    #[test]
    fn lookup_names_none_mapped_with_null_arrays() {
        // What servers send for STATUS_NONE_MAPPED: Count 0 + NULL, twice, then the status.
        let b = hex::decode(["00000000", "00000000", "00000000", "00000000", "730000c0"].concat())
            .unwrap();
        let resp: SamrLookupNamesInDomainResponse = roundtrip(&b);
        assert_eq!(resp.status, NtStatus::STATUS_NONE_MAPPED);
        assert!(resp.relative_ids.as_slice().is_empty());
    }

    #[test]
    fn lookup_names_rejects_bad_counts() {
        let req = SamrLookupNamesInDomain {
            domain_handle: dh(),
            names: vec![RpcUnicodeString::new("a").unwrap()],
        };
        let b = req.encode();
        // MaxCount other than 1000.
        let mut bad = b.clone();
        bad[24] = 0xe7;
        assert!(SamrLookupNamesInDomain::from_stub(&bad).is_err());
        // ActualCount ≠ Count.
        let mut bad = b.clone();
        bad[20] = 2;
        assert!(SamrLookupNamesInDomain::from_stub(&bad).is_err());
        // Response: MaxCount ≠ Count.
        let b = hex::decode(
            [
                "01000000", "00000200", "02000000", "eb030000", "eb030000", "00000000", "00000000",
                "00000000",
            ]
            .concat(),
        )
        .unwrap();
        assert!(SamrLookupNamesInDomainResponse::from_stub(&b).is_err());
    }

    #[test]
    fn query_domain_level_1() {
        // Layout from notes 3 (level 1 is 4-aligned; the arm starts at 8 after referent and
        // discriminant). The ages are those of samba's changepassworduser3_w2k8r2_out capture
        // (MaxPasswordAge 0xffffdeff0aa68000 = -42 days).
        let b = hex::decode(
            [
                "00000200", "0100", "0000", // referent, level 1, pad to 8
                "0700", "1800", "01000000", // min 7, history 24, COMPLEX
                "0080a60a", "ffdeffff", // MaxPasswordAge
                "004096d5", "36ffffff", // MinPasswordAge (-1 day)
                "00000000",
            ]
            .concat(),
        )
        .unwrap();
        let resp: SamrQueryInformationDomain2Response = roundtrip(&b);
        let Some(DomainInfo::Password(p)) = resp.info else { panic!("level") };
        assert_eq!(
            p,
            DomainPasswordInformation {
                min_password_length: 7,
                password_history_length: 24,
                password_properties: DOMAIN_PASSWORD_COMPLEX,
                max_password_age: 0xffff_deff_0aa6_8000u64 as i64,
                min_password_age: -864_000_000_000,
            }
        );
        assert_eq!(p.max_password_age, -42 * 24 * 3600 * 10_000_000);
        let req =
            SamrQueryInformationDomain2 { domain_handle: dh(), level: DOMAIN_PASSWORD_INFORMATION };
        let rb = req.encode();
        assert_eq!(rb.len(), 22);
        roundtrip::<SamrQueryInformationDomain2>(&rb);
    }

    #[test]
    fn query_domain_level_12_and_unknown_level() {
        let resp = SamrQueryInformationDomain2Response {
            info: Some(DomainInfo::Lockout(DomainLockoutInformation {
                lockout_duration: -18_000_000_000,
                lockout_observation_window: -18_000_000_000,
                lockout_threshold: 5,
            })),
            status: NtStatus::STATUS_SUCCESS,
        };
        let b = resp.to_stub();
        assert_eq!(
            hex::encode(&b),
            [
                "00000200",
                "0c00",
                "0000", // referent, level 12, pad to 8
                "00cc1dcffbffffff",
                "00cc1dcffbffffff",
                "0500", // hypers, threshold
                "0000",
                "00000000", // pad, status
            ]
            .concat()
        );
        assert_eq!(roundtrip::<SamrQueryInformationDomain2Response>(&b), resp);
        let mut bad = b.clone();
        bad[4] = 2;
        assert_eq!(
            SamrQueryInformationDomain2Response::from_stub(&bad).unwrap_err(),
            DecodeError::invalid("unsupported DOMAIN_INFORMATION_CLASS")
        );
        assert_eq!(
            DomainInfo::Lockout(DomainLockoutInformation::default()).level(),
            DOMAIN_LOCKOUT_INFORMATION
        );
        // Error: NULL buffer.
        let e: SamrQueryInformationDomain2Response =
            roundtrip(&hex::decode("00000000220000c0").unwrap());
        assert_eq!(e.info, None);
        assert_eq!(e.status, NtStatus::STATUS_ACCESS_DENIED);
    }

    #[test]
    fn get_domain_password_information() {
        let req = SamrGetDomainPasswordInformation::default();
        assert_eq!(hex::encode(req.encode()), "00000000");
        roundtrip::<SamrGetDomainPasswordInformation>(&req.encode());
        // Same layout as samba's samr_getuserpwinfo_out_data: min 7, pad, properties 0, status.
        let b = vector(include_str!("../../tests/vectors/samba/samr_getuserpwinfo_out_data.hex"));
        let resp = SamrGetDomainPasswordInformation::decode_response(&b).unwrap();
        assert_eq!(resp.info.min_password_length, 7);
        roundtrip::<SamrGetDomainPasswordInformationResponse>(&b);
    }

    #[test]
    fn enumerate_users_request_and_more_entries() {
        let req = SamrEnumerateUsersInDomain {
            domain_handle: dh(),
            enumeration_context: 0,
            user_account_control: 0x10,
            prefered_maximum_length: 0xffff,
        };
        let b = req.encode();
        assert_eq!(hex::encode(&b[20..]), "0000000010000000ffff0000");
        roundtrip::<SamrEnumerateUsersInDomain>(&b);
        let resp = SamrEnumerateUsersInDomain::decode_response(
            &hex::decode(["05000000", "00000000", "00000000", "05010000"].concat()).unwrap(),
        )
        .unwrap();
        assert_eq!(resp.status, NtStatus::STATUS_MORE_ENTRIES);
        assert_eq!(resp.enumeration_context, 5);
        assert!(resp.buffer.is_none());
    }
}
