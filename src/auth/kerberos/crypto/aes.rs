//! The AES etypes 17 and 18 ([RFC 3962]) on the [RFC 3961] simplified profile: CBC with
//! ciphertext stealing, DR/DK key derivation, PBKDF2 string-to-key, HMAC-SHA1-96.
//!
//! [RFC 3961]: https://www.rfc-editor.org/rfc/rfc3961
//! [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray};
use aes::{Aes128, Aes256};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::KrbCryptoError;
use super::nfold::nfold;
use crate::rng::SecureRandom;

/// The AES block size, which is also the confounder length ([RFC 3962] §6).
///
/// [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
pub(crate) const BLOCK: usize = 16;
/// The truncated HMAC-SHA1 length ([RFC 3962] §6: h = 96 bits).
///
/// [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
pub(crate) const MAC_LEN: usize = 12;

type HmacSha1 = Hmac<Sha1>;

/// An AES key schedule of either size (zeroized on drop by the `aes` crate's `zeroize`
/// feature). Built per operation and dropped at once, so the size difference between the
/// variants costs nothing worth a heap allocation.
#[allow(clippy::large_enum_variant)]
enum Cipher {
    A128(Aes128),
    A256(Aes256),
}

impl Cipher {
    fn new(key: &[u8]) -> Result<Self, KrbCryptoError> {
        match key.len() {
            16 => Ok(Self::A128(Aes128::new(GenericArray::from_slice(key)))),
            32 => Ok(Self::A256(Aes256::new(GenericArray::from_slice(key)))),
            n => Err(KrbCryptoError::BadKeyLength { expected: 32, actual: n }),
        }
    }

    fn encrypt_block(&self, block: &mut [u8; BLOCK]) {
        let b = GenericArray::from_mut_slice(block);
        match self {
            Self::A128(c) => c.encrypt_block(b),
            Self::A256(c) => c.encrypt_block(b),
        }
    }

    fn decrypt_block(&self, block: &mut [u8; BLOCK]) {
        let b = GenericArray::from_mut_slice(block);
        match self {
            Self::A128(c) => c.decrypt_block(b),
            Self::A256(c) => c.decrypt_block(b),
        }
    }
}

fn xor_into(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

fn block_at(data: &[u8], i: usize) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    b.copy_from_slice(&data[i * BLOCK..(i + 1) * BLOCK]);
    b
}

/// AES-CBC with ciphertext stealing and a zero IV, as Kerberos uses it ([RFC 3962] §5): plain
/// CBC for exactly one block; otherwise CBC over the zero-padded input, the last two cipher
/// blocks swapped and the output cut to the input length (also when the input is a whole
/// number of blocks). Inputs shorter than one block are rejected: the profile always
/// prepends a one-block confounder.
///
/// [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
pub(crate) fn aes_cts_encrypt(key: &[u8], input: &[u8]) -> Result<Vec<u8>, KrbCryptoError> {
    let cipher = Cipher::new(key)?;
    let n = input.len();
    if n < BLOCK {
        return Err(KrbCryptoError::CiphertextTooShort);
    }
    let nblocks = n.div_ceil(BLOCK);
    let mut out = vec![0u8; nblocks * BLOCK];
    let mut prev = [0u8; BLOCK];
    for i in 0..nblocks {
        let mut b = [0u8; BLOCK];
        let end = ((i + 1) * BLOCK).min(n);
        b[..end - i * BLOCK].copy_from_slice(&input[i * BLOCK..end]);
        xor_into(&mut b, &prev);
        cipher.encrypt_block(&mut b);
        out[i * BLOCK..(i + 1) * BLOCK].copy_from_slice(&b);
        prev = b;
        b.zeroize();
    }
    if nblocks > 1 {
        // Swap C[n-1] and C[n] (1-based), then drop the tail of what is now last.
        let (head, last) = out.split_at_mut((nblocks - 1) * BLOCK);
        head[(nblocks - 2) * BLOCK..].swap_with_slice(last);
        out.truncate(n);
    }
    Ok(out)
}

