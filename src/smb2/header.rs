//! The 64-byte SMB2 packet header, sync and async forms ([MS-SMB2] 2.2.1.1, 2.2.1.2).

use super::Command;
use crate::status::NtStatus;
use crate::wire::{DecodeError, Reader, Writer};

/// The SMB2 ProtocolId, `FE 'S' 'M' 'B'`.
pub const PROTOCOL_ID: [u8; 4] = [0xFE, b'S', b'M', b'B'];
/// Offset of the 16-byte signature in the header.
pub const SIGNATURE_OFFSET: usize = 48;
/// Offset of the flags word in the header.
pub const FLAGS_OFFSET: usize = 16;

/// Flag: the message is a response.
pub const FLAG_SERVER_TO_REDIR: u32 = 0x0000_0001;
/// Flag: the async header form (AsyncId instead of ProcessId/TreeId).
pub const FLAG_ASYNC_COMMAND: u32 = 0x0000_0002;
/// Flag: a related compound operation.
pub const FLAG_RELATED_OPERATIONS: u32 = 0x0000_0004;
/// Flag: the message is signed.
pub const FLAG_SIGNED: u32 = 0x0000_0008;
/// Flag: a DFS operation.
pub const FLAG_DFS_OPERATIONS: u32 = 0x1000_0000;
/// Flag: a replayed operation.
pub const FLAG_REPLAY_OPERATION: u32 = 0x2000_0000;

/// A decoded SMB2 header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// CreditCharge.
    pub credit_charge: u16,
    /// Status (responses); ChannelSequence/Reserved in requests (sent as 0).
    pub status: NtStatus,
    /// Command.
    pub command: Command,
    /// CreditRequest (requests) or CreditResponse (responses).
    pub credits: u16,
    /// Flags (`FLAG_*`).
    pub flags: u32,
    /// NextCommand (compound chaining; 0 when alone).
    pub next_command: u32,
    /// MessageId.
    pub message_id: u64,
    /// AsyncId when [`FLAG_ASYNC_COMMAND`] is set.
    pub async_id: Option<u64>,
    /// ProcessId (sync form only).
    pub process_id: u32,
    /// TreeId (sync form only).
    pub tree_id: u32,
    /// SessionId.
    pub session_id: u64,
    /// Signature.
    pub signature: [u8; 16],
}

impl Header {
    /// Encoded size.
    pub const LEN: usize = 64;

    /// A request header with the given fields and everything else zero.
    pub fn request(command: Command, message_id: u64, session_id: u64, tree_id: u32) -> Self {
        Self {
            credit_charge: 0,
            status: NtStatus(0),
            command,
            credits: 0,
            flags: 0,
            next_command: 0,
            message_id,
            async_id: None,
            process_id: 0xFEFF,
            tree_id,
            session_id,
            signature: [0; 16],
        }
    }

    /// Decode the header at the start of `msg` (the rest of `msg` is the body).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(msg);
        if r.array::<4>("SMB2 header ProtocolId")? != PROTOCOL_ID {
            return Err(DecodeError::invalid("SMB2 header ProtocolId"));
        }
        if r.u16("SMB2 header StructureSize")? != 64 {
            return Err(DecodeError::invalid("SMB2 header StructureSize"));
        }
        let credit_charge = r.u16("SMB2 header CreditCharge")?;
        let status = NtStatus(r.u32("SMB2 header Status")?);
        let command = Command(r.u16("SMB2 header Command")?);
        let credits = r.u16("SMB2 header Credits")?;
        let flags = r.u32("SMB2 header Flags")?;
        let next_command = r.u32("SMB2 header NextCommand")?;
        let message_id = r.u64("SMB2 header MessageId")?;
        let (async_id, process_id, tree_id) = if flags & FLAG_ASYNC_COMMAND != 0 {
            (Some(r.u64("SMB2 header AsyncId")?), 0, 0)
        } else {
            (None, r.u32("SMB2 header ProcessId")?, r.u32("SMB2 header TreeId")?)
        };
        let session_id = r.u64("SMB2 header SessionId")?;
        let signature = r.array("SMB2 header Signature")?;
        Ok(Self {
            credit_charge,
            status,
            command,
            credits,
            flags,
            next_command,
            message_id,
            async_id,
            process_id,
            tree_id,
            session_id,
            signature,
        })
    }

    /// Append the 64 encoded bytes to `w`.
    pub fn encode(&self, w: &mut Writer) {
        w.bytes(&PROTOCOL_ID)
            .u16(64)
            .u16(self.credit_charge)
            .u32(self.status.0)
            .u16(self.command.0)
            .u16(self.credits)
            .u32(self.flags)
            .u32(self.next_command)
            .u64(self.message_id);
        match self.async_id {
            Some(id) => w.u64(id),
            None => w.u32(self.process_id).u32(self.tree_id),
        };
        w.u64(self.session_id).bytes(&self.signature);
    }

    /// Whether this is a response.
    pub const fn is_response(&self) -> bool {
        self.flags & FLAG_SERVER_TO_REDIR != 0
    }
    /// Whether the SIGNED flag is set.
    pub const fn is_signed(&self) -> bool {
        self.flags & FLAG_SIGNED != 0
    }
    /// Whether this is an interim STATUS_PENDING async response.
    pub fn is_interim(&self) -> bool {
        self.status == NtStatus::STATUS_PENDING && self.flags & FLAG_ASYNC_COMMAND != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb2::test_util::h;

    /// The final SESSION_SETUP response header of the 3.1.1 logon in the MS blog (protocol
    /// notes 7.9), signature zeroed.
    fn vector() -> Vec<u8> {
        h("FE534D42 4000 0100 00000000 0100 8000 09000000 00000000 0300000000000000
           FFFE0000 00000000 1900000000100000 00000000000000000000000000000000")
    }

    #[test]
    fn decodes_and_reencodes() {
        let v = vector();
        let hd = Header::decode(&v).unwrap();
        assert_eq!(hd.command, Command::SESSION_SETUP);
        assert_eq!(hd.credits, 0x80);
        assert_eq!(hd.flags, 9);
        assert_eq!(hd.message_id, 3);
        assert_eq!(hd.process_id, 0xFEFF);
        assert_eq!(hd.session_id, 0x0000_1000_0000_0019);
        assert!(hd.is_response() && hd.is_signed());
        let mut w = Writer::new();
        hd.encode(&mut w);
        assert_eq!(w.as_slice(), &v[..]);
        for n in 0..v.len() {
            assert!(Header::decode(&v[..n]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn async_form() {
        let mut hd = Header::request(Command::READ, 7, 9, 0);
        hd.flags = FLAG_ASYNC_COMMAND | FLAG_SERVER_TO_REDIR;
        hd.async_id = Some(0x1122_3344_5566_7788);
        hd.process_id = 0;
        hd.status = NtStatus::STATUS_PENDING;
        let mut w = Writer::new();
        hd.encode(&mut w);
        assert_eq!(w.len(), 64);
        let back = Header::decode(w.as_slice()).unwrap();
        assert_eq!(back, hd);
        assert!(back.is_interim());
    }

    #[test]
    fn rejects_bad_protocol_id() {
        let mut v = vector();
        v[0] = 0xFF;
        assert!(Header::decode(&v).is_err());
        let mut v = vector();
        v[4] = 63;
        assert!(Header::decode(&v).is_err());
    }
}
