//! The high-level API: change, reset, policy, users and diagnose, each a sequence of typed SAMR
//! calls over one SMB session.

use crate::config::{ClientConfig, Credentials, Secret};
use crate::error::{Error, ErrorKind, Operation};
use crate::secret::Password;
use crate::status::NtStatus;

/// How the password change authenticates.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ChangeSession {
    /// Authenticate as the user with the old secret; when the server answers
    /// STATUS_PASSWORD_MUST_CHANGE or STATUS_PASSWORD_EXPIRED, retry over an anonymous session.
    #[default]
    Auto,
    /// Use an anonymous session from the start.
    Anonymous,
}

/// A password change: the user knows the old password (or its NT hash).
#[derive(Clone, Debug)]
pub struct ChangePassword {
    /// Server host name or address.
    pub host: String,
    /// The account whose password changes (bare name).
    pub user: String,
    /// The account's NetBIOS domain; `None` uses the one the server announces.
    pub domain: Option<String>,
    /// The current password or its NT hash.
    pub old: Secret,
    /// The new password.
    pub new: Password,
    /// How to authenticate.
    pub session: ChangeSession,
    /// PBKDF2 iterations for SamrUnicodeChangePasswordUser4 (5,000..=1,000,000); `None`
    /// picks the documented default.
    pub iterations: Option<u64>,
    /// Connection settings and security policy.
    pub config: ClientConfig,
}

/// An administrator reset: sets a new password without knowing the old one.
///
/// **A reset is not a change.** Windows protects the user's DPAPI secrets (saved
/// credentials, EFS and certificate private keys) with keys derived from the password; a
/// change re-wraps them, a reset cannot, so a reset can make them unreadable for good. Prefer
/// [`change_password`] whenever the old password is known.
#[derive(Clone, Debug)]
pub struct ResetPassword {
    /// Server host name or address.
    pub host: String,
    /// The account to reset (bare name).
    pub user: String,
    /// The administrator's credentials.
    pub admin: Credentials,
    /// The new password.
    pub new: Password,
    /// Mark the password expired so the user must change it at the next logon.
    pub must_change: bool,
    /// Connection settings and security policy.
    pub config: ClientConfig,
}

/// The SAMR method that did the work.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// `SamrUnicodeChangePasswordUser4` (opnum 73): AES-256 + HMAC-SHA512, PBKDF2 key.
    ChangeUser4,
    /// `SamrUnicodeChangePasswordUser2` (opnum 55): legacy RC4 (opt-in only).
    ChangeUser2,
    /// `SamrSetInformationUser2` level 31 (`UserInternal7Information`, AES).
    SetInternal7,
    /// `SamrSetInformationUser2` level 32 (`UserInternal8Information`, AES).
    SetInternal8,
    /// `SamrSetInformationUser2` level 25 (`UserInternal4InformationNew`, legacy RC4).
    SetInternal4New,
    /// `SamrSetInformationUser2` level 23 (`UserInternal4Information`, legacy RC4).
    SetInternal4,
}

impl Method {
    /// The name used in results and JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Self::ChangeUser4 => "SamrUnicodeChangePasswordUser4",
            Self::ChangeUser2 => "SamrUnicodeChangePasswordUser2",
            Self::SetInternal7 => "SamrSetInformationUser2/UserInternal7Information",
            Self::SetInternal8 => "SamrSetInformationUser2/UserInternal8Information",
            Self::SetInternal4New => "SamrSetInformationUser2/UserInternal4InformationNew",
            Self::SetInternal4 => "SamrSetInformationUser2/UserInternal4Information",
        }
    }
}

/// How the SMB session was authenticated.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// As a named account.
    Authenticated,
    /// A null session.
    Anonymous,
}

impl SessionKind {
    /// `authenticated` or `anonymous`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Authenticated => "authenticated",
            Self::Anonymous => "anonymous",
        }
    }
}

/// What the SMB session negotiated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    /// Authenticated or anonymous.
    pub kind: SessionKind,
    /// The SMB dialect, e.g. `3.1.1`.
    pub dialect: String,
    /// Whether messages were signed.
    pub signing: bool,
    /// Whether messages were encrypted.
    pub encryption: bool,
}

/// The result of a successful change or reset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The method that did the work.
    pub method: Method,
    /// The server's final status (STATUS_SUCCESS).
    pub status: NtStatus,
    /// The session it ran over.
    pub session: SessionSummary,
    /// PBKDF2 iterations used (User4 only).
    pub iterations: Option<u64>,
}

pub(crate) fn not_integrated(op: Operation) -> Error {
    Error::new(ErrorKind::Protocol, op, "this operation is not available in this build yet")
}

