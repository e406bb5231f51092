//! Name resolution, TCP connect and socket-error mapping: the pieces every TCP-based
//! transport shares (the SMB pipe today).

use super::{TransportError, TransportStep};
use std::io;
use std::net::{IpAddr, SocketAddr};
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

tokio::task_local! {
    /// What the running job wants done once it waits on the network (see [`waiting_on_peer`]).
    static ON_WAIT: Box<dyn Fn() + Send>;
}

/// Run `job` so that `hook` is called whenever the transport, on the job's own task, starts
/// waiting on a peer: a DNS lookup of a name, a request that has just left (the SMB
/// NEGOTIATE and every later round trip), an endpoint-mapper bind, a KDC or DNS SRV query.
/// The hook may thus run many times: it must be cheap after the first and idempotent.
///
/// The password change uses it to start its PBKDF2 derivation (CPU-bound, on a blocking
/// thread) only once the connection's first request is on the wire: started before, on a
/// machine with few free cores the new thread competes with the connection's own start and
/// delays the NEGOTIATE by about the derivation's length (issue 14 item 5).
pub(crate) async fn with_wait_hook<F: Future>(hook: Box<dyn Fn() + Send>, job: F) -> F::Output {
    ON_WAIT.scope(hook, job).await
}

/// Tell the running job (if it asked, through [`with_wait_hook`]) that it now waits on a
/// peer. Outside such a job, or on another task, nothing happens.
pub(crate) fn waiting_on_peer() {
    let _ = ON_WAIT.try_with(|hook| hook());
}

/// Resolve `host` (a name, or an IPv4 or IPv6 literal, bracketed or not) to addresses.
pub(crate) async fn resolve(
    host: &str,
    port: u16,
    limit: Duration,
) -> Result<Vec<SocketAddr>, TransportError> {
    // Accept a bracketed IPv6 literal as well as a bare one.
    let h = host.trim_start_matches('[').trim_end_matches(']');
    // A literal needs no lookup (tokio parses it without touching the resolver); a name goes
    // to the system resolver on a blocking thread: a wait on the network.
    if h.parse::<IpAddr>().is_err() {
        waiting_on_peer();
    }
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

    /// The wait hook fires for a name lookup (a wait on the resolver) but not for a literal
    /// (no lookup), and only inside its own job.
    #[tokio::test]
    async fn a_name_lookup_is_a_wait_and_a_literal_is_not() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls = Arc::new(AtomicUsize::new(0));
        let hook = |c: &Arc<AtomicUsize>| -> Box<dyn Fn() + Send> {
            let c = Arc::clone(c);
            Box::new(move || {
                c.fetch_add(1, Ordering::SeqCst);
            })
        };
        let t = Duration::from_secs(5);
        with_wait_hook(hook(&calls), async {
            resolve("127.0.0.1", 445, t).await.unwrap();
            resolve("[::1]", 445, t).await.unwrap();
        })
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 0, "literals need no lookup");
        // `localhost` resolves from the hosts file, without a network.
        with_wait_hook(hook(&calls), resolve("localhost", 445, t)).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Outside the job the hook is not reachable.
        waiting_on_peer();
        resolve("localhost", 445, t).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
