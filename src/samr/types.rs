//! SAMR structures and unions shared by several calls ([MS-SAMR] 2.2; protocol-notes 1.2, 2.2,
//! 2.3, 3). Each impl follows the IDL quoted in its doc comment, member by member.

use crate::crypto::{EncryptedPasswordAes, EncryptedUserPassword, EncryptedUserPasswordNew};
use crate::ndr::{
    MAX_ARRAY_ELEMENTS, Ndr, NdrReader, NdrWriter, OldLargeInteger, RpcUnicodeString, len_u32,
};
use crate::samr::consts::{
    DOMAIN_LOCKOUT_INFORMATION, DOMAIN_PASSWORD_INFORMATION, USER_ALL_INFORMATION,
    USER_CONTROL_INFORMATION, USER_INTERNAL4_INFORMATION, USER_INTERNAL4_INFORMATION_NEW,
    USER_INTERNAL5_INFORMATION, USER_INTERNAL5_INFORMATION_NEW, USER_INTERNAL7_INFORMATION,
    USER_INTERNAL8_INFORMATION,
};
use crate::samr::consts::{
    USER_ACCOUNT_AUTO_LOCKED, USER_ACCOUNT_DISABLED, USER_DONT_EXPIRE_PASSWORD,
    USER_PASSWORD_EXPIRED,
};
use crate::wire::DecodeError;

/// Largest `cbCipher` accepted when decoding a SAMPR_ENCRYPTED_PASSWORD_AES.
pub const MAX_AES_CIPHER: usize = 4096;
/// Largest security descriptor accepted ([MS-SAMR] 2.2.3.11 range(0, 256 * 1024)).
pub const MAX_SECURITY_DESCRIPTOR: usize = 256 * 1024;
/// MaxCount of the SAMPR_LOGON_HOURS array, fixed by `size_is(1260)`.
pub const LOGON_HOURS_MAX: u32 = 1260;

/// `SAMPR_ENCRYPTED_PASSWORD_AES` on the wire ([MS-SAMR] 2.2.6.32; notes 1.2): 8-aligned
/// because of the hyper; the cipher is an embedded unique pointer, deferred.
///
/// ```text
/// typedef struct _SAMPR_ENCRYPTED_PASSWORD_AES {
///     UCHAR AuthData[64];
///     UCHAR Salt[16];
///     ULONG cbCipher;
///     [size_is(cbCipher)] PUCHAR Cipher;
///     ULONGLONG PBKDF2Iterations;
/// } SAMPR_ENCRYPTED_PASSWORD_AES;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WireAes {
    pub(crate) value: EncryptedPasswordAes,
    /// While decoding: `Some(cbCipher)` when the Cipher pointer was non-NULL.
    pending: Option<usize>,
}

impl WireAes {
    pub(crate) fn new(value: EncryptedPasswordAes) -> Self {
        Self { value, pending: None }
    }
}

impl Ndr for WireAes {
    const ALIGN: usize = 8;
    const MIN_WIRE_SIZE: usize = 96;

    fn write_scalars(&self, w: &mut NdrWriter) {
        let v = &self.value;
        w.align(8);
        w.bytes(&v.auth_data);
        w.bytes(&v.salt);
        w.u32(len_u32(v.cipher.len()));
        w.referent(true);
        w.u64(v.pbkdf2_iterations);
    }
    fn write_deferred(&self, w: &mut NdrWriter) {
        w.conformant_bytes(&self.value.cipher);
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        const WHAT: &str = "SAMPR_ENCRYPTED_PASSWORD_AES";
        r.align(8, WHAT)?;
        let auth_data = r.array(WHAT)?;
        let salt = r.array(WHAT)?;
        let cb = usize::try_from(r.u32(WHAT)?).map_err(|_| DecodeError::too_large(WHAT))?;
        if cb > MAX_AES_CIPHER {
            return Err(DecodeError::too_large(WHAT));
        }
        let present = r.referent(WHAT)?;
        if !present && cb != 0 {
            return Err(DecodeError::invalid(WHAT));
        }
        let pbkdf2_iterations = r.u64(WHAT)?;
        let value = EncryptedPasswordAes { auth_data, salt, cipher: Vec::new(), pbkdf2_iterations };
        Ok(Self { value, pending: present.then_some(cb) })
    }
    fn read_deferred(&mut self, r: &mut NdrReader<'_>) -> Result<(), DecodeError> {
        if let Some(cb) = self.pending.take() {
            let cipher =
                r.conformant_bytes(MAX_AES_CIPHER, "SAMPR_ENCRYPTED_PASSWORD_AES Cipher")?;
            if cipher.len() != cb {
                return Err(DecodeError::invalid("SAMPR_ENCRYPTED_PASSWORD_AES cbCipher"));
            }
            self.value.cipher = cipher;
        }
        Ok(())
    }
}

