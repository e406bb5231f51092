//! The public error type: which operation failed, the server's answer, and what to do.
//!
//! [`Error`] answers questions ([`Error::status`], [`Error::is_wrong_password`],
//! [`Error::outcome_unknown`], [`Error::exit_code`]) and carries a [`Error::hint`] with advice a
//! person can act on. `Display` is factual and stable; advice lives in `hint()`, and in
//! [`Error::advice`] as data a program (such as a command-line front end) can turn into its own
//! words. The hint names no front end's options: it speaks of the library's concepts.

use crate::status::{NtStatus, RpcFault};
use core::fmt;
use std::sync::Arc;

/// The step of the work that failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Resolving the host name and opening the TCP connection.
    Connect,
    /// SMB2 NEGOTIATE (dialect, signing and encryption capabilities).
    Negotiate,
    /// SMB2 SESSION_SETUP (authentication).
    SessionSetup,
    /// SMB2 TREE_CONNECT to IPC$.
    TreeConnect,
    /// Opening `\PIPE\samr`.
    OpenPipe,
    /// The DCE/RPC bind to the SAMR interface.
    Bind,
    /// A SAMR call, by its [MS-SAMR] name (e.g. `SamrUnicodeChangePasswordUser4`).
    Call(&'static str),
    /// Checking the caller's input before any network traffic.
    Input,
    /// Closing handles and the session.
    Close,
    /// Getting Kerberos tickets from the KDC (AS/TGS), reading the ticket cache, or a
    /// kpasswd password change.
    Kerberos,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect => f.write_str("connect"),
            Self::Negotiate => f.write_str("SMB negotiate"),
            Self::SessionSetup => f.write_str("SMB session setup"),
            Self::TreeConnect => f.write_str("SMB tree connect to IPC$"),
            Self::OpenPipe => f.write_str("opening \\PIPE\\samr"),
            Self::Bind => f.write_str("SAMR bind"),
            Self::Call(name) => f.write_str(name),
            Self::Input => f.write_str("input check"),
            Self::Kerberos => f.write_str("Kerberos"),
            Self::Close => f.write_str("close"),
        }
    }
}

/// What kind of failure this is. Decides the CLI exit code.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server answered with an NTSTATUS failure (exit code 1).
    ServerRefused,
    /// The server answered with a DCE/RPC fault (exit code 1).
    RpcFault,
    /// The caller's input is invalid (too long a password, bad iteration count…; exit code 2).
    InvalidInput,
    /// The network failed (refused, unreachable, reset; exit code 3).
    Network,
    /// A network step did not finish in time (exit code 3).
    Timeout,
    /// The server sent bytes that break the protocol, or failed an integrity check
    /// (bad signature, failed decryption, downgrade detected; exit code 3).
    Protocol,
    /// The security policy could not be met (signing or encryption required but unavailable,
    /// a Guest session where credentials were given; exit code 3).
    Security,
    /// The connection was lost after a password change or reset request was sent: the
    /// password may or may not have changed (exit code 4).
    OutcomeUnknown,
    /// The client is closed: an earlier call on it was cancelled (its future dropped) before
    /// it finished, so the connection is in an unknown state (exit code 3). Connect a new
    /// client.
    Closed,
}

/// Whose credentials authenticated the session an error happened on. It decides what a
/// logon failure means: STATUS_LOGON_FAILURE with the old password of the account being
/// changed says that password is wrong ([`Error::is_wrong_password`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CredentialsUsed {
    /// Not recorded (the error did not come from a password change or reset).
    #[default]
    Unknown,
    /// An anonymous (null) session.
    Anonymous,
    /// The account whose password is being changed, with its current (old) password.
    TargetAccount,
    /// Another account (an administrator resetting a password, or a caller's own session).
    OtherAccount,
}

/// The password rules a new password broke ([`Advice::PasswordRules`]), as the server reported
/// them (`SamrGetDomainPasswordInformation`, [MS-SAMR] 3.1.5.13.3).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PasswordRules {
    /// The minimum length in characters.
    pub min_length: u16,
    /// The PasswordProperties bits ([MS-SAMR] 2.2.3.1; `0x01` DOMAIN_PASSWORD_COMPLEX).
    pub properties: u32,
}

impl PasswordRules {
    /// Rules from the minimum length and the PasswordProperties bits.
    pub const fn new(min_length: u16, properties: u32) -> Self {
        Self { min_length, properties }
    }
    /// Complexity is required (three of: upper case, lower case, digits, symbols; not
    /// containing the account name).
    pub const fn complexity(&self) -> bool {
        self.properties & 0x01 != 0
    }
}

