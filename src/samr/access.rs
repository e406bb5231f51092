//! Access masks for SAMR handles ([MS-SAMR] 2.2.1.1–2.2.1.7; protocol-notes 3).
//!
//! Which call needs which right (checked by the server against the handle's granted access):
//!
//! | Call | Handle | Right |
//! |---|---|---|
//! | SamrLookupDomainInSamServer (5) | server | [`SAM_SERVER_LOOKUP_DOMAIN`] |
//! | SamrEnumerateDomainsInSamServer (6) | server | [`SAM_SERVER_ENUMERATE_DOMAINS`] |
//! | SamrOpenDomain (7) | server | [`SAM_SERVER_LOOKUP_DOMAIN`] (to open), then the domain rights asked for |
//! | SamrQueryInformationDomain2 (46) level 1 / 12 | domain | [`DOMAIN_READ_PASSWORD_PARAMETERS`] |
//! | SamrEnumerateUsersInDomain (13) | domain | [`DOMAIN_LIST_ACCOUNTS`] |
//! | SamrLookupNamesInDomain (17), SamrOpenUser (34) | domain | [`DOMAIN_LOOKUP`] |
//! | SamrQueryInformationUser2 (47) level 16 / 21 | user | [`USER_READ_ACCOUNT`] (+ [`USER_READ_GENERAL`], [`USER_READ_LOGON`], [`USER_READ_PREFERENCES`] for all of level 21) |
//! | SamrGetUserDomainPasswordInformation (44) | user | [`USER_READ_GENERAL`]; the server also checks [`DOMAIN_READ_PASSWORD_PARAMETERS`] on the domain object |
//! | SamrSetInformationUser2 (58) levels 23–26, 31, 32 | user | [`USER_FORCE_PASSWORD_CHANGE`] |
//! | SamrSetInformationUser2 (58) level 16 | user | [`USER_WRITE_ACCOUNT`] |
//! | SamrUnicodeChangePasswordUser2/4 (55/73) | none | [`USER_CHANGE_PASSWORD`] checked internally on the user's DACL |
//!
//! The reset flow asks `SAM_SERVER_CONNECT | SAM_SERVER_LOOKUP_DOMAIN` (0x21) on connect,
//! `DOMAIN_LOOKUP` on the domain and `USER_FORCE_PASSWORD_CHANGE` on the user.

/// Generic: delete the object.
pub const DELETE: u32 = 0x0001_0000;
/// Generic: read the security descriptor.
pub const READ_CONTROL: u32 = 0x0002_0000;
/// Generic: change the DACL.
pub const WRITE_DAC: u32 = 0x0004_0000;
/// Generic: change the owner.
pub const WRITE_OWNER: u32 = 0x0008_0000;
/// Generic: read/write the SACL.
pub const ACCESS_SYSTEM_SECURITY: u32 = 0x0100_0000;
/// Generic: whatever the caller may have (some audits flag it; prefer explicit rights).
pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;

/// Server: connect.
pub const SAM_SERVER_CONNECT: u32 = 0x0000_0001;
/// Server: shut down (not used remotely).
pub const SAM_SERVER_SHUTDOWN: u32 = 0x0000_0002;
/// Server: initialize (not used remotely).
pub const SAM_SERVER_INITIALIZE: u32 = 0x0000_0004;
/// Server: create a domain (not used remotely).
pub const SAM_SERVER_CREATE_DOMAIN: u32 = 0x0000_0008;
/// Server: enumerate domains (SamrEnumerateDomainsInSamServer).
pub const SAM_SERVER_ENUMERATE_DOMAINS: u32 = 0x0000_0010;
/// Server: look up a domain (SamrLookupDomainInSamServer, SamrOpenDomain).
pub const SAM_SERVER_LOOKUP_DOMAIN: u32 = 0x0000_0020;
/// Server: all rights.
pub const SAM_SERVER_ALL_ACCESS: u32 = 0x000F_003F;
/// Server: generic read.
pub const SAM_SERVER_READ: u32 = 0x0002_0010;
/// Server: generic write.
pub const SAM_SERVER_WRITE: u32 = 0x0002_000E;
/// Server: generic execute (connect + lookup domain).
pub const SAM_SERVER_EXECUTE: u32 = 0x0002_0021;

