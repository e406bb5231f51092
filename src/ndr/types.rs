//! The NDR base types SAMR is built from: RPC_UNICODE_STRING, `[string] wchar_t*`, RPC_SID,
//! context handles and OLD_LARGE_INTEGER ([MS-DTYP] 2.3.10, 2.4.2.3, 2.3.5; [MS-RPCE] 2.2.4).

use core::fmt;

use super::{MAX_STRING_UNITS, Ndr, NdrReader, NdrWriter, len_u32};
use crate::wire::DecodeError;

/// A string was too long for its 16-bit byte-length field (more than 32,767 UTF-16 units).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct StringTooLong;

impl fmt::Display for StringTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("string too long for an RPC_UNICODE_STRING")
    }
}

impl std::error::Error for StringTooLong {}

/// `RPC_UNICODE_STRING` ([MS-DTYP] 2.3.10; protocol-notes 4.6).
///
/// ```text
/// typedef struct _RPC_UNICODE_STRING {
///     unsigned short Length;          // bytes, no NUL
///     unsigned short MaximumLength;   // bytes
///     [size_is(MaximumLength/2), length_is(Length/2)] WCHAR* Buffer;
/// } RPC_UNICODE_STRING;
/// ```
///
/// The byte lengths and the WCHAR counts of the deferred conformant-varying buffer are kept
/// consistent: constructors derive them, and the decoder rejects disagreeing values.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RpcUnicodeString {
    length: u16,
    maximum_length: u16,
    buffer: Option<Vec<u16>>,
}

impl RpcUnicodeString {
    /// `s` as UTF-16 with Length = MaximumLength = its byte length (as Samba sends it).
    pub fn new(s: &str) -> Result<Self, StringTooLong> {
        let units: Vec<u16> = s.encode_utf16().collect();
        Self::from_units(units)
    }
    /// A string from UTF-16 code units (no NUL).
    pub fn from_units(units: Vec<u16>) -> Result<Self, StringTooLong> {
        let bytes = units.len().checked_mul(2).ok_or(StringTooLong)?;
        let length = u16::try_from(bytes).map_err(|_| StringTooLong)?;
        Ok(Self { length, maximum_length: length, buffer: Some(units) })
    }
    /// The NULL string: Length = MaximumLength = 0, NULL Buffer.
    pub const fn null() -> Self {
        Self { length: 0, maximum_length: 0, buffer: None }
    }
    /// Set MaximumLength (in bytes). It is raised to at least Length.
    pub fn with_maximum_length(mut self, maximum_length: u16) -> Self {
        self.maximum_length = maximum_length.max(self.length);
        self
    }
    /// Length in bytes (no NUL).
    pub const fn length(&self) -> u16 {
        self.length
    }
    /// MaximumLength in bytes.
    pub const fn maximum_length(&self) -> u16 {
        self.maximum_length
    }
    /// Whether the Buffer pointer is NULL.
    pub const fn is_null(&self) -> bool {
        self.buffer.is_none()
    }
    /// The UTF-16 code units (empty for a NULL buffer).
    pub fn units(&self) -> &[u16] {
        self.buffer.as_deref().unwrap_or(&[])
    }
    /// The text, with invalid UTF-16 replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf16_lossy(self.units())
    }
}

impl fmt::Display for RpcUnicodeString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl TryFrom<&str> for RpcUnicodeString {
    type Error = StringTooLong;
    fn try_from(s: &str) -> Result<Self, StringTooLong> {
        Self::new(s)
    }
}

impl Ndr for RpcUnicodeString {
    const ALIGN: usize = 4;
    const MIN_WIRE_SIZE: usize = 8;

    fn write_scalars(&self, w: &mut NdrWriter) {
        w.align(4);
        w.u16(self.length);
        w.u16(self.maximum_length);
        w.referent(self.buffer.is_some());
    }
    fn write_deferred(&self, w: &mut NdrWriter) {
        if let Some(units) = &self.buffer {
            w.varying_header(u32::from(self.maximum_length / 2), len_u32(units.len()));
            for &u in units {
                w.u16(u);
            }
        }
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        const WHAT: &str = "RPC_UNICODE_STRING";
        r.align(4, WHAT)?;
        let length = r.u16(WHAT)?;
        let maximum_length = r.u16(WHAT)?;
        if length > maximum_length {
            return Err(DecodeError::invalid(WHAT));
        }
        // A pending buffer: filled by `read_deferred`.
        let buffer = if r.referent(WHAT)? { Some(Vec::new()) } else { None };
        Ok(Self { length, maximum_length, buffer })
    }
    fn read_deferred(&mut self, r: &mut NdrReader<'_>) -> Result<(), DecodeError> {
        const WHAT: &str = "RPC_UNICODE_STRING buffer";
        if self.buffer.is_none() {
            return Ok(());
        }
        let max = r.conformance(MAX_STRING_UNITS, WHAT)?;
        if max != usize::from(self.maximum_length / 2) {
            return Err(DecodeError::invalid(WHAT));
        }
        let actual = r.variance(max, 2, WHAT)?;
        if actual != usize::from(self.length / 2) {
            return Err(DecodeError::invalid(WHAT));
        }
        self.buffer = Some(r.u16_values(actual, WHAT)?);
        Ok(())
    }
}