/// `SAMPR_ULONG_ARRAY` ([MS-SAMR] 2.2.7.4): `{ unsigned long Count; [size_is(Count)]
/// unsigned long* Element; }`. A NULL Element (with Count 0) is what servers send on errors.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UlongArray {
    /// The elements; `None` for a NULL pointer.
    pub elements: Option<Vec<u32>>,
    count: u32,
}

impl UlongArray {
    /// An array holding `v` (non-NULL pointer).
    pub fn new(v: Vec<u32>) -> Self {
        Self { count: len_u32(v.len()), elements: Some(v) }
    }
    /// The NULL array (Count 0, NULL pointer).
    pub const fn null() -> Self {
        Self { elements: None, count: 0 }
    }
    /// The elements (empty if NULL).
    pub fn as_slice(&self) -> &[u32] {
        self.elements.as_deref().unwrap_or(&[])
    }
}

impl Ndr for UlongArray {
    const ALIGN: usize = 4;
    const MIN_WIRE_SIZE: usize = 8;

    fn write_scalars(&self, w: &mut NdrWriter) {
        w.u32(self.count);
        w.referent(self.elements.is_some());
    }
    fn write_deferred(&self, w: &mut NdrWriter) {
        if let Some(v) = &self.elements {
            w.u32(len_u32(v.len()));
            for &x in v {
                w.u32(x);
            }
        }
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        let count = r.u32("SAMPR_ULONG_ARRAY")?;
        let elements = if r.referent("SAMPR_ULONG_ARRAY")? { Some(Vec::new()) } else { None };
        Ok(Self { elements, count })
    }
    fn read_deferred(&mut self, r: &mut NdrReader<'_>) -> Result<(), DecodeError> {
        const WHAT: &str = "SAMPR_ULONG_ARRAY Element";
        if self.elements.is_some() {
            let n = r.conformance(MAX_ARRAY_ELEMENTS, WHAT)?;
            if u32::try_from(n).ok() != Some(self.count) {
                return Err(DecodeError::invalid(WHAT));
            }
            self.elements = Some(r.u32_values(n, WHAT)?);
        }
        Ok(())
    }
}

/// `SAMPR_RID_ENUMERATION` ([MS-SAMR] 2.2.3.9): `{ unsigned long RelativeId;
/// RPC_UNICODE_STRING Name; }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RidEnumeration {
    /// The RID (0 for domains).
    pub relative_id: u32,
    /// The account or domain name.
    pub name: RpcUnicodeString,
}

impl Ndr for RidEnumeration {
    const ALIGN: usize = 4;
    const MIN_WIRE_SIZE: usize = 12;

    fn write_scalars(&self, w: &mut NdrWriter) {
        w.u32(self.relative_id);
        self.name.write_scalars(w);
    }
    fn write_deferred(&self, w: &mut NdrWriter) {
        self.name.write_deferred(w);
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        let relative_id = r.u32("SAMPR_RID_ENUMERATION")?;
        let name = RpcUnicodeString::read_scalars(r)?;
        Ok(Self { relative_id, name })
    }
    fn read_deferred(&mut self, r: &mut NdrReader<'_>) -> Result<(), DecodeError> {
        self.name.read_deferred(r)
    }
}

/// `SAMPR_ENUMERATION_BUFFER` ([MS-SAMR] 2.2.3.10): `{ unsigned long EntriesRead;
/// [size_is(EntriesRead)] PSAMPR_RID_ENUMERATION Buffer; }`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EnumerationBuffer {
    /// The entries; `None` for a NULL Buffer.
    pub entries: Option<Vec<RidEnumeration>>,
    entries_read: u32,
}

impl EnumerationBuffer {
    /// A buffer holding `entries`.
    pub fn new(entries: Vec<RidEnumeration>) -> Self {
        Self { entries_read: len_u32(entries.len()), entries: Some(entries) }
    }
    /// The entries (empty if NULL).
    pub fn as_slice(&self) -> &[RidEnumeration] {
        self.entries.as_deref().unwrap_or(&[])
    }
}

impl Ndr for EnumerationBuffer {
    const ALIGN: usize = 4;
    const MIN_WIRE_SIZE: usize = 8;

