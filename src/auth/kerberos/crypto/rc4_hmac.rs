//! RC4-HMAC, etype 23 ([RFC 4757]): the key is the NT hash; encryption is RC4 keyed from an
//! HMAC-MD5 chain, integrity is HMAC-MD5 over confounder and plaintext; the checksum type
//! -138 is HMAC-MD5 with a "signaturekey" derived key.
//!
//! Only the non-export variant is implemented (etype 24, "rc4-hmac-exp", is a 40-bit export
//! cipher nobody should use).
//!
//! [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::KrbCryptoError;
use crate::auth::ntlm::rc4::Rc4;
use crate::rng::SecureRandom;

/// The confounder length ([RFC 4757] §4).
///
/// [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757
pub(crate) const CONFOUNDER: usize = 8;
/// The HMAC-MD5 checksum length.
pub(crate) const MAC_LEN: usize = 16;

type HmacMd5 = Hmac<Md5>;

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> Zeroizing<[u8; 16]> {
    // HMAC takes keys of any length: this cannot fail (and a failure would only yield a MAC
    // no check matches).
    let Ok(mut m) = <HmacMd5 as Mac>::new_from_slice(key) else {
        return Zeroizing::new([0; 16]);
    };
    for p in parts {
        m.update(p);
    }
    Zeroizing::new(m.finalize().into_bytes().into())
}

/// The message-type number RC4-HMAC uses for a Kerberos key usage ([RFC 4757] §3): the AS-REP
/// and TGS-REP encrypted parts (3 and 9) use 8, the GSS wrap token usage 23 uses 13, every
/// other usage its own number.
///
/// [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757
pub(crate) const fn ms_usage(usage: u32) -> u32 {
    match usage {
        3 | 9 => 8,
        23 => 13,
        u => u,
    }
}

/// Encrypt ([RFC 4757] §4): `K1 = HMAC-MD5(K, T)`, `checksum = HMAC-MD5(K1, conf | data)`,
/// `K3 = HMAC-MD5(K1, checksum)`, output `checksum | RC4(K3, conf | data)`.
///
/// [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757
pub(crate) fn encrypt(
    key: &[u8],
    usage: u32,
    plaintext: &[u8],
    rng: &mut dyn SecureRandom,
) -> Vec<u8> {
    let mut confounder = [0u8; CONFOUNDER];
    rng.fill(&mut confounder);
    let out = encrypt_with_confounder(key, usage, &confounder, plaintext);
    confounder.zeroize();
    out
}

/// [`encrypt`] with a given confounder.
pub(crate) fn encrypt_with_confounder(
    key: &[u8],
    usage: u32,
    confounder: &[u8; CONFOUNDER],
    plaintext: &[u8],
) -> Vec<u8> {
    let k1 = hmac_md5(key, &[&ms_usage(usage).to_le_bytes()]);
    let cksum = hmac_md5(&*k1, &[confounder, plaintext]);
    let k3 = hmac_md5(&*k1, &[&*cksum]);
    let mut out = Vec::with_capacity(MAC_LEN + CONFOUNDER + plaintext.len());
    out.extend_from_slice(&*cksum);
    out.extend_from_slice(confounder);
    out.extend_from_slice(plaintext);
    Rc4::new(&*k3).apply(&mut out[MAC_LEN..]);
    out
}

/// Decrypt and verify: the HMAC over the recovered `conf | data` must equal the leading
/// checksum (compared in constant time) before any plaintext is returned.
pub(crate) fn decrypt(
    key: &[u8],
    usage: u32,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KrbCryptoError> {
    if ciphertext.len() < MAC_LEN + CONFOUNDER {
        return Err(KrbCryptoError::CiphertextTooShort);
    }
    let (cksum, edata) = ciphertext.split_at(MAC_LEN);
    let k1 = hmac_md5(key, &[&ms_usage(usage).to_le_bytes()]);
    let k3 = hmac_md5(&*k1, &[cksum]);
    let mut data = Zeroizing::new(edata.to_vec());
    Rc4::new(&*k3).apply(&mut data);
    let want = hmac_md5(&*k1, &[&data]);
    if !bool::from(want.ct_eq(cksum)) {
        return Err(KrbCryptoError::IntegrityCheckFailed);
    }
    Ok(Zeroizing::new(data[CONFOUNDER..].to_vec()))
}

/// The keyed checksum type -138, HMAC-MD5 ([RFC 4757] §4): `Ksign = HMAC-MD5(K,
/// "signaturekey\0")`, `HMAC-MD5(Ksign, MD5(T | data))` with T the usage's message type as a
/// 4-byte little-endian number.
///
/// [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757
pub(crate) fn checksum(key: &[u8], usage: u32, data: &[u8]) -> [u8; MAC_LEN] {
    let ksign = hmac_md5(key, &[b"signaturekey\0"]);
    let mut h = Md5::new();
    h.update(ms_usage(usage).to_le_bytes());
    h.update(data);
    let inner = h.finalize();
    *hmac_md5(&*ksign, &[&inner])
}