/// The inverse of [`aes_cts_encrypt`]. The result is zeroizing because it is plaintext.
pub(crate) fn aes_cts_decrypt(
    key: &[u8],
    input: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KrbCryptoError> {
    let cipher = Cipher::new(key)?;
    let n = input.len();
    if n < BLOCK {
        return Err(KrbCryptoError::CiphertextTooShort);
    }
    let nblocks = n.div_ceil(BLOCK);
    let mut out = Zeroizing::new(vec![0u8; n]);
    if nblocks == 1 {
        let mut b = block_at(input, 0);
        cipher.decrypt_block(&mut b);
        out.copy_from_slice(&b);
        b.zeroize();
        return Ok(out);
    }
    // Ordinary CBC for all blocks before the last two.
    let mut prev = [0u8; BLOCK];
    for i in 0..nblocks - 2 {
        let c = block_at(input, i);
        let mut b = c;
        cipher.decrypt_block(&mut b);
        xor_into(&mut b, &prev);
        out[i * BLOCK..(i + 1) * BLOCK].copy_from_slice(&b);
        b.zeroize();
        prev = c;
    }
    // The last two: first the full block (the original last cipher block C[n]), then the
    // r-byte tail (a prefix of the original C[n-1]).
    let r = n - (nblocks - 1) * BLOCK; // 1..=16
    let cn = block_at(input, nblocks - 2);
    let tail = &input[(nblocks - 1) * BLOCK..];
    let mut d = cn;
    cipher.decrypt_block(&mut d); // = C[n-1] ^ (P[n] || 0…)
    // Rebuild C[n-1]: its first r bytes travelled; the rest equal d's (P[n] padded with 0).
    let mut cn1 = d;
    cn1[..r].copy_from_slice(tail);
    // P[n] = first r bytes of d ^ C[n-1].
    let mut pn = d;
    xor_into(&mut pn, &cn1);
    let mut pn1 = cn1;
    cipher.decrypt_block(&mut pn1);
    xor_into(&mut pn1, &prev);
    out[(nblocks - 2) * BLOCK..(nblocks - 1) * BLOCK].copy_from_slice(&pn1);
    out[(nblocks - 1) * BLOCK..].copy_from_slice(&pn[..r]);
    d.zeroize();
    pn.zeroize();
    pn1.zeroize();
    Ok(out)
}

/// DR(Key, Constant) ([RFC 3961] §5.1): encrypt the n-folded constant, then keep encrypting
/// the previous output until `key.len()` bytes are produced. With AES the "encryption" of one
/// block is a single AES block operation (CBC with a zero IV on one block).
///
/// [RFC 3961]: https://www.rfc-editor.org/rfc/rfc3961
pub(crate) fn dr(key: &[u8], constant: &[u8]) -> Result<Zeroizing<Vec<u8>>, KrbCryptoError> {
    let cipher = Cipher::new(key)?;
    let folded = nfold(constant, BLOCK).ok_or(KrbCryptoError::BadConstant)?;
    let mut block = [0u8; BLOCK];
    block.copy_from_slice(&folded);
    let mut out = Zeroizing::new(Vec::with_capacity(key.len()));
    while out.len() < key.len() {
        cipher.encrypt_block(&mut block);
        let take = (key.len() - out.len()).min(BLOCK);
        out.extend_from_slice(&block[..take]);
    }
    block.zeroize();
    Ok(out)
}

/// DK(Key, Constant) = random-to-key(DR(Key, Constant)) ([RFC 3961] §5.1); random-to-key is
/// the identity for AES ([RFC 3962] §6).
///
/// [RFC 3961]: https://www.rfc-editor.org/rfc/rfc3961
/// [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
pub(crate) fn dk(key: &[u8], constant: &[u8]) -> Result<Zeroizing<Vec<u8>>, KrbCryptoError> {
    dr(key, constant)
}

/// The 5-byte usage constant ([RFC 3961] §5.3): the usage number big-endian, then 0x99 (Kc),
/// 0xAA (Ke) or 0x55 (Ki).
///
/// [RFC 3961]: https://www.rfc-editor.org/rfc/rfc3961
fn usage_constant(usage: u32, kind: u8) -> [u8; 5] {
    let u = usage.to_be_bytes();
    [u[0], u[1], u[2], u[3], kind]
}

/// Kc, the checksum key.
pub(crate) const KC: u8 = 0x99;
/// Ke, the encryption key.
pub(crate) const KE: u8 = 0xAA;
/// Ki, the integrity key.
pub(crate) const KI: u8 = 0x55;

/// Derive Kc, Ke or Ki for `usage` from a base key.
pub(crate) fn usage_key(
    key: &[u8],
    usage: u32,
    kind: u8,
) -> Result<Zeroizing<Vec<u8>>, KrbCryptoError> {
    dk(key, &usage_constant(usage, kind))
}

/// HMAC-SHA1 truncated to 96 bits.
pub(crate) fn hmac_sha1_96(key: &[u8], parts: &[&[u8]]) -> [u8; MAC_LEN] {
    // HMAC accepts keys of any length, so this cannot fail; a failure would give a MAC no
    // check can match, never a panic.
    let Ok(mut m) = <HmacSha1 as Mac>::new_from_slice(key) else {
        return [0; MAC_LEN];
    };
    for p in parts {
        m.update(p);
    }
    let full = m.finalize().into_bytes();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&full[..MAC_LEN]);
    out
}

