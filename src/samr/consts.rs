//! SAMR code tables: information levels, password properties, account-control bits,
//! USER_ALL WhichFields bits and SID_NAME_USE ([MS-SAMR] 2.2.1.8, 2.2.1.12, 2.2.3.x, 2.2.6.28;
//! [MS-LSAT] 2.2.13; protocol-notes 3).

/// DOMAIN_INFORMATION_CLASS DomainPasswordInformation ([MS-SAMR] 2.2.3.16).
pub const DOMAIN_PASSWORD_INFORMATION: u16 = 1;
/// DOMAIN_INFORMATION_CLASS DomainLockoutInformation.
pub const DOMAIN_LOCKOUT_INFORMATION: u16 = 12;

/// USER_INFORMATION_CLASS UserControlInformation ([MS-SAMR] 2.2.6.28).
pub const USER_CONTROL_INFORMATION: u16 = 16;
/// USER_INFORMATION_CLASS UserAllInformation.
pub const USER_ALL_INFORMATION: u16 = 21;
/// USER_INFORMATION_CLASS UserInternal4Information (RC4, with SAMPR_USER_ALL_INFORMATION).
pub const USER_INTERNAL4_INFORMATION: u16 = 23;
/// USER_INFORMATION_CLASS UserInternal5Information (RC4).
pub const USER_INTERNAL5_INFORMATION: u16 = 24;
/// USER_INFORMATION_CLASS UserInternal4InformationNew (salted RC4, with ALL information).
pub const USER_INTERNAL4_INFORMATION_NEW: u16 = 25;
/// USER_INFORMATION_CLASS UserInternal5InformationNew (salted RC4).
pub const USER_INTERNAL5_INFORMATION_NEW: u16 = 26;
/// USER_INFORMATION_CLASS UserInternal7Information (AES).
pub const USER_INTERNAL7_INFORMATION: u16 = 31;
/// USER_INFORMATION_CLASS UserInternal8Information (AES, with ALL information).
pub const USER_INTERNAL8_INFORMATION: u16 = 32;

/// PasswordProperties: passwords must be complex.
pub const DOMAIN_PASSWORD_COMPLEX: u32 = 0x0000_0001;
/// PasswordProperties: anonymous password changes are refused.
pub const DOMAIN_PASSWORD_NO_ANON_CHANGE: u32 = 0x0000_0002;
/// PasswordProperties: clear-text (unencrypted) changes are refused.
pub const DOMAIN_PASSWORD_NO_CLEAR_CHANGE: u32 = 0x0000_0004;
/// PasswordProperties: administrators can be locked out.
pub const DOMAIN_LOCKOUT_ADMINS: u32 = 0x0000_0008;
/// PasswordProperties: passwords are stored reversibly.
pub const DOMAIN_PASSWORD_STORE_CLEARTEXT: u32 = 0x0000_0010;
/// PasswordProperties: password changes are refused.
pub const DOMAIN_REFUSE_PASSWORD_CHANGE: u32 = 0x0000_0020;

/// UserAccountControl ([MS-SAMR] 2.2.1.12): the account is disabled.
pub const USER_ACCOUNT_DISABLED: u32 = 0x0000_0001;
/// UserAccountControl: a home directory is required.
pub const USER_HOME_DIRECTORY_REQUIRED: u32 = 0x0000_0002;
/// UserAccountControl: no password is required.
pub const USER_PASSWORD_NOT_REQUIRED: u32 = 0x0000_0004;
/// UserAccountControl: temporary duplicate account.
pub const USER_TEMP_DUPLICATE_ACCOUNT: u32 = 0x0000_0008;
/// UserAccountControl: a normal user account.
pub const USER_NORMAL_ACCOUNT: u32 = 0x0000_0010;
/// UserAccountControl: MNS logon account.
pub const USER_MNS_LOGON_ACCOUNT: u32 = 0x0000_0020;
/// UserAccountControl: interdomain trust account.
pub const USER_INTERDOMAIN_TRUST_ACCOUNT: u32 = 0x0000_0040;
/// UserAccountControl: workstation (computer) trust account.
pub const USER_WORKSTATION_TRUST_ACCOUNT: u32 = 0x0000_0080;
/// UserAccountControl: server (DC) trust account.
pub const USER_SERVER_TRUST_ACCOUNT: u32 = 0x0000_0100;
/// UserAccountControl: the password never expires.
pub const USER_DONT_EXPIRE_PASSWORD: u32 = 0x0000_0200;
/// UserAccountControl: the account is locked out.
pub const USER_ACCOUNT_AUTO_LOCKED: u32 = 0x0000_0400;
/// UserAccountControl: reversible password storage allowed.
pub const USER_ENCRYPTED_TEXT_PASSWORD_ALLOWED: u32 = 0x0000_0800;
/// UserAccountControl: smart card required.
pub const USER_SMARTCARD_REQUIRED: u32 = 0x0000_1000;
/// UserAccountControl: trusted for delegation.
pub const USER_TRUSTED_FOR_DELEGATION: u32 = 0x0000_2000;
/// UserAccountControl: not delegated.
pub const USER_NOT_DELEGATED: u32 = 0x0000_4000;
/// UserAccountControl: DES keys only.
pub const USER_USE_DES_KEY_ONLY: u32 = 0x0000_8000;
/// UserAccountControl: Kerberos pre-authentication not required.
pub const USER_DONT_REQUIRE_PREAUTH: u32 = 0x0001_0000;
/// UserAccountControl: the password has expired.
pub const USER_PASSWORD_EXPIRED: u32 = 0x0002_0000;
/// UserAccountControl: trusted to authenticate for delegation.
pub const USER_TRUSTED_TO_AUTHENTICATE_FOR_DELEGATION: u32 = 0x0004_0000;
/// UserAccountControl: no authorization data required.
pub const USER_NO_AUTH_DATA_REQUIRED: u32 = 0x0008_0000;
/// UserAccountControl: read-only DC account.
pub const USER_PARTIAL_SECRETS_ACCOUNT: u32 = 0x0010_0000;
/// UserAccountControl: AES keys.
pub const USER_USE_AES_KEYS: u32 = 0x0020_0000;

