//! REQUEST PDU (C706 12.6.4.9, [MS-RPCE] 2.2.2.8; protocol notes 4.2, 4.5).
//!
//! ```text
//! u32 alloc_hint; u16 p_cont_id; u16 opnum; [16-byte object UUID if PFC_OBJECT_UUID]
//! stub
//! [auth pad to 16 (relative to the stub start) | sec_trailer | auth_value]
//! ```

use super::RpcError;
use super::auth::{AuthLayout, AuthVerifier};
use super::frame::{self, Frame, PadRule};
use super::header::{PacketType, PfcFlags};
use crate::wire::{DecodeError, Reader, Writer};

/// Size of the fixed REQUEST fields after the common header.
pub const REQUEST_FIELDS_LEN: usize = 8;
/// Offset of the stub in a REQUEST without object UUID.
pub const REQUEST_STUB_OFFSET: usize = 24;

/// A REQUEST PDU (one fragment of a call).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Call id, the same on every fragment.
    pub call_id: u32,
    /// `pfc_flags`; OBJECT_UUID is set or cleared on encode to match `object`.
    pub flags: PfcFlags,
    /// Stub bytes remaining from this fragment on (a hint).
    pub alloc_hint: u32,
    /// Presentation context id (`p_cont_id`).
    pub context_id: u16,
    /// Operation number.
    pub opnum: u16,
    /// Object UUID (wire form), present iff PFC_OBJECT_UUID.
    pub object: Option<[u8; 16]>,
    /// This fragment's stub bytes.
    pub stub: Vec<u8>,
    /// Auth verifier (signature), if any.
    pub auth: Option<AuthVerifier>,
}

impl Request {
    /// Encode the PDU.
    pub fn encode(&self) -> Result<Vec<u8>, RpcError> {
        Ok(self.encode_with_layout()?.0)
    }

    /// Encode the PDU and, when it carries a verifier, where stub, pad and verifier sit
    /// (for [`PduAuth::protect`](super::PduAuth::protect)).
    pub fn encode_with_layout(&self) -> Result<(Vec<u8>, Option<AuthLayout>), RpcError> {
        let mut w = Writer::with_capacity(REQUEST_FIELDS_LEN + 16 + self.stub.len());
        w.u32(self.alloc_hint).u16(self.context_id).u16(self.opnum);
        let flags = match &self.object {
            Some(uuid) => {
                w.bytes(uuid);
                self.flags.with(PfcFlags::OBJECT_UUID)
            }
            None => self.flags.without(PfcFlags::OBJECT_UUID),
        };
        let from = w.len();
        w.bytes(&self.stub);
        let pad = PadRule::Align { from, align: 16 };
        frame::build(
            PacketType::REQUEST,
            flags,
            self.call_id,
            w.as_slice(),
            pad,
            self.auth.as_ref(),
        )
    }

    /// Decode a whole REQUEST PDU.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let f = Frame::split(buf)?;
        f.expect(PacketType::REQUEST, "PTYPE (expected REQUEST)")?;
        let mut r = Reader::new(f.body);
        let alloc_hint = r.u32("alloc_hint")?;
        let context_id = r.u16("p_cont_id")?;
        let opnum = r.u16("opnum")?;
        let object = if f.header.flags.contains(PfcFlags::OBJECT_UUID) {
            Some(r.array::<16>("object uuid")?)
        } else {
            None
        };
        let stub = r.take_rest().to_vec();
        Ok(Self {
            call_id: f.header.call_id,
            flags: f.header.flags,
            alloc_hint,
            context_id,
            opnum,
            object,
            stub,
            auth: f.verifier(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dcerpc::auth::{AuthLevel, AuthType};
    use crate::dcerpc::tests::{check_truncations_and_trailing, hexs};

    /// Notes 4.2 layout: SamrCloseHandle-shaped request (opnum 1, 20-byte handle stub).
    const REQ: &str = "
        05 00 00 03 10000000 2c00 0000 02000000
        14000000 0000 0100
        00000000 11111111 22222222 33333333 44444444";

    #[test]
    fn decode_encode_plain() {
        let bytes = hexs(REQ);
        let q = Request::decode(&bytes).unwrap();
        assert_eq!((q.call_id, q.alloc_hint, q.context_id, q.opnum), (2, 20, 0, 1));
        assert_eq!(q.flags, PfcFlags::FIRST_LAST);
        assert_eq!(q.stub.len(), 20);
        assert_eq!(q.object, None);
        assert_eq!(q.encode().unwrap(), bytes);
        check_truncations_and_trailing(&bytes, |b| Request::decode(b).map(drop));
    }

    #[test]
    fn object_uuid_and_auth_layout() {
        let q = Request {
            call_id: 9,
            flags: PfcFlags::FIRST_FRAG,
            alloc_hint: 100,
            context_id: 0,
            opnum: 73,
            object: Some([0xAA; 16]),
            stub: vec![1, 2, 3],
            auth: Some(AuthVerifier {
                auth_type: AuthType::NTLMSSP,
                auth_level: AuthLevel::PRIVACY,
                context_id: 1,
                auth_value: vec![0; 16],
            }),
        };
        let (bytes, layout) = q.encode_with_layout().unwrap();
        let layout = layout.unwrap();
        assert_eq!(bytes[3], 0x81);
        // Notes 4.7: frag = 24 (+16 object) + stub + pad + 8 + 16; pad = 13 for a 3-byte stub.
        assert_eq!(bytes.len(), 40 + 3 + 13 + 8 + 16);
        assert_eq!(layout.stub, 40..43);
        assert_eq!(layout.pad, 13);
        assert_eq!(layout.sec_trailer, 56);
        assert_eq!(layout.auth_value, 64..80);
        assert_eq!(layout.sealed(), 40..56);
        assert_eq!(layout.signed(), 0..64);
        assert_eq!(bytes[58], 13); // auth_pad_length
        let mut back = Request::decode(&bytes).unwrap();
        assert_eq!(back.flags, PfcFlags(0x81));
        back.flags = PfcFlags::FIRST_FRAG;
        assert_eq!(back, q);
        check_truncations_and_trailing(&bytes, |b| Request::decode(b).map(drop));
    }

    #[test]
    fn rejects_pad_beyond_body() {
        let q = Request {
            call_id: 1,
            flags: PfcFlags::FIRST_LAST,
            alloc_hint: 0,
            context_id: 0,
            opnum: 0,
            object: None,
            stub: vec![],
            auth: Some(AuthVerifier {
                auth_type: AuthType::NTLMSSP,
                auth_level: AuthLevel::INTEGRITY,
                context_id: 0,
                auth_value: vec![0; 16],
            }),
        };
        let mut bytes = q.encode().unwrap();
        assert!(Request::decode(&bytes).is_ok());
        bytes[26] = 9; // auth_pad_length reaching back into the header
        assert!(Request::decode(&bytes).is_err());
    }
}
