//! `ncacn_ip_tcp`: DCE/RPC PDUs straight over a TCP connection ([MS-RPCE] 2.1.1.1).
//!
//! There is no framing besides the PDU itself: each read takes the 16-byte common header,
//! checks it (version 5.0, little-endian data representation, `frag_length` between 16 and the
//! cap) and then reads exactly `frag_length − 16` more bytes. Every connect, write and read runs
//! under a timeout. The transport authenticates nobody and protects nothing: the RPC layer does
//! (`crate::rpcauth`), and the client binds with packet privacy over it.

use super::net::{connect_any, io_err, resolve};
use super::{TransportError, TransportStep};
use crate::dcerpc::header::{DREP_LE, HEADER_LEN, RPC_VERSION};
use crate::session::{RpcTransportKind, SessionKind, SessionSummary};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Settings of one TCP connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpConfig {
    /// Timeout for name resolution and for each TCP connect attempt.
    pub connect_timeout: Duration,
    /// Timeout for each write and each PDU read.
    pub request_timeout: Duration,
    /// The largest PDU accepted from the server (its `frag_length`), in bytes. The client's
    /// association offers the same value as its `max_recv_frag`.
    pub max_frag: u16,
}

impl Default for TcpConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_frag: crate::dcerpc::association::DEFAULT_FRAG,
        }
    }
}

/// A TCP connection carrying DCE/RPC PDUs.
#[derive(Debug)]
pub struct RpcTcp {
    stream: TcpStream,
    peer: SocketAddr,
    cfg: TcpConfig,
    writes: u32,
    broken: bool,
    summary: SessionSummary,
}

impl RpcTcp {
    /// Resolve `host` and connect to `port`.
    pub async fn connect(host: &str, port: u16, cfg: &TcpConfig) -> Result<Self, TransportError> {
        let addrs = resolve(host, port, cfg.connect_timeout).await?;
        let (stream, peer) = connect_any(&addrs, cfg.connect_timeout).await?;
        Ok(Self::new(stream, peer, cfg))
    }

    fn new(stream: TcpStream, peer: SocketAddr, cfg: &TcpConfig) -> Self {
        let summary = SessionSummary::new(SessionKind::Anonymous, None, false, false)
            .with_transport(RpcTransportKind::Tcp);
        Self { stream, peer, cfg: cfg.clone(), writes: 0, broken: false, summary }
    }

    /// What the RPC-level authentication established (set by the client after the bind).
    pub fn set_summary(&mut self, summary: SessionSummary) {
        self.summary = summary.with_transport(RpcTransportKind::Tcp);
    }

    /// How the association on this connection is authenticated and protected.
    pub fn summary(&self) -> SessionSummary {
        self.summary.clone()
    }

    /// Connect to one address (the host already resolved, e.g. after the endpoint mapper).
    pub async fn connect_addr(addr: SocketAddr, cfg: &TcpConfig) -> Result<Self, TransportError> {
        let (stream, peer) = connect_any(&[addr], cfg.connect_timeout).await?;
        Ok(Self::new(stream, peer, cfg))
    }

    /// The address connected to.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    fn check(&self) -> Result<(), TransportError> {
        if self.broken { Err(TransportError::Broken) } else { Ok(()) }
    }

    /// Send one PDU.
    pub async fn write(&mut self, pdu: &[u8]) -> Result<(), TransportError> {
        self.check()?;
        let step = TransportStep::Write;
        let r = match timeout(self.cfg.request_timeout, self.stream.write_all(pdu)).await {
            Err(_) => Err(TransportError::Timeout { step, request_sent: false }),
            Ok(Err(e)) => Err(io_err(step, false, e)),
            Ok(Ok(())) => Ok(()),
        };
        if r.is_err() {
            self.broken = true;
        }
        self.writes = self.writes.saturating_add(1);
        r
    }

    /// Read exactly one PDU (its header first: a `frag_length` over the cap is rejected before
    /// the body is read). Errors say the request had been sent.
    pub async fn read(&mut self) -> Result<Vec<u8>, TransportError> {
        self.check()?;
        let r = self.read_pdu().await;
        if r.is_err() {
            self.broken = true;
        }
        r
    }

    async fn read_pdu(&mut self) -> Result<Vec<u8>, TransportError> {
        let step = TransportStep::Read;
        let limit = self.cfg.request_timeout;
        let mut header = [0u8; HEADER_LEN];
        match timeout(limit, self.stream.read_exact(&mut header)).await {
            Err(_) => return Err(TransportError::Timeout { step, request_sent: true }),
            Ok(Err(e)) => return Err(io_err(step, true, e)),
            Ok(Ok(_)) => {}
        }
        let frag_len = check_header(&header, self.cfg.max_frag)?;
        let mut pdu = vec![0u8; frag_len];
        pdu[..HEADER_LEN].copy_from_slice(&header);
        match timeout(limit, self.stream.read_exact(&mut pdu[HEADER_LEN..])).await {
            Err(_) => Err(TransportError::Timeout { step, request_sent: true }),
            Ok(Err(e)) => Err(io_err(step, true, e)),
            Ok(Ok(_)) => Ok(pdu),
        }
    }

    /// Send one PDU and read the next one.
    pub async fn transceive(&mut self, pdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.write(pdu).await?;
        self.read().await
    }

    /// PDUs written so far.
    pub fn flights(&self) -> u32 {
        self.writes
    }

    /// Shut the connection down (bounded by the request timeout).
    pub async fn close(mut self) -> Result<(), TransportError> {
        let step = TransportStep::Close;
        match timeout(self.cfg.request_timeout, self.stream.shutdown()).await {
            Err(_) => Err(TransportError::Timeout { step, request_sent: false }),
            Ok(Err(e)) => Err(io_err(step, false, e)),
            Ok(Ok(())) => Ok(()),
        }
    }
}