/// `[string] wchar_t*` pointee, such as `PSAMPR_SERVER_NAME` ([MS-RPCE] 2.2.4.2; notes 3):
/// a conformant varying array whose counts include the terminating NUL.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct WString(Vec<u16>);

impl WString {
    /// `s` as UTF-16 (the NUL is added on the wire). Fails beyond [`MAX_STRING_UNITS`] − 1
    /// code units.
    pub fn new(s: &str) -> Result<Self, StringTooLong> {
        let units: Vec<u16> = s.encode_utf16().collect();
        if units.len() >= MAX_STRING_UNITS {
            return Err(StringTooLong);
        }
        Ok(Self(units))
    }
    /// The UTF-16 code units, without the NUL.
    pub fn units(&self) -> &[u16] {
        &self.0
    }
}

impl fmt::Display for WString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf16_lossy(&self.0))
    }
}

impl Ndr for WString {
    const ALIGN: usize = 4;
    const MIN_WIRE_SIZE: usize = 14;

    fn write_scalars(&self, w: &mut NdrWriter) {
        let n = len_u32(self.0.len().saturating_add(1));
        w.varying_header(n, n);
        for &u in &self.0 {
            w.u16(u);
        }
        w.u16(0);
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        const WHAT: &str = "[string] wchar_t*";
        let max = r.conformance(MAX_STRING_UNITS, WHAT)?;
        let actual = r.variance(max, 2, WHAT)?;
        let mut units = r.u16_values(actual, WHAT)?;
        if units.pop() != Some(0) {
            return Err(DecodeError::invalid(WHAT));
        }
        Ok(Self(units))
    }
}

/// A 20-byte RPC context handle ([MS-RPCE] 2.2.4.11; notes 3): opaque; all zeros is the
/// invalid (closed) handle.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ContextHandle(pub [u8; 20]);

impl ContextHandle {
    /// The all-zero handle.
    pub const NULL: Self = Self([0; 20]);
    /// Whether this is the all-zero (invalid or closed) handle.
    pub fn is_null(&self) -> bool {
        self.0 == [0; 20]
    }
}

impl Ndr for ContextHandle {
    const ALIGN: usize = 4;
    const MIN_WIRE_SIZE: usize = 20;

    fn write_scalars(&self, w: &mut NdrWriter) {
        w.align(4);
        w.bytes(&self.0);
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        r.align(4, "context handle")?;
        Ok(Self(r.array("context handle")?))
    }
}

/// `OLD_LARGE_INTEGER` {LowPart u32, HighPart i32} ([MS-SAMR] 2.2.2.2): a 64-bit value that is
/// only **4**-byte aligned on the wire. Times are FILETIME-style 100 ns units; intervals such
/// as password ages are negative.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct OldLargeInteger(pub i64);

impl Ndr for OldLargeInteger {
    const ALIGN: usize = 4;
    const MIN_WIRE_SIZE: usize = 8;

    fn write_scalars(&self, w: &mut NdrWriter) {
        w.align(4);
        let v = self.0.to_le_bytes();
        w.bytes(&v);
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        r.align(4, "OLD_LARGE_INTEGER")?;
        Ok(Self(i64::from_le_bytes(r.array("OLD_LARGE_INTEGER")?)))
    }
}

/// The largest SubAuthorityCount of a SID ([MS-DTYP] 2.4.2).
pub const SID_MAX_SUB_AUTHORITIES: usize = 15;

/// `RPC_SID` ([MS-DTYP] 2.4.2.3): a conformant structure, so its MaxCount (= the
/// SubAuthorityCount) is hoisted before the fixed part.
///
/// ```text
/// typedef struct _RPC_SID {
///     unsigned char Revision;
///     unsigned char SubAuthorityCount;
///     RPC_SID_IDENTIFIER_AUTHORITY IdentifierAuthority;   // 6 bytes, big-endian value
///     [size_is(SubAuthorityCount)] unsigned long SubAuthority[];
/// } RPC_SID;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RpcSid {
    /// Revision (1).
    pub revision: u8,
    /// IdentifierAuthority (6 bytes, big-endian; 5 = NT authority).
    pub identifier_authority: [u8; 6],
    /// SubAuthority values (at most 15; more are not encoded).
    pub sub_authorities: Vec<u32>,
}