/// Domain: read the password policy (levels 1 and 12, SamrGetUserDomainPasswordInformation).
pub const DOMAIN_READ_PASSWORD_PARAMETERS: u32 = 0x0000_0001;
/// Domain: write the password policy.
pub const DOMAIN_WRITE_PASSWORD_PARAMS: u32 = 0x0000_0002;
/// Domain: read other domain attributes.
pub const DOMAIN_READ_OTHER_PARAMETERS: u32 = 0x0000_0004;
/// Domain: write other domain attributes.
pub const DOMAIN_WRITE_OTHER_PARAMETERS: u32 = 0x0000_0008;
/// Domain: create users.
pub const DOMAIN_CREATE_USER: u32 = 0x0000_0010;
/// Domain: create groups.
pub const DOMAIN_CREATE_GROUP: u32 = 0x0000_0020;
/// Domain: create aliases.
pub const DOMAIN_CREATE_ALIAS: u32 = 0x0000_0040;
/// Domain: read alias membership.
pub const DOMAIN_GET_ALIAS_MEMBERSHIP: u32 = 0x0000_0080;
/// Domain: enumerate accounts (SamrEnumerateUsersInDomain).
pub const DOMAIN_LIST_ACCOUNTS: u32 = 0x0000_0100;
/// Domain: look up names and open accounts (SamrLookupNamesInDomain, SamrOpenUser).
pub const DOMAIN_LOOKUP: u32 = 0x0000_0200;
/// Domain: administer the server role.
pub const DOMAIN_ADMINISTER_SERVER: u32 = 0x0000_0400;
/// Domain: all rights.
pub const DOMAIN_ALL_ACCESS: u32 = 0x000F_07FF;
/// Domain: generic read.
pub const DOMAIN_READ: u32 = 0x0002_0084;
/// Domain: generic write.
pub const DOMAIN_WRITE: u32 = 0x0002_047A;
/// Domain: generic execute.
pub const DOMAIN_EXECUTE: u32 = 0x0002_0301;

/// User: read general attributes.
pub const USER_READ_GENERAL: u32 = 0x0000_0001;
/// User: read preferences.
pub const USER_READ_PREFERENCES: u32 = 0x0000_0002;
/// User: write preferences.
pub const USER_WRITE_PREFERENCES: u32 = 0x0000_0004;
/// User: read logon attributes.
pub const USER_READ_LOGON: u32 = 0x0000_0008;
/// User: read account attributes (account control, expiry).
pub const USER_READ_ACCOUNT: u32 = 0x0000_0010;
/// User: write account attributes (level 16 account control).
pub const USER_WRITE_ACCOUNT: u32 = 0x0000_0020;
/// User: change the password knowing the old one (checked by opnums 55/73).
pub const USER_CHANGE_PASSWORD: u32 = 0x0000_0040;
/// User: set (reset) the password (SamrSetInformationUser2 levels 23–26, 31, 32).
pub const USER_FORCE_PASSWORD_CHANGE: u32 = 0x0000_0080;
/// User: list group memberships.
pub const USER_LIST_GROUPS: u32 = 0x0000_0100;
/// User: read group information.
pub const USER_READ_GROUP_INFORMATION: u32 = 0x0000_0200;
/// User: write group information.
pub const USER_WRITE_GROUP_INFORMATION: u32 = 0x0000_0400;
/// User: all rights.
pub const USER_ALL_ACCESS: u32 = 0x000F_07FF;
/// User: generic read.
pub const USER_READ: u32 = 0x0002_031A;
/// User: generic write.
pub const USER_WRITE: u32 = 0x0002_0044;
/// User: generic execute.
pub const USER_EXECUTE: u32 = 0x0002_0041;