/// The domain password and lockout policy ([MS-SAMR] DOMAIN_PASSWORD_INFORMATION and
/// DOMAIN_LOCKOUT_INFORMATION).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum password length in characters.
    pub min_length: u16,
    /// How many previous passwords may not be reused.
    pub history_length: u16,
    /// The raw PasswordProperties bits (DOMAIN_PASSWORD_COMPLEX = 0x01, …).
    pub properties: u32,
    /// Minimum password age in seconds (0 = may change at once).
    pub min_age_secs: u64,
    /// Maximum password age in seconds (`None` = never expires).
    pub max_age_secs: Option<u64>,
    /// Failed logons before lockout (0 = never locks out).
    pub lockout_threshold: u16,
    /// Lockout duration in seconds (`None` = until an administrator unlocks).
    pub lockout_duration_secs: Option<u64>,
    /// Window in seconds over which failed logons are counted.
    pub lockout_window_secs: u64,
}

impl PasswordPolicy {
    /// Complexity required (DOMAIN_PASSWORD_COMPLEX).
    pub fn complexity(&self) -> bool {
        self.properties & 0x01 != 0
    }
    /// Anonymous password changes refused (DOMAIN_PASSWORD_NO_ANON_CHANGE).
    pub fn no_anonymous_change(&self) -> bool {
        self.properties & 0x02 != 0
    }
    /// Password changes refused (DOMAIN_REFUSE_PASSWORD_CHANGE).
    pub fn refuse_password_change(&self) -> bool {
        self.properties & 0x20 != 0
    }
    /// The rules in one sentence, for hints: "minimum length 7, complexity required, …".
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("minimum length {}", self.min_length)];
        parts.push(if self.complexity() {
            "complexity required (three of: upper case, lower case, digits, symbols; not the account name)".to_owned()
        } else {
            "no complexity rule".to_owned()
        });
        parts.push(format!("history {} passwords", self.history_length));
        parts.push(if self.min_age_secs == 0 {
            "no minimum age".to_owned()
        } else {
            format!("minimum age {} s", self.min_age_secs)
        });
        parts.join(", ")
    }
}

/// One user's password state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserState {
    /// The account name.
    pub name: String,
    /// The relative id.
    pub rid: u32,
    /// When the password was last set, as a Windows FILETIME (0 = never / must change).
    pub password_last_set: u64,
    /// When the password must be changed, as a FILETIME (`i64::MAX as u64` = never).
    pub password_must_change: u64,
    /// The user account control bits (USER_ACCOUNT_DISABLED = 0x01, …).
    pub account_control: u32,
    /// Failed logons counted against the lockout threshold.
    pub bad_password_count: u16,
}

/// The answer of [`password_policy`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyReport {
    /// The domain the policy belongs to (the NetBIOS domain or the computer name).
    pub domain: String,
    /// The policy.
    pub policy: PasswordPolicy,
    /// The named user's state, if one was asked for.
    pub user: Option<UserState>,
    /// The session it was read over.
    pub session: SessionSummary,
}

/// One account of [`list_users`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserEntry {
    /// The account name.
    pub name: String,
    /// The relative id.
    pub rid: u32,
    /// The user account control bits.
    pub account_control: u32,
}

/// One step of [`doctor`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoctorStep {
    /// What was checked ("TCP 445", "SMB dialect", …).
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub found: String,
    /// What to do when it failed.
    pub hint: Option<String>,
}

/// Change a password with the old one (or its NT hash). Tries
/// `SamrUnicodeChangePasswordUser4` (AES) first; falls back to the RC4
/// `SamrUnicodeChangePasswordUser2` only when the server lacks opnum 73 **and**
/// `config.allow_rc4` is set.
pub async fn change_password(req: ChangePassword) -> Result<Outcome, Error> {
    let _ = req;
    Err(not_integrated(Operation::Connect))
}

/// Reset a password as an administrator (see the DPAPI warning on [`ResetPassword`]).
pub async fn reset_password(req: ResetPassword) -> Result<Outcome, Error> {
    let _ = req;
    Err(not_integrated(Operation::Connect))
}

/// Read the domain password policy and, if `user` is given, that user's password state.
pub async fn password_policy(
    host: &str,
    credentials: Credentials,
    user: Option<&str>,
    config: ClientConfig,
) -> Result<PolicyReport, Error> {
    let _ = (host, credentials, user, config);
    Err(not_integrated(Operation::Connect))
}

/// List the users of the server's account domain.
pub async fn list_users(
    host: &str,
    credentials: Credentials,
    config: ClientConfig,
) -> Result<Vec<UserEntry>, Error> {
    let _ = (host, credentials, config);
    Err(not_integrated(Operation::Connect))
}

/// Walk the path to a password change one step at a time and report each.
pub async fn doctor(
    host: &str,
    credentials: Option<Credentials>,
    user: Option<&str>,
    config: ClientConfig,
) -> Vec<DoctorStep> {
    let _ = (host, credentials, user, config);
    vec![]
}
