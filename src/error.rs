//! The public error type: which operation failed, the server's answer, and what to do.
//!
//! [`Error`] answers questions ([`Error::status`], [`Error::is_wrong_password`],
//! [`Error::outcome_unknown`], [`Error::exit_code`]) and carries a [`Error::hint`] with advice a
//! person can act on. `Display` is factual and stable; advice lives in `hint()`.

use crate::status::{NtStatus, RpcFault};
use core::fmt;

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
}

impl Error {
    /// A new error. `message` must be factual and contain no secret.
    pub fn new(kind: ErrorKind, operation: Operation, message: impl Into<String>) -> Self {
        Self { kind, operation, status: None, fault: None, message: message.into(), hint: None }
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
    /// The factual message (the same text `Display` prints).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The server said the current password is wrong (or, for opnum 73, that the account
    /// does not exist — the server does not say which).
    pub fn is_wrong_password(&self) -> bool {
        self.status == Some(NtStatus::STATUS_WRONG_PASSWORD)
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
            ErrorKind::Network | ErrorKind::Timeout | ErrorKind::Protocol | ErrorKind::Security => {
                3
            }
            ErrorKind::OutcomeUnknown => 4,
        }
    }
    /// A stable machine-readable name for the kind (used in JSON output).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ErrorKind::ServerRefused => "server_refused",
            ErrorKind::RpcFault => "rpc_fault",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Network => "network",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Security => "security",
            ErrorKind::OutcomeUnknown => "outcome_unknown",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

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
    fn exit_codes_follow_the_cli_contract() {
        let op = Operation::Connect;
        assert_eq!(Error::new(ErrorKind::InvalidInput, op, "x").exit_code(), 2);
        assert_eq!(Error::new(ErrorKind::Timeout, op, "x").exit_code(), 3);
        assert_eq!(Error::new(ErrorKind::OutcomeUnknown, op, "x").exit_code(), 4);
        assert!(Error::new(ErrorKind::OutcomeUnknown, op, "x").outcome_unknown());
    }
}