/// Simplified-profile encryption ([RFC 3961] §5.3): `E(Ke, conf | plaintext) | H(Ki, conf |
/// plaintext)` with a fresh one-block confounder.
///
/// [RFC 3961]: https://www.rfc-editor.org/rfc/rfc3961
pub(crate) fn encrypt(
    key: &[u8],
    usage: u32,
    plaintext: &[u8],
    rng: &mut dyn SecureRandom,
) -> Result<Vec<u8>, KrbCryptoError> {
    let mut confounder = [0u8; BLOCK];
    rng.fill(&mut confounder);
    let out = encrypt_with_confounder(key, usage, &confounder, plaintext);
    confounder.zeroize();
    out
}

/// [`encrypt`] with a given confounder (for known-answer tests and the random path).
pub(crate) fn encrypt_with_confounder(
    key: &[u8],
    usage: u32,
    confounder: &[u8; BLOCK],
    plaintext: &[u8],
) -> Result<Vec<u8>, KrbCryptoError> {
    let ke = usage_key(key, usage, KE)?;
    let ki = usage_key(key, usage, KI)?;
    let mut p = Zeroizing::new(Vec::with_capacity(BLOCK + plaintext.len()));
    p.extend_from_slice(confounder);
    p.extend_from_slice(plaintext);
    let mut out = aes_cts_encrypt(&ke, &p)?;
    out.extend_from_slice(&hmac_sha1_96(&ki, &[&p]));
    Ok(out)
}

/// Simplified-profile decryption: decrypt, recompute the HMAC over the recovered `conf |
/// plaintext`, compare in constant time, and only then return the plaintext (without the
/// confounder).
pub(crate) fn decrypt(
    key: &[u8],
    usage: u32,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KrbCryptoError> {
    if ciphertext.len() < BLOCK + MAC_LEN {
        return Err(KrbCryptoError::CiphertextTooShort);
    }
    let (c, mac) = ciphertext.split_at(ciphertext.len() - MAC_LEN);
    let ke = usage_key(key, usage, KE)?;
    let ki = usage_key(key, usage, KI)?;
    let p = aes_cts_decrypt(&ke, c)?;
    let want = hmac_sha1_96(&ki, &[&p]);
    if !bool::from(want.ct_eq(mac)) {
        return Err(KrbCryptoError::IntegrityCheckFailed);
    }
    Ok(Zeroizing::new(p[BLOCK..].to_vec()))
}

/// The keyed checksum hmac-sha1-96-aes128/aes256 ([RFC 3962] §7: types 15 and 16):
/// HMAC-SHA1(Kc, data) truncated to 96 bits.
///
/// [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
pub(crate) fn checksum(
    key: &[u8],
    usage: u32,
    data: &[u8],
) -> Result<[u8; MAC_LEN], KrbCryptoError> {
    let kc = usage_key(key, usage, KC)?;
    Ok(hmac_sha1_96(&kc, &[data]))
}

/// The default PBKDF2 iteration count ([RFC 3962] §4).
///
/// [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
pub const DEFAULT_ITERATIONS: u32 = 4096;
/// The largest iteration count accepted from s2kparams (a KDC-supplied value: a hostile KDC
/// must not make the client spin for minutes).
pub const MAX_ITERATIONS: u32 = 10_000_000;

/// The iteration count from s2kparams: 4 bytes, big-endian; absent means 4,096.
pub(crate) fn iterations(s2kparams: Option<&[u8]>) -> Result<u32, KrbCryptoError> {
    let Some(p) = s2kparams else { return Ok(DEFAULT_ITERATIONS) };
    let b: [u8; 4] = p.try_into().map_err(|_| KrbCryptoError::BadS2kParams)?;
    let n = u32::from_be_bytes(b);
    if n == 0 || n > MAX_ITERATIONS {
        return Err(KrbCryptoError::BadS2kParams);
    }
    Ok(n)
}

/// The PBKDF2-HMAC-SHA1 stage of string-to-key (exposed for the RFC 3962 intermediate values).
pub(crate) fn pbkdf2_sha1(
    passphrase: &[u8],
    salt: &[u8],
    iterations: u32,
    key_len: usize,
) -> Zeroizing<Vec<u8>> {
    let mut tkey = Zeroizing::new(vec![0u8; key_len]);
    pbkdf2::pbkdf2_hmac::<Sha1>(passphrase, salt, iterations, &mut tkey);
    tkey
}

/// AES string-to-key ([RFC 3962] §4): `DK(random-to-key(PBKDF2-HMAC-SHA1(passphrase, salt,
/// iterations, keylength)), "kerberos")`.
///
/// [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
pub(crate) fn string_to_key(
    passphrase: &[u8],
    salt: &[u8],
    iterations: u32,
    key_len: usize,
) -> Result<Zeroizing<Vec<u8>>, KrbCryptoError> {
    let tkey = pbkdf2_sha1(passphrase, salt, iterations, key_len);
    dk(&tkey, b"kerberos")
}
