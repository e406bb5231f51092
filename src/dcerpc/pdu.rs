//! Any connection-oriented PDU: the [`Pdu`] sum type and the [`decode_pdu`] entry point
//! (for the association, the scripted peer and fuzz targets).

use super::RpcError;
use super::auth3::Auth3;
use super::bind::Bind;
use super::bind_ack::BindAck;
use super::bind_nak::BindNak;
use super::fault::Fault;
use super::header::{Header, PacketType};
use super::request::Request;
use super::response::Response;
use crate::wire::DecodeError;

/// A decoded PDU of a supported type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pdu {
    /// BIND.
    Bind(Bind),
    /// BIND_ACK.
    BindAck(BindAck),
    /// BIND_NAK.
    BindNak(BindNak),
    /// ALTER_CONTEXT.
    AlterContext(Bind),
    /// ALTER_CONTEXT_RESP.
    AlterContextResp(BindAck),
    /// REQUEST.
    Request(Request),
    /// RESPONSE.
    Response(Response),
    /// FAULT.
    Fault(Fault),
    /// AUTH3.
    Auth3(Auth3),
}

impl Pdu {
    /// Encode the PDU.
    pub fn encode(&self) -> Result<Vec<u8>, RpcError> {
        match self {
            Self::Bind(p) => p.encode(),
            Self::BindAck(p) => p.encode(),
            Self::BindNak(p) => p.encode(),
            Self::AlterContext(p) => p.encode_alter_context(),
            Self::AlterContextResp(p) => p.encode_alter_context_resp(),
            Self::Request(p) => p.encode(),
            Self::Response(p) => p.encode(),
            Self::Fault(p) => p.encode(),
            Self::Auth3(p) => p.encode(),
        }
    }

    /// The call id.
    pub fn call_id(&self) -> u32 {
        match self {
            Self::Bind(p) | Self::AlterContext(p) => p.call_id,
            Self::BindAck(p) | Self::AlterContextResp(p) => p.call_id,
            Self::BindNak(p) => p.call_id,
            Self::Request(p) => p.call_id,
            Self::Response(p) => p.call_id,
            Self::Fault(p) => p.call_id,
            Self::Auth3(p) => p.call_id,
        }
    }
}

/// Decode one whole PDU: `buf` must hold exactly `frag_length` bytes. Rejects unsupported
/// versions, data representations and PDU types, truncation and trailing bytes. Never panics.
pub fn decode_pdu(buf: &[u8]) -> Result<Pdu, DecodeError> {
    let header = Header::decode(buf)?;
    Ok(match header.ptype {
        PacketType::BIND => Pdu::Bind(Bind::decode(buf)?),
        PacketType::BIND_ACK => Pdu::BindAck(BindAck::decode(buf)?),
        PacketType::BIND_NAK => Pdu::BindNak(BindNak::decode(buf)?),
        PacketType::ALTER_CONTEXT => Pdu::AlterContext(Bind::decode_alter_context(buf)?),
        PacketType::ALTER_CONTEXT_RESP => {
            Pdu::AlterContextResp(BindAck::decode_alter_context_resp(buf)?)
        }
        PacketType::REQUEST => Pdu::Request(Request::decode(buf)?),
        PacketType::RESPONSE => Pdu::Response(Response::decode(buf)?),
        PacketType::FAULT => Pdu::Fault(Fault::decode(buf)?),
        PacketType::AUTH3 => Pdu::Auth3(Auth3::decode(buf)?),
        _ => return Err(DecodeError::invalid("PTYPE (unsupported PDU type)")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decode_never_panics_and_reencodes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(p) = decode_pdu(&bytes) {
                // Whatever decodes re-encodes to something that decodes to the same value.
                let again = p.encode().unwrap();
                prop_assert_eq!(decode_pdu(&again).unwrap(), p);
            }
        }

        #[test]
        fn header_shaped_input_never_panics(
            ptype in prop_oneof![Just(0u8), Just(2), Just(3), Just(11), Just(12), Just(13), Just(14), Just(15), Just(16)],
            flags in any::<u8>(),
            auth_len in 0u16..64,
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let frag = 16 + body.len();
            let mut b = vec![5, 0, ptype, flags, 0x10, 0, 0, 0];
            b.extend_from_slice(&(frag as u16).to_le_bytes());
            b.extend_from_slice(&auth_len.to_le_bytes());
            b.extend_from_slice(&7u32.to_le_bytes());
            b.extend_from_slice(&body);
            if let Ok(p) = decode_pdu(&b) {
                let again = p.encode().unwrap();
                prop_assert_eq!(decode_pdu(&again).unwrap(), p);
            }
        }
    }

    #[test]
    fn every_pdu_rejects_bad_version_and_drep() {
        use crate::dcerpc::tests::hexs;
        let samples = [
            hexs(crate::dcerpc::bind::tests::BIND_EXAMPLE),
            crate::dcerpc::testing::MockDc::render(
                1,
                crate::dcerpc::testing::CallReply::Response { stub: vec![1, 2, 3], fragments: 1 },
            )
            .unwrap(),
            crate::dcerpc::testing::MockDc::render(
                1,
                crate::dcerpc::testing::CallReply::Fault(crate::RpcFault::NCA_S_UNKNOWN_IF),
            )
            .unwrap(),
        ];
        for pdu in samples {
            decode_pdu(&pdu).unwrap();
            // rpc_vers, rpc_vers_minor, and each packed_drep byte.
            for (i, v) in [(0, 4u8), (1, 1), (4, 0x00), (4, 0x11), (5, 0x01), (6, 1), (7, 1)] {
                let mut b = pdu.clone();
                b[i] = v;
                let err = decode_pdu(&b).unwrap_err();
                assert_eq!(err.kind, crate::wire::DecodeErrorKind::Invalid, "byte {i}");
            }
        }
    }

    #[test]
    fn error_messages_are_clear() {
        use crate::dcerpc::RpcError;
        let e = RpcError::from(
            decode_pdu(&[5, 0, 2, 3, 0, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0]).unwrap_err(),
        );
        assert_eq!(
            e.to_string(),
            "malformed DCE/RPC PDU: invalid packed_drep (only little-endian ASCII IEEE is supported)"
        );
        assert_eq!(
            RpcError::Protocol("response fragment has the wrong call id").to_string(),
            "DCE/RPC protocol violation: response fragment has the wrong call id"
        );
        assert_eq!(
            RpcError::Fault(crate::RpcFault::NCA_S_OP_RNG_ERROR).fault(),
            Some(crate::RpcFault::NCA_S_OP_RNG_ERROR)
        );
        assert_eq!(RpcError::Protocol("x").fault(), None);
    }

    #[test]
    fn fuzz_helper_never_panics() {
        let (mut b, id) = crate::dcerpc::testing::bound_with_pending_call().unwrap();
        assert!(b.receive(id, &[0xff; 40]).is_err());
    }

    #[test]
    fn rejects_unknown_ptype() {
        let b = [5, 0, 17, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0];
        assert!(decode_pdu(&b).is_err());
    }
}
