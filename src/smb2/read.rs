//! SMB2 READ request and response ([MS-SMB2] 2.2.19, 2.2.20; protocol notes 5.9).

use super::create::FileId;
use super::{HEADER_LEN, buffer_at, check_end, check_structure_size};
use crate::wire::{DecodeError, Reader, Writer};

/// Encode a READ request body for up to `length` bytes at offset 0.
pub fn encode_body(file_id: FileId, length: u32) -> Vec<u8> {
    let mut w = Writer::with_capacity(49);
    w.u16(49)
        .u8(0x50) // Padding: where the server should place the data (header + 16)
        .u8(0) // Flags
        .u32(length)
        .u64(0); // Offset
    file_id.encode(&mut w);
    w.u32(0) // MinimumCount
        .u32(0) // Channel
        .u32(0) // RemainingBytes
        .u16(0)
        .u16(0)
        .u8(0); // Buffer placeholder
    w.into_vec()
}

/// A decoded READ response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadResponse {
    /// The data read.
    pub data: Vec<u8>,
    /// DataRemaining.
    pub data_remaining: u32,
}

impl ReadResponse {
    /// Decode from the whole SMB2 message.
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(msg);
        r.skip(HEADER_LEN, "READ response header")?;
        check_structure_size(&mut r, 17, "READ response StructureSize")?;
        let off = usize::from(r.u8("READ response DataOffset")?);
        r.skip(1, "READ response Reserved")?;
        let len = r.u32("READ response DataLength")? as usize;
        let data_remaining = r.u32("READ response DataRemaining")?;
        r.skip(4, "READ response Flags")?;
        let fixed_end = r.position();
        let data = buffer_at(msg, off, len, fixed_end, "READ response Data")?;
        check_end(msg, fixed_end, if len == 0 { 0 } else { off + len }, "READ response")?;
        Ok(Self { data: data.to_vec(), data_remaining })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb2::test_util::h;

    #[test]
    fn decodes_and_rejects_truncation() {
        let mut v = vec![0u8; 64];
        v.extend(h("1100 50 00 03000000 00000000 00000000 AABBCC"));
        let r = ReadResponse::decode(&v).unwrap();
        assert_eq!(r.data, h("AABBCC"));
        for n in 0..v.len() {
            assert!(ReadResponse::decode(&v[..n]).is_err());
        }
        let mut t = v.clone();
        t.push(0);
        assert!(ReadResponse::decode(&t).is_err());
        let mut bad = v.clone();
        bad[66] = 0x40; // DataOffset inside the fixed part
        assert!(ReadResponse::decode(&bad).is_err());
    }

    #[test]
    fn request_layout() {
        let b = encode_body(FileId { persistent: 1, volatile: 2 }, 4280);
        assert_eq!(b.len(), 49);
        assert_eq!(b[..8], h("3100 50 00 B8100000")[..]);
    }
}
