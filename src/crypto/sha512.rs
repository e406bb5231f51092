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

/// The SHA-512 round constants (FIPS 180-4, 4.2.3).
#[rustfmt::skip]
const K: [u64; 80] = [
    0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc,
    0x3956c25bf348b538, 0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118,
    0xd807aa98a3030242, 0x12835b0145706fbe, 0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2,
    0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235, 0xc19bf174cf692694,
    0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
    0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5,
    0x983e5152ee66dfab, 0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4,
    0xc6e00bf33da88fc2, 0xd5a79147930aa725, 0x06ca6351e003826f, 0x142929670a0e6e70,
    0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed, 0x53380d139d95b3df,
    0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
    0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30,
    0xd192e819d6ef5218, 0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8,
    0x19a4c116b8d2d0c8, 0x1e376c085141ab53, 0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8,
    0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373, 0x682e6ff3d6b2b8a3,
    0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
    0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b,
    0xca273eceea26619c, 0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178,
    0x06f067aa72176fba, 0x0a637dc5a2c898a6, 0x113f9804bef90dae, 0x1b710b35131c471b,
    0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc, 0x431d67c49c100d4c,
    0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
];

// ---------------------------------------------------------------------------------------------
// The word-level compression of a 64-byte message after one absorbed block (PBKDF2's hot path).
//
// In PBKDF2-HMAC-SHA512 every hash after the first iteration is H(pad_block ‖ m) with a 64-byte
// `m` (U_{i-1} for the inner hash, the inner digest for the outer one): the second and last
// block is `m` (words 0..8) followed by fixed padding: word 8 = 0x80 << 56, words 9..14 = 0,
// word 15 = the message length in bits, (128 + 64) * 8 = 1536. Working on words, the digest
// of one compression is the message of the next with no byte conversion in between, and the
// message-schedule terms that only involve the padding words are constants (below).
// ---------------------------------------------------------------------------------------------

/// Words 8..16 of the last block of a 192-byte message whose last 64 bytes start the block.
const PAD_192: [u64; 8] = [1 << 63, 0, 0, 0, 0, 0, 0, 192 * 8];

#[inline(always)]
const fn small_sigma0(x: u64) -> u64 {
    x.rotate_right(1) ^ x.rotate_right(8) ^ (x >> 7)
}

#[inline(always)]
const fn small_sigma1(x: u64) -> u64 {
    x.rotate_right(19) ^ x.rotate_right(61) ^ (x >> 6)
}

/// The constant parts of schedule words 16..32 when words 8..16 are [`PAD_192`]
/// (`W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]`, FIPS 180-4, 6.4.2), by the terms
/// that only involve padding words:
/// - t = 16, 17: σ1(W14|W15) + W9|W10;
/// - t = 18..=22: W[t-7] (W11..W15);
/// - t = 23: σ0(W8);
/// - t = 24..=30: σ0(W[t-15]) + W[t-16] (W9..W15, W8..W14);
/// - t = 31: W15.
const SCHEDULE_PAD_192: [u64; 16] = {
    let p = PAD_192; // p[i] = W[8 + i]
    let mut c = [0u64; 16];
    c[0] = small_sigma1(p[6]).wrapping_add(p[1]);
    c[1] = small_sigma1(p[7]).wrapping_add(p[2]);
    let mut t = 18;
    while t <= 22 {
        c[t - 16] = p[t - 7 - 8];
        t += 1;
    }
    c[7] = small_sigma0(p[0]);
    let mut t = 24;
    while t <= 30 {
        c[t - 16] = small_sigma0(p[t - 15 - 8]).wrapping_add(p[t - 16 - 8]);
        t += 1;
    }
    c[15] = p[7];
    c
};

/// `K[t] + W[t]` for the rounds 8..16, whose message words are the constant padding.
const KW_PAD_192: [u64; 8] = {
    let mut kw = [0u64; 8];
    let mut i = 0;
    while i < 8 {
        kw[i] = K[8 + i].wrapping_add(PAD_192[i]);
        i += 1;
    }
    kw
};

/// `σ0` and `σ1` of two independent schedule words at once, written lane by lane so the
/// compiler may use two-lane vector shifts (plain safe Rust: no intrinsics).
#[inline(always)]
fn schedule_pair(y: [u64; 2], a: [u64; 2], x: [u64; 2], b: [u64; 2]) -> [u64; 2] {
    let mut out = [0u64; 2];
    for i in 0..2 {
        out[i] = small_sigma1(y[i])
            .wrapping_add(a[i])
            .wrapping_add(small_sigma0(x[i]))
            .wrapping_add(b[i]);
    }
    out
}

/// Schedule word `W[t]` (t ≥ 16) into `w[t]` (and `W[t+1]` too for even t ≥ 32), with the
/// padding terms of [`SCHEDULE_PAD_192`] folded in. `t` is a constant after inlining, so the
/// `match` disappears.
#[inline(always)]
fn schedule(w: &mut [u64; 80], t: usize) {
    let c = &SCHEDULE_PAD_192;
    w[t] = match t {
        16 | 17 => c[t - 16].wrapping_add(small_sigma0(w[t - 15])).wrapping_add(w[t - 16]),
        18..=22 => small_sigma1(w[t - 2])
            .wrapping_add(c[t - 16])
            .wrapping_add(small_sigma0(w[t - 15]))
            .wrapping_add(w[t - 16]),
        23 => small_sigma1(w[21]).wrapping_add(w[16]).wrapping_add(c[7]).wrapping_add(w[7]),
        24..=30 => small_sigma1(w[t - 2]).wrapping_add(w[t - 7]).wrapping_add(c[t - 16]),
        31 => small_sigma1(w[29])
            .wrapping_add(w[24])
            .wrapping_add(small_sigma0(w[16]))
            .wrapping_add(c[15]),
        // W[t] and W[t+1] are independent of each other: compute them together.
        _ if t % 2 == 0 => {
            let pair = schedule_pair(
                [w[t - 2], w[t - 1]],
                [w[t - 7], w[t - 6]],
                [w[t - 15], w[t - 14]],
                [w[t - 16], w[t - 15]],
            );
            w[t + 1] = pair[1];
            pair[0]
        }
        _ => w[t],
    };
}