    fn write_scalars(&self, w: &mut NdrWriter) {
        w.u32(self.entries_read);
        w.referent(self.entries.is_some());
    }
    fn write_deferred(&self, w: &mut NdrWriter) {
        if let Some(e) = &self.entries {
            w.conformant_array(e);
        }
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        let entries_read = r.u32("SAMPR_ENUMERATION_BUFFER")?;
        let entries = if r.referent("SAMPR_ENUMERATION_BUFFER")? { Some(Vec::new()) } else { None };
        Ok(Self { entries, entries_read })
    }
    fn read_deferred(&mut self, r: &mut NdrReader<'_>) -> Result<(), DecodeError> {
        if self.entries.is_some() {
            let v: Vec<RidEnumeration> = r.conformant_array("SAMPR_ENUMERATION_BUFFER Buffer")?;
            if len_u32(v.len()) != self.entries_read {
                return Err(DecodeError::invalid("SAMPR_ENUMERATION_BUFFER EntriesRead"));
            }
            self.entries = Some(v);
        }
        Ok(())
    }
}

/// `USER_DOMAIN_PASSWORD_INFORMATION` ([MS-SAMR] 2.2.3.15; notes 3): `{ unsigned short
/// MinPasswordLength; unsigned long PasswordProperties; }` (2 bytes of padding between).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct UserDomainPasswordInformation {
    /// Minimum password length in characters.
    pub min_password_length: u16,
    /// PasswordProperties bits (`consts::DOMAIN_PASSWORD_*`).
    pub password_properties: u32,
}

impl Ndr for UserDomainPasswordInformation {
    const ALIGN: usize = 4;
    const MIN_WIRE_SIZE: usize = 8;

    fn write_scalars(&self, w: &mut NdrWriter) {
        w.align(4);
        w.u16(self.min_password_length);
        w.u32(self.password_properties);
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        const WHAT: &str = "USER_DOMAIN_PASSWORD_INFORMATION";
        r.align(4, WHAT)?;
        Ok(Self { min_password_length: r.u16(WHAT)?, password_properties: r.u32(WHAT)? })
    }
}

/// `DOMAIN_PASSWORD_INFORMATION` ([MS-SAMR] 2.2.3.5; notes 3), level 1: 4-aligned (the ages are
/// OLD_LARGE_INTEGER).
///
/// ```text
/// typedef struct _DOMAIN_PASSWORD_INFORMATION {
///     unsigned short MinPasswordLength;
///     unsigned short PasswordHistoryLength;
///     unsigned long PasswordProperties;
///     OLD_LARGE_INTEGER MaxPasswordAge;
///     OLD_LARGE_INTEGER MinPasswordAge;
/// } DOMAIN_PASSWORD_INFORMATION;
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct DomainPasswordInformation {
    /// Minimum password length in characters.
    pub min_password_length: u16,
    /// Number of remembered passwords.
    pub password_history_length: u16,
    /// PasswordProperties bits (`consts::DOMAIN_PASSWORD_*`).
    pub password_properties: u32,
    /// Maximum password age: a negative interval in 100 ns units (`i64::MIN` = never).
    pub max_password_age: i64,
    /// Minimum password age: a negative interval in 100 ns units.
    pub min_password_age: i64,
}

impl Ndr for DomainPasswordInformation {
    const ALIGN: usize = 4;
    const MIN_WIRE_SIZE: usize = 24;

    fn write_scalars(&self, w: &mut NdrWriter) {
        w.align(4);
        w.u16(self.min_password_length);
        w.u16(self.password_history_length);
        w.u32(self.password_properties);
        w.write(&OldLargeInteger(self.max_password_age));
        w.write(&OldLargeInteger(self.min_password_age));
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        const WHAT: &str = "DOMAIN_PASSWORD_INFORMATION";
        r.align(4, WHAT)?;
        Ok(Self {
            min_password_length: r.u16(WHAT)?,
            password_history_length: r.u16(WHAT)?,
            password_properties: r.u32(WHAT)?,
            max_password_age: OldLargeInteger::read_scalars(r)?.0,
            min_password_age: OldLargeInteger::read_scalars(r)?.0,
        })
    }
}

/// `SAMPR_DOMAIN_LOCKOUT_INFORMATION` ([MS-SAMR] 2.2.3.15), level 12: 8-aligned (LARGE_INTEGER).
///
/// ```text
/// typedef struct _SAMPR_DOMAIN_LOCKOUT_INFORMATION {
///     LARGE_INTEGER LockoutDuration;
///     LARGE_INTEGER LockoutObservationWindow;
///     unsigned short LockoutThreshold;
/// } SAMPR_DOMAIN_LOCKOUT_INFORMATION;
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct DomainLockoutInformation {
    /// How long an account stays locked: a negative interval in 100 ns units.
    pub lockout_duration: i64,
    /// Window for counting bad passwords: a negative interval in 100 ns units.
    pub lockout_observation_window: i64,
    /// Bad passwords before lockout (0 = never).
    pub lockout_threshold: u16,
}

