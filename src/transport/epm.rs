//! Asking the endpoint mapper (TCP 135) which port serves an interface over ncacn_ip_tcp.
//!
//! One short connection: bind EPM v3.0 without authentication, `ept_map` for the interface,
//! read the TCP port from the returned tower, close. The reply's IPv4 address is ignored (the
//! Samba DC answers 0.0.0.0): the caller connects to the host it dialled. Codecs and typed
//! errors are in [`crate::dcerpc::epm`].

use super::tcp::{RpcTcp, TcpConfig};
use super::{TransportError, TransportStep};
use crate::dcerpc::epm::{EPM_SYNTAX, OPNUM_EPT_MAP, decode_ept_map_response, ept_map_request};
use crate::dcerpc::{Association, AssociationConfig, Progress, RpcError, SyntaxId};

/// Cap on the reassembled `ept_map` response stub. One TCP/IP tower answer is about 150 bytes
/// and the decoder accepts at most [`MAX_TOWERS`](crate::dcerpc::epm::MAX_TOWERS) towers of
/// [`MAX_TOWER_LEN`](crate::dcerpc::epm::MAX_TOWER_LEN) bytes, so 64 KiB is ample.
const MAX_EPM_STUB: usize = 64 * 1024;

/// Cap on the PDUs read for the `ept_map` response after its first one. The stub cap alone
/// does not bound a server that sends fragments with empty stubs and never LAST_FRAG, each
/// within the per-read timeout: this does, without an operation deadline.
const MAX_EPM_READS: usize = 32;

/// Ask the endpoint mapper at `host:epm_port` for the TCP port of `interface`.
pub async fn map_tcp_port(
    host: &str,
    epm_port: u16,
    interface: SyntaxId,
    cfg: &TcpConfig,
) -> Result<u16, TransportError> {
    let mut t = RpcTcp::connect(host, epm_port, cfg).await?;
    let r = map_on(&mut t, interface, cfg).await;
    let _ = t.close().await;
    r
}

