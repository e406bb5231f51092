//! SMB 3.x encryption: the 52-byte TRANSFORM_HEADER and AES-CCM / AES-GCM seal and open
//! ([MS-SMB2] 2.2.41, 3.1.4.3; protocol notes 5.6).

use super::Cipher;
use super::keys::CipherKey;
use crate::wire::{DecodeError, Reader, Writer};
use aes::{Aes128, Aes256};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit};
use ccm::Ccm;
use ccm::consts::{U11, U16};

/// The TRANSFORM_HEADER ProtocolId, `FD 'S' 'M' 'B'`.
pub const TRANSFORM_PROTOCOL_ID: [u8; 4] = [0xFD, b'S', b'M', b'B'];
/// Size of the TRANSFORM_HEADER.
pub const TRANSFORM_HEADER_LEN: usize = 52;
/// Flags/EncryptionAlgorithm value: encrypted.
pub const TRANSFORM_FLAG_ENCRYPTED: u16 = 0x0001;

type Aes128Ccm = Ccm<Aes128, U16, U11>;
type Aes256Ccm = Ccm<Aes256, U16, U11>;

/// A decoded TRANSFORM_HEADER.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformHeader {
    /// The AEAD tag.
    pub signature: [u8; 16],
    /// The nonce (11 or 12 significant bytes, rest zero).
    pub nonce: [u8; 16],
    /// Size of the plaintext SMB2 message.
    pub original_message_size: u32,
    /// Flags (1 = encrypted).
    pub flags: u16,
    /// SessionId.
    pub session_id: u64,
}

impl TransformHeader {
    /// Decode the transform header at the start of `msg` (the ciphertext follows).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(msg);
        if r.array::<4>("TRANSFORM_HEADER ProtocolId")? != TRANSFORM_PROTOCOL_ID {
            return Err(DecodeError::invalid("TRANSFORM_HEADER ProtocolId"));
        }
        let signature = r.array("TRANSFORM_HEADER Signature")?;
        let nonce = r.array("TRANSFORM_HEADER Nonce")?;
        let original_message_size = r.u32("TRANSFORM_HEADER OriginalMessageSize")?;
        r.skip(2, "TRANSFORM_HEADER Reserved")?;
        let flags = r.u16("TRANSFORM_HEADER Flags")?;
        let session_id = r.u64("TRANSFORM_HEADER SessionId")?;
        Ok(Self { signature, nonce, original_message_size, flags, session_id })
    }

    /// Append the 52 encoded bytes.
    pub fn encode(&self, w: &mut Writer) {
        w.bytes(&TRANSFORM_PROTOCOL_ID)
            .bytes(&self.signature)
            .bytes(&self.nonce)
            .u32(self.original_message_size)
            .u16(0)
            .u16(self.flags)
            .u64(self.session_id);
    }
}

/// Why sealing or opening failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TransformError {
    /// Malformed transform header or sizes.
    Malformed(&'static str),
    /// The key does not fit the cipher.
    Key,
    /// Authentication failed (tampered or wrong key).
    Auth,
}

fn aead(
    cipher: Cipher,
    key: &CipherKey,
    nonce: &[u8; 16],
    aad: &[u8],
    buf: &mut [u8],
    tag: Option<&[u8; 16]>,
) -> Result<[u8; 16], TransformError> {
    macro_rules! run {
        ($ty:ty, $n:expr) => {{
            let c = <$ty>::new_from_slice(key.expose()).map_err(|_| TransformError::Key)?;
            let n = (&nonce[..$n]).into();
            match tag {
                None => {
                    let t = c
                        .encrypt_in_place_detached(n, aad, buf)
                        .map_err(|_| TransformError::Auth)?;
                    let mut o = [0u8; 16];
                    o.copy_from_slice(&t);
                    Ok(o)
                }
                Some(t) => {
                    c.decrypt_in_place_detached(n, aad, buf, t.into())
                        .map_err(|_| TransformError::Auth)?;
                    Ok(*t)
                }
            }
        }};
    }
    match (cipher, key) {
        (Cipher::Aes128Ccm, CipherKey::Aes128(_)) => run!(Aes128Ccm, 11),
        (Cipher::Aes256Ccm, CipherKey::Aes256(_)) => run!(Aes256Ccm, 11),
        (Cipher::Aes128Gcm, CipherKey::Aes128(_)) => run!(Aes128Gcm, 12),
        (Cipher::Aes256Gcm, CipherKey::Aes256(_)) => run!(Aes256Gcm, 12),
        _ => Err(TransformError::Key),
    }
}

/// The nonce length of a cipher.
pub const fn nonce_len(cipher: Cipher) -> usize {
    if cipher.is_gcm() { 12 } else { 11 }
}

