//! NTLM message signing and sealing with extended session security — [MS-NLMP] 3.4.4.2,
//! 3.4.3; notes 6.6, 4.7.

use super::crypto::{derive_keys, hmac_md5};
use super::flags;
use super::rc4::Rc4;
use crate::auth::AuthError;
use crate::secret::{Key16, SessionKey, ct_eq};

/// Length of an NTLMSSP_MESSAGE_SIGNATURE.
pub const SIGNATURE_LEN: usize = 16;

/// Client-side NTLM sign/seal state: one persistent RC4 handle and one sequence number per
/// direction (neither is ever reset), the client→server keys for outgoing messages and the
/// server→client keys for incoming ones.
///
/// Signature = `01000000 ‖ checksum(8) ‖ seq_le32`, where checksum is the first 8 bytes of
/// `HMAC_MD5(SignKey, seq_le32 ‖ message)`, RC4-encrypted with the direction's sealing
/// handle when KEY_EXCH was negotiated. Sealing encrypts the message with the same handle
/// *before* the checksum is encrypted.
pub struct NtlmSealer {
    key_exch: bool,
    send_sign: Key16,
    recv_sign: Key16,
    send_rc4: Rc4,
    recv_rc4: Rc4,
    send_seq: u32,
    recv_seq: u32,
}

impl core::fmt::Debug for NtlmSealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NtlmSealer")
            .field("key_exch", &self.key_exch)
            .field("send_seq", &self.send_seq)
            .field("recv_seq", &self.recv_seq)
            .finish_non_exhaustive()
    }
}

impl NtlmSealer {
    /// Client-side state from the ExportedSessionKey and the negotiated flags (those sent in
    /// AUTHENTICATE). Sequence numbers start at 0.
    pub fn new(exported: &SessionKey, neg_flags: u32) -> Self {
        let k = derive_keys(exported, neg_flags);
        Self {
            key_exch: neg_flags & flags::KEY_EXCH != 0,
            send_rc4: Rc4::new(k.client_seal.expose()),
            recv_rc4: Rc4::new(k.server_seal.expose()),
            send_sign: k.client_sign,
            recv_sign: k.server_sign,
            send_seq: 0,
            recv_seq: 0,
        }
    }

    /// The same state seen from the server (directions swapped) — for tests and scripted
    /// peers.
    pub fn new_server(exported: &SessionKey, neg_flags: u32) -> Self {
        let mut s = Self::new(exported, neg_flags);
        core::mem::swap(&mut s.send_sign, &mut s.recv_sign);
        core::mem::swap(&mut s.send_rc4, &mut s.recv_rc4);
        s
    }

    /// The next outgoing sequence number.
    pub fn send_seq(&self) -> u32 {
        self.send_seq
    }

    /// The next expected incoming sequence number.
    pub fn recv_seq(&self) -> u32 {
        self.recv_seq
    }

    fn signature(
        sign_key: &Key16,
        rc4: &mut Rc4,
        key_exch: bool,
        seq: u32,
        msg: &[u8],
    ) -> [u8; 16] {
        let mac = hmac_md5(sign_key.expose(), &[&seq.to_le_bytes(), msg]);
        let mut checksum = [0u8; 8];
        checksum.copy_from_slice(&mac[..8]);
        if key_exch {
            rc4.apply(&mut checksum);
        }
        let mut sig = [0u8; 16];
        sig[..4].copy_from_slice(&1u32.to_le_bytes());
        sig[4..12].copy_from_slice(&checksum);
        sig[12..].copy_from_slice(&seq.to_le_bytes());
        sig
    }

    /// Sign an outgoing message (no encryption); uses and advances the send sequence number.
    pub fn sign(&mut self, msg: &[u8]) -> [u8; 16] {
        let sig =
            Self::signature(&self.send_sign, &mut self.send_rc4, self.key_exch, self.send_seq, msg);
        self.send_seq = self.send_seq.wrapping_add(1);
        sig
    }

    /// Verify an incoming signature over `msg` (constant-time comparison of all 16 bytes,
    /// including the expected sequence number); advances the receive sequence number.
    pub fn verify(&mut self, msg: &[u8], signature: &[u8]) -> Result<(), AuthError> {
        let expect =
            Self::signature(&self.recv_sign, &mut self.recv_rc4, self.key_exch, self.recv_seq, msg);
        self.recv_seq = self.recv_seq.wrapping_add(1);
        if ct_eq(&expect, signature) { Ok(()) } else { Err(AuthError::BadSignature) }
    }