async fn map_on(
    t: &mut RpcTcp,
    interface: SyntaxId,
    cfg: &TcpConfig,
) -> Result<u16, TransportError> {
    let rpc = |e| TransportError::Rpc { step: TransportStep::EndpointMapper, source: e };
    let mut unbound = Association::new(AssociationConfig {
        abstract_syntax: EPM_SYNTAX,
        max_recv_frag: cfg.max_frag,
        max_xmit_frag: cfg.max_frag,
        max_stub_len: MAX_EPM_STUB,
        ..Default::default()
    });
    let bind = unbound.bind_pdu().map_err(rpc)?;
    // The connection is up and its first request about to leave.
    super::net::waiting_on_peer();
    let ack = t.transceive(&bind).await?;
    let mut bound = unbound.handle_bind_response(&ack).map_err(rpc)?;
    let call = bound.request(OPNUM_EPT_MAP, &ept_map_request(interface)).map_err(rpc)?;
    let mut data = Vec::new();
    let n = call.fragments.len();
    for (i, f) in call.fragments.iter().enumerate() {
        if i + 1 < n {
            t.write(f).await?;
        } else {
            data = t.transceive(f).await?;
        }
    }
    let mut reads = 0usize;
    let stub = loop {
        match bound.receive(call.call_id, &data).map_err(rpc)? {
            Progress::Complete(stub) => break stub,
            Progress::NeedMore if reads >= MAX_EPM_READS => {
                return Err(rpc(RpcError::Protocol(
                    "the endpoint mapper's response spans too many fragments",
                )));
            }
            Progress::NeedMore => {
                reads += 1;
                data = t.read().await?;
            }
        }
    };
    let endpoint = decode_ept_map_response(&stub, interface).map_err(TransportError::Epm)?;
    Ok(endpoint.port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dcerpc::SAMR_SYNTAX;
    use crate::dcerpc::epm::{EpmError, TcpEndpoint, encode_ept_map_response};
    use crate::dcerpc::header::HEADER_LEN;
    use crate::dcerpc::testing::{CallReply, MockDc};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    async fn read_pdu(s: &mut TcpStream) -> Vec<u8> {
        let mut h = [0u8; HEADER_LEN];
        s.read_exact(&mut h).await.unwrap();
        let n = usize::from(u16::from_le_bytes([h[8], h[9]]));
        let mut pdu = h.to_vec();
        pdu.resize(n, 0);
        s.read_exact(&mut pdu[HEADER_LEN..]).await.unwrap();
        pdu
    }

    /// A scripted endpoint mapper answering the bind, then `ept_map` with `stub`.
    async fn epm_answering(stub: Vec<u8>) -> u16 {
        epm_replying(stub, 1).await
    }

    /// The same, with the answer split into `fragments` RESPONSE fragments.
    async fn epm_replying(stub: Vec<u8>, fragments: usize) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut dc = MockDc::new();
            let bind = read_pdu(&mut s).await;
            s.write_all(&dc.answer_bind(&bind).unwrap()).await.unwrap();
            dc.push(CallReply::Response { stub, fragments });
            let req = read_pdu(&mut s).await;
            let reply = dc.feed(&req).unwrap().unwrap();
            assert_eq!(dc.calls[0].opnum, OPNUM_EPT_MAP);
            assert_eq!(dc.calls[0].stub, ept_map_request(SAMR_SYNTAX));
            s.write_all(&reply).await.unwrap();
        });
        port
    }

    fn cfg() -> TcpConfig {
        TcpConfig {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(2),
            ..TcpConfig::default()
        }
    }

    #[tokio::test]
    async fn maps_the_port_from_the_tower() {
        let tower = TcpEndpoint { port: 49999, ..TcpEndpoint::query(SAMR_SYNTAX) }.to_tower();
        let port = epm_answering(encode_ept_map_response(&[tower.encode()], 0)).await;
        assert_eq!(map_tcp_port("127.0.0.1", port, SAMR_SYNTAX, &cfg()).await.unwrap(), 49999);
    }

    #[tokio::test]
    async fn no_towers_is_not_registered() {
        let port = epm_answering(encode_ept_map_response(&[], 0)).await;
        let e = map_tcp_port("127.0.0.1", port, SAMR_SYNTAX, &cfg()).await.unwrap_err();
        assert!(matches!(e, TransportError::Epm(EpmError::NotRegistered)), "{e}");
    }

    #[tokio::test]
    async fn hostile_tower_is_typed() {
        // A floor count of 16 with 2 bytes of floors.
        let port = epm_answering(encode_ept_map_response(&[vec![16, 0, 1, 0]], 0)).await;
        let e = map_tcp_port("127.0.0.1", port, SAMR_SYNTAX, &cfg()).await.unwrap_err();
        assert!(
            matches!(e, TransportError::Epm(EpmError::Decode(_) | EpmError::HostileTower(_))),
            "{e}"
        );
        // A named-pipe tower.
        let mut t = TcpEndpoint { port: 1, ..TcpEndpoint::query(SAMR_SYNTAX) }.to_tower();
        t.floors[3].lhs = vec![0x0f];
        let port = epm_answering(encode_ept_map_response(&[t.encode()], 0)).await;
        let e = map_tcp_port("127.0.0.1", port, SAMR_SYNTAX, &cfg()).await.unwrap_err();
        assert!(matches!(e, TransportError::Epm(EpmError::WrongProtocol(_))), "{e}");
    }

    /// A hostile endpoint mapper that answers `ept_map` with a long run of tiny fragments (one
    /// stub byte each, no LAST_FRAG, each well within the read timeout and far below the stub
    /// cap) is cut off after `MAX_EPM_READS` reads, not followed to the end.
    #[tokio::test]
    async fn long_runs_of_tiny_fragments_are_cut_off() {
        // 10 × MAX_EPM_READS one-byte fragments; only the very last one is LAST_FRAG.
        let n = 10 * MAX_EPM_READS;
        let port = epm_replying(vec![0; n], n).await;
        let e = map_tcp_port("127.0.0.1", port, SAMR_SYNTAX, &cfg()).await.unwrap_err();
        assert!(
            matches!(
                e,
                TransportError::Rpc {
                    step: TransportStep::EndpointMapper,
                    source: RpcError::Protocol(m)
                } if m.contains("too many fragments")
            ),
            "{e}"
        );
    }

    #[tokio::test]
    async fn closed_endpoint_mapper_is_a_connect_error() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let e = map_tcp_port("127.0.0.1", port, SAMR_SYNTAX, &cfg()).await.unwrap_err();
        assert!(matches!(e, TransportError::Connect { .. }), "{e}");
    }
}