impl Ndr for DomainLockoutInformation {
    const ALIGN: usize = 8;
    const MIN_WIRE_SIZE: usize = 18;

    fn write_scalars(&self, w: &mut NdrWriter) {
        w.i64(self.lockout_duration);
        w.i64(self.lockout_observation_window);
        w.u16(self.lockout_threshold);
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        const WHAT: &str = "SAMPR_DOMAIN_LOCKOUT_INFORMATION";
        Ok(Self {
            lockout_duration: r.i64(WHAT)?,
            lockout_observation_window: r.i64(WHAT)?,
            lockout_threshold: r.u16(WHAT)?,
        })
    }
}

/// `SAMPR_DOMAIN_INFO_BUFFER` ([MS-SAMR] 2.2.3.17), the levels this client uses. An ms_union
/// switched by a u16 DOMAIN_INFORMATION_CLASS; the arm is aligned to 8 (the largest arm).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DomainInfo {
    /// Level 1, DomainPasswordInformation.
    Password(DomainPasswordInformation),
    /// Level 12, DomainLockoutInformation.
    Lockout(DomainLockoutInformation),
}

impl DomainInfo {
    /// The DOMAIN_INFORMATION_CLASS of this arm.
    pub const fn level(&self) -> u16 {
        match self {
            Self::Password(_) => DOMAIN_PASSWORD_INFORMATION,
            Self::Lockout(_) => DOMAIN_LOCKOUT_INFORMATION,
        }
    }
    /// Discriminant (u16), then the arm aligned to 8.
    pub(crate) fn write_union(&self, w: &mut NdrWriter) {
        w.u16(self.level());
        w.align(8);
        match self {
            Self::Password(p) => w.write(p),
            Self::Lockout(l) => w.write(l),
        }
    }
    /// Discriminant, then the arm; unknown levels are a typed decode error.
    pub(crate) fn read_union(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        let level = r.u16("SAMPR_DOMAIN_INFO_BUFFER level")?;
        r.align(8, "SAMPR_DOMAIN_INFO_BUFFER")?;
        match level {
            DOMAIN_PASSWORD_INFORMATION => Ok(Self::Password(r.read()?)),
            DOMAIN_LOCKOUT_INFORMATION => Ok(Self::Lockout(r.read()?)),
            _ => Err(DecodeError::invalid("unsupported DOMAIN_INFORMATION_CLASS")),
        }
    }
}

/// `SAMPR_LOGON_HOURS` ([MS-SAMR] 2.2.7.5): `{ unsigned short UnitsPerWeek;
/// [size_is(1260), length_is((UnitsPerWeek+7)/8)] unsigned char* LogonHours; }`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LogonHours {
    /// Time units per week (168 = hours).
    pub units_per_week: u16,
    /// The bitmap; `None` for a NULL pointer.
    pub hours: Option<Vec<u8>>,
}

impl Ndr for LogonHours {
    const ALIGN: usize = 4;
    const MIN_WIRE_SIZE: usize = 8;

    fn write_scalars(&self, w: &mut NdrWriter) {
        w.align(4);
        w.u16(self.units_per_week);
        w.referent(self.hours.is_some());
    }
    fn write_deferred(&self, w: &mut NdrWriter) {
        if let Some(h) = &self.hours {
            w.varying_header(LOGON_HOURS_MAX, len_u32(h.len()));
            w.bytes(h);
        }
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        r.align(4, "SAMPR_LOGON_HOURS")?;
        let units_per_week = r.u16("SAMPR_LOGON_HOURS")?;
        let hours = if r.referent("SAMPR_LOGON_HOURS")? { Some(Vec::new()) } else { None };
        Ok(Self { units_per_week, hours })
    }
    fn read_deferred(&mut self, r: &mut NdrReader<'_>) -> Result<(), DecodeError> {
        const WHAT: &str = "SAMPR_LOGON_HOURS LogonHours";
        if self.hours.is_some() {
            let max = r.conformance(LOGON_HOURS_MAX as usize, WHAT)?;
            if max != LOGON_HOURS_MAX as usize {
                return Err(DecodeError::invalid(WHAT));
            }
            let n = r.variance(max, 1, WHAT)?;
            self.hours = Some(r.bytes(n, WHAT)?.to_vec());
        }
        Ok(())
    }
}

