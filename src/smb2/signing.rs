//! SMB2 message signing: HMAC-SHA256 (2.x), AES-128-CMAC (3.x) and AES-128-GMAC (3.1.1)
//! ([MS-SMB2] 3.1.4.1, 3.1.5.1; protocol notes 5.5).

use super::header::{FLAG_SERVER_TO_REDIR, FLAG_SIGNED, FLAGS_OFFSET, SIGNATURE_OFFSET};
use super::{Command, HEADER_LEN, SigningAlgorithm};
use crate::secret::{Key16, ct_eq};
use aes::Aes128;
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, KeyInit};
use cmac::Cmac;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Compute the 16-byte signature of `msg` (a whole SMB2 message) as if its Signature field
/// were zero. Returns `None` if `msg` is shorter than a header or a GMAC nonce is illegal
/// (MessageId 0).
pub fn compute_signature(msg: &[u8], alg: SigningAlgorithm, key: &Key16) -> Option<[u8; 16]> {
    if msg.len() < HEADER_LEN {
        return None;
    }
    let zero = [0u8; 16];
    let head = &msg[..SIGNATURE_OFFSET];
    let tail = &msg[SIGNATURE_OFFSET + 16..];
    let mut out = [0u8; 16];
    match alg {
        SigningAlgorithm::HmacSha256 => {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose()).ok()?;
            mac.update(head);
            mac.update(&zero);
            mac.update(tail);
            out.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        }
        SigningAlgorithm::AesCmac => {
            let mut mac = <Cmac<Aes128> as Mac>::new_from_slice(key.expose()).ok()?;
            mac.update(head);
            mac.update(&zero);
            mac.update(tail);
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        SigningAlgorithm::AesGmac => {
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&msg[24..32]);
            let message_id = u64::from_le_bytes(nonce[..8].try_into().ok()?);
            if message_id == 0 {
                return None;
            }
            let flags = u32::from_le_bytes(msg[FLAGS_OFFSET..FLAGS_OFFSET + 4].try_into().ok()?);
            let command = u16::from_le_bytes(msg[12..14].try_into().ok()?);
            let mut role = 0u32;
            if flags & FLAG_SERVER_TO_REDIR != 0 {
                role |= 1;
            } else if command == Command::CANCEL.0 {
                role |= 2;
            }
            nonce[8..].copy_from_slice(&role.to_le_bytes());
            let mut aad = Vec::with_capacity(msg.len());
            aad.extend_from_slice(head);
            aad.extend_from_slice(&zero);
            aad.extend_from_slice(tail);
            let cipher = Aes128Gcm::new_from_slice(key.expose()).ok()?;
            let tag = cipher.encrypt_in_place_detached((&nonce).into(), &aad, &mut []).ok()?;
            out.copy_from_slice(&tag);
        }
    }
    Some(out)
}

/// Sign `msg` in place: set the SIGNED flag and write the signature.
pub fn sign(msg: &mut [u8], alg: SigningAlgorithm, key: &Key16) -> Option<()> {
    if msg.len() < HEADER_LEN {
        return None;
    }
    let flags = u32::from_le_bytes(msg[FLAGS_OFFSET..FLAGS_OFFSET + 4].try_into().ok()?);
    msg[FLAGS_OFFSET..FLAGS_OFFSET + 4].copy_from_slice(&(flags | FLAG_SIGNED).to_le_bytes());
    let sig = compute_signature(msg, alg, key)?;
    msg[SIGNATURE_OFFSET..SIGNATURE_OFFSET + 16].copy_from_slice(&sig);
    Some(())
}

/// Verify the signature carried in `msg` in constant time.
pub fn verify(msg: &[u8], alg: SigningAlgorithm, key: &Key16) -> bool {
    match compute_signature(msg, alg, key) {
        Some(expected) => ct_eq(&expected, &msg[SIGNATURE_OFFSET..SIGNATURE_OFFSET + 16]),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb2::test_util::h;

    /// Protocol notes 7.9: the final SESSION_SETUP response of the MS blog's 3.1.1 logon,
    /// signed with AES-CMAC under SigningKey 73FE7A9A… (MS blog appendix).
    fn final_ss_response() -> Vec<u8> {
        h("FE534D42 4000 0100 00000000 0100 8000 09000000 00000000 0300000000000000
           FFFE0000 00000000 1900000000100000
           EBE146DA120BA25FC3376A49DFE31BC1
           0900 0000 4800 1D00
           A11B3019A0030A0100A3120410010000003B453CDC3524164200000000")
    }

    fn key() -> Key16 {
        Key16::from_slice(&h("73FE7A9A77BEF0BDE49C650D8CCB5F76")).unwrap()
    }

    #[test]
    fn ms_blog_final_session_setup_signature() {
        let m = final_ss_response();
        assert_eq!(
            compute_signature(&m, SigningAlgorithm::AesCmac, &key()).unwrap()[..],
            h("EBE146DA120BA25FC3376A49DFE31BC1")[..]
        );
        assert!(verify(&m, SigningAlgorithm::AesCmac, &key()));
    }

    #[test]
    fn sign_verify_round_trips_and_tamper_is_rejected() {
        for alg in
            [SigningAlgorithm::HmacSha256, SigningAlgorithm::AesCmac, SigningAlgorithm::AesGmac]
        {
            let mut m = final_ss_response();
            m[48..64].fill(0);
            sign(&mut m, alg, &key()).unwrap();
            assert!(verify(&m, alg, &key()), "{alg}");
            let mut bad = m.clone();
            bad[70] ^= 1;
            assert!(!verify(&bad, alg, &key()), "{alg} body");
            let mut bad = m.clone();
            bad[50] ^= 0x80;
            assert!(!verify(&bad, alg, &key()), "{alg} signature");
            let other = Key16::new([1; 16]);
            assert!(!verify(&m, alg, &other), "{alg} key");
        }
    }

    #[test]
    fn gmac_nonce_depends_on_direction_and_rejects_message_id_zero() {
        let mut m = final_ss_response();
        let a = compute_signature(&m, SigningAlgorithm::AesGmac, &key()).unwrap();
        m[16] &= !1; // now a "request"
        let b = compute_signature(&m, SigningAlgorithm::AesGmac, &key()).unwrap();
        assert_ne!(a, b);
        m[24..32].fill(0);
        assert!(compute_signature(&m, SigningAlgorithm::AesGmac, &key()).is_none());
        assert!(compute_signature(&m[..10], SigningAlgorithm::AesCmac, &key()).is_none());
    }
}
