//! SMB2 SESSION_SETUP request and response ([MS-SMB2] 2.2.5, 2.2.6; protocol notes 5.7).

use super::{HEADER_LEN, buffer_at, check_end, check_structure_size};
use crate::wire::{DecodeError, Reader, Writer};

/// SessionFlags: the session is a guest session.
pub const SESSION_FLAG_IS_GUEST: u16 = 0x0001;
/// SessionFlags: the session is anonymous (null).
pub const SESSION_FLAG_IS_NULL: u16 = 0x0002;
/// SessionFlags: the server requires encryption on this session.
pub const SESSION_FLAG_ENCRYPT_DATA: u16 = 0x0004;

/// A SESSION_SETUP request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSetupRequest<'a> {
    /// SecurityMode (signing enabled / required).
    pub security_mode: u8,
    /// Capabilities.
    pub capabilities: u32,
    /// The security token (SPNEGO).
    pub token: &'a [u8],
}

impl SessionSetupRequest<'_> {
    /// Encode the body.
    pub fn encode_body(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(24 + self.token.len());
        w.u16(25)
            .u8(0)
            .u8(self.security_mode)
            .u32(self.capabilities)
            .u32(0)
            .u16((HEADER_LEN + 24) as u16)
            .u16(self.token.len() as u16)
            .u64(0)
            .bytes(self.token);
        if self.token.is_empty() {
            w.u8(0);
        }
        w.into_vec()
    }
}

/// A decoded SESSION_SETUP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSetupResponse {
    /// SessionFlags.
    pub session_flags: u16,
    /// The server's security token.
    pub token: Vec<u8>,
}

impl SessionSetupResponse {
    /// Decode from the whole SMB2 message.
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(msg);
        r.skip(HEADER_LEN, "SESSION_SETUP response header")?;
        check_structure_size(&mut r, 9, "SESSION_SETUP response StructureSize")?;
        let session_flags = r.u16("SESSION_SETUP response SessionFlags")?;
        let off = usize::from(r.u16("SESSION_SETUP response SecurityBufferOffset")?);
        let len = usize::from(r.u16("SESSION_SETUP response SecurityBufferLength")?);
        let fixed_end = r.position();
        let token = buffer_at(msg, off, len, fixed_end, "SESSION_SETUP response SecurityBuffer")?;
        check_end(msg, fixed_end, if len == 0 { 0 } else { off + len }, "SESSION_SETUP response")?;
        Ok(Self { session_flags, token: token.to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb2::test_util::h;

    /// The final SESSION_SETUP response of the MS blog's 3.1.1 logon (protocol notes 7.9).
    fn vector() -> Vec<u8> {
        h("FE534D42 4000 0100 00000000 0100 8000 09000000 00000000 0300000000000000
           FFFE0000 00000000 1900000000100000 EBE146DA120BA25FC3376A49DFE31BC1
           0900 0000 4800 1D00
           A11B3019A0030A0100A3120410010000003B453CDC3524164200000000")
    }

    #[test]
    fn decodes_and_rejects_truncation_and_trailing() {
        let v = vector();
        let r = SessionSetupResponse::decode(&v).unwrap();
        assert_eq!(r.session_flags, 0);
        assert_eq!(r.token, h("A11B3019A0030A0100A3120410010000003B453CDC3524164200000000"));
        for n in 0..v.len() {
            assert!(SessionSetupResponse::decode(&v[..n]).is_err(), "prefix {n}");
        }
        let mut t = v.clone();
        t.push(0);
        assert!(SessionSetupResponse::decode(&t).is_err());
        let mut bad = v.clone();
        bad[68] = 0x40; // offset inside the fixed part
        assert!(SessionSetupResponse::decode(&bad).is_err());
    }

    #[test]
    fn request_layout() {
        let b = SessionSetupRequest { security_mode: 1, capabilities: 1, token: &[0x60, 0x01] }
            .encode_body();
        assert_eq!(b, h("1900 00 01 01000000 00000000 5800 0200 0000000000000000 6001"));
    }
}
