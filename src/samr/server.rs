//! Server-handle calls: SamrConnect5 (64), SamrConnect2 (57), SamrCloseHandle (1),
//! SamrLookupDomainInSamServer (5), SamrEnumerateDomainsInSamServer (6) ([MS-SAMR] 3.1.5.1,
//! 3.1.5.2, 3.1.5.13; protocol-notes 3).

use super::Call;
use super::types::EnumerationBuffer;
use crate::ndr::{
    ContextHandle, NdrReader, NdrWriter, RpcSid, RpcUnicodeString, StringTooLong, Stub, WString,
};
use crate::status::NtStatus;
use crate::wire::DecodeError;

/// The only SAMPR_REVISION_INFO version (InVersion / OutVersion = 1).
pub const SAMPR_REVISION_INFO_V1: u32 = 1;
/// SupportedFeatures bit: the server wants AES password methods (opnum 73, levels 31/32)
/// ([MS-SAMR] 2.2.7.15; notes 1.8). Samba answers 0 yet supports them.
pub const SUPPORTED_FEATURES_AES: u32 = 0x0000_0010;

pub(crate) fn read_status(r: &mut NdrReader<'_>) -> Result<NtStatus, DecodeError> {
    Ok(NtStatus(r.u32("NTSTATUS")?))
}

/// A response made of a context handle and the NTSTATUS (SamrConnect2, SamrOpenDomain,
/// SamrOpenUser, SamrCloseHandle). On error the handle is all zeros.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandleResponse {
    /// The returned handle (zeroed after SamrCloseHandle or on error).
    pub handle: ContextHandle,
    /// The return value.
    pub status: NtStatus,
}

impl Stub for HandleResponse {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.write(&self.handle);
        w.u32(self.status.0);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { handle: r.read()?, status: read_status(r)? })
    }
}

/// `SAMPR_REVISION_INFO_V1` ([MS-SAMR] 2.2.7.15): `{ unsigned long Revision; unsigned long
/// SupportedFeatures; }`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RevisionInfoV1 {
    /// Revision (3).
    pub revision: u32,
    /// SupportedFeatures bits ([`SUPPORTED_FEATURES_AES`]).
    pub supported_features: u32,
}

impl RevisionInfoV1 {
    /// What clients send: Revision 3, no features.
    pub const CLIENT: Self = Self { revision: 3, supported_features: 0 };

    /// `[switch_type(unsigned long)] union { [case(1)] SAMPR_REVISION_INFO_V1 V1; }`: the u32
    /// discriminant, then the arm. Other versions are a typed decode error.
    fn write_union(&self, w: &mut NdrWriter) {
        w.u32(SAMPR_REVISION_INFO_V1);
        w.u32(self.revision);
        w.u32(self.supported_features);
    }
    fn read_union(r: &mut NdrReader<'_>, version: u32) -> Result<Self, DecodeError> {
        const WHAT: &str = "SAMPR_REVISION_INFO";
        let disc = r.u32(WHAT)?;
        if disc != version || disc != SAMPR_REVISION_INFO_V1 {
            return Err(DecodeError::invalid("unsupported SAMPR_REVISION_INFO version"));
        }
        Ok(Self { revision: r.u32(WHAT)?, supported_features: r.u32(WHAT)? })
    }
}

/// SamrConnect5, opnum 64 ([MS-SAMR] 3.1.5.1.1): open a server handle and exchange revision
/// information (the AES capability bit, notes 1.8).
///
/// ```text
/// NTSTATUS SamrConnect5(
///     [in, unique, string] PSAMPR_SERVER_NAME ServerName,
///     [in] unsigned long DesiredAccess,
///     [in] unsigned long InVersion,                                  // 1
///     [in, switch_is(InVersion)] SAMPR_REVISION_INFO* InRevisionInfo,
///     [out] unsigned long* OutVersion,
///     [out, switch_is(*OutVersion)] SAMPR_REVISION_INFO* OutRevisionInfo,
///     [out] SAMPR_HANDLE* ServerHandle);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrConnect5 {
    /// ServerName (`\\host`; the server may ignore it). `None` sends NULL.
    pub server_name: Option<WString>,
    /// DesiredAccess (e.g. `SAM_SERVER_CONNECT | SAM_SERVER_LOOKUP_DOMAIN`).
    pub desired_access: u32,
    /// InRevisionInfo (normally [`RevisionInfoV1::CLIENT`]).
    pub revision: RevisionInfoV1,
}

