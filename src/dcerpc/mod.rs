//! DCE/RPC connection-oriented PDUs and the pure client association ([MS-RPCE] 2.2.2, C706 12).
//!
//! * PDU codecs, one file per PDU family: [`header`] (the 16-byte common header), [`bind`]
//!   (BIND, ALTER_CONTEXT), [`bind_ack`] (BIND_ACK, ALTER_CONTEXT_RESP), [`bind_nak`],
//!   [`request`], [`response`], [`fault`], [`auth3`]; [`pdu`] ties them into [`Pdu`] and the
//!   [`decode_pdu`] entry point. Every decoder takes a whole PDU (exactly `frag_length` bytes),
//!   reads through [`crate::wire::Reader`] and never panics.
//! * [`syntax`]: [`SyntaxId`], [`SAMR_SYNTAX`], [`NDR20_SYNTAX`], [`NDR64_SYNTAX`] and the
//!   bind-time feature negotiation syntax.
//! * [`auth`]: the sec_trailer, [`AuthVerifier`] and the [`PduAuth`] seam for per-PDU
//!   signing/sealing (only the no-op [`NoAuth`] exists yet).
//! * [`association`]: the sans-IO client association, one type per phase:
//!   [`Association::new`] → [`Unbound`] → ([`Unbound::handle_bind_response`]) → [`Bound`], which
//!   fragments requests and reassembles responses from whatever bytes the shell reads.
//! * [`epm`]: the endpoint mapper's `ept_map` request/response and TCP/IP protocol towers.
//! * [`testing`]: `MockDc`, a scripted server peer for in-memory tests (test support only).
//!
//! Stubs are opaque bytes here; NDR lives in [`crate::ndr`].

pub mod association;
pub mod auth;
pub mod auth3;
pub mod bind;
pub mod bind_ack;
pub mod bind_nak;
pub mod epm;
mod error;
pub mod fault;
mod frame;
pub mod header;
pub mod pdu;
pub mod request;
pub mod response;
pub mod syntax;
#[doc(hidden)]
pub mod testing;

pub use association::{
    Association, AssociationConfig, Bound, MAX_STUB_DEFAULT, MIN_FRAG, OutgoingCall, Progress,
    Unbound,
};
pub use auth::{AuthLevel, AuthType, AuthVerifier, NoAuth, PduAuth, SecTrailer, VerifierParams};
pub use error::RpcError;
pub use pdu::{Pdu, decode_pdu};
pub use syntax::{NDR20_SYNTAX, NDR64_SYNTAX, SAMR_SYNTAX, SyntaxId};

#[cfg(test)]
pub(crate) mod tests {
    use crate::wire::DecodeError;

    /// Hex with whitespace (grouping by field) to bytes.
    pub(crate) fn hexs(s: &str) -> Vec<u8> {
        let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        hex::decode(clean).unwrap()
    }

    /// Every strict prefix fails to decode, and so does the PDU with a byte appended.
    pub(crate) fn check_truncations_and_trailing(
        bytes: &[u8],
        decode: impl Fn(&[u8]) -> Result<(), DecodeError>,
    ) {
        decode(bytes).unwrap();
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_err(), "prefix of {n} bytes decoded");
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(decode(&longer).is_err(), "trailing byte accepted");
    }
}