/// `SAMPR_SR_SECURITY_DESCRIPTOR` ([MS-SAMR] 2.2.3.11): `{ [range(0, 256 * 1024)] unsigned
/// long Length; [size_is(Length)] unsigned char* SecurityDescriptor; }`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SrSecurityDescriptor {
    data: Option<Vec<u8>>,
    /// While decoding: Length when the pointer was non-NULL.
    pending: Option<usize>,
}

impl SrSecurityDescriptor {
    /// A descriptor holding `bytes` (self-relative SECURITY_DESCRIPTOR).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self { data: Some(bytes), pending: None }
    }
    /// The bytes; `None` for a NULL pointer.
    pub fn bytes(&self) -> Option<&[u8]> {
        self.data.as_deref()
    }
}

impl Ndr for SrSecurityDescriptor {
    const ALIGN: usize = 4;
    const MIN_WIRE_SIZE: usize = 8;

    fn write_scalars(&self, w: &mut NdrWriter) {
        w.u32(self.data.as_ref().map_or(0, |sd| len_u32(sd.len())));
        w.referent(self.data.is_some());
    }
    fn write_deferred(&self, w: &mut NdrWriter) {
        if let Some(sd) = &self.data {
            w.conformant_bytes(sd);
        }
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        const WHAT: &str = "SAMPR_SR_SECURITY_DESCRIPTOR";
        let len = r.u32(WHAT)?;
        if !r.referent(WHAT)? {
            return if len == 0 { Ok(Self::default()) } else { Err(DecodeError::invalid(WHAT)) };
        }
        let n = usize::try_from(len).map_err(|_| DecodeError::too_large(WHAT))?;
        if n > MAX_SECURITY_DESCRIPTOR {
            return Err(DecodeError::too_large(WHAT));
        }
        Ok(Self { data: Some(Vec::new()), pending: Some(n) })
    }
    fn read_deferred(&mut self, r: &mut NdrReader<'_>) -> Result<(), DecodeError> {
        if let Some(n) = self.pending.take() {
            let sd = r.conformant_bytes(MAX_SECURITY_DESCRIPTOR, "SAMPR_SR_SECURITY_DESCRIPTOR")?;
            if sd.len() != n {
                return Err(DecodeError::invalid("SAMPR_SR_SECURITY_DESCRIPTOR Length"));
            }
            self.data = Some(sd);
        }
        Ok(())
    }
}

/// `SAMPR_USER_ALL_INFORMATION` ([MS-SAMR] 2.2.6.6), levels 21, 23, 25 and 32. All members are
/// 4-aligned (times are OLD_LARGE_INTEGER); the 14 embedded pointers are deferred in member
/// order. [`Default`] is the all-zero, all-NULL value used with a chosen `which_fields`.
///
/// ```text
/// typedef struct _SAMPR_USER_ALL_INFORMATION {
///     OLD_LARGE_INTEGER LastLogon, LastLogoff, PasswordLastSet, AccountExpires,
///                       PasswordCanChange, PasswordMustChange;
///     RPC_UNICODE_STRING UserName, FullName, HomeDirectory, HomeDirectoryDrive, ScriptPath,
///                        ProfilePath, AdminComment, WorkStations, UserComment, Parameters;
///     RPC_SHORT_BLOB LmOwfPassword, NtOwfPassword;
///     RPC_UNICODE_STRING PrivateData;
///     SAMPR_SR_SECURITY_DESCRIPTOR SecurityDescriptor;  // { ULONG Length; [size_is(Length)] PUCHAR }
///     unsigned long UserId, PrimaryGroupId, UserAccountControl, WhichFields;
///     SAMPR_LOGON_HOURS LogonHours;
///     unsigned short BadPasswordCount, LogonCount, CountryCode, CodePage;
///     unsigned char LmPasswordPresent, NtPasswordPresent, PasswordExpired, PrivateDataSensitive;
/// } SAMPR_USER_ALL_INFORMATION;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UserAllInformation {
    /// Last logon time (FILETIME, 100 ns since 1601).
    pub last_logon: i64,
    /// Last logoff time.
    pub last_logoff: i64,
    /// When the password was last set (0 = must change at next logon).
    pub password_last_set: i64,
    /// When the account expires (0 or `i64::MAX` = never).
    pub account_expires: i64,
    /// When the password may next be changed.
    pub password_can_change: i64,
    /// When the password must be changed (`i64::MAX` = never).
    pub password_must_change: i64,
    /// sAMAccountName.
    pub user_name: RpcUnicodeString,
    /// Full name.
    pub full_name: RpcUnicodeString,
    /// Home directory.
    pub home_directory: RpcUnicodeString,
    /// Home drive.
    pub home_directory_drive: RpcUnicodeString,
    /// Logon script.
    pub script_path: RpcUnicodeString,
    /// Profile path.
    pub profile_path: RpcUnicodeString,
    /// Admin comment (description).
    pub admin_comment: RpcUnicodeString,
    /// Allowed workstations.
    pub work_stations: RpcUnicodeString,
    /// User comment.
    pub user_comment: RpcUnicodeString,
    /// Parameters blob.
    pub parameters: RpcUnicodeString,
    /// LmOwfPassword (RPC_SHORT_BLOB; servers send it empty over the network).
    pub lm_owf_password: RpcUnicodeString,
    /// NtOwfPassword (RPC_SHORT_BLOB; servers send it empty over the network).
    pub nt_owf_password: RpcUnicodeString,
    /// PrivateData.
    pub private_data: RpcUnicodeString,
    /// Security descriptor.
    pub security_descriptor: SrSecurityDescriptor,
    /// RID.
    pub user_id: u32,
    /// Primary group RID.
    pub primary_group_id: u32,
    /// UserAccountControl bits (`consts::USER_*`).
    pub user_account_control: u32,
    /// WhichFields bits (`consts::USER_ALL_*`): which members are meaningful.
    pub which_fields: u32,
    /// Logon hours.
    pub logon_hours: LogonHours,
    /// Bad password count.
    pub bad_password_count: u16,
    /// Logon count.
    pub logon_count: u16,
    /// Country code.
    pub country_code: u16,
    /// Code page.
    pub code_page: u16,
    /// LmPasswordPresent.
    pub lm_password_present: u8,
    /// NtPasswordPresent.
    pub nt_password_present: u8,
    /// PasswordExpired (non-zero: must change at next logon).
    pub password_expired: u8,
    /// PrivateDataSensitive.
    pub private_data_sensitive: u8,
}

