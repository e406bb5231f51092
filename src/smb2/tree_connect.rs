//! SMB2 TREE_CONNECT request and response ([MS-SMB2] 2.2.9, 2.2.10; protocol notes 5.9).

use super::{HEADER_LEN, check_structure_size, utf16le};
use crate::wire::{DecodeError, Reader, Writer};

/// ShareType: named pipe.
pub const SHARE_TYPE_PIPE: u8 = 0x02;
/// ShareFlags: the share requires encryption.
pub const SHAREFLAG_ENCRYPT_DATA: u32 = 0x0000_8000;

/// Encode the TREE_CONNECT request body for `path` (e.g. `\\server\IPC$`).
pub fn encode_body(path: &str) -> Vec<u8> {
    let p = utf16le(path);
    let mut w = Writer::with_capacity(8 + p.len());
    w.u16(9).u16(0).u16((HEADER_LEN + 8) as u16).u16(p.len() as u16).bytes(&p);
    w.into_vec()
}

/// A decoded TREE_CONNECT response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeConnectResponse {
    /// ShareType.
    pub share_type: u8,
    /// ShareFlags.
    pub share_flags: u32,
    /// Capabilities.
    pub capabilities: u32,
    /// MaximalAccess.
    pub maximal_access: u32,
}

impl TreeConnectResponse {
    /// Decode from the whole SMB2 message.
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(msg);
        r.skip(HEADER_LEN, "TREE_CONNECT response header")?;
        check_structure_size(&mut r, 16, "TREE_CONNECT response StructureSize")?;
        let share_type = r.u8("TREE_CONNECT response ShareType")?;
        r.skip(1, "TREE_CONNECT response Reserved")?;
        let share_flags = r.u32("TREE_CONNECT response ShareFlags")?;
        let capabilities = r.u32("TREE_CONNECT response Capabilities")?;
        let maximal_access = r.u32("TREE_CONNECT response MaximalAccess")?;
        r.finish("TREE_CONNECT response")?;
        Ok(Self { share_type, share_flags, capabilities, maximal_access })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb2::test_util::h;

    #[test]
    fn decodes_and_rejects_truncation() {
        let mut v = vec![0u8; 64];
        v.extend(h("1000 02 00 30000000 00000000 FF011F00"));
        let r = TreeConnectResponse::decode(&v).unwrap();
        assert_eq!(r.share_type, SHARE_TYPE_PIPE);
        assert_eq!(r.share_flags, 0x30);
        assert_eq!(r.maximal_access, 0x001F01FF);
        for n in 0..v.len() {
            assert!(TreeConnectResponse::decode(&v[..n]).is_err());
        }
        v.push(0);
        assert!(TreeConnectResponse::decode(&v).is_err());
    }

    #[test]
    fn request_layout() {
        let b = encode_body(r"\\a\IPC$");
        assert_eq!(b, h("0900 0000 4800 1000 5C005C0061005C004900500043002400"));
    }
}
