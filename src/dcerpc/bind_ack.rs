//! BIND_ACK and ALTER_CONTEXT_RESP PDUs (C706 12.6.4.4, [MS-RPCE] 2.2.2.4; protocol notes 4.2).
//!
//! ```text
//! u16 max_xmit_frag; u16 max_recv_frag; u32 assoc_group_id
//! u16 sec_addr_len; u8 sec_addr[sec_addr_len]; pad to 4
//! u8 n_results; u8 reserved; u16 reserved2
//! n_results × { u16 result; u16 reason; transfer_syntax(20) }
//! [auth pad | sec_trailer | auth_value]
//! ```

use core::fmt;

use super::RpcError;
use super::auth::AuthVerifier;
use super::frame::{self, Frame, PadRule};
use super::header::{PacketType, PfcFlags};
use super::syntax::{SYNTAX_ID_LEN, SyntaxId};
use crate::wire::{DecodeError, Reader, Writer};

/// The `result` of one presentation context in a BIND_ACK. Open newtype.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct BindResult(pub u16);

impl BindResult {
    /// The context was accepted.
    pub const ACCEPTANCE: Self = Self(0);
    /// Rejected by the user.
    pub const USER_REJECTION: Self = Self(1);
    /// Rejected by the provider (see `reason`).
    pub const PROVIDER_REJECTION: Self = Self(2);
    /// Bind-time feature negotiation answer; `reason` holds the accepted feature bits.
    pub const NEGOTIATE_ACK: Self = Self(3);
}

impl fmt::Debug for BindResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("ACCEPTANCE"),
            1 => f.write_str("USER_REJECTION"),
            2 => f.write_str("PROVIDER_REJECTION"),
            3 => f.write_str("NEGOTIATE_ACK"),
            n => write!(f, "BindResult({n})"),
        }
    }
}

/// The server's answer for one offered context, in offer order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextResult {
    /// Accepted, rejected, or negotiate_ack.
    pub result: BindResult,
    /// Rejection reason, or the accepted feature bits for NEGOTIATE_ACK.
    pub reason: u16,
    /// The accepted transfer syntax (zero when not accepted).
    pub transfer_syntax: SyntaxId,
}

/// A BIND_ACK or ALTER_CONTEXT_RESP PDU (same body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindAck {
    /// Call id (echoes the bind's).
    pub call_id: u32,
    /// `pfc_flags`.
    pub flags: PfcFlags,
    /// Largest fragment the server will send.
    pub max_xmit_frag: u16,
    /// Largest fragment the server will accept: the client's send limit.
    pub max_recv_frag: u16,
    /// Association group.
    pub assoc_group_id: u32,
    /// Secondary address bytes, NUL included (e.g. `\PIPE\lsass\0`); empty in alter responses.
    pub sec_addr: Vec<u8>,
    /// One result per offered context.
    pub results: Vec<ContextResult>,
    /// Bind-time auth token (e.g. NTLM CHALLENGE), if authenticating.
    pub auth: Option<AuthVerifier>,
}

/// Wire size of a [`ContextResult`].
const RESULT_LEN: usize = 4 + SYNTAX_ID_LEN;

impl BindAck {
    /// Encode as a BIND_ACK PDU.
    pub fn encode(&self) -> Result<Vec<u8>, RpcError> {
        self.encode_as(PacketType::BIND_ACK)
    }

    /// Encode as an ALTER_CONTEXT_RESP PDU.
    pub fn encode_alter_context_resp(&self) -> Result<Vec<u8>, RpcError> {
        self.encode_as(PacketType::ALTER_CONTEXT_RESP)
    }

