//! SHA-512 and HMAC-SHA512 over `sha2::compress512`, with every intermediate state zeroized.
//!
//! RustCrypto's `Sha512`/`Hmac` types do not wipe their internal state on drop. The SAMR key
//! schedule (sub-key derivation, the MAC, PBKDF2) feeds secrets through HMAC, so this module
//! keeps those states in zeroizing containers of its own. It also exposes the precomputed
//! inner/outer states that the specialised PBKDF2 loop in `kdf` needs.

#[cfg(not(all(feature = "asm", any(target_arch = "x86_64", target_arch = "x86"))))]
use sha2::digest::generic_array::GenericArray;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// SHA-512 block size in bytes.
pub(crate) const BLOCK: usize = 128;

/// The SHA-512 initial hash value (FIPS 180-4, 5.3.5).
const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// One SHA-512 compression of `block` into `state`.
#[cfg(not(all(feature = "asm", any(target_arch = "x86_64", target_arch = "x86"))))]
#[inline(always)]
pub(crate) fn compress(state: &mut [u64; 8], block: &[u8; BLOCK]) {
    sha2::compress512(state, core::slice::from_ref(GenericArray::from_slice(block)));
}

/// With the `asm` feature: the `sha2-asm` crate's assembly compression (a safe function; the
/// assembly is built by the `cc` crate). `sha2` itself would keep its AVX2 intrinsics path on
/// AVX2 machines, so the assembly is called directly.
#[cfg(all(feature = "asm", any(target_arch = "x86_64", target_arch = "x86")))]
#[inline(always)]
pub(crate) fn compress(state: &mut [u64; 8], block: &[u8; BLOCK]) {
    sha2_asm::compress512(state, core::slice::from_ref(block));
}

/// Write the eight state words big-endian into `out[..64]`.
#[inline(always)]
pub(crate) fn store_be(state: &[u64; 8], out: &mut [u8; BLOCK]) {
    for (dst, w) in out.chunks_exact_mut(8).zip(state) {
        dst.copy_from_slice(&w.to_be_bytes());
    }
}

/// Incremental SHA-512 whose state and buffer are zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Sha512 {
    state: [u64; 8],
    buf: [u8; BLOCK],
    buf_len: usize,
    /// Total bytes hashed so far (including any precomputed prefix).
    total: u128,
}

impl Sha512 {
    /// A fresh hash.
    pub(crate) fn new() -> Self {
        Self::resume(IV, 0)
    }

    /// Continue from `state` after `total` bytes (a whole number of blocks) were absorbed.
    pub(crate) fn resume(state: [u64; 8], total: u128) -> Self {
        Self { state, buf: [0; BLOCK], buf_len: 0, total }
    }

    /// Absorb `data`.
    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u128;
        if self.buf_len > 0 {
            let take = (BLOCK - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < BLOCK {
                return;
            }
            compress(&mut self.state, &self.buf);
            self.buf_len = 0;
        }
        let mut blocks = data.chunks_exact(BLOCK);
        for b in &mut blocks {
            self.buf.copy_from_slice(b);
            compress(&mut self.state, &self.buf);
        }
        let rest = blocks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// Pad, compress the last block(s) and return the 64-byte digest.
    pub(crate) fn finalize(mut self) -> Zeroizing<[u8; 64]> {
        let bit_len = self.total.wrapping_mul(8);
        self.buf[self.buf_len] = 0x80;
        self.buf[self.buf_len + 1..].fill(0);
        if self.buf_len + 1 > BLOCK - 16 {
            compress(&mut self.state, &self.buf);
            self.buf.fill(0);
        }
        self.buf[BLOCK - 16..].copy_from_slice(&bit_len.to_be_bytes());
        compress(&mut self.state, &self.buf);
        let mut out = Zeroizing::new([0u8; BLOCK]);
        store_be(&self.state, &mut out);
        let mut digest = Zeroizing::new([0u8; 64]);
        digest.copy_from_slice(&out[..64]);
        digest
    }
}

/// An HMAC-SHA512 key, held as the two precomputed states after absorbing `K ^ ipad` and
/// `K ^ opad`. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct HmacSha512Key {
    inner: [u64; 8],
    outer: [u64; 8],
}

impl HmacSha512Key {
    /// Prepare `key` (keys longer than the block size are hashed first, RFC 2104).
    pub(crate) fn new(key: &[u8]) -> Self {
        let mut k0 = Zeroizing::new([0u8; BLOCK]);
        if key.len() > BLOCK {
            let mut h = Sha512::new();
            h.update(key);
            k0[..64].copy_from_slice(&*h.finalize());
        } else {
            k0[..key.len()].copy_from_slice(key);
        }
        let mut pad = Zeroizing::new([0u8; BLOCK]);
        for (p, k) in pad.iter_mut().zip(k0.iter()) {
            *p = k ^ 0x36;
        }
        let mut inner = IV;
        compress(&mut inner, &pad);
        for (p, k) in pad.iter_mut().zip(k0.iter()) {
            *p = k ^ 0x5c;
        }
        let mut outer = IV;
        compress(&mut outer, &pad);
        Self { inner, outer }
    }

    /// The state after absorbing `K ^ ipad` (one block).
    pub(crate) fn inner_state(&self) -> &[u64; 8] {
        &self.inner
    }

    /// The state after absorbing `K ^ opad` (one block).
    pub(crate) fn outer_state(&self) -> &[u64; 8] {
        &self.outer
    }

    /// HMAC-SHA512 of the concatenation of `parts`.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> Zeroizing<[u8; 64]> {
        let mut h = Sha512::resume(self.inner, BLOCK as u128);
        for p in parts {
            h.update(p);
        }
        let inner = h.finalize();
        let mut o = Sha512::resume(self.outer, BLOCK as u128);
        o.update(&*inner);
        o.finalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::Mac;
    use sha2::Digest;

    #[test]
    fn sha512_matches_rustcrypto_at_every_length_around_block_edges() {
        let data: Vec<u8> = (0..400u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in 0..data.len() {
            let mut h = Sha512::new();
            // Feed in two uneven pieces to exercise buffering.
            let cut = len / 3;
            h.update(&data[..cut]);
            h.update(&data[cut..len]);
            let ours = h.finalize();
            let theirs = sha2::Sha512::digest(&data[..len]);
            assert_eq!(&ours[..], &theirs[..], "len {len}");
        }
    }

    #[test]
    fn hmac_matches_rustcrypto_for_short_and_long_keys() {
        for key_len in [0usize, 16, 64, 127, 128, 129, 300] {
            let key: Vec<u8> = (0..key_len).map(|i| i as u8 ^ 0xa5).collect();
            for msg_len in [0usize, 1, 54, 61, 111, 112, 128, 545] {
                let msg: Vec<u8> = (0..msg_len).map(|i| (i * 13) as u8).collect();
                let ours =
                    HmacSha512Key::new(&key).mac(&[&msg[..msg_len / 2], &msg[msg_len / 2..]]);
                let mut m = hmac::Hmac::<sha2::Sha512>::new_from_slice(&key).unwrap();
                m.update(&msg);
                assert_eq!(
                    &ours[..],
                    &m.finalize().into_bytes()[..],
                    "key {key_len} msg {msg_len}"
                );
            }
        }
    }

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 section 4.3 (test case 2): key "Jefe", data "what do ya want for nothing?".
        let tag = HmacSha512Key::new(b"Jefe").mac(&[b"what do ya want for nothing?"]);
        assert_eq!(
            hex::encode(&tag[..]),
            concat!(
                "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554",
                "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
            )
        );
    }
}