impl RpcSid {
    /// A revision-1 SID from an authority value and sub-authorities (`None` beyond 15 of them
    /// or an authority of 2^48 or more).
    pub fn new(authority: u64, sub_authorities: &[u32]) -> Option<Self> {
        if sub_authorities.len() > SID_MAX_SUB_AUTHORITIES || authority >= 1 << 48 {
            return None;
        }
        let b = authority.to_be_bytes();
        let mut identifier_authority = [0u8; 6];
        identifier_authority.copy_from_slice(&b[2..]);
        Some(Self { revision: 1, identifier_authority, sub_authorities: sub_authorities.to_vec() })
    }
    /// The IdentifierAuthority as a number.
    pub fn authority(&self) -> u64 {
        let mut b = [0u8; 8];
        b[2..].copy_from_slice(&self.identifier_authority);
        u64::from_be_bytes(b)
    }
    /// This SID with `rid` appended (a domain SID → an account SID); `None` if it is full.
    pub fn with_rid(&self, rid: u32) -> Option<Self> {
        if self.sub_authorities.len() >= SID_MAX_SUB_AUTHORITIES {
            return None;
        }
        let mut s = self.clone();
        s.sub_authorities.push(rid);
        Some(s)
    }
    /// The last sub-authority (the RID of an account SID).
    pub fn rid(&self) -> Option<u32> {
        self.sub_authorities.last().copied()
    }
    /// Parse the `S-1-5-21-…` string form (decimal authority, or `0x…` hex).
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.strip_prefix("S-").or_else(|| s.strip_prefix("s-"))?.split('-');
        let revision: u8 = parts.next()?.parse().ok()?;
        let auth_s = parts.next()?;
        let authority = match auth_s.strip_prefix("0x").or_else(|| auth_s.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16).ok()?,
            None => auth_s.parse().ok()?,
        };
        let subs: Option<Vec<u32>> = parts.map(|p| p.parse().ok()).collect();
        let mut sid = Self::new(authority, &subs?)?;
        sid.revision = revision;
        Some(sid)
    }
}