    /// Decode a whole BIND_ACK PDU.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_as(buf, PacketType::BIND_ACK)
    }

    /// Decode a whole ALTER_CONTEXT_RESP PDU.
    pub fn decode_alter_context_resp(buf: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_as(buf, PacketType::ALTER_CONTEXT_RESP)
    }

    fn encode_as(&self, ptype: PacketType) -> Result<Vec<u8>, RpcError> {
        let addr_len = u16::try_from(self.sec_addr.len())
            .map_err(|_| RpcError::Encode("sec_addr exceeds 65535 bytes"))?;
        let n = u8::try_from(self.results.len())
            .map_err(|_| RpcError::Encode("more than 255 context results"))?;
        let mut w = Writer::new();
        w.u16(self.max_xmit_frag).u16(self.max_recv_frag).u32(self.assoc_group_id);
        w.u16(addr_len).bytes(&self.sec_addr).align(4);
        w.u8(n).u8(0).u16(0);
        for c in &self.results {
            w.u16(c.result.0).u16(c.reason);
            c.transfer_syntax.encode(&mut w);
        }
        let pad = PadRule::Align { from: 0, align: 4 };
        Ok(frame::build(ptype, self.flags, self.call_id, w.as_slice(), pad, self.auth.as_ref())?.0)
    }

    pub(crate) fn decode_as(buf: &[u8], ptype: PacketType) -> Result<Self, DecodeError> {
        let f = Frame::split(buf)?;
        f.expect(ptype, "PTYPE (expected BIND_ACK or ALTER_CONTEXT_RESP)")?;
        // The body starts at PDU offset 16, so 4-alignment in the body is 4-alignment in the PDU.
        let mut r = Reader::new(f.body);
        let max_xmit_frag = r.u16("max_xmit_frag")?;
        let max_recv_frag = r.u16("max_recv_frag")?;
        let assoc_group_id = r.u32("assoc_group_id")?;
        let addr_len = usize::from(r.u16("sec_addr_len")?);
        let sec_addr = r.take(addr_len, "sec_addr")?.to_vec();
        r.align(4, "sec_addr pad")?;
        let n = usize::from(r.u8("n_results")?);
        r.skip(3, "result list reserved")?;
        r.check_count(n, RESULT_LEN, "n_results")?;
        let mut results = Vec::with_capacity(n);
        for _ in 0..n {
            let result = BindResult(r.u16("result")?);
            let reason = r.u16("reason")?;
            let transfer_syntax = SyntaxId::decode(&mut r)?;
            results.push(ContextResult { result, reason, transfer_syntax });
        }
        // Samba ends a Kerberos third-leg ALTER_CONTEXT_RESP with a sec_trailer and an empty
        // auth_value (auth_length 0): accept exactly that as an empty verifier.
        let mut auth = f.verifier();
        if ptype == PacketType::ALTER_CONTEXT_RESP
            && auth.is_none()
            && r.remaining() == super::header::SEC_TRAILER_LEN
        {
            let t = super::auth::SecTrailer::decode(&mut r)?;
            auth = Some(AuthVerifier {
                auth_type: t.auth_type,
                auth_level: t.auth_level,
                context_id: t.auth_context_id,
                auth_value: Vec::new(),
            });
        }
        r.finish("BIND_ACK body")?;
        Ok(Self {
            call_id: f.header.call_id,
            flags: f.header.flags,
            max_xmit_frag,
            max_recv_frag,
            assoc_group_id,
            sec_addr,
            results,
            auth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dcerpc::auth::{AuthLevel, AuthType};
    use crate::dcerpc::syntax::NDR20_SYNTAX;
    use crate::dcerpc::tests::{check_truncations_and_trailing, hexs};

    /// A BIND_ACK answering the notes 4.3 bind, built from the layout of notes 4.2 (the Windows
    /// shape: sec_addr `\PIPE\lsass`, NDR20 accepted, BTFN negotiate_ack with bits 0x0003).
    const BIND_ACK: &str = "
        05 00 0c 03 10000000 5c00 0000 01000000
        b810 b810 f0530000
        0c00 5c504950455c6c7361737300 0000
        02 00 0000
        0000 0000 045d888aeb1cc9119fe808002b104860 0200 0000
        0300 0300 00000000000000000000000000000000 0000 0000";

    fn example() -> BindAck {
        BindAck {
            call_id: 1,
            flags: PfcFlags::FIRST_LAST,
            max_xmit_frag: 4280,
            max_recv_frag: 4280,
            assoc_group_id: 0x53f0,
            sec_addr: b"\\PIPE\\lsass\0".to_vec(),
            results: vec![
                ContextResult {
                    result: BindResult::ACCEPTANCE,
                    reason: 0,
                    transfer_syntax: NDR20_SYNTAX,
                },
                ContextResult {
                    result: BindResult::NEGOTIATE_ACK,
                    reason: 3,
                    transfer_syntax: SyntaxId { uuid: [0; 16], major: 0, minor: 0 },
                },
            ],
            auth: None,
        }
    }

    #[test]
    fn decode_encode_example() {
        let bytes = hexs(BIND_ACK);
        assert_eq!(bytes.len(), 0x5c);
        assert_eq!(BindAck::decode(&bytes).unwrap(), example());
        assert_eq!(example().encode().unwrap(), bytes);
        check_truncations_and_trailing(&bytes, |b| BindAck::decode(b).map(drop));
        assert!(BindAck::decode_alter_context_resp(&bytes).is_err());
    }

    #[test]
    fn alter_context_resp_with_empty_addr_and_auth() {
        let mut a = example();
        a.sec_addr.clear();
        a.results.truncate(1);
        a.auth = Some(AuthVerifier {
            auth_type: AuthType::NTLMSSP,
            auth_level: AuthLevel::INTEGRITY,
            context_id: 7,
            auth_value: vec![0x4e; 40],
        });
        let bytes = a.encode_alter_context_resp().unwrap();
        // 8 + 2 + pad 2 + 4 + 24 = 40-byte body.
        assert_eq!(bytes.len(), 16 + 40 + 8 + 40);
        assert_eq!(BindAck::decode_alter_context_resp(&bytes).unwrap(), a);
        check_truncations_and_trailing(&bytes, |b| BindAck::decode_alter_context_resp(b).map(drop));
    }

    #[test]
    fn rejects_oversized_counts() {
        let mut bytes = hexs(BIND_ACK);
        bytes[24] = 0xff; // sec_addr_len
        assert!(BindAck::decode(&bytes).is_err());
        let mut bytes = hexs(BIND_ACK);
        bytes[40] = 3; // n_results
        assert!(BindAck::decode(&bytes).is_err());
    }
}