impl UserAllInformation {
    /// USER_ACCOUNT_DISABLED is set.
    pub const fn is_disabled(&self) -> bool {
        self.user_account_control & USER_ACCOUNT_DISABLED != 0
    }
    /// USER_ACCOUNT_AUTO_LOCKED is set (the account is locked out).
    pub const fn is_locked_out(&self) -> bool {
        self.user_account_control & USER_ACCOUNT_AUTO_LOCKED != 0
    }
    /// USER_DONT_EXPIRE_PASSWORD is set.
    pub const fn password_never_expires(&self) -> bool {
        self.user_account_control & USER_DONT_EXPIRE_PASSWORD != 0
    }
    /// The password has expired or must be changed at next logon: PasswordExpired is set, or
    /// USER_PASSWORD_EXPIRED is in the account control, or PasswordLastSet is 0.
    pub const fn must_change_password(&self) -> bool {
        self.password_expired != 0
            || self.user_account_control & USER_PASSWORD_EXPIRED != 0
            || self.password_last_set == 0
    }

    fn strings(&self) -> [&RpcUnicodeString; 13] {
        [
            &self.user_name,
            &self.full_name,
            &self.home_directory,
            &self.home_directory_drive,
            &self.script_path,
            &self.profile_path,
            &self.admin_comment,
            &self.work_stations,
            &self.user_comment,
            &self.parameters,
            &self.lm_owf_password,
            &self.nt_owf_password,
            &self.private_data,
        ]
    }
    fn strings_mut(&mut self) -> [&mut RpcUnicodeString; 13] {
        [
            &mut self.user_name,
            &mut self.full_name,
            &mut self.home_directory,
            &mut self.home_directory_drive,
            &mut self.script_path,
            &mut self.profile_path,
            &mut self.admin_comment,
            &mut self.work_stations,
            &mut self.user_comment,
            &mut self.parameters,
            &mut self.lm_owf_password,
            &mut self.nt_owf_password,
            &mut self.private_data,
        ]
    }
}

impl Ndr for UserAllInformation {
    const ALIGN: usize = 4;
    const MIN_WIRE_SIZE: usize = 196;