/// Check a PDU's common header and return its `frag_length`: version 5.0, little-endian
/// integers, ASCII characters and IEEE floats, and `16 ≤ frag_length ≤ max_frag`.
pub fn check_header(header: &[u8; HEADER_LEN], max_frag: u16) -> Result<usize, TransportError> {
    let bad = |what: &'static str| TransportError::Framing { what };
    if (header[0], header[1]) != RPC_VERSION {
        return Err(bad("not a DCE/RPC version 5.0 PDU"));
    }
    if header[4..8] != DREP_LE {
        return Err(bad("unsupported data representation"));
    }
    let frag = u16::from_le_bytes([header[8], header[9]]);
    if usize::from(frag) < HEADER_LEN {
        return Err(bad("frag_length shorter than the header"));
    }
    if frag > max_frag {
        return Err(bad("fragment exceeds the negotiated size"));
    }
    Ok(usize::from(frag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn header(frag: u16) -> [u8; 16] {
        let mut h = [5, 0, 2, 3, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0];
        h[8..10].copy_from_slice(&frag.to_le_bytes());
        h
    }

    #[test]
    fn header_checks() {
        assert_eq!(check_header(&header(24), 4280).unwrap(), 24);
        assert!(check_header(&header(15), 4280).is_err());
        assert!(check_header(&header(4281), 4280).is_err());
        let mut h = header(24);
        h[0] = 4;
        assert!(check_header(&h, 4280).is_err());
        let mut h = header(24);
        h[4] = 0;
        assert!(check_header(&h, 4280).is_err());
    }

    /// A scripted server: accept one connection, read one PDU, answer `reply` bytes, then
    /// keep the socket open for a while (or close it).
    async fn serve(reply: Vec<u8>, hold: Duration) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(&reply).await;
            tokio::time::sleep(hold).await;
        });
        port
    }

    fn cfg() -> TcpConfig {
        TcpConfig {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_millis(500),
            max_frag: 4280,
        }
    }

    #[tokio::test]
    async fn reads_one_pdu_split_by_frag_length() {
        let mut two = header(20).to_vec();
        two.extend_from_slice(&[1, 2, 3, 4]);
        two.extend_from_slice(&header(16));
        let port = serve(two, Duration::from_millis(300)).await;
        let mut t = RpcTcp::connect("127.0.0.1", port, &cfg()).await.unwrap();
        let first = t.transceive(&header(16)).await.unwrap();
        assert_eq!(first.len(), 20);
        assert_eq!(&first[16..], &[1, 2, 3, 4]);
        assert_eq!(t.read().await.unwrap(), header(16).to_vec());
        assert_eq!(t.flights(), 1);
    }

    #[tokio::test]
    async fn oversized_fragment_is_rejected_from_its_header() {
        // The server announces a 5000-byte fragment but sends only the header.
        let port = serve(header(5000).to_vec(), Duration::from_secs(2)).await;
        let mut t = RpcTcp::connect("127.0.0.1", port, &cfg()).await.unwrap();
        let e = t.transceive(&header(16)).await.unwrap_err();
        assert!(
            matches!(e, TransportError::Framing { what: "fragment exceeds the negotiated size" }),
            "{e}"
        );
        // The connection is unusable afterwards.
        assert!(matches!(t.write(&header(16)).await, Err(TransportError::Broken)));
    }

    #[tokio::test]
    async fn silent_server_times_out_after_the_request_was_sent() {
        let port = serve(Vec::new(), Duration::from_secs(3)).await;
        let mut t = RpcTcp::connect("127.0.0.1", port, &cfg()).await.unwrap();
        let e = t.transceive(&header(16)).await.unwrap_err();
        assert!(matches!(e, TransportError::Timeout { step: TransportStep::Read, .. }), "{e}");
        assert!(e.request_sent());
    }

    #[tokio::test]
    async fn truncated_pdu_is_a_closed_connection() {
        let mut h = header(40).to_vec();
        h.extend_from_slice(&[0; 4]);
        let port = serve(h, Duration::from_millis(0)).await;
        let mut t = RpcTcp::connect("127.0.0.1", port, &cfg()).await.unwrap();
        let e = t.transceive(&header(16)).await.unwrap_err();
        assert!(matches!(e, TransportError::Closed { request_sent: true, .. }), "{e}");
    }
}