impl SamrConnect5 {
    /// A request for `server` (e.g. `\\dc1`; empty sends NULL) with Revision 3.
    pub fn new(server: &str, desired_access: u32) -> Result<Self, StringTooLong> {
        let server_name = if server.is_empty() { None } else { Some(WString::new(server)?) };
        Ok(Self { server_name, desired_access, revision: RevisionInfoV1::CLIENT })
    }
}

impl Stub for SamrConnect5 {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.unique(self.server_name.as_ref());
        w.u32(self.desired_access);
        w.u32(SAMPR_REVISION_INFO_V1);
        self.revision.write_union(w);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        let server_name = r.unique("ServerName")?;
        let desired_access = r.u32("DesiredAccess")?;
        let version = r.u32("InVersion")?;
        let revision = RevisionInfoV1::read_union(r, version)?;
        Ok(Self { server_name, desired_access, revision })
    }
}

/// The SamrConnect5 response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrConnect5Response {
    /// OutRevisionInfo (OutVersion is always 1).
    pub revision: RevisionInfoV1,
    /// ServerHandle.
    pub handle: ContextHandle,
    /// The return value.
    pub status: NtStatus,
}

impl Stub for SamrConnect5Response {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.u32(SAMPR_REVISION_INFO_V1);
        self.revision.write_union(w);
        w.write(&self.handle);
        w.u32(self.status.0);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        let version = r.u32("OutVersion")?;
        let revision = RevisionInfoV1::read_union(r, version)?;
        Ok(Self { revision, handle: r.read()?, status: read_status(r)? })
    }
}

impl Call for SamrConnect5 {
    const OPNUM: u16 = 64;
    const NAME: &'static str = "SamrConnect5";
    type Response = SamrConnect5Response;
}

/// SamrConnect2, opnum 57 ([MS-SAMR] 3.1.5.1.3): open a server handle (older servers).
///
/// ```text
/// NTSTATUS SamrConnect2(
///     [in, unique, string] PSAMPR_SERVER_NAME ServerName,
///     [out] SAMPR_HANDLE* ServerHandle,
///     [in] unsigned long DesiredAccess);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrConnect2 {
    /// ServerName; `None` sends NULL.
    pub server_name: Option<WString>,
    /// DesiredAccess.
    pub desired_access: u32,
}

impl Stub for SamrConnect2 {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.unique(self.server_name.as_ref());
        w.u32(self.desired_access);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { server_name: r.unique("ServerName")?, desired_access: r.u32("DesiredAccess")? })
    }
}

/// The SamrConnect2 response: ServerHandle and status.
pub type SamrConnect2Response = HandleResponse;

impl Call for SamrConnect2 {
    const OPNUM: u16 = 57;
    const NAME: &'static str = "SamrConnect2";
    type Response = HandleResponse;
}

/// SamrCloseHandle, opnum 1 ([MS-SAMR] 3.1.5.13.1): close any SAMR handle.
///
/// ```text
/// NTSTATUS SamrCloseHandle([in, out] SAMPR_HANDLE* SamHandle);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrCloseHandle {
    /// The handle to close.
    pub handle: ContextHandle,
}

/// The SamrCloseHandle response: the zeroed handle and the status.
pub type SamrCloseHandleResponse = HandleResponse;

impl Stub for SamrCloseHandle {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.write(&self.handle);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { handle: r.read()? })
    }
}

