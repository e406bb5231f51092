//! The high-level API: change, reset, policy, users and diagnose, each a sequence of typed SAMR
//! calls over one SMB session.

mod change;
mod doctor;
mod domain;
mod query;
mod reset;
pub mod rotate;
mod users;

pub use crate::session::{SessionKind, SessionSummary};
pub use change::{
    ChangePassword, ChangeSession, DEFAULT_ITERATIONS_MAX, DEFAULT_ITERATIONS_MIN, change_password,
};
pub use doctor::{DoctorReport, DoctorRequest, DoctorStep, Verdict, doctor};
pub(crate) use domain::*;
pub(crate) use query::user_state;
pub use query::{PasswordPolicy, PolicyReport, PolicyRequest, UserState, password_policy};
pub(crate) use reset::set_password;
pub use reset::{ResetPassword, reset_password};
pub(crate) use users::enumerate_users;
pub use users::{AccountKind, ListUsersRequest, UserEntry, list_users};

use crate::client::SamrClient;
use crate::error::{Error, ErrorKind, Operation};
use crate::samr::SamrGetDomainPasswordInformation;
use crate::secret::Password;
use crate::status::NtStatus;

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
    /// RFC 3244 kpasswd (Kerberos password change, AP-REQ + KRB-PRIV to port 464).
    Kpasswd,
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
            Self::Kpasswd => "kpasswd",
        }
    }
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

pub(crate) fn check_new_password(new: &Password) -> Result<(), Error> {
    if new.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::Input,
            "the new password is empty",
        ));
    }
    let units = new.utf16_len();
    if units > crate::crypto::MAX_PASSWORD_UTF16_UNITS {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::Input,
            format!(
                "the new password is {units} UTF-16 code units long; SAMR carries at most {}",
                crate::crypto::MAX_PASSWORD_UTF16_UNITS
            ),
        )
        .with_hint("Choose a password of at most 256 characters (characters outside the Basic Multilingual Plane count twice)."));
    }
    Ok(())
}

pub(crate) fn crypto_error(op: Operation, e: crate::crypto::CryptoError) -> Error {
    Error::new(ErrorKind::InvalidInput, op, e.to_string())
}

/// Explain STATUS_PASSWORD_RESTRICTION with the domain's rules (opnum 56 needs no handle).
pub(crate) async fn restriction_error(client: &mut SamrClient, op: Operation) -> Error {
    let base = Error::refused(op, NtStatus::STATUS_PASSWORD_RESTRICTION);
    match client.call(&SamrGetDomainPasswordInformation { unused: None }).await {
        Ok(r) if r.status.is_success() => {
            let rules = crate::error::PasswordRules::new(
                r.info.min_password_length,
                r.info.password_properties,
            );
            base.with_advice(crate::error::Advice::PasswordRules(rules)).with_hint(format!(
                "The new password does not meet the policy: minimum length {}{}; it must also \
                 differ from the recent passwords kept in the history, and the minimum password \
                 age must have passed since the last change (the domain's password policy shows \
                 all rules).",
                rules.min_length,
                if rules.complexity() {
                    ", complexity required (three of: upper case, lower case, digits, symbols; not containing the account name)"
                } else {
                    ", no complexity rule"
                }
            ))
        }
        _ => base,
    }
}
