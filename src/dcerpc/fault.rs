//! FAULT PDU (C706 12.6.4.7, [MS-RPCE] 2.2.2.7; protocol notes 4.2, 4.8).
//!
//! ```text
//! u32 alloc_hint; u16 p_cont_id; u8 cancel_count; u8 flags (0x01 extended error present)
//! u32 status; u32 reserved
//! [extended error data]
//! [auth pad | sec_trailer | auth_value]
//! ```

use super::RpcError;
use super::auth::AuthVerifier;
use super::frame::{self, Frame, PadRule};
use super::header::{PacketType, PfcFlags};
use crate::status::RpcFault;
use crate::wire::{DecodeError, Reader, Writer};

/// Size of the fixed FAULT fields after the common header.
pub const FAULT_FIELDS_LEN: usize = 16;
/// FAULT `flags` bit: extended error information follows.
pub const FAULT_FLAG_EXTENDED_ERROR: u8 = 0x01;

/// A FAULT PDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Call id of the failed call.
    pub call_id: u32,
    /// `pfc_flags` (DID_NOT_EXECUTE may be set).
    pub flags: PfcFlags,
    /// Allocation hint.
    pub alloc_hint: u32,
    /// Presentation context id.
    pub context_id: u16,
    /// Cancel count.
    pub cancel_count: u8,
    /// Fault flags ([`FAULT_FLAG_EXTENDED_ERROR`]).
    pub fault_flags: u8,
    /// The fault status.
    pub status: RpcFault,
    /// Bytes after the 32-byte fault header (extended error information), kept verbatim.
    pub extended: Vec<u8>,
    /// Auth verifier, if any.
    pub auth: Option<AuthVerifier>,
}

impl Fault {
    /// Whether the extended-error flag is set.
    pub fn has_extended_error(&self) -> bool {
        self.fault_flags & FAULT_FLAG_EXTENDED_ERROR != 0
    }

    /// Encode the PDU.
    pub fn encode(&self) -> Result<Vec<u8>, RpcError> {
        let mut w = Writer::with_capacity(FAULT_FIELDS_LEN + self.extended.len());
        w.u32(self.alloc_hint).u16(self.context_id).u8(self.cancel_count).u8(self.fault_flags);
        w.u32(self.status.0).u32(0).bytes(&self.extended);
        let pad = PadRule::Align { from: FAULT_FIELDS_LEN, align: 16 };
        let (bytes, _) = frame::build(
            PacketType::FAULT,
            self.flags,
            self.call_id,
            w.as_slice(),
            pad,
            self.auth.as_ref(),
        )?;
        Ok(bytes)
    }

    /// Decode a whole FAULT PDU.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let f = Frame::split(buf)?;
        f.expect(PacketType::FAULT, "PTYPE (expected FAULT)")?;
        let mut r = Reader::new(f.body);
        let alloc_hint = r.u32("alloc_hint")?;
        let context_id = r.u16("p_cont_id")?;
        let cancel_count = r.u8("cancel_count")?;
        let fault_flags = r.u8("fault flags")?;
        let status = RpcFault(r.u32("fault status")?);
        r.skip(4, "fault reserved")?;
        let extended = r.take_rest().to_vec();
        Ok(Self {
            call_id: f.header.call_id,
            flags: f.header.flags,
            alloc_hint,
            context_id,
            cancel_count,
            fault_flags,
            status,
            extended,
            auth: f.verifier(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dcerpc::tests::{check_truncations_and_trailing, hexs};

    /// Notes 4.2 / 4.8: nca_s_op_rng_error (0x1C010002) for call 3, DID_NOT_EXECUTE.
    const FAULT: &str = "
        05 00 03 23 10000000 2000 0000 03000000
        20000000 0000 00 00
        0200011c 00000000";

    #[test]
    fn decode_encode() {
        let bytes = hexs(FAULT);
        let f = Fault::decode(&bytes).unwrap();
        assert_eq!(f.status, RpcFault::NCA_S_OP_RNG_ERROR);
        assert!(f.flags.contains(PfcFlags::DID_NOT_EXECUTE));
        assert!(!f.has_extended_error());
        assert!(f.extended.is_empty());
        assert_eq!(f.encode().unwrap(), bytes);
        check_truncations_and_trailing(&bytes, |b| Fault::decode(b).map(drop));
    }

    #[test]
    fn extended_error_kept() {
        let f = Fault {
            call_id: 4,
            flags: PfcFlags::FIRST_LAST,
            alloc_hint: 0,
            context_id: 0,
            cancel_count: 0,
            fault_flags: FAULT_FLAG_EXTENDED_ERROR,
            status: RpcFault(0x6f7),
            extended: vec![1, 2, 3, 4, 5],
            auth: None,
        };
        let bytes = f.encode().unwrap();
        assert_eq!(bytes.len(), 37);
        let back = Fault::decode(&bytes).unwrap();
        assert!(back.has_extended_error());
        assert_eq!(back, f);
        check_truncations_and_trailing(&bytes, |b| Fault::decode(b).map(drop));
    }
}