/// Advice as data: what the caller can do about an error, for a front end to phrase in its own
/// terms (a command line names its options, a service its settings). [`Error::hint`] says the
/// same in prose for people.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Advice {
    /// Give the domain of the account explicitly (the NetBIOS domain; for a local account of a
    /// member server or workstation, its computer name).
    GiveDomain,
    /// Authenticate instead of using an anonymous session.
    Authenticate,
    /// The legacy RC4 methods would be tried if the caller allowed them
    /// (`ClientConfig::allow_rc4`); they are weaker, so updating the server is better.
    AllowRc4,
    /// Change the password over an anonymous session (the route for an expired password).
    ChangeAnonymously,
    /// Read the domain's password policy (`api::password_policy`) for the full rules.
    ReadPolicy,
    /// The rules the new password broke, as far as the server reported them.
    PasswordRules(PasswordRules),
    /// The account is locked out; the lockout duration from the domain policy, when it could be
    /// read (`None`: locked until an administrator unlocks it).
    LockoutDuration(Option<u64>),
    /// Check the TCP port used (this one) and the reachability of the server.
    CheckPort(u16),
    /// Allow more time for each network step (`ClientConfig` timeouts).
    RaiseTimeout,
    /// Diagnose the path step by step (`api::doctor`).
    Diagnose,
    /// The request may have been carried out: log in with the new password to find out.
    VerifyNewPassword,
    /// Authenticate with Kerberos instead of NTLM.
    UseKerberos,
    /// Use the TCP transport (`ncacn_ip_tcp`) instead of the SMB named pipe.
    UseTcpTransport,
}

/// A samrpc failure.
#[derive(Clone, Debug)]
pub struct Error {
    kind: ErrorKind,
    operation: Operation,
    status: Option<NtStatus>,
    fault: Option<RpcFault>,
    message: String,
    hint: Option<String>,
    credentials: CredentialsUsed,
    // Boxed so that `Result<_, Error>` stays small; most errors carry neither.
    extra: Option<Box<Extra>>,
}

/// The advice and the cause of an [`Error`], when it has any.
#[derive(Clone, Debug, Default)]
struct Extra {
    advice: Vec<Advice>,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Advice that follows from a status alone, wherever it is met.
fn status_advice(status: NtStatus) -> &'static [Advice] {
    match status {
        NtStatus::STATUS_LOGON_FAILURE => &[Advice::GiveDomain],
        NtStatus::STATUS_PASSWORD_RESTRICTION | NtStatus::STATUS_ACCOUNT_LOCKED_OUT => {
            &[Advice::ReadPolicy]
        }
        NtStatus::STATUS_PASSWORD_EXPIRED | NtStatus::STATUS_PASSWORD_MUST_CHANGE => {
            &[Advice::ChangeAnonymously]
        }
        NtStatus::STATUS_NTLM_BLOCKED | NtStatus::STATUS_ACCOUNT_RESTRICTION => {
            &[Advice::UseKerberos]
        }
        NtStatus::STATUS_NOLOGON_WORKSTATION_TRUST_ACCOUNT
        | NtStatus::STATUS_NOLOGON_SERVER_TRUST_ACCOUNT => &[Advice::UseTcpTransport],
        _ => &[],
    }
}

impl Error {
    /// A new error. `message` must be factual and contain no secret.
    pub fn new(kind: ErrorKind, operation: Operation, message: impl Into<String>) -> Self {
        Self {
            kind,
            operation,
            status: None,
            fault: None,
            message: message.into(),
            hint: None,
            credentials: CredentialsUsed::Unknown,
            extra: None,
        }
    }

    /// The server refused `operation` with `status`; the hint comes from the status table.
    pub fn refused(operation: Operation, status: NtStatus) -> Self {
        let message = match status.description() {
            Some(d) => format!("{operation} failed: {} ({d})", status.symbol()),
            None => format!("{operation} failed: {}", status.symbol()),
        };
        let mut e = Self::new(ErrorKind::ServerRefused, operation, message);
        e.status = Some(status);
        e.hint = status.hint().map(str::to_owned);
        for a in status_advice(status) {
            e = e.with_advice(a.clone());
        }
        e
    }

    /// The server answered `operation` with the RPC fault `fault`.
    pub fn fault(operation: Operation, fault: RpcFault) -> Self {
        let mut e =
            Self::new(ErrorKind::RpcFault, operation, format!("{operation} failed: {fault}"));
        e.fault = Some(fault);
        e.hint = fault.hint().map(str::to_owned);
        e
    }

