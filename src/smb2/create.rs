//! SMB2 CREATE request and response, for opening a named pipe on IPC$ ([MS-SMB2] 2.2.13,
//! 2.2.14; protocol notes 5.9).

use super::{HEADER_LEN, buffer_at, check_end, check_structure_size, utf16le};
use crate::wire::{DecodeError, Reader, Writer};

/// ImpersonationLevel: Impersonation.
pub const IMPERSONATION: u32 = 2;
/// CreateDisposition: FILE_OPEN.
pub const FILE_OPEN: u32 = 1;
/// DesiredAccess Samba's client uses for pipes: READ_CONTROL | FILE_READ_DATA |
/// FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_READ_EA | FILE_WRITE_EA | FILE_READ_ATTRIBUTES |
/// FILE_WRITE_ATTRIBUTES.
pub const PIPE_DESIRED_ACCESS: u32 = 0x0002_019F;
/// ShareAccess: READ | WRITE.
pub const SHARE_READ_WRITE: u32 = 0x0000_0003;

/// An SMB2 FileId (persistent and volatile parts).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct FileId {
    /// Persistent part.
    pub persistent: u64,
    /// Volatile part.
    pub volatile: u64,
}

impl FileId {
    /// The all-ones FileId used by connection-level FSCTLs.
    pub const ANY: Self = Self { persistent: u64::MAX, volatile: u64::MAX };

    /// Append the 16 bytes.
    pub fn encode(&self, w: &mut Writer) {
        w.u64(self.persistent).u64(self.volatile);
    }
    /// Read 16 bytes.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { persistent: r.u64("FileId Persistent")?, volatile: r.u64("FileId Volatile")? })
    }
}

/// Encode a CREATE request body opening the pipe `name` (e.g. `samr`, no leading backslash).
pub fn encode_pipe_open_body(name: &str) -> Vec<u8> {
    let n = utf16le(name);
    let mut w = Writer::with_capacity(56 + n.len().max(1));
    w.u16(57)
        .u8(0) // SecurityFlags
        .u8(0) // RequestedOplockLevel: none
        .u32(IMPERSONATION)
        .u64(0) // SmbCreateFlags
        .u64(0) // Reserved
        .u32(PIPE_DESIRED_ACCESS)
        .u32(0) // FileAttributes
        .u32(SHARE_READ_WRITE)
        .u32(FILE_OPEN)
        .u32(0) // CreateOptions
        .u16((HEADER_LEN + 56) as u16)
        .u16(n.len() as u16)
        .u32(0)
        .u32(0)
        .bytes(&n);
    if n.is_empty() {
        w.u8(0);
    }
    w.into_vec()
}

/// A decoded CREATE response (the fields a pipe client needs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateResponse {
    /// CreateAction.
    pub create_action: u32,
    /// FileAttributes.
    pub file_attributes: u32,
    /// The handle.
    pub file_id: FileId,
}

impl CreateResponse {
    /// Decode from the whole SMB2 message.
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(msg);
        r.skip(HEADER_LEN, "CREATE response header")?;
        check_structure_size(&mut r, 89, "CREATE response StructureSize")?;
        r.skip(2, "CREATE response OplockLevel/Flags")?;
        let create_action = r.u32("CREATE response CreateAction")?;
        r.skip(48, "CREATE response times and sizes")?;
        let file_attributes = r.u32("CREATE response FileAttributes")?;
        r.skip(4, "CREATE response Reserved2")?;
        let file_id = FileId::decode(&mut r)?;
        let off = r.u32("CREATE response CreateContextsOffset")? as usize;
        let len = r.u32("CREATE response CreateContextsLength")? as usize;
        let fixed_end = r.position();
        buffer_at(msg, off, len, fixed_end, "CREATE response CreateContexts")?;
        check_end(msg, fixed_end, if len == 0 { 0 } else { off + len }, "CREATE response")?;
        Ok(Self { create_action, file_attributes, file_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb2::test_util::h;

    /// A CREATE response for a pipe laid out per MS-SMB2 2.2.14.
    fn vector() -> Vec<u8> {
        let mut v = vec![0u8; 64];
        v.extend(h("5900 00 00 01000000"));
        v.extend([0u8; 48]);
        v.extend(h("80000000 00000000"));
        v.extend(h("1100000000000000 2200000000000000"));
        v.extend(h("00000000 00000000"));
        v
    }

    #[test]
    fn decodes_and_rejects_truncation() {
        let v = vector();
        let r = CreateResponse::decode(&v).unwrap();
        assert_eq!(r.file_id, FileId { persistent: 0x11, volatile: 0x22 });
        assert_eq!(r.create_action, 1);
        for n in 0..v.len() {
            assert!(CreateResponse::decode(&v[..n]).is_err());
        }
        let mut t = v.clone();
        t.extend([0, 0]);
        assert!(CreateResponse::decode(&t).is_err());
    }

    #[test]
    fn request_layout() {
        let b = encode_pipe_open_body("samr");
        assert_eq!(b.len(), 56 + 8);
        assert_eq!(b[..8], h("3900 00 00 02000000")[..]);
        assert_eq!(b[24..48], h("9F010200 00000000 03000000 01000000 00000000 7800 0800")[..]);
        assert_eq!(b[56..], h("730061006D007200")[..]);
    }
}
