//! SMB2 CLOSE request and response ([MS-SMB2] 2.2.15, 2.2.16).

use super::create::FileId;
use super::{HEADER_LEN, check_structure_size};
use crate::wire::{DecodeError, Reader, Writer};

/// Encode a CLOSE request body.
pub fn encode_body(file_id: FileId) -> Vec<u8> {
    let mut w = Writer::with_capacity(24);
    w.u16(24).u16(0).u32(0);
    file_id.encode(&mut w);
    w.into_vec()
}

/// Decode a CLOSE response (whole SMB2 message); returns its Flags.
pub fn decode_response(msg: &[u8]) -> Result<u16, DecodeError> {
    let mut r = Reader::new(msg);
    r.skip(HEADER_LEN, "CLOSE response header")?;
    check_structure_size(&mut r, 60, "CLOSE response StructureSize")?;
    let flags = r.u16("CLOSE response Flags")?;
    r.skip(56, "CLOSE response attributes")?;
    r.finish("CLOSE response")?;
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let b = encode_body(FileId { persistent: 1, volatile: 2 });
        assert_eq!(b.len(), 24);
        let mut v = vec![0u8; 64];
        v.extend([60, 0]);
        v.extend([0u8; 58]);
        assert_eq!(decode_response(&v).unwrap(), 0);
        for n in 0..v.len() {
            assert!(decode_response(&v[..n]).is_err());
        }
        v.push(0);
        assert!(decode_response(&v).is_err());
    }
}