    /// Replace the message, keeping the kind, operation, status and fault.
    #[allow(dead_code)] // used by the async shell (api.rs) only
    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Replace the hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Add a piece of [`Advice`] (kept once).
    pub fn with_advice(mut self, advice: Advice) -> Self {
        let extra = self.extra.get_or_insert_with(Box::default);
        if !extra.advice.contains(&advice) {
            extra.advice.push(advice);
        }
        self
    }

    /// Drop the advice gathered so far (when a caller's hint replaces the status table's).
    pub fn without_advice(mut self) -> Self {
        if let Some(extra) = &mut self.extra {
            extra.advice.clear();
        }
        self
    }

    /// Record whose credentials authenticated the session (see [`CredentialsUsed`]).
    pub fn with_credentials_used(mut self, credentials: CredentialsUsed) -> Self {
        self.credentials = credentials;
        self
    }

    /// Record the underlying cause, returned by [`std::error::Error::source`].
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.extra.get_or_insert_with(Box::default).source = Some(Arc::new(source));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The step that failed.
    pub fn operation(&self) -> Operation {
        self.operation
    }
    /// The NTSTATUS the server answered, if it answered with one.
    pub fn status(&self) -> Option<NtStatus> {
        self.status
    }
    /// The DCE/RPC fault the server answered, if any.
    pub fn rpc_fault(&self) -> Option<RpcFault> {
        self.fault
    }
    /// Advice a person can act on.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
    /// The advice as data, for a front end to phrase in its own terms.
    pub fn advice(&self) -> &[Advice] {
        self.extra.as_ref().map_or(&[], |x| x.advice.as_slice())
    }
    /// The password rules the new password broke, when the server refused it with
    /// STATUS_PASSWORD_RESTRICTION and the rules could be read.
    pub fn password_rules(&self) -> Option<&PasswordRules> {
        self.advice().iter().find_map(|a| match a {
            Advice::PasswordRules(r) => Some(r),
            _ => None,
        })
    }
    /// Whose credentials authenticated the session the error happened on.
    pub fn credentials_used(&self) -> CredentialsUsed {
        self.credentials
    }
    /// The factual message (the same text `Display` prints).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The server said the current password is wrong, whichever layer said it:
    ///
    /// - SAMR answered STATUS_WRONG_PASSWORD to a password change;
    /// - the SMB session setup, authenticated as the account whose password is being changed
    ///   with its current password ([`CredentialsUsed::TargetAccount`]), failed with
    ///   STATUS_LOGON_FAILURE.
    ///
    /// Caveat: for safety Windows gives the same answers for an account that does not exist
    /// (and, at the logon, for a wrong domain), so `true` means "wrong password or unknown
    /// account".
    pub fn is_wrong_password(&self) -> bool {
        // One arm per layer that can say "wrong password"; a new authentication layer adds
        // its own arm here.
        match (self.operation, self.status) {
            (_, Some(NtStatus::STATUS_WRONG_PASSWORD)) => true,
            (Operation::SessionSetup, Some(NtStatus::STATUS_LOGON_FAILURE)) => {
                self.credentials == CredentialsUsed::TargetAccount
            }
            _ => false,
        }
    }
    /// The connection was lost after the change/reset request was sent: the password may
    /// have changed. Check by logging in with the new password.
    pub fn outcome_unknown(&self) -> bool {
        self.kind == ErrorKind::OutcomeUnknown
    }
    /// The `samrpc` exit code for this error: 1 the server refused, 2 usage, 3 network or
    /// protocol failure, 4 outcome unknown.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::ServerRefused | ErrorKind::RpcFault => 1,
            ErrorKind::InvalidInput => 2,
            ErrorKind::Network
            | ErrorKind::Timeout
            | ErrorKind::Protocol
            | ErrorKind::Security
            | ErrorKind::Closed => 3,
            ErrorKind::OutcomeUnknown => 4,
        }
    }
    /// A stable machine-readable name for the kind (used in JSON output): `wrong_password`
    /// whenever [`Error::is_wrong_password`] holds, else the [`ErrorKind`] in snake case.
    pub fn kind_name(&self) -> &'static str {
        if self.is_wrong_password() {
            return "wrong_password";
        }
        match self.kind {
            ErrorKind::ServerRefused => "server_refused",
            ErrorKind::RpcFault => "rpc_fault",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Network => "network",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Security => "security",
            ErrorKind::OutcomeUnknown => "outcome_unknown",
            ErrorKind::Closed => "closed",
        }
    }
}

