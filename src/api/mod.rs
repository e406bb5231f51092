//! The high-level API: change, reset, policy, users and diagnose, each a sequence of typed SAMR
//! calls over one SMB session.
//!
//! Two ways to run a job:
//!
//! - **one job, one connection**: the free functions ([`change_password`],
//!   [`reset_password`], [`password_policy`], [`list_users`], [`doctor`]) connect, do the
//!   job, and close;
//! - **many jobs, one session**: connect a [`SamrClient`] once and call its methods
//!   ([`SamrClient::change_password`], [`SamrClient::reset_password`],
//!   [`SamrClient::password_policy`], [`SamrClient::user_state`], [`SamrClient::list_users`]),
//!   or compose your own from the typed steps in [`domain`] and [`SamrClient::call`].
//!
//! # Cancellation and timeouts
//!
//! Every job is cancellation-safe in the sense of tokio: dropping its future stops it and
//! leaves nothing running (the PBKDF2 derivation of a change stops within a few
//! milliseconds). What a cancellation means for the server's state depends on when it
//! happened, as with any database client:
//!
//! | Job | dropped before the request left | dropped after |
//! |---|---|---|
//! | change, reset | nothing changed | **outcome unknown**: the password may or may not have changed |
//! | policy, user state, list users, doctor | nothing changed | nothing changed (reads only) |
//!
//! A dropped future cannot tell you which case you are in, so **bound jobs with
//! [`ClientConfig::operation_timeout`]** (the whole job, connection included) rather than
//! `tokio::time::timeout`: when it runs out, the job returns an error that is
//! [`ErrorKind::OutcomeUnknown`] exactly when a change or reset request may have reached the
//! server, and [`ErrorKind::Timeout`] otherwise. A [`SamrClient`] whose call was dropped
//! mid-flight is closed ([`SamrClient::is_closed`], [`ErrorKind::Closed`]); connect a new one.
//!
//! # Runtime
//!
//! The jobs need a tokio runtime with I/O and timers enabled (`#[tokio::main]`, or a
//! `Builder` with `enable_all()`). Outside any runtime they return an error rather than
//! panic; for synchronous code, [`crate::blocking`] runs them on a runtime of its own.

mod change;
mod doctor;
pub mod domain;
mod query;
mod reset;
pub mod rotate;
mod users;

pub use crate::session::{Dialect, SessionKind, SessionSummary};
pub use change::{
    ChangePassword, ChangeSession, DEFAULT_ITERATIONS_MAX, DEFAULT_ITERATIONS_MIN, change_password,
};
pub use doctor::{DoctorReport, DoctorRequest, DoctorStep, Verdict, doctor};
pub(crate) use domain::*;
pub(crate) use query::user_state;
pub use query::{
    PasswordPolicy, PolicyReport, PolicyRequest, UserState, filetime_to_system_time,
    password_policy,
};
pub(crate) use reset::set_password;
pub use reset::{ResetPassword, reset_password};
pub(crate) use users::enumerate_users;
pub use users::{
    AccountKind, ListUsersRequest, MAX_ENUMERATED_USERS, MAX_ENUMERATION_CALLS, UserEntry,
    list_users,
};

use crate::client::SamrClient;
use crate::config::{ClientConfig, Transport};
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
#[non_exhaustive]
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

impl Outcome {
    /// An outcome of `method` with the server's `status` over `session` (`iterations` for
    /// `SamrUnicodeChangePasswordUser4`), e.g. for tests of code that reports outcomes.
    pub fn new(
        method: Method,
        status: NtStatus,
        session: SessionSummary,
        iterations: Option<u64>,
    ) -> Self {
        Self { method, status, session, iterations }
    }
}

/// A job's [`ClientConfig::operation_timeout`], counted from the job's start.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Deadline {
    limit: Option<(tokio::time::Instant, std::time::Duration)>,
}

impl Deadline {
    /// From now, per `config` (no limit when it sets none).
    pub(crate) fn start(config: &ClientConfig) -> Self {
        Self { limit: config.operation_timeout.map(|d| (tokio::time::Instant::now() + d, d)) }
    }