/// Encrypt the SMB2 message `plain` into a TRANSFORM_HEADER message. `nonce` must never repeat
/// under this key (only its first 11/12 bytes are used; the rest is zeroed here).
pub fn seal(
    cipher: Cipher,
    key: &CipherKey,
    mut nonce: [u8; 16],
    session_id: u64,
    plain: &[u8],
) -> Result<Vec<u8>, TransformError> {
    nonce[nonce_len(cipher)..].fill(0);
    let size =
        u32::try_from(plain.len()).map_err(|_| TransformError::Malformed("message too large"))?;
    let th = TransformHeader {
        signature: [0; 16],
        nonce,
        original_message_size: size,
        flags: TRANSFORM_FLAG_ENCRYPTED,
        session_id,
    };
    let mut w = Writer::with_capacity(TRANSFORM_HEADER_LEN + plain.len());
    th.encode(&mut w);
    w.bytes(plain);
    let mut out = w.into_vec();
    let (hdr, body) = out.split_at_mut(TRANSFORM_HEADER_LEN);
    let tag = aead(cipher, key, &nonce, &hdr[20..TRANSFORM_HEADER_LEN], body, None)?;
    hdr[4..20].copy_from_slice(&tag);
    Ok(out)
}

/// Decrypt and authenticate a TRANSFORM_HEADER message; returns the header and the SMB2
/// plaintext.
pub fn open(
    cipher: Cipher,
    key: &CipherKey,
    msg: &[u8],
) -> Result<(TransformHeader, Vec<u8>), TransformError> {
    let th =
        TransformHeader::decode(msg).map_err(|_| TransformError::Malformed("transform header"))?;
    if th.flags != TRANSFORM_FLAG_ENCRYPTED {
        return Err(TransformError::Malformed("transform header flags"));
    }
    let body =
        msg.get(TRANSFORM_HEADER_LEN..).ok_or(TransformError::Malformed("transform header"))?;
    if usize::try_from(th.original_message_size).ok() != Some(body.len()) {
        return Err(TransformError::Malformed("OriginalMessageSize does not match"));
    }
    if th.nonce[nonce_len(cipher)..].iter().any(|&b| b != 0) {
        return Err(TransformError::Malformed("nonce padding is not zero"));
    }
    let mut plain = body.to_vec();
    aead(cipher, key, &th.nonce, &msg[20..TRANSFORM_HEADER_LEN], &mut plain, Some(&th.signature))?;
    Ok((th, plain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{Key16, Key32};

    fn key_for(c: Cipher) -> CipherKey {
        if c.is_256() {
            CipherKey::Aes256(Key32::new([7; 32]))
        } else {
            CipherKey::Aes128(Key16::new([7; 16]))
        }
    }

    #[test]
    fn seal_open_round_trip_all_ciphers_and_tamper_rejected() {
        let plain: Vec<u8> = (0..200u8).collect();
        for c in Cipher::PREFERENCE {
            let k = key_for(c);
            let sealed = seal(c, &k, [0x42; 16], 0x1122, &plain).unwrap();
            assert_eq!(sealed.len(), 52 + plain.len());
            let (th, back) = open(c, &k, &sealed).unwrap();
            assert_eq!(back, plain, "{c}");
            assert_eq!(th.session_id, 0x1122);
            assert!(th.nonce[nonce_len(c)..].iter().all(|&b| b == 0));
            // Ciphertext, tag, and AAD (session id) tampering are all detected.
            for pos in [60, 5, 45] {
                let mut bad = sealed.clone();
                bad[pos] ^= 1;
                assert!(open(c, &k, &bad).is_err(), "{c} pos {pos}");
            }
            // Wrong key size for the cipher.
            let wrong = if c.is_256() {
                CipherKey::Aes128(Key16::new([7; 16]))
            } else {
                CipherKey::Aes256(Key32::new([7; 32]))
            };
            assert_eq!(open(c, &wrong, &sealed).unwrap_err(), TransformError::Key);
            for n in 0..sealed.len() {
                assert!(open(c, &k, &sealed[..n]).is_err());
            }
        }
    }

    #[test]
    fn header_round_trip_and_truncation() {
        let th = TransformHeader {
            signature: [1; 16],
            nonce: [2; 16],
            original_message_size: 99,
            flags: 1,
            session_id: 5,
        };
        let mut w = Writer::new();
        th.encode(&mut w);
        assert_eq!(w.len(), TRANSFORM_HEADER_LEN);
        assert_eq!(TransformHeader::decode(w.as_slice()).unwrap(), th);
        for n in 0..TRANSFORM_HEADER_LEN {
            assert!(TransformHeader::decode(&w.as_slice()[..n]).is_err());
        }
    }
}
