//! NTSTATUS codes and DCE/RPC fault codes as open newtypes built from one table.
//!
//! [`NtStatus`] and [`RpcFault`] hold any `u32`, known or not. The codes this crate can meet are
//! listed once below with their symbol, a factual description (used by `Display`) and advice a
//! person can act on ([`NtStatus::hint`], [`RpcFault::hint`]). Sources: [MS-ERREF] 2.3 for
//! NTSTATUS values, [MS-RPCE] 3.1.1.5.5 / C706 appendix E for fault codes, and
//! `../shared/spec/protocol-notes.md` sections 1.7, 4.8, 5.7 and 8 for what they mean here.

use core::fmt;

/// An NTSTATUS value (MS-ERREF 2.3). Open: unknown values are kept and shown in hex.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NtStatus(pub u32);

/// A DCE/RPC fault status from a FAULT PDU (MS-RPCE 2.2.2.7). Open like [`NtStatus`].
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RpcFault(pub u32);

struct Entry {
    code: u32,
    name: &'static str,
    description: &'static str,
    hint: &'static str,
}

macro_rules! code_table {
    ($ty:ident, $table:ident; $( $(#[$m:meta])* $konst:ident = $code:expr, $desc:expr, $hint:expr; )*) => {
        impl $ty {
            $( $(#[$m])* #[doc = concat!("`", stringify!($konst), "`: ", $desc)]
               pub const $konst: $ty = $ty($code); )*
        }
        static $table: &[Entry] = &[
            $( Entry { code: $code, name: stringify!($konst), description: $desc, hint: $hint }, )*
        ];
    };
}

code_table! { NtStatus, NT_TABLE;
    STATUS_SUCCESS = 0x0000_0000, "the operation succeeded", "";
    STATUS_PENDING = 0x0000_0103, "the operation is still in progress", "";
    STATUS_MORE_ENTRIES = 0x0000_0105, "more entries are available", "";
    STATUS_SOME_NOT_MAPPED = 0x0000_0107, "some of the names could not be mapped", "Check the spelling of the account names.";
    STATUS_BUFFER_OVERFLOW = 0x8000_0005, "the data was too large for the buffer; more remains", "";
    STATUS_NO_MORE_ENTRIES = 0x8000_001A, "no more entries are available", "";
    STATUS_UNSUCCESSFUL = 0xC000_0001, "the operation failed", "";
    STATUS_NOT_IMPLEMENTED = 0xC000_0002, "the server does not implement this request", "The server is too old for this call; the legacy RC4 method may work if the caller allows RC4.";
    STATUS_INVALID_INFO_CLASS = 0xC000_0003, "the information class is not valid for this call", "The server does not support this information level; an older level may work (the legacy levels use RC4 and must be allowed by the caller).";
    STATUS_INVALID_HANDLE = 0xC000_0008, "the handle is not valid", "The server closed the handle; reconnect and retry.";
    STATUS_INVALID_PARAMETER = 0xC000_000D, "a parameter was not valid", "The server rejected a parameter (for example a PBKDF2 iteration count outside 5000..=1000000); this is likely a client bug, please report it.";
    STATUS_INVALID_DEVICE_REQUEST = 0xC000_0010, "the request is not valid for this device", "";
    STATUS_MORE_PROCESSING_REQUIRED = 0xC000_0016, "more processing is required", "";
    STATUS_ACCESS_DENIED = 0xC000_0022, "access denied", "The server refused the request. For a password change: Windows 11 24H2 and Server 2025 block remote SAMR password changes on domain members by default and allow only the AES method (SamrUnicodeChangePasswordUser4) on domain controllers (policy \"Configure SAM change password RPC methods\", SamrChangeUserPasswordApiPolicy); the account may have \"user cannot change password\" set, or anonymous changes are refused. Change the password on a domain controller, or ask an administrator. For a reset: the account you logged in with lacks the reset-password right on the user, or it is a local administrator other than the built-in one and UAC remote restrictions (LocalAccountTokenFilterPolicy) filter its token; RestrictRemoteSAM can also deny remote SAM calls.";
    STATUS_BUFFER_TOO_SMALL = 0xC000_0023, "the buffer is too small", "";
    STATUS_OBJECT_NAME_NOT_FOUND = 0xC000_0034, "the object name was not found", "The server has no \\PIPE\\samr endpoint; is it a Windows or Samba server with the SAM service running?";
    STATUS_NO_SUCH_USER = 0xC000_0064, "the specified account does not exist", "Check the account name (the bare sAMAccountName, without a DOMAIN\\ prefix).";
    STATUS_WRONG_PASSWORD = 0xC000_006A, "the current password is incorrect, or the account does not exist", "Check the current password (or NT hash) and the account name. For safety the server gives the same answer for a wrong password and an unknown account. Repeated attempts can lock the account out.";
    STATUS_PASSWORD_RESTRICTION = 0xC000_006C, "the new password does not meet the password policy", "Choose a password that meets the policy: minimum length, complexity (three of: upper case, lower case, digits, symbols; not containing the account name), history (not a recent password) and minimum age (the password may have been changed too recently). The domain's password policy (readable over SAMR) shows the rules.";
    STATUS_LOGON_FAILURE = 0xC000_006D, "the user name or password is incorrect", "Check the user name and password. If they are right, check the domain: NTLMv2 mixes the domain name into the proof, so a missing or wrong domain fails even with the right password; give the NetBIOS domain (for a local account of a member server or workstation, the domain is the computer name). Windows gives the same answer for an unknown account as for a wrong password.";
    STATUS_ACCOUNT_RESTRICTION = 0xC000_006E, "an account restriction prevented the logon", "The account may not log on this way. Most often on Windows: the account is in the Protected Users group, whose members cannot authenticate with NTLM (only Kerberos with AES) and so cannot open this session; authenticate with Kerberos, use another account, or change the password on a domain controller console. Other causes: a blank password over the network, logon-hour or workstation restrictions.";
    STATUS_INVALID_LOGON_HOURS = 0xC000_006F, "the account may not log on at this time", "The account's logon hours do not allow a logon now.";
    STATUS_INVALID_WORKSTATION = 0xC000_0070, "the account may not log on from this workstation", "The account is restricted to certain workstations.";
    STATUS_PASSWORD_EXPIRED = 0xC000_0071, "the password has expired", "The account cannot log on until its password is changed; change it over an anonymous session (the automatic session mode retries that way), where the server allows anonymous SAMR password changes.";
    STATUS_ACCOUNT_DISABLED = 0xC000_0072, "the account is disabled", "An administrator must enable the account.";
    STATUS_NO_LOGON_SERVERS = 0xC000_005E, "no logon server is available to check the logon", "The server could not reach a domain controller to check this domain account (a member server cut off from its domain). Connect to a domain controller directly, or ask an administrator to check the member's connection to its domain.";
    STATUS_NONE_MAPPED = 0xC000_0073, "none of the names could be mapped", "The account was not found in the server's domain. Check the spelling (the bare account name).";
    STATUS_INVALID_SID = 0xC000_0078, "the SID is not valid", "";
    STATUS_INSUFFICIENT_RESOURCES = 0xC000_009A, "the server lacks resources", "Retry later.";
    STATUS_PIPE_DISCONNECTED = 0xC000_00B0, "the pipe was disconnected by the server", "Reconnect and retry.";
    STATUS_NOT_SUPPORTED = 0xC000_00BB, "the request is not supported", "The server does not support this request (or NTLM is blocked on it).";
    STATUS_BAD_NETWORK_NAME = 0xC000_00CC, "the network name (share) was not found", "The server has no IPC$ share; is it an SMB server?";
    STATUS_REQUEST_NOT_ACCEPTED = 0xC000_00D0, "the server cannot accept more connections", "Retry later.";
    STATUS_INVALID_DOMAIN_STATE = 0xC000_00DD, "the domain is in the wrong state", "";
    STATUS_INVALID_DOMAIN_ROLE = 0xC000_00DE, "the domain role does not allow this operation", "";
    STATUS_NO_SUCH_DOMAIN = 0xC000_00DF, "the domain does not exist", "Check the domain name.";
    STATUS_LOGON_TYPE_NOT_GRANTED = 0xC000_015B, "the account has not been granted the network logon type on this server", "The account lacks the \"Access this computer from the network\" user right on the server (or holds \"Deny access to this computer from the network\"). An administrator must grant it, or change the password on a server where the account may log on, such as a domain controller.";
    STATUS_PIPE_BROKEN = 0xC000_014B, "the pipe was broken", "Reconnect and retry.";
    STATUS_TRUSTED_DOMAIN_FAILURE = 0xC000_018C, "the trust relationship between the server's domain and the account's domain failed", "The server could not check the account through the domain trust. Connect to a domain controller of the account's own domain, or ask an administrator to check the trust.";
    STATUS_TRUSTED_RELATIONSHIP_FAILURE = 0xC000_018D, "the trust relationship between the server and its domain failed", "The member server's secure channel to its domain is broken (its computer account password is out of sync), so it cannot check domain accounts. Connect to a domain controller instead, or ask an administrator to repair the trust (for example Test-ComputerSecureChannel -Repair on the server).";
    STATUS_ACCOUNT_EXPIRED = 0xC000_0193, "the account has expired", "The account itself has expired (its account-expiry date has passed), not its password: changing the password does not help. An administrator must extend or clear the account's expiry date.";
    STATUS_NOLOGON_INTERDOMAIN_TRUST_ACCOUNT = 0xC000_0198, "the account is an interdomain trust account and cannot log on this way", "Trust accounts cannot open an SMB session with NTLM. Authenticate as another account.";
    STATUS_NOLOGON_WORKSTATION_TRUST_ACCOUNT = 0xC000_0199, "the account is a computer account and cannot log on this way", "Computer (workstation trust) accounts cannot open an SMB session with NTLM. Change a computer account's password over the TCP transport (ncacn_ip_tcp) instead of SMB, or authenticate as another account.";
    STATUS_NOLOGON_SERVER_TRUST_ACCOUNT = 0xC000_019A, "the account is a domain controller's computer account and cannot log on this way", "Server trust accounts cannot open an SMB session with NTLM. Use the TCP transport (ncacn_ip_tcp) instead of SMB, or authenticate as another account.";
    STATUS_USER_SESSION_DELETED = 0xC000_0203, "the SMB session was deleted", "Reconnect and retry.";
    STATUS_NETWORK_SESSION_EXPIRED = 0xC000_035C, "the SMB session expired", "Reconnect and retry.";
    STATUS_PASSWORD_MUST_CHANGE = 0xC000_0224, "the password must be changed before the account can log on", "The account is marked \"must change password at next logon\" (pwdLastSet is 0: a new account, or an administrator's reset); it cannot log on until the password is changed. Change it over an anonymous session (the automatic session mode retries that way), where the server allows anonymous SAMR password changes.";
    STATUS_ACCOUNT_LOCKED_OUT = 0xC000_0234, "the account is locked out", "Too many wrong passwords locked the account. Wait for the lockout duration of the domain's policy to pass, or ask an administrator to unlock it; every further attempt with a wrong password can extend the lockout.";
    STATUS_DOWNGRADE_DETECTED = 0xC000_0388, "a protocol downgrade was detected", "Someone may be tampering with the connection; do not retry on this network.";
    STATUS_NTLM_BLOCKED = 0xC000_0418, "NTLM authentication is blocked", "The server or its domain blocks NTLM (the \"Network security: Restrict NTLM\" policies). Authenticate with Kerberos, or ask an administrator for an NTLM exception for this server.";
    STATUS_RPC_PROCNUM_OUT_OF_RANGE = 0xC002_002E, "the server does not implement this call", "The server predates the AES password methods (July 2021 updates); update the server, or let the caller allow the legacy RC4 method.";
}

code_table! { RpcFault, FAULT_TABLE;
    ACCESS_DENIED = 0x0000_0005, "access denied at the RPC layer", "The server refused the call after accepting the bind. Two Windows policies do this: RestrictRemoteSAM (\"Network access: Restrict clients allowed to make remote calls to SAM\", by default administrators only on members since Windows 10 1607 / Server 2016), and the password-change API policy of Windows 11 24H2 / Server 2025 (\"Configure SAM change password RPC methods\", SamrChangeUserPasswordApiPolicy). To tell them apart: RestrictRemoteSAM refuses SamrConnect5, so reading the password policy or listing users fails the same way, and the server logs event 16965 (Directory-Services-SAM) in its System log; the password-change policy refuses only the password-change calls while reading works.";
    RPC_S_INVALID_TAG = 0x0000_06C5, "the server does not know the union arm (information level) sent", "The server does not implement this information level (an older Windows); an older level may work.";
    RPC_S_CALL_FAILED = 0x0000_06BE, "the remote procedure call failed", "";
    RPC_S_CANNOT_PERFORM = 0x0000_06D8, "the server cannot perform the call", "";
    RPC_S_OUT_OF_RESOURCES = 0x0000_06D9, "the server is out of resources", "Retry later.";
    RPC_X_BAD_STUB_DATA = 0x0000_06F7, "the server could not decode the request (bad stub data)", "This is a client encoding bug; please report it with a capture.";
    RPC_S_SEC_PKG_ERROR = 0x0000_0721, "security package error", "";
    NCA_S_FAULT_CONTEXT_MISMATCH = 0x1C00_001A, "the context handle is unknown or stale", "Reconnect and retry.";
    NCA_S_INVALID_PRES_CONTEXT_ID = 0x1C00_001C, "the presentation context was not negotiated", "";
    NCA_S_UNSUPPORTED_AUTHN_LEVEL = 0x1C00_001D, "the server requires a different authentication level", "";
    NCA_S_OP_RNG_ERROR = 0x1C01_0002, "the server does not implement this call", "The server predates this RPC method; for the password change, update the server, or let the caller allow the legacy RC4 method.";
    NCA_S_UNKNOWN_IF = 0x1C01_0003, "the interface is not supported by the server", "The server does not offer SAMR on this endpoint.";
    NCA_S_PROTO_ERROR = 0x1C01_000B, "the server saw a protocol error", "This is likely a client bug; please report it.";
}

fn lookup(table: &'static [Entry], code: u32) -> Option<&'static Entry> {
    table.iter().find(|e| e.code == code)
}

impl NtStatus {
    /// The symbolic name (`STATUS_WRONG_PASSWORD`), if the code is in the table.
    pub fn name(self) -> Option<&'static str> {
        lookup(NT_TABLE, self.0).map(|e| e.name)
    }
    /// A short factual description, if known.
    pub fn description(self) -> Option<&'static str> {
        lookup(NT_TABLE, self.0).map(|e| e.description)
    }
    /// Advice a person can act on, if there is any.
    pub fn hint(self) -> Option<&'static str> {
        lookup(NT_TABLE, self.0).map(|e| e.hint).filter(|h| !h.is_empty())
    }
    /// Severity "error" (the top two bits are `11`).
    pub const fn is_error(self) -> bool {
        self.0 >> 30 == 3
    }
    /// Success or informational severity (the top bit is clear).
    pub const fn is_success(self) -> bool {
        self.0 >> 31 == 0
    }
    /// The symbol, or `0xXXXXXXXX` for unknown codes (stable, for JSON output).
    pub fn symbol(self) -> String {
        match self.name() {
            Some(n) => n.to_owned(),
            None => format!("0x{:08X}", self.0),
        }
    }
}

impl RpcFault {
    /// The symbolic name (`NCA_S_OP_RNG_ERROR`), if known.
    pub fn name(self) -> Option<&'static str> {
        lookup(FAULT_TABLE, self.0).map(|e| e.name)
    }
    /// A short factual description, if known.
    pub fn description(self) -> Option<&'static str> {
        lookup(FAULT_TABLE, self.0).map(|e| e.description)
    }
    /// Advice a person can act on, if there is any.
    pub fn hint(self) -> Option<&'static str> {
        lookup(FAULT_TABLE, self.0).map(|e| e.hint).filter(|h| !h.is_empty())
    }
    /// The symbol in lower case as DCE/RPC writes it (`nca_s_op_rng_error`), or hex.
    pub fn symbol(self) -> String {
        match self.name() {
            Some(n) => n.to_ascii_lowercase(),
            None => format!("0x{:08X}", self.0),
        }
    }
}

