//! The SMB2 ERROR response body ([MS-SMB2] 2.2.2): StructureSize 9, ErrorContextCount u8,
//! Reserved u8, ByteCount u32, ErrorData.

use super::{HEADER_LEN, check_structure_size};
use crate::wire::{DecodeError, Reader};

/// A decoded error response body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorResponse {
    /// ErrorContextCount (3.1.1).
    pub error_context_count: u8,
    /// ErrorData (ByteCount bytes).
    pub error_data: Vec<u8>,
}

/// The cap on ErrorData we keep.
const MAX_ERROR_DATA: usize = 64 * 1024;

impl ErrorResponse {
    /// Decode from the whole SMB2 message.
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(msg);
        r.skip(HEADER_LEN, "error response header")?;
        check_structure_size(&mut r, 9, "error response StructureSize")?;
        let error_context_count = r.u8("error response ErrorContextCount")?;
        r.skip(1, "error response Reserved")?;
        let n = r.u32("error response ByteCount")? as usize;
        if n > MAX_ERROR_DATA {
            return Err(DecodeError::too_large("error response ByteCount"));
        }
        let data = if n == 0 {
            // The one-byte placeholder is optional in practice.
            if r.remaining() == 1 {
                r.skip(1, "error response ErrorData")?;
            }
            &[][..]
        } else {
            r.take(n, "error response ErrorData")?
        };
        r.finish("error response")?;
        Ok(Self { error_context_count, error_data: data.to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb2::test_util::h;

    #[test]
    fn decodes_and_rejects_truncation() {
        for body in ["0900 00 00 00000000 00", "0900 00 00 03000000 AABBCC"] {
            let mut v = vec![0u8; 64];
            v.extend(h(body));
            let e = ErrorResponse::decode(&v).unwrap();
            assert_eq!(e.error_data.len(), if body.ends_with("CC") { 3 } else { 0 });
            let min = if body.ends_with("CC") { v.len() } else { v.len() - 1 };
            for n in 0..min {
                assert!(ErrorResponse::decode(&v[..n]).is_err());
            }
            v.extend([0, 0]);
            assert!(ErrorResponse::decode(&v).is_err());
        }
    }
}
