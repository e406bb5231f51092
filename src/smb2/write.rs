//! SMB2 WRITE request and response ([MS-SMB2] 2.2.21, 2.2.22; protocol notes 5.9).

use super::create::FileId;
use super::{HEADER_LEN, check_structure_size};
use crate::wire::{DecodeError, Reader, Writer};

/// Encode a WRITE request body carrying `data` at offset 0.
pub fn encode_body(file_id: FileId, data: &[u8]) -> Vec<u8> {
    let mut w = Writer::with_capacity(48 + data.len());
    w.u16(49).u16((HEADER_LEN + 48) as u16).u32(data.len() as u32).u64(0);
    file_id.encode(&mut w);
    w.u32(0).u32(0).u16(0).u16(0).u32(0).bytes(data);
    if data.is_empty() {
        w.u8(0);
    }
    w.into_vec()
}

/// Decode a WRITE response (whole SMB2 message); returns Count, the bytes written.
pub fn decode_response(msg: &[u8]) -> Result<u32, DecodeError> {
    let mut r = Reader::new(msg);
    r.skip(HEADER_LEN, "WRITE response header")?;
    check_structure_size(&mut r, 17, "WRITE response StructureSize")?;
    r.skip(2, "WRITE response Reserved")?;
    let count = r.u32("WRITE response Count")?;
    r.skip(8, "WRITE response Remaining/WriteChannelInfo")?;
    if r.remaining() == 1 {
        r.skip(1, "WRITE response Buffer")?;
    }
    r.finish("WRITE response")?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb2::test_util::h;

    #[test]
    fn decodes_and_rejects_truncation() {
        let mut v = vec![0u8; 64];
        v.extend(h("1100 0000 74000000 00000000 0000 0000"));
        assert_eq!(decode_response(&v).unwrap(), 116);
        for n in 0..v.len() {
            assert!(decode_response(&v[..n]).is_err());
        }
        v.extend([0, 0]);
        assert!(decode_response(&v).is_err());
    }

    #[test]
    fn request_layout() {
        let b = encode_body(FileId::default(), &[1, 2, 3]);
        assert_eq!(b.len(), 51);
        assert_eq!(b[..8], h("3100 7000 03000000")[..]);
    }
}
