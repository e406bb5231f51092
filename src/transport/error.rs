//! What a transport step is and why it failed: shared by every transport.

use crate::auth::AuthError;
use crate::dcerpc::RpcError;
use crate::dcerpc::epm::EpmError;
use crate::smb2::Smb2Error;
use crate::status::NtStatus;
use core::fmt;
use std::io;
use std::net::SocketAddr;

/// The network step that failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportStep {
    /// Resolving the host name.
    Resolve,
    /// The TCP connect.
    Connect,
    /// SMB2 NEGOTIATE.
    Negotiate,
    /// SMB2 SESSION_SETUP (authentication).
    SessionSetup,
    /// SMB2 TREE_CONNECT to IPC$.
    TreeConnect,
    /// FSCTL_VALIDATE_NEGOTIATE_INFO.
    ValidateNegotiate,
    /// SMB2 CREATE of the pipe.
    OpenPipe,
    /// A pipe transceive.
    Transceive,
    /// A pipe write.
    Write,
    /// A pipe read.
    Read,
    /// CLOSE / TREE_DISCONNECT / LOGOFF.
    Close,
    /// The whole connect (operation timeout).
    Operation,
    /// Asking the endpoint mapper (TCP 135) for the RPC port.
    EndpointMapper,
}

impl fmt::Display for TransportStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Resolve => "resolving the host",
            Self::Connect => "connecting",
            Self::Negotiate => "SMB negotiate",
            Self::SessionSetup => "SMB session setup",
            Self::TreeConnect => "SMB tree connect to IPC$",
            Self::ValidateNegotiate => "SMB validate negotiate",
            Self::OpenPipe => "opening the pipe",
            Self::Transceive => "pipe transceive",
            Self::Write => "pipe write",
            Self::Read => "pipe read",
            Self::Close => "closing the session",
            Self::Operation => "the whole operation",
            Self::EndpointMapper => "the endpoint mapper lookup",
        })
    }
}

/// Why the transport failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The host name could not be resolved.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host as given.
        host: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// The host name resolved to no address.
    #[error("{host} resolved to no address")]
    NoAddress {
        /// The host as given.
        host: String,
    },
    /// The TCP connect failed (refused, unreachable, …).
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The address tried last.
        addr: SocketAddr,
        /// The error kind (e.g. `ConnectionRefused`).
        kind: io::ErrorKind,
        /// The I/O error.
        source: io::Error,
    },
    /// A step did not finish in time.
    #[error("timed out during {step}")]
    Timeout {
        /// The step.
        step: TransportStep,
        /// Whether the request had been fully written before the timeout.
        request_sent: bool,
    },
    /// A socket error during a step.
    #[error("network error during {step}: {source}")]
    Io {
        /// The step.
        step: TransportStep,
        /// The error kind.
        kind: io::ErrorKind,
        /// The I/O error.
        source: io::Error,
        /// Whether the request had been fully written.
        request_sent: bool,
    },
    /// The server closed the connection.
    #[error("the server closed the connection during {step}")]
    Closed {
        /// The step.
        step: TransportStep,
        /// Whether the request had been fully written.
        request_sent: bool,
    },
    /// An SMB2 protocol or status failure.
    #[error("{step}: {source}")]
    Smb2 {
        /// The step.
        step: TransportStep,
        /// The SMB2 error.
        source: Smb2Error,
        /// Whether the request had been fully written.
        request_sent: bool,
    },
    /// The authenticator failed.
    #[error("authentication failed: {0}")]
    Auth(#[from] AuthError),
    /// A TCP-carried PDU's header is unacceptable (bad version, or a `frag_length` outside
    /// 16..=the negotiated size).
    #[error("bad DCE/RPC framing over TCP: {what}")]
    Framing {
        /// What was wrong.
        what: &'static str,
    },
    /// A DCE/RPC failure inside a transport step (the endpoint mapper's own bind and call).
    #[error("{step}: {source}")]
    Rpc {
        /// The step.
        step: TransportStep,
        /// The DCE/RPC error.
        source: RpcError,
    },
    /// The endpoint mapper gave no usable TCP endpoint.
    #[error("the endpoint mapper lookup failed: {0}")]
    Epm(EpmError),
    /// The pipe is unusable after an earlier failure.
    #[error("the SMB connection is broken by an earlier error")]
    Broken,
}

impl TransportError {
    /// Whether the request had been fully written when the error happened (the server may
    /// have acted on it: the outcome is unknown).
    pub fn request_sent(&self) -> bool {
        match self {
            Self::Timeout { request_sent, .. }
            | Self::Io { request_sent, .. }
            | Self::Closed { request_sent, .. }
            | Self::Smb2 { request_sent, .. } => *request_sent,
            // A bad header arrives in answer to a request.
            Self::Framing { .. } => true,
            _ => false,
        }
    }

    /// The server's NTSTATUS, if the server answered with a failure status.
    pub fn status(&self) -> Option<NtStatus> {
        match self {
            Self::Smb2 { source, .. } => source.status(),
            _ => None,
        }
    }

    /// The SMB2 error, if any.
    pub fn smb2(&self) -> Option<&Smb2Error> {
        match self {
            Self::Smb2 { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The I/O error kind for connect and socket failures.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            Self::Connect { kind, .. } | Self::Io { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}
