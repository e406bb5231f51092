//! Name resolution, TCP connect and socket-error mapping: the pieces every TCP-based
//! transport shares (the SMB pipe today).

use super::{TransportError, TransportStep};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// A socket error during `step`; end of file means the server closed the connection.
pub(crate) fn io_err(step: TransportStep, request_sent: bool, e: io::Error) -> TransportError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        TransportError::Closed { step, request_sent }
    } else {
        TransportError::Io { step, kind: e.kind(), source: e, request_sent }
    }
}

/// Resolve `host` (a name, or an IPv4 or IPv6 literal, bracketed or not) to addresses.
pub(crate) async fn resolve(
    host: &str,
    port: u16,
    limit: Duration,
) -> Result<Vec<SocketAddr>, TransportError> {
    // Accept a bracketed IPv6 literal as well as a bare one.
    let h = host.trim_start_matches('[').trim_end_matches(']');
    let fut = tokio::net::lookup_host((h, port));
    let addrs = timeout(limit, fut)
        .await
        .map_err(|_| TransportError::Timeout { step: TransportStep::Resolve, request_sent: false })?
        .map_err(|source| TransportError::Resolve { host: host.to_owned(), source })?;
    let v: Vec<SocketAddr> = addrs.collect();
    if v.is_empty() {
        return Err(TransportError::NoAddress { host: host.to_owned() });
    }
    Ok(v)
}

/// Connect to the first address that accepts, each attempt under `limit`.
pub(crate) async fn connect_any(
    addrs: &[SocketAddr],
    limit: Duration,
) -> Result<(TcpStream, SocketAddr), TransportError> {
    let mut last = None;
    for &addr in addrs {
        match timeout(limit, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                // Small request/response exchanges: do not wait for Nagle.
                let _ = s.set_nodelay(true);
                return Ok((s, addr));
            }
            Ok(Err(source)) => {
                last = Some(TransportError::Connect { addr, kind: source.kind(), source });
            }
            Err(_) => {
                last = Some(TransportError::Timeout {
                    step: TransportStep::Connect,
                    request_sent: false,
                });
            }
        }
    }
    Err(last
        .unwrap_or(TransportError::Timeout { step: TransportStep::Connect, request_sent: false }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refused_connection_is_typed() {
        // Bind then drop a listener so the port is (very likely) closed.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let addrs = resolve("127.0.0.1", port, Duration::from_secs(2)).await.unwrap();
        let e = connect_any(&addrs, Duration::from_secs(2)).await.unwrap_err();
        assert_eq!(e.io_kind(), Some(io::ErrorKind::ConnectionRefused), "{e}");
        assert!(!e.request_sent());
    }

    #[tokio::test]
    async fn resolves_ipv6_literals() {
        let a = resolve("[::1]", 445, Duration::from_secs(2)).await.unwrap();
        assert!(a[0].is_ipv6());
        let a = resolve("::1", 445, Duration::from_secs(2)).await.unwrap();
        assert!(a[0].is_ipv6());
    }
}