impl NtStatus {
    /// `Ok(self)` unless this is an error status (severity bits `11`), which becomes the
    /// crate [`Error`] for `operation` ([`ErrorKind::ServerRefused`], with the status table's
    /// hint): the `?`-friendly way to check a typed response's status.
    ///
    /// ```
    /// use samrpc::{NtStatus, Operation};
    ///
    /// assert!(NtStatus::STATUS_SUCCESS.check(Operation::Call("SamrOpenUser")).is_ok());
    /// let e = NtStatus::STATUS_ACCESS_DENIED.check(Operation::Call("SamrOpenUser")).unwrap_err();
    /// assert_eq!(e.status(), Some(NtStatus::STATUS_ACCESS_DENIED));
    /// ```
    pub fn check(self, operation: Operation) -> Result<NtStatus, Error> {
        if self.is_error() { Err(Error::refused(operation, self)) } else { Ok(self) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let source = self.extra.as_ref()?.source.as_deref()?;
        Some(source as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_carries_status_and_hint() {
        let e = Error::refused(
            Operation::Call("SamrUnicodeChangePasswordUser4"),
            NtStatus::STATUS_WRONG_PASSWORD,
        );
        assert!(e.is_wrong_password());
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().contains("STATUS_WRONG_PASSWORD"));
        assert!(e.to_string().starts_with("SamrUnicodeChangePasswordUser4 failed"));
        assert!(e.hint().unwrap().contains("account"));
    }

    #[test]
    fn logon_failure_is_a_wrong_password_only_for_the_target_account() {
        let e = Error::refused(Operation::SessionSetup, NtStatus::STATUS_LOGON_FAILURE);
        assert!(!e.is_wrong_password(), "whose credentials is unknown");
        assert_eq!(e.kind_name(), "server_refused");
        assert_eq!(e.advice(), &[Advice::GiveDomain]);
        let admin = e.clone().with_credentials_used(CredentialsUsed::OtherAccount);
        assert!(!admin.is_wrong_password());
        let target = e.with_credentials_used(CredentialsUsed::TargetAccount);
        assert!(target.is_wrong_password());
        assert_eq!(target.kind_name(), "wrong_password");
        assert_eq!(target.exit_code(), 1);
        // A logon failure at another step (there is none on the wire, but the rule is by step).
        let other = Error::refused(Operation::TreeConnect, NtStatus::STATUS_LOGON_FAILURE)
            .with_credentials_used(CredentialsUsed::TargetAccount);
        assert!(!other.is_wrong_password());
        // SAMR's own answer needs no context.
        let samr = Error::refused(
            Operation::Call("SamrUnicodeChangePasswordUser4"),
            NtStatus::STATUS_WRONG_PASSWORD,
        );
        assert_eq!(samr.kind_name(), "wrong_password");
    }

    #[test]
    fn source_exposes_the_underlying_error() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = Error::new(ErrorKind::Network, Operation::Connect, "network error").with_source(io);
        let src = e.source().expect("a source");
        let io = src.downcast_ref::<std::io::Error>().expect("an io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset);
        assert!(e.clone().source().is_some(), "clones keep the source");
        assert!(Error::new(ErrorKind::Network, Operation::Connect, "x").source().is_none());
    }

    #[test]
    fn advice_is_data() {
        let e = Error::refused(
            Operation::Call("SamrUnicodeChangePasswordUser4"),
            NtStatus::STATUS_PASSWORD_RESTRICTION,
        )
        .with_advice(Advice::PasswordRules(PasswordRules::new(7, 1)))
        .with_advice(Advice::ReadPolicy);
        assert_eq!(e.advice().len(), 2, "kept once: {:?}", e.advice());
        let r = e.password_rules().unwrap();
        assert_eq!(r.min_length, 7);
        assert!(r.complexity());
        assert!(e.without_advice().advice().is_empty());
    }

    #[test]
    fn exit_codes_follow_the_cli_contract() {
        let op = Operation::Connect;
        assert_eq!(Error::new(ErrorKind::InvalidInput, op, "x").exit_code(), 2);
        assert_eq!(Error::new(ErrorKind::Timeout, op, "x").exit_code(), 3);
        assert_eq!(Error::new(ErrorKind::OutcomeUnknown, op, "x").exit_code(), 4);
        assert!(Error::new(ErrorKind::OutcomeUnknown, op, "x").outcome_unknown());
    }
}