impl Call for SamrCloseHandle {
    const OPNUM: u16 = 1;
    const NAME: &'static str = "SamrCloseHandle";
    type Response = HandleResponse;
}

/// SamrLookupDomainInSamServer, opnum 5 ([MS-SAMR] 3.1.5.11.1): a domain name → its SID.
///
/// ```text
/// NTSTATUS SamrLookupDomainInSamServer(
///     [in] SAMPR_HANDLE ServerHandle,
///     [in] PRPC_UNICODE_STRING Name,
///     [out] PRPC_SID* DomainId);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrLookupDomainInSamServer {
    /// ServerHandle (needs SAM_SERVER_LOOKUP_DOMAIN).
    pub server_handle: ContextHandle,
    /// The domain's NetBIOS name (or `Builtin`).
    pub name: RpcUnicodeString,
}

impl Stub for SamrLookupDomainInSamServer {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.write(&self.server_handle);
        w.write(&self.name);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { server_handle: r.read()?, name: r.read()? })
    }
}

/// The SamrLookupDomainInSamServer response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrLookupDomainInSamServerResponse {
    /// DomainId (`None` on error).
    pub domain_id: Option<RpcSid>,
    /// The return value (STATUS_NO_SUCH_DOMAIN if unknown).
    pub status: NtStatus,
}

impl Stub for SamrLookupDomainInSamServerResponse {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.unique(self.domain_id.as_ref());
        w.u32(self.status.0);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { domain_id: r.unique("DomainId")?, status: read_status(r)? })
    }
}

impl Call for SamrLookupDomainInSamServer {
    const OPNUM: u16 = 5;
    const NAME: &'static str = "SamrLookupDomainInSamServer";
    type Response = SamrLookupDomainInSamServerResponse;
}

/// SamrEnumerateDomainsInSamServer, opnum 6 ([MS-SAMR] 3.1.5.2.1): list the server's domains
/// (usually the account domain and `Builtin`).
///
/// ```text
/// NTSTATUS SamrEnumerateDomainsInSamServer(
///     [in] SAMPR_HANDLE ServerHandle,
///     [in, out] unsigned long* EnumerationContext,
///     [out] PSAMPR_ENUMERATION_BUFFER* Buffer,
///     [in] unsigned long PreferedMaximumLength,
///     [out] unsigned long* CountReturned);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrEnumerateDomainsInSamServer {
    /// ServerHandle (needs SAM_SERVER_ENUMERATE_DOMAINS).
    pub server_handle: ContextHandle,
    /// EnumerationContext: 0 first, then the value returned.
    pub enumeration_context: u32,
    /// PreferedMaximumLength in bytes.
    pub prefered_maximum_length: u32,
}

impl Stub for SamrEnumerateDomainsInSamServer {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.write(&self.server_handle);
        w.u32(self.enumeration_context);
        w.u32(self.prefered_maximum_length);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            server_handle: r.read()?,
            enumeration_context: r.u32("EnumerationContext")?,
            prefered_maximum_length: r.u32("PreferedMaximumLength")?,
        })
    }
}

/// The response of an enumeration (opnums 6 and 13). STATUS_MORE_ENTRIES means call again
/// with `enumeration_context`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrEnumerateDomainsInSamServerResponse {
    /// EnumerationContext to resume from.
    pub enumeration_context: u32,
    /// Buffer (`None` for NULL).
    pub buffer: Option<EnumerationBuffer>,
    /// CountReturned.
    pub count_returned: u32,
    /// The return value (STATUS_SUCCESS or STATUS_MORE_ENTRIES).
    pub status: NtStatus,
}

impl Stub for SamrEnumerateDomainsInSamServerResponse {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.u32(self.enumeration_context);
        w.unique(self.buffer.as_ref());
        w.u32(self.count_returned);
        w.u32(self.status.0);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            enumeration_context: r.u32("EnumerationContext")?,
            buffer: r.unique("Buffer")?,
            count_returned: r.u32("CountReturned")?,
            status: read_status(r)?,
        })
    }
}