impl fmt::Debug for NtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}(0x{:08X})", self.0),
            None => write!(f, "NtStatus(0x{:08X})", self.0),
        }
    }
}

impl fmt::Display for NtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match lookup(NT_TABLE, self.0) {
            Some(e) => write!(f, "{} (0x{:08X}): {}", e.name, e.code, e.description),
            None => write!(f, "NTSTATUS 0x{:08X}", self.0),
        }
    }
}

impl fmt::Debug for RpcFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RpcFault({} 0x{:08X})", self.symbol(), self.0)
    }
}

impl fmt::Display for RpcFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match lookup(FAULT_TABLE, self.0) {
            Some(e) => write!(
                f,
                "RPC fault {} (0x{:08X}): {}",
                e.name.to_ascii_lowercase(),
                e.code,
                e.description
            ),
            None => write!(f, "RPC fault 0x{:08X}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_have_names_and_display() {
        assert_eq!(NtStatus::STATUS_WRONG_PASSWORD.0, 0xC000_006A);
        assert_eq!(NtStatus(0xC000_006A).name(), Some("STATUS_WRONG_PASSWORD"));
        let s = NtStatus::STATUS_PASSWORD_RESTRICTION.to_string();
        assert!(s.starts_with("STATUS_PASSWORD_RESTRICTION (0xC000006C)"), "{s}");
        assert!(NtStatus::STATUS_PASSWORD_RESTRICTION.hint().unwrap().contains("minimum length"));
        assert_eq!(RpcFault(0x1C01_0002).symbol(), "nca_s_op_rng_error");
        assert_eq!(
            RpcFault::NCA_S_OP_RNG_ERROR.description(),
            Some("the server does not implement this call")
        );
    }

