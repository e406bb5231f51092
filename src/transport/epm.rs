//! Asking the endpoint mapper (TCP 135) which port serves an interface over ncacn_ip_tcp.
//!
//! One short connection: bind EPM v3.0 without authentication, `ept_map` for the interface,
//! read the TCP port from the returned tower, close. The reply's IPv4 address is ignored (the
//! Samba DC answers 0.0.0.0): the caller connects to the host it dialled. Codecs and typed
//! errors are in [`crate::dcerpc::epm`].

use super::tcp::{RpcTcp, TcpConfig};
use super::{TransportError, TransportStep};
use crate::dcerpc::epm::{EPM_SYNTAX, OPNUM_EPT_MAP, decode_ept_map_response, ept_map_request};
use crate::dcerpc::{Association, AssociationConfig, Progress, SyntaxId};

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
        ..Default::default()
    });
    let bind = unbound.bind_pdu().map_err(rpc)?;
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
    let stub = loop {
        match bound.receive(call.call_id, &data).map_err(rpc)? {
            Progress::Complete(stub) => break stub,
            Progress::NeedMore => data = t.read().await?,
        }
    };
    let endpoint = decode_ept_map_response(&stub, interface).map_err(TransportError::Epm)?;
    Ok(endpoint.port)
}
