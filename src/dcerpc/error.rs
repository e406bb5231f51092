//! The DCE/RPC error type: decode errors, server faults, bind rejections, protocol violations.

use super::bind_nak::BindNakReason;
use crate::status::RpcFault;
use crate::wire::DecodeError;

/// A DCE/RPC failure.
///
/// Tiers (architecture guide "Errors"): [`RpcError::Decode`] means the bytes were malformed;
/// [`RpcError::Protocol`] means legal bytes with illegal meaning (unexpected PDU type, wrong call
/// id, oversized fragment, …); [`RpcError::Fault`] and the rejections are the server's answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The server's bytes are not a well-formed PDU.
    #[error("malformed DCE/RPC PDU: {0}")]
    Decode(#[from] DecodeError),
    /// The server answered the call with a FAULT PDU.
    #[error("the server returned DCE/RPC fault {0}")]
    Fault(RpcFault),
    /// The server refused the bind with a BIND_NAK.
    #[error("the server rejected the bind: {reason}")]
    BindRejected {
        /// `provider_reject_reason` from the BIND_NAK.
        reason: BindNakReason,
    },
    /// The BIND_ACK did not accept the interface / transfer syntax context.
    #[error("the server rejected the presentation context (result {result}, reason {reason})")]
    ContextRejected {
        /// `result` (1 user rejection, 2 provider rejection).
        result: u16,
        /// `reason` (e.g. 1 abstract syntax not supported, 2 transfer syntaxes not supported).
        reason: u16,
    },
    /// Well-formed PDU with illegal meaning in the current state.
    #[error("DCE/RPC protocol violation: {0}")]
    Protocol(&'static str),
    /// A PDU could not be built (a length over a 16-bit field, a stub over 4 GiB).
    #[error("cannot encode DCE/RPC PDU: {0}")]
    Encode(&'static str),
    /// Per-PDU message protection failed (from a [`PduAuth`](super::PduAuth) implementation).
    #[error("DCE/RPC message protection failed: {0}")]
    Auth(&'static str),
    /// The response makes no progress (a fragment without stub data that is not the last,
    /// or more fragments than any answer needs): the server is not giving an answer.
    #[error("the DCE/RPC response makes no progress: {0}")]
    Stalled(&'static str),
}

impl RpcError {
    /// The fault status, if the server answered with a FAULT PDU.
    pub fn fault(&self) -> Option<RpcFault> {
        match self {
            Self::Fault(f) => Some(*f),
            _ => None,
        }
    }
}