    #[test]
    fn unknown_codes_stay_open() {
        let s = NtStatus(0xC0DE_0001);
        assert_eq!(s.name(), None);
        assert_eq!(s.symbol(), "0xC0DE0001");
        assert_eq!(s.to_string(), "NTSTATUS 0xC0DE0001");
        assert_eq!(RpcFault(0x1234).to_string(), "RPC fault 0x00001234");
    }

    #[test]
    fn severity() {
        assert!(NtStatus::STATUS_SUCCESS.is_success());
        assert!(!NtStatus::STATUS_BUFFER_OVERFLOW.is_success());
        assert!(!NtStatus::STATUS_BUFFER_OVERFLOW.is_error());
        assert!(NtStatus::STATUS_ACCESS_DENIED.is_error());
    }

    #[test]
    fn windows_logon_failures_are_known_with_hints() {
        // Values from [MS-ERREF] 2.3.1.
        for (status, value, words) in [
            (NtStatus::STATUS_ACCOUNT_EXPIRED, 0xC000_0193, "administrator must extend"),
            (
                NtStatus::STATUS_LOGON_TYPE_NOT_GRANTED,
                0xC000_015B,
                "Access this computer from the network",
            ),
            (NtStatus::STATUS_NO_LOGON_SERVERS, 0xC000_005E, "domain controller"),
            (NtStatus::STATUS_TRUSTED_RELATIONSHIP_FAILURE, 0xC000_018D, "trust"),
            (NtStatus::STATUS_NTLM_BLOCKED, 0xC000_0418, "Kerberos"),
            (NtStatus::STATUS_NOLOGON_WORKSTATION_TRUST_ACCOUNT, 0xC000_0199, "TCP"),
            (NtStatus::STATUS_ACCOUNT_LOCKED_OUT, 0xC000_0234, "lockout duration"),
            (NtStatus::STATUS_ACCOUNT_RESTRICTION, 0xC000_006E, "Protected Users"),
            (NtStatus::STATUS_ACCOUNT_DISABLED, 0xC000_0072, "enable"),
        ] {
            assert_eq!(status.0, value, "{status:?}");
            let hint = status.hint().unwrap_or_else(|| panic!("{status:?} has no hint"));
            assert!(hint.contains(words), "{status:?}: {hint}");
            assert!(status.description().is_some());
        }
        // Windows answers PASSWORD_MUST_CHANGE whenever pwdLastSet is 0, not only at first logon.
        let d = NtStatus::STATUS_PASSWORD_MUST_CHANGE.description().unwrap();
        assert!(!d.contains("first"), "{d}");
        assert!(NtStatus::STATUS_PASSWORD_MUST_CHANGE.hint().unwrap().contains("pwdLastSet is 0"));
        // Protected Users is an account restriction, not an access-denied case.
        assert!(!NtStatus::STATUS_ACCESS_DENIED.hint().unwrap().contains("Protected Users"));
    }

    #[test]
    fn fault_table_knows_invalid_tag_and_explains_fault_5() {
        // [MS-ERREF] 2.2: RPC_S_INVALID_TAG is 1733 (0x6C5).
        assert_eq!(RpcFault::RPC_S_INVALID_TAG.0, 0x6C5);
        assert_eq!(RpcFault(0x6C5).symbol(), "rpc_s_invalid_tag");
        let h = RpcFault::ACCESS_DENIED.hint().unwrap();
        assert!(
            h.contains("RestrictRemoteSAM") && h.contains("SamrChangeUserPasswordApiPolicy"),
            "{h}"
        );
        assert!(h.contains("To tell them apart"), "{h}");
    }

    #[test]
    fn table_has_no_duplicate_codes() {
        for (i, a) in NT_TABLE.iter().enumerate() {
            assert!(NT_TABLE[i + 1..].iter().all(|b| b.code != a.code), "{}", a.name);
        }
        for (i, a) in FAULT_TABLE.iter().enumerate() {
            assert!(FAULT_TABLE[i + 1..].iter().all(|b| b.code != a.code), "{}", a.name);
        }
    }
}