    fn write_scalars(&self, w: &mut NdrWriter) {
        w.align(4);
        for t in [
            self.last_logon,
            self.last_logoff,
            self.password_last_set,
            self.account_expires,
            self.password_can_change,
            self.password_must_change,
        ] {
            w.write(&OldLargeInteger(t));
        }
        for s in self.strings() {
            s.write_scalars(w);
        }
        self.security_descriptor.write_scalars(w);
        w.u32(self.user_id);
        w.u32(self.primary_group_id);
        w.u32(self.user_account_control);
        w.u32(self.which_fields);
        self.logon_hours.write_scalars(w);
        w.u16(self.bad_password_count);
        w.u16(self.logon_count);
        w.u16(self.country_code);
        w.u16(self.code_page);
        w.u8(self.lm_password_present);
        w.u8(self.nt_password_present);
        w.u8(self.password_expired);
        w.u8(self.private_data_sensitive);
    }
    fn write_deferred(&self, w: &mut NdrWriter) {
        for s in self.strings() {
            s.write_deferred(w);
        }
        self.security_descriptor.write_deferred(w);
        self.logon_hours.write_deferred(w);
    }
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        const WHAT: &str = "SAMPR_USER_ALL_INFORMATION";
        r.align(4, WHAT)?;
        let mut t = [0i64; 6];
        for x in &mut t {
            *x = OldLargeInteger::read_scalars(r)?.0;
        }
        let mut v = Self {
            last_logon: t[0],
            last_logoff: t[1],
            password_last_set: t[2],
            account_expires: t[3],
            password_can_change: t[4],
            password_must_change: t[5],
            ..Self::default()
        };
        for s in v.strings_mut() {
            *s = RpcUnicodeString::read_scalars(r)?;
        }
        v.security_descriptor = SrSecurityDescriptor::read_scalars(r)?;
        v.user_id = r.u32(WHAT)?;
        v.primary_group_id = r.u32(WHAT)?;
        v.user_account_control = r.u32(WHAT)?;
        v.which_fields = r.u32(WHAT)?;
        v.logon_hours = LogonHours::read_scalars(r)?;
        v.bad_password_count = r.u16(WHAT)?;
        v.logon_count = r.u16(WHAT)?;
        v.country_code = r.u16(WHAT)?;
        v.code_page = r.u16(WHAT)?;
        v.lm_password_present = r.u8(WHAT)?;
        v.nt_password_present = r.u8(WHAT)?;
        v.password_expired = r.u8(WHAT)?;
        v.private_data_sensitive = r.u8(WHAT)?;
        Ok(v)
    }
    fn read_deferred(&mut self, r: &mut NdrReader<'_>) -> Result<(), DecodeError> {
        for s in self.strings_mut() {
            s.read_deferred(r)?;
        }
        self.security_descriptor.read_deferred(r)?;
        self.logon_hours.read_deferred(r)
    }
}

/// `SAMPR_USER_INFO_BUFFER` ([MS-SAMR] 2.2.6.29), the levels this client uses. An ms_union
/// switched by a u16 USER_INFORMATION_CLASS; the arm is aligned to 8 (levels 31/32 hold a
/// hyper). Password buffers are ciphertext produced by `crate::crypto`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserInfo {
    /// Level 16 `USER_CONTROL_INFORMATION { unsigned long UserAccountControl; }`.
    Control(u32),
    /// Level 21 `SAMPR_USER_ALL_INFORMATION`.
    All(Box<UserAllInformation>),
    /// Level 23 `{ SAMPR_USER_ALL_INFORMATION I1; SAMPR_ENCRYPTED_USER_PASSWORD UserPassword; }`.
    Internal4 {
        /// I1 (set `which_fields`).
        all: Box<UserAllInformation>,
        /// RC4-encrypted 516-byte buffer.
        password: EncryptedUserPassword,
    },
    /// Level 24 `{ SAMPR_ENCRYPTED_USER_PASSWORD UserPassword; unsigned char PasswordExpired; }`.
    Internal5 {
        /// RC4-encrypted 516-byte buffer.
        password: EncryptedUserPassword,
        /// Non-zero: must change at next logon.
        password_expired: u8,
    },
    /// Level 25 `{ SAMPR_USER_ALL_INFORMATION I1; SAMPR_ENCRYPTED_USER_PASSWORD_NEW UserPassword; }`.
    Internal4New {
        /// I1 (set `which_fields`).
        all: Box<UserAllInformation>,
        /// Salted-RC4 532-byte buffer.
        password: EncryptedUserPasswordNew,
    },
    /// Level 26 `{ SAMPR_ENCRYPTED_USER_PASSWORD_NEW UserPassword; unsigned char PasswordExpired; }`.
    Internal5New {
        /// Salted-RC4 532-byte buffer.
        password: EncryptedUserPasswordNew,
        /// Non-zero: must change at next logon.
        password_expired: u8,
    },
    /// Level 31 `{ SAMPR_ENCRYPTED_PASSWORD_AES UserPassword; BOOLEAN PasswordExpired; }`.
    Internal7 {
        /// AES-encrypted password.
        password: EncryptedPasswordAes,
        /// Non-zero: must change at next logon.
        password_expired: u8,
    },
    /// Level 32 `{ SAMPR_USER_ALL_INFORMATION I1; SAMPR_ENCRYPTED_PASSWORD_AES UserPassword; }`.
    Internal8 {
        /// I1 (set `which_fields`, e.g. USER_ALL_NTPASSWORDPRESENT).
        all: Box<UserAllInformation>,
        /// AES-encrypted password.
        password: EncryptedPasswordAes,
    },
}