    /// Seal `msg` in place and return its signature (computed over the plaintext).
    pub fn seal(&mut self, msg: &mut [u8]) -> [u8; 16] {
        let mac_input = crate::secret::SecretBytes::new(msg.to_vec());
        self.seal_detached(mac_input.expose(), msg)
    }

    /// Seal for DCE/RPC (notes 4.7): the signature covers `mac_input` (the whole PDU with the
    /// stub still in plaintext) while `encrypt` (stub ‖ pad) is encrypted in place, then the
    /// checksum is encrypted with the same RC4 handle.
    pub fn seal_detached(&mut self, mac_input: &[u8], encrypt: &mut [u8]) -> [u8; 16] {
        let mac = hmac_md5(self.send_sign.expose(), &[&self.send_seq.to_le_bytes(), mac_input]);
        self.send_rc4.apply(encrypt);
        let mut checksum = [0u8; 8];
        checksum.copy_from_slice(&mac[..8]);
        if self.key_exch {
            self.send_rc4.apply(&mut checksum);
        }
        let mut sig = [0u8; 16];
        sig[..4].copy_from_slice(&1u32.to_le_bytes());
        sig[4..12].copy_from_slice(&checksum);
        sig[12..].copy_from_slice(&self.send_seq.to_le_bytes());
        self.send_seq = self.send_seq.wrapping_add(1);
        sig
    }

    /// Decrypt incoming sealed bytes in place with the receive handle, without verifying.
    /// Follow with [`Self::verify`] over the now-plaintext message (the RPC order).
    pub fn decrypt_incoming(&mut self, data: &mut [u8]) {
        self.recv_rc4.apply(data);
    }

    /// Unseal `msg` in place and verify its signature.
    pub fn unseal(&mut self, msg: &mut [u8], signature: &[u8]) -> Result<(), AuthError> {
        self.decrypt_incoming(msg);
        self.verify(msg, signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [MS-NLMP] 4.2.4.4 (notes 7.7): ExportedSessionKey 0x55 x16, flags 0xE28A8233,
    /// SEAL("Plaintext" in UTF-16LE) with seq 0.
    #[test]
    fn spec_seal_vector() {
        let mut s = NtlmSealer::new(&SessionKey::new([0x55; 16]), 0xE28A_8233);
        let mut msg = crate::auth::ntlm::utf16le("Plaintext");
        let sig = s.seal(&mut msg);
        assert_eq!(hex::encode(&msg), "54e50165bf1936dc996020c1811b0f06fb5f");
        assert_eq!(hex::encode(sig), concat!("01000000", "7fb38ec5c55d4976", "00000000"));
        assert_eq!(s.send_seq(), 1);
    }

    #[test]
    fn client_and_server_interoperate() {
        let key = SessionKey::new([0x31; 16]);
        let fl = crate::auth::ntlm::flags::CLIENT_DEFAULT;
        let mut c = NtlmSealer::new(&key, fl);
        let mut srv = NtlmSealer::new_server(&key, fl);
        for i in 0..3u8 {
            let plain = vec![i; 37];
            let mut m = plain.clone();
            let sig = c.seal(&mut m);
            assert_ne!(m, plain);
            srv.unseal(&mut m, &sig).unwrap();
            assert_eq!(m, plain);
            let sig = srv.sign(b"reply");
            c.verify(b"reply", &sig).unwrap();
        }
        // A tampered message fails, in constant time, with the dedicated error.
        let sig = srv.sign(b"reply");
        assert_eq!(c.verify(b"replY", &sig), Err(AuthError::BadSignature));
        assert!(!format!("{c:?}").contains("31"));
    }

    #[test]
    fn detached_equals_in_place_for_whole_message() {
        let key = SessionKey::new([0x77; 16]);
        let fl = crate::auth::ntlm::flags::CLIENT_DEFAULT;
        let mut a = NtlmSealer::new(&key, fl);
        let mut b = NtlmSealer::new(&key, fl);
        let mut m1 = b"hello world".to_vec();
        let mut m2 = m1.clone();
        let s1 = a.seal(&mut m1);
        let plain = m2.clone();
        let s2 = b.seal_detached(&plain, &mut m2);
        assert_eq!((m1, s1), (m2, s2));
    }
}