/// One SHA-512 round (FIPS 180-4, 6.4.2 step 3) on the working variables `v`, where
/// `v[(r + 0) % 8]` is a, `v[(r + 1) % 8]` b, …, `v[(r + 7) % 8]` h: instead of moving the
/// eight variables, the caller rotates `r` (0, 7, 6, …, 1), and each round writes only the
/// new e (`d + T1`, into d's slot) and the new a (`T1 + T2`, into h's slot).
#[inline(always)]
fn round(v: &mut [u64; 8], r: usize, kw: u64) {
    let a = v[r % 8];
    let b = v[(r + 1) % 8];
    let c = v[(r + 2) % 8];
    let e = v[(r + 4) % 8];
    let f = v[(r + 5) % 8];
    let g = v[(r + 6) % 8];
    let big_sigma1 = e.rotate_right(14) ^ e.rotate_right(18) ^ e.rotate_right(41);
    let ch = g ^ (e & (f ^ g));
    let t1 = v[(r + 7) % 8].wrapping_add(big_sigma1).wrapping_add(ch).wrapping_add(kw);
    let big_sigma0 = a.rotate_right(28) ^ a.rotate_right(34) ^ a.rotate_right(39);
    let maj = (a & b) ^ (c & (a ^ b));
    v[(r + 3) % 8] = v[(r + 3) % 8].wrapping_add(t1);
    v[(r + 7) % 8] = t1.wrapping_add(big_sigma0.wrapping_add(maj));
}

/// Round `t` with the working-variable rotation `r`: `K[t] + W[t]` from [`KW_PAD_192`] for
/// the padding rounds 8..16, else from the schedule (computed here for t ≥ 16).
#[inline(always)]
fn step(v: &mut [u64; 8], w: &mut [u64; 80], r: usize, t: usize) {
    let kw = if (8..16).contains(&t) {
        KW_PAD_192[t - 8]
    } else {
        if t >= 16 {
            schedule(w, t);
        }
        K[t].wrapping_add(w[t])
    };
    round(v, r, kw);
}

/// Eight rounds `t..t+8`.
macro_rules! rounds8 {
    ($v:ident, $w:ident, $t:expr) => {{
        step(&mut $v, &mut $w, 0, $t);
        step(&mut $v, &mut $w, 7, $t + 1);
        step(&mut $v, &mut $w, 6, $t + 2);
        step(&mut $v, &mut $w, 5, $t + 3);
        step(&mut $v, &mut $w, 4, $t + 4);
        step(&mut $v, &mut $w, 3, $t + 5);
        step(&mut $v, &mut $w, 2, $t + 6);
        step(&mut $v, &mut $w, 1, $t + 7);
    }};
}

/// One SHA-512 compression into `state` of the block `msg[0..8] ‖ PAD_192`, i.e. the last
/// block of a 192-byte message whose first 128 bytes are already absorbed in `state`; `msg`
/// holds the big-endian words of the last 64 message bytes. Equal to [`compress`] over the
/// same block in bytes (tests below, and PBKDF2 against RustCrypto in `kdf`). Pure safe Rust,
/// scalar: no intrinsics, no `unsafe`. Not inlined: inlined twice into the PBKDF2 loop it
/// ran three times slower (the schedule no longer stayed in registers).
#[inline(never)]
pub(crate) fn compress_192_tail(state: &mut [u64; 8], msg: &[u64; 8]) {
    // W[8..16] (the padding) is only used through KW_PAD_192 and SCHEDULE_PAD_192.
    let mut w = [0u64; 80];
    w[..8].copy_from_slice(msg);
    let mut v = *state;
    rounds8!(v, w, 0);
    rounds8!(v, w, 8);
    rounds8!(v, w, 16);
    rounds8!(v, w, 24);
    rounds8!(v, w, 32);
    rounds8!(v, w, 40);
    rounds8!(v, w, 48);
    rounds8!(v, w, 56);
    rounds8!(v, w, 64);
    rounds8!(v, w, 72);
    for (s, x) in state.iter_mut().zip(v) {
        *s = s.wrapping_add(x);
    }
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// The word-level compression of a 64-byte tail equals `compress` over the same block
        /// in bytes (the message big-endian, 0x80, zeros, the 192-byte length), from any state.
        #[test]
        fn compress_192_tail_equals_the_byte_block(
            state in proptest::prelude::any::<[u64; 8]>(),
            msg in proptest::prelude::any::<[u64; 8]>(),
        ) {
            let mut block = [0u8; BLOCK];
            store_be(&msg, &mut block);
            block[64] = 0x80;
            block[BLOCK - 16..].copy_from_slice(&(192u128 * 8).to_be_bytes());
            let mut expected = state;
            compress(&mut expected, &block);
            let mut ours = state;
            compress_192_tail(&mut ours, &msg);
            proptest::prop_assert_eq!(ours, expected);
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
