//! AUTH3 PDU ([MS-RPCE] 2.2.2.10; protocol notes 4.2, 4.7): the third leg of a three-leg bind
//! authentication (NTLM AUTHENTICATE). The server sends no response.
//!
//! ```text
//! u8 pad[4] (any value, ignored) | sec_trailer | auth_value (auth_length > 0)
//! ```

use super::RpcError;
use super::auth::AuthVerifier;
use super::frame::{self, Frame, PadRule};
use super::header::{PacketType, PfcFlags};
use crate::wire::{DecodeError, Reader};

/// An AUTH3 PDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auth3 {
    /// Call id.
    pub call_id: u32,
    /// `pfc_flags`.
    pub flags: PfcFlags,
    /// The verifier (required).
    pub auth: AuthVerifier,
}

impl Auth3 {
    /// Encode the PDU (the 4 pad bytes are zeros).
    pub fn encode(&self) -> Result<Vec<u8>, RpcError> {
        if self.auth.auth_value.is_empty() {
            return Err(RpcError::Encode("AUTH3 needs a non-empty auth_value"));
        }
        let pad = PadRule::None;
        Ok(frame::build(
            PacketType::AUTH3,
            self.flags,
            self.call_id,
            &[0; 4],
            pad,
            Some(&self.auth),
        )?
        .0)
    }

    /// Decode a whole AUTH3 PDU.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let f = Frame::split(buf)?;
        f.expect(PacketType::AUTH3, "PTYPE (expected AUTH3)")?;
        let auth = f.verifier().ok_or(DecodeError::invalid("auth_length (AUTH3 needs one)"))?;
        let mut r = Reader::new(f.body);
        r.skip(4, "AUTH3 pad")?;
        r.finish("AUTH3 body")?;
        Ok(Self { call_id: f.header.call_id, flags: f.header.flags, auth })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dcerpc::auth::{AuthLevel, AuthType};
    use crate::dcerpc::tests::{check_truncations_and_trailing, hexs};

    /// Notes 4.2: header, 4 pad bytes, sec_trailer (NTLMSSP, PRIVACY, pad 0, ctx 1), 8-byte token.
    const AUTH3: &str = "
        05 00 10 03 10000000 2400 0800 01000000
        00000000
        0a 06 00 00 01000000
        4e544c4d53535000";

    #[test]
    fn decode_encode() {
        let bytes = hexs(AUTH3);
        let a = Auth3::decode(&bytes).unwrap();
        assert_eq!(a.auth.auth_type, AuthType::NTLMSSP);
        assert_eq!(a.auth.auth_level, AuthLevel::PRIVACY);
        assert_eq!(a.auth.auth_value, b"NTLMSSP\0");
        assert_eq!(a.encode().unwrap(), bytes);
        check_truncations_and_trailing(&bytes, |b| Auth3::decode(b).map(drop));
        // Without a verifier it is not an AUTH3.
        let mut no_auth = bytes[..20].to_vec();
        no_auth[8] = 20;
        no_auth[10] = 0;
        assert!(Auth3::decode(&no_auth).is_err());
    }
}
