//! SMB2 LOGOFF and TREE_DISCONNECT: both a 4-byte body (StructureSize 4, Reserved) in request
//! and response ([MS-SMB2] 2.2.7, 2.2.8, 2.2.11, 2.2.12).

use super::{HEADER_LEN, check_structure_size};
use crate::wire::{DecodeError, Reader, Writer};

/// Encode the 4-byte LOGOFF / TREE_DISCONNECT request body.
pub fn encode_body() -> Vec<u8> {
    let mut w = Writer::with_capacity(4);
    w.u16(4).u16(0);
    w.into_vec()
}

/// Decode a LOGOFF or TREE_DISCONNECT response (whole SMB2 message).
pub fn decode_response(msg: &[u8]) -> Result<(), DecodeError> {
    let mut r = Reader::new(msg);
    r.skip(HEADER_LEN, "LOGOFF/TREE_DISCONNECT response header")?;
    check_structure_size(&mut r, 4, "LOGOFF/TREE_DISCONNECT response StructureSize")?;
    r.skip(2, "LOGOFF/TREE_DISCONNECT response Reserved")?;
    r.finish("LOGOFF/TREE_DISCONNECT response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let mut v = vec![0u8; 64];
        v.extend(encode_body());
        decode_response(&v).unwrap();
        for n in 0..v.len() {
            assert!(decode_response(&v[..n]).is_err());
        }
        v.push(0);
        assert!(decode_response(&v).is_err());
    }
}