    /// Connect within the deadline.
    pub(crate) async fn connect(
        &self,
        host: &str,
        credentials: &crate::config::Credentials,
        config: &ClientConfig,
    ) -> Result<SamrClient, Error> {
        crate::client::require_runtime(Operation::Connect)?;
        match self.limit {
            None => SamrClient::connect(host, credentials, config).await,
            Some((at, d)) => {
                tokio::time::timeout_at(at, SamrClient::connect(host, credentials, config))
                    .await
                    .unwrap_or_else(|_| {
                        Err(crate::client::operation_timed_out(d, None, Operation::Connect))
                    })
            }
        }
    }

    /// Run `work` within the deadline; `None` when the deadline passed (`work` was dropped:
    /// classify with [`Deadline::expired`]).
    pub(crate) async fn run<T>(
        &self,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Option<Result<T, Error>> {
        match self.limit {
            None => Some(work.await),
            Some((at, _)) => tokio::time::timeout_at(at, work).await.ok(),
        }
    }

    /// The error of a job whose deadline passed: from the client's interrupted call, outcome
    /// unknown when a password-changing request may have reached the server, a timeout
    /// otherwise (`op` names the step when no call was running).
    pub(crate) fn expired(
        &self,
        interrupted: Option<crate::client::InFlight>,
        op: Operation,
    ) -> Error {
        let limit = self.limit.map(|(_, d)| d).unwrap_or_default();
        crate::client::operation_timed_out(limit, interrupted, op)
    }
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

/// The hint for jobs that need SMB's session key.
pub const RESET_NEEDS_SMB_HINT: &str = "Password resets need SMB (ncacn_np): over TCP the server \
     has no session key to decrypt the new password (SamrSetInformationUser2 answers \
     STATUS_NO_USER_SESSION_KEY). Use the SMB transport, with TCP port 445 reachable.";

/// Resets (and rotations) run over SMB only: refused with [`Transport::Tcp`] before anything
/// is sent (nothing secret leaves this host); [`Transport::Auto`] is pinned to SMB (no TCP
/// fallback). `what` names the job in the message.
///
/// [`Transport::Tcp`]: crate::config::Transport::Tcp
/// [`Transport::Auto`]: crate::config::Transport::Auto
pub(crate) fn smb_only(config: &ClientConfig, what: &str) -> Result<ClientConfig, Error> {
    match config.transport {
        Transport::Tcp => Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::Input,
            format!("{what} cannot run over ncacn_ip_tcp: it needs the SMB session key"),
        )
        .with_hint(RESET_NEEDS_SMB_HINT)),
        _ => Ok(config.clone().with_transport(Transport::Smb)),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_are_pinned_to_smb() {
        let e = smb_only(&ClientConfig::default().with_transport(Transport::Tcp), "a reset")
            .unwrap_err();
        assert_eq!((e.kind(), e.operation()), (ErrorKind::InvalidInput, Operation::Input));
        assert!(e.message().contains("ncacn_ip_tcp"), "{e}");
        assert_eq!(e.hint(), Some(RESET_NEEDS_SMB_HINT));
        for t in [Transport::Auto, Transport::Smb] {
            let c = smb_only(&ClientConfig::default().with_transport(t), "a reset").unwrap();
            assert_eq!(c.transport, Transport::Smb);
        }
    }

    /// The jobs' futures can move to another thread (`tokio::spawn` on a multi-thread
    /// runtime), as services need.
    #[test]
    fn job_futures_are_send() {
        fn send<T: Send>(_: &T) {}
        let change = ChangePassword::new("h", "u", Password::from("a"), Password::from("b"));
        let reset =
            ResetPassword::new("h", "u", crate::Credentials::Anonymous, Password::from("b"));
        send(&change_password(change.clone()));
        send(&reset_password(reset.clone()));
        send(&password_policy(PolicyRequest::new("h", crate::Credentials::Anonymous)));
        send(&list_users(ListUsersRequest::new("h", crate::Credentials::Anonymous)));
        // The methods, without a client to run them on.
        #[allow(dead_code)]
        fn methods(c: &mut SamrClient, change: &ChangePassword, reset: &ResetPassword) {
            send(&c.change_password(change));
            send(&c.reset_password(reset));
            send(&c.password_policy(Some("u")));
            send(&c.user_state("u"));
            send(&c.list_users(AccountKind::All));
        }
    }
}