impl Call for SamrEnumerateDomainsInSamServer {
    const OPNUM: u16 = 6;
    const NAME: &'static str = "SamrEnumerateDomainsInSamServer";
    type Response = SamrEnumerateDomainsInSamServerResponse;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndr::RpcSid;
    use crate::samr::access::{SAM_SERVER_CONNECT, SAM_SERVER_LOOKUP_DOMAIN};
    use crate::samr::test_util::{roundtrip, vector};

    const HANDLE: [u8; 20] = [
        0x00, 0x00, 0x00, 0x00, 0xc9, 0xe9, 0xb9, 0x40, 0x50, 0x94, 0xa5, 0x4d, 0xb1, 0x9b, 0x3a,
        0x32, 0xd0, 0xd4, 0x45, 0x0b,
    ];

    #[test]
    fn connect5_request_samba_capture() {
        // samba source4/torture/ndr/samr.c samr_connect5_in_data (notes 7.8): ServerName
        // referent 0x000e71a8 | MaxCount 26, Offset 0, Actual 26 | "\\amy.samba4.abartlet.net\0"
        // | access 0x21 | InVersion 1 | discriminant 1 | Revision 3 | SupportedFeatures 0.
        let b = vector(include_str!("../../tests/vectors/samba/samr_connect5_in_data.hex"));
        let req = SamrConnect5::from_stub(&b).unwrap();
        assert_eq!(req.server_name.as_ref().unwrap().to_string(), "\\\\amy.samba4.abartlet.net");
        assert_eq!(req.desired_access, SAM_SERVER_CONNECT | SAM_SERVER_LOOKUP_DOMAIN);
        assert_eq!(req.revision, RevisionInfoV1::CLIENT);
        // Our referent ids start at 0x00020000; everything else is identical.
        let mut expect = b.clone();
        expect[..4].copy_from_slice(&0x0002_0000u32.to_le_bytes());
        assert_eq!(hex::encode(req.encode()), hex::encode(&expect));
        roundtrip::<SamrConnect5>(&expect);
    }

    #[test]
    fn connect5_response_samba_capture() {
        // samr_connect5_out_data: OutVersion 1 | disc 1 | Revision 3 | Features 0 | handle | status.
        let b = vector(include_str!("../../tests/vectors/samba/samr_connect5_out_data.hex"));
        let resp: SamrConnect5Response = roundtrip(&b);
        assert_eq!(resp.revision, RevisionInfoV1 { revision: 3, supported_features: 0 });
        assert_eq!(resp.handle, ContextHandle(HANDLE));
        assert_eq!(resp.status, NtStatus::STATUS_SUCCESS);
        assert_eq!(SamrConnect5::decode_response(&b).unwrap(), resp);
    }

    #[test]
    fn connect5_unknown_revision_is_typed_error() {
        let mut b = vector(include_str!("../../tests/vectors/samba/samr_connect5_out_data.hex"));
        b[0] = 2;
        b[4] = 2;
        let e = SamrConnect5Response::from_stub(&b).unwrap_err();
        assert_eq!(e, DecodeError::invalid("unsupported SAMPR_REVISION_INFO version"));
    }

    #[test]
    fn connect2_request_layout() {
        let req = SamrConnect2 {
            server_name: Some(WString::new("\\\\h").unwrap()),
            desired_access: 0x21,
        };
        let b = req.encode();
        assert_eq!(
            hex::encode(&b),
            [
                "00000200", // ServerName referent
                "04000000",
                "00000000",
                "04000000",
                "5c005c0068000000", // "\\h\0"
                "21000000",         // DesiredAccess
            ]
            .concat()
        );
        roundtrip::<SamrConnect2>(&b);
        let null = SamrConnect2 { server_name: None, desired_access: 0x21 };
        assert_eq!(hex::encode(null.encode()), "0000000021000000");
    }

