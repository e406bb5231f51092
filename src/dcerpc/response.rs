//! RESPONSE PDU (C706 12.6.4.10, [MS-RPCE] 2.2.2.9; protocol notes 4.2, 4.5).
//!
//! ```text
//! u32 alloc_hint; u16 p_cont_id; u8 cancel_count; u8 reserved
//! stub
//! [auth pad to 16 (relative to the stub start) | sec_trailer | auth_value]
//! ```

use super::RpcError;
use super::auth::{AuthLayout, AuthVerifier};
use super::frame::{self, Frame, PadRule};
use super::header::{PacketType, PfcFlags};
use crate::wire::{DecodeError, Reader, Writer};

/// Size of the fixed RESPONSE fields after the common header.
pub const RESPONSE_FIELDS_LEN: usize = 8;

/// A RESPONSE PDU (one fragment of a call's result).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Call id, the same on every fragment.
    pub call_id: u32,
    /// `pfc_flags`.
    pub flags: PfcFlags,
    /// Stub bytes remaining from this fragment on (a hint only; never trusted for allocation).
    pub alloc_hint: u32,
    /// Presentation context id.
    pub context_id: u16,
    /// Cancel count.
    pub cancel_count: u8,
    /// This fragment's stub bytes.
    pub stub: Vec<u8>,
    /// Auth verifier (signature), if any.
    pub auth: Option<AuthVerifier>,
}

impl Response {
    /// Encode the PDU.
    pub fn encode(&self) -> Result<Vec<u8>, RpcError> {
        Ok(self.encode_with_layout()?.0)
    }

    /// Encode the PDU and, when it carries a verifier, its layout.
    pub fn encode_with_layout(&self) -> Result<(Vec<u8>, Option<AuthLayout>), RpcError> {
        let mut w = Writer::with_capacity(RESPONSE_FIELDS_LEN + self.stub.len());
        w.u32(self.alloc_hint).u16(self.context_id).u8(self.cancel_count).u8(0);
        w.bytes(&self.stub);
        let pad = PadRule::Align { from: RESPONSE_FIELDS_LEN, align: 16 };
        frame::build(
            PacketType::RESPONSE,
            self.flags,
            self.call_id,
            w.as_slice(),
            pad,
            self.auth.as_ref(),
        )
    }

    /// Decode a whole RESPONSE PDU.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        Ok(Self::decode_with_layout(buf)?.0)
    }

    /// Decode a whole RESPONSE PDU and, when it carries a verifier, its layout.
    pub fn decode_with_layout(buf: &[u8]) -> Result<(Self, Option<AuthLayout>), DecodeError> {
        let f = Frame::split(buf)?;
        f.expect(PacketType::RESPONSE, "PTYPE (expected RESPONSE)")?;
        let mut r = Reader::new(f.body);
        let alloc_hint = r.u32("alloc_hint")?;
        let context_id = r.u16("p_cont_id")?;
        let cancel_count = r.u8("cancel_count")?;
        r.skip(1, "response reserved")?;
        let stub = r.take_rest().to_vec();
        let layout = f.layout(RESPONSE_FIELDS_LEN);
        let resp = Self {
            call_id: f.header.call_id,
            flags: f.header.flags,
            alloc_hint,
            context_id,
            cancel_count,
            stub,
            auth: f.verifier(),
        };
        Ok((resp, layout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dcerpc::auth::{AuthLevel, AuthType};
    use crate::dcerpc::tests::{check_truncations_and_trailing, hexs};

    /// Notes 4.2 layout: a SamrCloseHandle-shaped response (zeroed handle + STATUS_SUCCESS).
    const RESP: &str = "
        05 00 02 03 10000000 3000 0000 02000000
        18000000 0000 00 00
        0000000000000000000000000000000000000000 00000000";

    #[test]
    fn decode_encode_plain() {
        let bytes = hexs(RESP);
        let p = Response::decode(&bytes).unwrap();
        assert_eq!((p.call_id, p.alloc_hint, p.context_id, p.cancel_count), (2, 24, 0, 0));
        assert_eq!(p.stub, vec![0; 24]);
        assert_eq!(p.encode().unwrap(), bytes);
        check_truncations_and_trailing(&bytes, |b| Response::decode(b).map(drop));
    }

    #[test]
    fn auth_round_trip_and_layout() {
        let p = Response {
            call_id: 5,
            flags: PfcFlags::LAST_FRAG,
            alloc_hint: 17,
            context_id: 0,
            cancel_count: 0,
            stub: (0..17).collect(),
            auth: Some(AuthVerifier {
                auth_type: AuthType::NTLMSSP,
                auth_level: AuthLevel::PRIVACY,
                context_id: 1,
                auth_value: vec![0x55; 16],
            }),
        };
        let (bytes, layout) = p.encode_with_layout().unwrap();
        // Notes 4.7: frag_length = 24 + 17 + 15 + 8 + 16.
        assert_eq!(bytes.len(), 24 + 17 + 15 + 8 + 16);
        let (back, back_layout) = Response::decode_with_layout(&bytes).unwrap();
        assert_eq!(back, p);
        assert_eq!(back_layout, layout);
        assert_eq!(layout.unwrap().stub, 24..41);
        check_truncations_and_trailing(&bytes, |b| Response::decode(b).map(drop));
    }
}