impl fmt::Display for RpcSid {
    /// `S-1-5-21-…` ([MS-DTYP] 2.4.2.1): the authority in decimal below 2^32, else in hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.authority();
        if a < 1 << 32 {
            write!(f, "S-{}-{}", self.revision, a)?;
        } else {
            write!(f, "S-{}-0x{:012X}", self.revision, a)?;
        }
        for s in &self.sub_authorities {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl Ndr for RpcSid {
    const ALIGN: usize = 4;
    const MIN_WIRE_SIZE: usize = 12;

    fn write_scalars(&self, w: &mut NdrWriter) {
        // A SID has at most 15 sub-authorities; extra ones (only possible by building the
        // struct by hand) are not sent, so the two counts always agree.
        let subs =
            self.sub_authorities.get(..SID_MAX_SUB_AUTHORITIES).unwrap_or(&self.sub_authorities);
        w.u32(len_u32(subs.len()));
        w.u8(self.revision);
        w.u8(u8::try_from(subs.len()).unwrap_or(0));
        w.bytes(&self.identifier_authority);
        for &s in subs {
            w.u32(s);
        }
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        const WHAT: &str = "RPC_SID";
        let max = r.conformance(SID_MAX_SUB_AUTHORITIES, WHAT)?;
        let revision = r.u8(WHAT)?;
        let count = usize::from(r.u8(WHAT)?);
        if count != max {
            return Err(DecodeError::invalid(WHAT));
        }
        let identifier_authority = r.array(WHAT)?;
        let sub_authorities = r.u32_values(count, WHAT)?;
        Ok(Self { revision, identifier_authority, sub_authorities })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndr::decode_stub;

    fn enc<T: Ndr>(v: &T) -> Vec<u8> {
        let mut w = NdrWriter::new();
        w.write(v);
        w.into_vec()
    }

    #[test]
    fn unicode_string_layout_and_roundtrip() {
        // Notes 1.3: UserName "alice" as a [ref] parameter.
        let s = RpcUnicodeString::new("alice").unwrap();
        let b = enc(&s);
        assert_eq!(
            hex::encode(&b),
            [
                "0a00",
                "0a00",
                "00000200", // Length, MaximumLength, Buffer referent
                "05000000",
                "00000000",
                "05000000", // MaxCount, Offset, ActualCount
                "61006c00690063006500",
            ]
            .concat()
        );
        assert_eq!(decode_stub(&b, |r| r.read::<RpcUnicodeString>()).unwrap(), s);
        for n in 0..b.len() {
            assert!(decode_stub(&b[..n], |r| r.read::<RpcUnicodeString>()).is_err());
        }
    }

    #[test]
    fn unicode_string_inconsistent_counts_rejected() {
        // Length 10 but ActualCount 4.
        let b = hex::decode("0a000a00000002000500000000000000040000006100610061006100").unwrap();
        assert!(decode_stub(&b, |r| r.read::<RpcUnicodeString>()).is_err());
        // MaxCount disagrees with MaximumLength.
        let b = hex::decode("02000200000002000200000000000000010000006100").unwrap();
        assert!(decode_stub(&b, |r| r.read::<RpcUnicodeString>()).is_err());
        // Length > MaximumLength.
        let b = hex::decode("0400020000000000").unwrap();
        assert!(decode_stub(&b, |r| r.read::<RpcUnicodeString>()).is_err());
        // NULL buffer, empty string.
        let b = hex::decode("0000000000000000").unwrap();
        assert_eq!(
            decode_stub(&b, |r| r.read::<RpcUnicodeString>()).unwrap(),
            RpcUnicodeString::null()
        );
    }

    #[test]
    fn unicode_string_too_long() {
        assert!(RpcUnicodeString::new(&"a".repeat(32_768)).is_err());
        assert!(RpcUnicodeString::new(&"a".repeat(32_767)).is_ok());
    }

    #[test]
    fn wstring_counts_nul() {
        let s = WString::new("\\\\h").unwrap();
        let b = enc(&s);
        assert_eq!(
            hex::encode(&b),
            ["04000000", "00000000", "04000000", "5c005c0068000000"].concat()
        );
        assert_eq!(decode_stub(&b, |r| r.read::<WString>()).unwrap(), s);
        // Missing NUL.
        let b = hex::decode("0100000000000000010000006800").unwrap();
        assert!(decode_stub(&b, |r| r.read::<WString>()).is_err());
    }

    #[test]
    fn sid_layout_display_parse() {
        // Samba samr_opendomain_in_data (source4/torture/ndr/samr.c), DomainId part.
        let b = hex::decode(
            [
                "04000000", // MaxCount (hoisted conformance)
                "01",
                "04",
                "000000000005", // Revision, SubAuthorityCount, authority 5
                "15000000",
                "fa505e04",
                "12952302",
                "e5a3d003",
            ]
            .concat(),
        )
        .unwrap();
        let sid = decode_stub(&b, |r| r.read::<RpcSid>()).unwrap();
        assert_eq!(sid.to_string(), "S-1-5-21-73289978-35886354-64005093");
        assert_eq!(RpcSid::parse(&sid.to_string()).unwrap(), sid);
        assert_eq!(enc(&sid), b);
        for n in 0..b.len() {
            assert!(decode_stub(&b[..n], |r| r.read::<RpcSid>()).is_err());
        }
        // Count mismatch between MaxCount and SubAuthorityCount.
        let mut bad = b.clone();
        bad[5] = 3;
        assert!(decode_stub(&bad, |r| r.read::<RpcSid>()).is_err());
        assert_eq!(sid.with_rid(500).unwrap().rid(), Some(500));
        assert!(RpcSid::parse("S-1-0x1000000000000-1").is_none());
        assert_eq!(RpcSid::parse("S-1-0x100000000-1").unwrap().to_string(), "S-1-0x000100000000-1");
    }

    #[test]
    fn old_large_integer_is_4_aligned() {
        let mut w = NdrWriter::new();
        w.u32(1);
        w.write(&OldLargeInteger(-1));
        assert_eq!(w.len(), 12);
    }

    #[test]
    fn context_handle_null() {
        assert!(ContextHandle::NULL.is_null());
        assert!(!ContextHandle([1; 20]).is_null());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use crate::ndr::decode_stub;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn unicode_string_roundtrips(s in "\\PC{0,40}", extra in 0u16..8) {
            let u = RpcUnicodeString::new(&s).unwrap();
            let u = u.clone().with_maximum_length(u.length().saturating_add(extra * 2));
            let mut w = NdrWriter::new();
            w.u8(1); // misalign the start
            w.write(&u);
            let b = w.into_vec();
            let back = decode_stub(&b, |r| { r.u8("x")?; r.read::<RpcUnicodeString>() }).unwrap();
            prop_assert_eq!(back.to_string_lossy(), s);
            prop_assert_eq!(back, u);
        }

        #[test]
        fn sid_roundtrips(auth in 0u64..(1 << 48), subs in proptest::collection::vec(any::<u32>(), 0..=15)) {
            let sid = RpcSid::new(auth, &subs).unwrap();
            prop_assert_eq!(RpcSid::parse(&sid.to_string()), Some(sid.clone()));
            let mut w = NdrWriter::new();
            w.write(&sid);
            let b = w.into_vec();
            prop_assert_eq!(decode_stub(&b, |r| r.read::<RpcSid>()).unwrap(), sid);
        }
    }
}