impl UserInfo {
    /// The USER_INFORMATION_CLASS of this arm.
    pub const fn level(&self) -> u16 {
        match self {
            Self::Control(_) => USER_CONTROL_INFORMATION,
            Self::All(_) => USER_ALL_INFORMATION,
            Self::Internal4 { .. } => USER_INTERNAL4_INFORMATION,
            Self::Internal5 { .. } => USER_INTERNAL5_INFORMATION,
            Self::Internal4New { .. } => USER_INTERNAL4_INFORMATION_NEW,
            Self::Internal5New { .. } => USER_INTERNAL5_INFORMATION_NEW,
            Self::Internal7 { .. } => USER_INTERNAL7_INFORMATION,
            Self::Internal8 { .. } => USER_INTERNAL8_INFORMATION,
        }
    }

    /// Discriminant (u16), then the arm aligned to 8: the arm's scalars, then its deferred
    /// pointees.
    pub(crate) fn write_union(&self, w: &mut NdrWriter) {
        w.u16(self.level());
        w.align(8);
        match self {
            Self::Control(uac) => w.u32(*uac),
            Self::All(all) => w.write(all.as_ref()),
            Self::Internal4 { all, password } => {
                all.write_scalars(w);
                w.bytes(&password.0);
                all.write_deferred(w);
            }
            Self::Internal4New { all, password } => {
                all.write_scalars(w);
                w.bytes(&password.0);
                all.write_deferred(w);
            }
            Self::Internal5 { password, password_expired } => {
                w.bytes(&password.0);
                w.u8(*password_expired);
            }
            Self::Internal5New { password, password_expired } => {
                w.bytes(&password.0);
                w.u8(*password_expired);
            }
            Self::Internal7 { password, password_expired } => {
                let aes = WireAes::new(password.clone());
                aes.write_scalars(w);
                w.u8(*password_expired);
                aes.write_deferred(w);
            }
            Self::Internal8 { all, password } => {
                let aes = WireAes::new(password.clone());
                all.write_scalars(w);
                aes.write_scalars(w);
                all.write_deferred(w);
                aes.write_deferred(w);
            }
        }
    }

    /// Discriminant, then the arm; unknown levels are a typed decode error.
    pub(crate) fn read_union(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        const WHAT: &str = "SAMPR_USER_INFO_BUFFER";
        let level = r.u16("SAMPR_USER_INFO_BUFFER level")?;
        r.align(8, WHAT)?;
        Ok(match level {
            USER_CONTROL_INFORMATION => Self::Control(r.u32(WHAT)?),
            USER_ALL_INFORMATION => Self::All(Box::new(r.read()?)),
            USER_INTERNAL4_INFORMATION | USER_INTERNAL4_INFORMATION_NEW => {
                let mut all = Box::new(UserAllInformation::read_scalars(r)?);
                if level == USER_INTERNAL4_INFORMATION {
                    let password = EncryptedUserPassword(r.array(WHAT)?);
                    all.read_deferred(r)?;
                    Self::Internal4 { all, password }
                } else {
                    let password = EncryptedUserPasswordNew(r.array(WHAT)?);
                    all.read_deferred(r)?;
                    Self::Internal4New { all, password }
                }
            }
            USER_INTERNAL5_INFORMATION => Self::Internal5 {
                password: EncryptedUserPassword(r.array(WHAT)?),
                password_expired: r.u8(WHAT)?,
            },
            USER_INTERNAL5_INFORMATION_NEW => Self::Internal5New {
                password: EncryptedUserPasswordNew(r.array(WHAT)?),
                password_expired: r.u8(WHAT)?,
            },
            USER_INTERNAL7_INFORMATION => {
                let mut aes = WireAes::read_scalars(r)?;
                let password_expired = r.u8(WHAT)?;
                aes.read_deferred(r)?;
                Self::Internal7 { password: aes.value, password_expired }
            }
            USER_INTERNAL8_INFORMATION => {
                let mut all = Box::new(UserAllInformation::read_scalars(r)?);
                let mut aes = WireAes::read_scalars(r)?;
                all.read_deferred(r)?;
                aes.read_deferred(r)?;
                Self::Internal8 { all, password: aes.value }
            }
            _ => return Err(DecodeError::invalid("unsupported USER_INFORMATION_CLASS")),
        })
    }
}
