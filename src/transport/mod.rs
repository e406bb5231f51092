//! The tokio shell that moves DCE/RPC PDUs between the client and a server.
//!
//! [`RpcTransport`] is the one seam the client talks to: it carries PDUs (`transceive`,
//! `write`, `read`), says how the session is protected ([`RpcTransport::session`]), hands
//! out the key SAMR password-set levels are encrypted with ([`RpcTransport::application_key`])
//! and closes. Each way to reach SAMR is a sibling module behind it:
//!
//! - [`smb`]: [`SmbPipe`], an SMB2/3 session with `\PIPE\samr` open on IPC$ (ncacn_np);
//! - [`tcp`]: [`RpcTcp`], DCE/RPC PDUs straight over TCP (ncacn_ip_tcp), framed by
//!   `frag_length`; RPC-level authentication and sealing happen in the client's association;
//! - [`epm`]: the endpoint mapper client that finds SAMR's TCP port (TCP 135);
//! - shared pieces: [`TransportError`] and [`TransportStep`] (what failed where, and whether the
//!   request had left), name resolution and TCP connect with timeouts.
//!
//! Every network step runs under a timeout and fails with a typed [`TransportError`]. Errors
//! raised after a request left this host say so ([`TransportError::request_sent`]), so that a
//! caller can report "outcome unknown" for change requests.

pub mod epm;
mod error;
pub mod kdc;
mod net;
pub mod smb;
pub mod tcp;

pub use crate::smb2::SessionInfo;
pub use error::{TransportError, TransportStep};
pub(crate) use net::with_wait_hook;
pub use smb::{AuthenticatorFuture, Reauthenticator, SmbPipe, TransportConfig};
pub use tcp::{RpcTcp, TcpConfig};

use crate::secret::SessionKey;
use crate::session::SessionSummary;
use std::time::{SystemTime, UNIX_EPOCH};

/// A connection that carries DCE/RPC PDUs to one server: the seam between the SAMR client
/// and the ways to reach it. The client holds one and never looks inside; a new transport is
/// a new variant (the enum is `#[non_exhaustive]`).
#[derive(Debug)]
#[non_exhaustive]
// One transport per client, moved rarely: the SMB variant's size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum RpcTransport {
    /// `ncacn_np`: an SMB2/3 session with a named pipe open on IPC$.
    Smb(SmbPipe),
    /// `ncacn_ip_tcp`: a TCP connection to the interface's RPC port.
    Tcp(RpcTcp),
}

impl From<RpcTcp> for RpcTransport {
    fn from(t: RpcTcp) -> Self {
        Self::Tcp(t)
    }
}

impl From<SmbPipe> for RpcTransport {
    fn from(pipe: SmbPipe) -> Self {
        Self::Smb(pipe)
    }
}

impl RpcTransport {
    /// Send one PDU (the last fragment of a request) and read the first answer fragment(s).
    pub async fn transceive(&mut self, pdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        match self {
            Self::Smb(p) => p.transceive(pdu).await,
            Self::Tcp(t) => t.transceive(pdu).await,
        }
    }

    /// Send one PDU without waiting for an answer (a request fragment before the last).
    pub async fn write(&mut self, pdu: &[u8]) -> Result<(), TransportError> {
        match self {
            Self::Smb(p) => p.write(pdu).await,
            Self::Tcp(t) => t.write(pdu).await,
        }
    }

    /// Read the next answer bytes (more fragments of a response).
    pub async fn read(&mut self) -> Result<Vec<u8>, TransportError> {
        match self {
            Self::Smb(p) => p.read().await,
            Self::Tcp(t) => t.read().await,
        }
    }

    /// Close the connection and wait for the server's answers.
    pub async fn close(self) -> Result<(), TransportError> {
        match self {
            Self::Smb(p) => p.close().await,
            Self::Tcp(t) => t.close().await,
        }
    }

    /// Close without waiting for the server's answers; returns the connection's total number
    /// of request flights (see [`RpcTransport::flights`]).
    pub async fn close_nowait(self) -> Result<u32, TransportError> {
        match self {
            Self::Smb(p) => p.close_nowait().await,
            Self::Tcp(t) => {
                let n = t.flights();
                t.close().await.map(|()| n)
            }
        }
    }

    /// Mark the connection unusable after an abandoned exchange (see [`SmbPipe::poison`]).
    pub fn poison(&mut self) {
        match self {
            Self::Smb(p) => p.poison(),
            Self::Tcp(t) => t.poison(),
        }
    }

    /// Request flights (network writes that carry one request or one compound chain) sent so
    /// far, connection setup included.
    pub fn flights(&self) -> u32 {
        match self {
            Self::Smb(p) => p.flights(),
            Self::Tcp(t) => t.flights(),
        }
    }

    /// How many times the SMB session was re-authenticated after it expired (always 0 over
    /// TCP, whose RPC-level security context does not expire on its own).
    pub fn reauthentications(&self) -> u32 {
        match self {
            Self::Smb(p) => p.reauthentications(),
            Self::Tcp(_) => 0,
        }
    }

    /// The key SAMR password-set levels are encrypted with (over SMB: the `ApplicationKey` on
    /// 3.x, the session key on 2.x); `None` when the session has none (anonymous).
    pub fn application_key(&self) -> Option<&SessionKey> {
        match self {
            Self::Smb(p) => p.application_key(),
            // ncacn_ip_tcp carries no session key the server could use for password-set levels.
            Self::Tcp(_) => None,
        }
    }

    /// How the session is authenticated and protected.
    pub fn session(&self) -> SessionSummary {
        match self {
            Self::Smb(p) => p.summary(),
            Self::Tcp(t) => t.summary(),
        }
    }
}

/// The current time as a Windows FILETIME (100 ns intervals since 1601-01-01 UTC).
pub fn now_filetime() -> u64 {
    const EPOCH_DIFF: u64 = 116_444_736_000_000_000;
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    EPOCH_DIFF
        .saturating_add(d.as_secs().saturating_mul(10_000_000))
        .saturating_add(u64::from(d.subsec_nanos() / 100))
}

/// The current time as Kerberos carries it (seconds and microseconds).
pub(crate) fn now_krb() -> crate::auth::kerberos::asn1::KrbTimestamp {
    crate::auth::kerberos::asn1::KrbTimestamp::from_filetime(now_filetime())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_is_after_2020() {
        // 2020-01-01 as FILETIME.
        assert!(now_filetime() > 132_223_104_000_000_000);
    }

    /// The seam can move across tokio worker threads.
    #[test]
    fn transport_is_send() {
        fn is_send<T: Send>() {}
        is_send::<RpcTransport>();
    }
}