    #[test]
    fn close_handle_samba_capture() {
        let b = vector(include_str!("../../tests/vectors/samba/samr_closehandle_in_data.hex"));
        let req: SamrCloseHandle = roundtrip(&b);
        assert_eq!(req.encode(), b);
        let b = vector(include_str!("../../tests/vectors/samba/samr_closehandle_out_data.hex"));
        let resp: HandleResponse = roundtrip(&b);
        assert!(resp.handle.is_null());
        assert_eq!(resp.status, NtStatus::STATUS_SUCCESS);
    }

    #[test]
    fn lookup_domain_roundtrip() {
        let req = SamrLookupDomainInSamServer {
            server_handle: ContextHandle(HANDLE),
            name: RpcUnicodeString::new("SAMBA").unwrap(),
        };
        let b = req.encode();
        assert_eq!(
            hex::encode(&b[20..]),
            ["0a000a00", "00000200", "05000000", "00000000", "05000000", "530041004d0042004100"]
                .concat()
        );
        roundtrip::<SamrLookupDomainInSamServer>(&b);
        let sid = RpcSid::parse("S-1-5-21-1-2-3").unwrap();
        let resp = SamrLookupDomainInSamServerResponse {
            domain_id: Some(sid),
            status: NtStatus::STATUS_SUCCESS,
        };
        let b = resp.to_stub();
        assert_eq!(
            hex::encode(&b),
            [
                "00000200",
                "04000000",
                "01",
                "04",
                "000000000005",
                "15000000",
                "01000000",
                "02000000",
                "03000000",
                "00000000",
            ]
            .concat()
        );
        assert_eq!(roundtrip::<SamrLookupDomainInSamServerResponse>(&b), resp);
        // Error: NULL DomainId.
        let e =
            SamrLookupDomainInSamServer::decode_response(&hex::decode("00000000df0000c0").unwrap())
                .unwrap();
        assert_eq!(e.domain_id, None);
        assert_eq!(e.status, NtStatus::STATUS_NO_SUCH_DOMAIN);
    }

    #[test]
    fn enumerate_domains_roundtrip() {
        use crate::samr::{EnumerationBuffer, RidEnumeration};
        let resp = SamrEnumerateDomainsInSamServerResponse {
            enumeration_context: 2,
            buffer: Some(EnumerationBuffer::new(vec![
                RidEnumeration { relative_id: 0, name: RpcUnicodeString::new("SAMBA").unwrap() },
                RidEnumeration { relative_id: 0, name: RpcUnicodeString::new("Builtin").unwrap() },
            ])),
            count_returned: 2,
            status: NtStatus::STATUS_SUCCESS,
        };
        let b = resp.to_stub();
        assert_eq!(
            hex::encode(&b),
            [
                "02000000", // EnumerationContext
                "00000200", // Buffer referent
                "02000000",
                "04000200", // EntriesRead, Buffer referent
                "02000000", // MaxCount
                "00000000",
                "0a000a00",
                "08000200", // [0] rid, name scalars
                "00000000",
                "0e000e00",
                "0c000200", // [1]
                "05000000",
                "00000000",
                "05000000",
                "530041004d0042004100",
                "0000", // "SAMBA" + pad
                "07000000",
                "00000000",
                "07000000",
                "4200750069006c00740069006e00",
                "0000",
                "02000000", // CountReturned
                "00000000", // status
            ]
            .concat()
        );
        assert_eq!(roundtrip::<SamrEnumerateDomainsInSamServerResponse>(&b), resp);
        let req = SamrEnumerateDomainsInSamServer {
            server_handle: ContextHandle(HANDLE),
            enumeration_context: 0,
            prefered_maximum_length: 0xffff_ffff,
        };
        roundtrip::<SamrEnumerateDomainsInSamServer>(&req.encode());
    }
}