/// WhichFields ([MS-SAMR] 2.2.1.8): UserName.
pub const USER_ALL_USERNAME: u32 = 0x0000_0001;
/// WhichFields: FullName.
pub const USER_ALL_FULLNAME: u32 = 0x0000_0002;
/// WhichFields: UserId.
pub const USER_ALL_USERID: u32 = 0x0000_0004;
/// WhichFields: PrimaryGroupId.
pub const USER_ALL_PRIMARYGROUPID: u32 = 0x0000_0008;
/// WhichFields: AdminComment.
pub const USER_ALL_ADMINCOMMENT: u32 = 0x0000_0010;
/// WhichFields: UserComment.
pub const USER_ALL_USERCOMMENT: u32 = 0x0000_0020;
/// WhichFields: HomeDirectory.
pub const USER_ALL_HOMEDIRECTORY: u32 = 0x0000_0040;
/// WhichFields: HomeDirectoryDrive.
pub const USER_ALL_HOMEDIRECTORYDRIVE: u32 = 0x0000_0080;
/// WhichFields: ScriptPath.
pub const USER_ALL_SCRIPTPATH: u32 = 0x0000_0100;
/// WhichFields: ProfilePath.
pub const USER_ALL_PROFILEPATH: u32 = 0x0000_0200;
/// WhichFields: WorkStations.
pub const USER_ALL_WORKSTATIONS: u32 = 0x0000_0400;
/// WhichFields: LastLogon.
pub const USER_ALL_LASTLOGON: u32 = 0x0000_0800;
/// WhichFields: LastLogoff.
pub const USER_ALL_LASTLOGOFF: u32 = 0x0000_1000;
/// WhichFields: LogonHours.
pub const USER_ALL_LOGONHOURS: u32 = 0x0000_2000;
/// WhichFields: BadPasswordCount.
pub const USER_ALL_BADPASSWORDCOUNT: u32 = 0x0000_4000;
/// WhichFields: LogonCount.
pub const USER_ALL_LOGONCOUNT: u32 = 0x0000_8000;
/// WhichFields: PasswordCanChange.
pub const USER_ALL_PASSWORDCANCHANGE: u32 = 0x0001_0000;
/// WhichFields: PasswordMustChange.
pub const USER_ALL_PASSWORDMUSTCHANGE: u32 = 0x0002_0000;
/// WhichFields: PasswordLastSet.
pub const USER_ALL_PASSWORDLASTSET: u32 = 0x0004_0000;
/// WhichFields: AccountExpires.
pub const USER_ALL_ACCOUNTEXPIRES: u32 = 0x0008_0000;
/// WhichFields: UserAccountControl.
pub const USER_ALL_USERACCOUNTCONTROL: u32 = 0x0010_0000;
/// WhichFields: Parameters.
pub const USER_ALL_PARAMETERS: u32 = 0x0020_0000;
/// WhichFields: CountryCode.
pub const USER_ALL_COUNTRYCODE: u32 = 0x0040_0000;
/// WhichFields: CodePage.
pub const USER_ALL_CODEPAGE: u32 = 0x0080_0000;
/// WhichFields: NtPasswordPresent (apply the NT password; levels 23/25/32).
pub const USER_ALL_NTPASSWORDPRESENT: u32 = 0x0100_0000;
/// WhichFields: LmPasswordPresent.
pub const USER_ALL_LMPASSWORDPRESENT: u32 = 0x0200_0000;
/// WhichFields: PrivateData.
pub const USER_ALL_PRIVATEDATA: u32 = 0x0400_0000;
/// WhichFields: PasswordExpired (set or clear "must change at next logon").
pub const USER_ALL_PASSWORDEXPIRED: u32 = 0x0800_0000;
/// WhichFields: SecurityDescriptor.
pub const USER_ALL_SECURITYDESCRIPTOR: u32 = 0x1000_0000;

/// `SID_NAME_USE` ([MS-SAMR] 2.2.2.3 / [MS-LSAT] 2.2.13): the kind of account a name maps to
/// (the `Use` array of SamrLookupNamesInDomain). An open newtype: unknown values are kept.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct SidNameUse(pub u32);

impl SidNameUse {
    /// A user account.
    pub const USER: Self = Self(1);
    /// A group.
    pub const GROUP: Self = Self(2);
    /// A domain.
    pub const DOMAIN: Self = Self(3);
    /// An alias (local group).
    pub const ALIAS: Self = Self(4);
    /// A well-known group.
    pub const WELL_KNOWN_GROUP: Self = Self(5);
    /// A deleted account.
    pub const DELETED_ACCOUNT: Self = Self(6);
    /// An invalid SID.
    pub const INVALID: Self = Self(7);
    /// An unknown name.
    pub const UNKNOWN: Self = Self(8);
    /// A computer (not used by SAMR).
    pub const COMPUTER: Self = Self(9);
    /// A label (not used by SAMR).
    pub const LABEL: Self = Self(10);
}
