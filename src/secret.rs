//! Secret material as types.
//!
//! Passwords, NT hashes, session keys, derived keys and password plaintext buffers live in the
//! types below. Each one:
//! - is zeroized when dropped;
//! - prints as `TypeName(..)` under `Debug` and has no `Display`;
//! - gives its bytes only through a greppable `expose()` (or `expose_mut()`);
//! - compares (where comparison exists) in constant time.
//!
//! Grep for `expose(` to audit every place a secret leaves its type.

use core::fmt;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A password, held as a zeroizing UTF-8 string.
///
/// Built by move from a `String` so no unzeroized copy is left behind by this crate.
pub struct Password(Zeroizing<String>);

impl Password {
    /// Take ownership of `s`.
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }

    /// The password text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The number of UTF-16 code units the password encodes to (characters outside the BMP
    /// count twice, as surrogate pairs).
    pub fn utf16_len(&self) -> usize {
        self.0.encode_utf16().count()
    }

    /// The UTF-16LE encoding of the password, in a zeroizing buffer.
    pub fn to_utf16le(&self) -> SecretBytes {
        let mut v = Vec::with_capacity(self.0.len() * 2);
        for u in self.0.encode_utf16() {
            v.extend_from_slice(&u.to_le_bytes());
        }
        SecretBytes::new(v)
    }

    /// Whether the password is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Password {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Self {
        Self::new(s.to_owned())
    }
}

impl Clone for Password {
    fn clone(&self) -> Self {
        Self::new(self.0.as_str().to_owned())
    }
}

impl Zeroize for Password {
    /// Wipe the text now (it is also wiped on drop).
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

/// The inner `Zeroizing<String>` wipes the text on drop.
impl ZeroizeOnDrop for Password {}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// A variable-length secret byte buffer (plaintext password buffers, tokens with key material).
#[derive(Clone, Default)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Take ownership of `v`.
    pub fn new(v: Vec<u8>) -> Self {
        Self(Zeroizing::new(v))
    }
    /// A buffer of `n` zero bytes.
    pub fn zeroed(n: usize) -> Self {
        Self::new(vec![0; n])
    }
    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    /// The bytes, mutably.
    pub fn expose_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Zeroize for SecretBytes {
    /// Wipe the bytes now (they are also wiped on drop).
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

/// The inner `Zeroizing<Vec<u8>>` wipes the bytes on drop.
impl ZeroizeOnDrop for SecretBytes {}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(..{} bytes)", self.0.len())
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && bool::from(self.0.as_slice().ct_eq(other.0.as_slice()))
    }
}
impl Eq for SecretBytes {}

/// Define a fixed-size secret array type: zeroized on drop, redacted `Debug`,
/// constant-time `PartialEq`, bytes only through `expose()`.
macro_rules! secret_array {
    ($(#[$meta:meta])* $name:ident, $n:expr) => {
        $(#[$meta])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; $n]);

        impl $name {
            /// The size of this secret in bytes.
            pub const LEN: usize = $n;

            /// Wrap `bytes` (moved in; the caller's copy is the caller's to zeroize).
            pub const fn new(bytes: [u8; $n]) -> Self {
                Self(bytes)
            }

            /// Copy from a slice of exactly [`Self::LEN`] bytes.
            pub fn from_slice(s: &[u8]) -> Option<Self> {
                let a: [u8; $n] = s.try_into().ok()?;
                Some(Self(a))
            }

            /// The raw bytes.
            pub fn expose(&self) -> &[u8; $n] {
                &self.0
            }

            /// The raw bytes, mutably.
            pub fn expose_mut(&mut self) -> &mut [u8; $n] {
                &mut self.0
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                bool::from(self.0.ct_eq(&other.0))
            }
        }
        impl Eq for $name {}
    };
}
#[allow(unused_imports)]
pub(crate) use secret_array;

secret_array!(
    /// An NT hash (NTOWFv1): MD4 over the UTF-16LE password. Knowing it is as good as knowing
    /// the password for NTLM and SAMR, so it is a secret.
    NtHash,
    16
);

/// A 16-byte session key: the NTLM exported session key, the SMB `Session.SessionKey`, or
/// the SMB `ApplicationKey` that SAMR password-set levels are keyed with.
///
/// A Kerberos context key can be longer (32 bytes for AES-256): [MS-SMB2] 3.2.5.3.1 then
/// uses its first 16 bytes as `Session.SessionKey` (signing and application keys) and the
/// whole key, `Session.FullSessionKey`, for the SMB 3.1.1 AES-256 cipher keys. Such a key
/// carries both ([`SessionKey::from_full_key`], [`SessionKey::full_key`]).
///
/// Zeroized on drop, redacted `Debug`, constant-time `PartialEq`, bytes only through
/// `expose()`/`full_key()`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SessionKey {
    key: [u8; 16],
    full: Option<Key32>,
}

impl SessionKey {
    /// The size of the (truncated) session key in bytes.
    pub const LEN: usize = 16;

    /// Wrap `bytes` (moved in; the caller's copy is the caller's to zeroize).
    pub const fn new(bytes: [u8; 16]) -> Self {
        Self { key: bytes, full: None }
    }

    /// Copy from a slice of exactly [`Self::LEN`] bytes.
    pub fn from_slice(s: &[u8]) -> Option<Self> {
        let a: [u8; 16] = s.try_into().ok()?;
        Some(Self::new(a))
    }

    /// From a Kerberos context key of 16 or 32 bytes: the session key is its first 16
    /// bytes, and a 32-byte key is kept whole as the FullSessionKey. `None` for other
    /// lengths.
    pub fn from_full_key(k: &[u8]) -> Option<Self> {
        match k.len() {
            16 => Self::from_slice(k),
            32 => {
                let mut s = Self::from_slice(&k[..16])?;
                s.full = Key32::from_slice(k);
                Some(s)
            }
            _ => None,
        }
    }

    /// The 16-byte session key.
    pub fn expose(&self) -> &[u8; 16] {
        &self.key
    }

    /// The 16-byte session key, mutably.
    pub fn expose_mut(&mut self) -> &mut [u8; 16] {
        &mut self.key
    }

    /// [MS-SMB2] `Session.FullSessionKey`: the whole 32-byte key when the authentication
    /// produced one (Kerberos with AES-256), else the 16-byte session key.
    pub fn full_key(&self) -> &[u8] {
        match &self.full {
            Some(k) => k.expose(),
            None => &self.key,
        }
    }
}

impl core::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl PartialEq for SessionKey {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(self.full_key(), other.full_key()) && bool::from(self.key.ct_eq(&other.key))
    }
}
impl Eq for SessionKey {}

secret_array!(
    /// A 16-byte symmetric key (SMB signing/sealing keys, NTLM sign/seal keys, the SAMR CEK).
    Key16,
    16
);

secret_array!(
    /// A 32-byte symmetric key (AES-256 keys).
    Key32,
    32
);

secret_array!(
    /// A 64-byte symmetric key (HMAC-SHA512 MAC keys).
    Key64,
    64
);

impl NtHash {
    /// The NT hash (NTOWFv1) of `password`: MD4 over its UTF-16LE encoding ([MS-NLMP] 3.3.1;
    /// characters outside the BMP become surrogate pairs).
    ///
    /// Computed by the small MD4 below rather than the `md4` crate, whose hasher state (which
    /// holds the last partial block of the password) is not wiped on drop: here the UTF-16
    /// copy, the block buffer, the message words and the chaining state are all zeroized.
    pub fn from_password(password: &Password) -> Self {
        let utf16 = password.to_utf16le();
        let mut md = md4::Md4::default();
        let mut out = md.digest(utf16.expose());
        let hash = Self(out);
        out.zeroize();
        hash
    }

    /// Parse 32 hexadecimal digits (either case). Returns `None` for anything else.
    pub fn from_hex(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, chunk) in s.as_bytes().chunks_exact(2).enumerate() {
            let hi = hex_val(chunk[0])?;
            let lo = hex_val(chunk[1])?;
            out[i] = (hi << 4) | lo;
        }
        Some(Self(out))
    }
}

const fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// MD4 (RFC 1320), just enough for the NT hash, with every buffer that holds message bytes or
/// state wiped on drop (RustCrypto's `md4` 0.10 has no `zeroize` feature).
mod md4 {
    use zeroize::{Zeroize, ZeroizeOnDrop};

    /// One MD4 computation: the chaining state and the current 64-byte block.
    #[derive(Zeroize, ZeroizeOnDrop)]
    pub(super) struct Md4 {
        state: [u32; 4],
        block: [u8; 64],
        words: [u32; 16],
    }

    impl Default for Md4 {
        fn default() -> Self {
            Self {
                state: [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476],
                block: [0; 64],
                words: [0; 16],
            }
        }
    }

    impl Md4 {
        /// The MD4 digest of `data` (call once per value).
        pub(super) fn digest(&mut self, data: &[u8]) -> [u8; 16] {
            let mut chunks = data.chunks_exact(64);
            for c in &mut chunks {
                self.block.copy_from_slice(c);
                self.compress();
            }
            let rest = chunks.remainder();
            self.block.zeroize();
            self.block[..rest.len()].copy_from_slice(rest);
            self.block[rest.len()] = 0x80;
            if rest.len() >= 56 {
                self.compress();
                self.block.zeroize();
            }
            let bits = (data.len() as u64).wrapping_mul(8);
            self.block[56..].copy_from_slice(&bits.to_le_bytes());
            self.compress();
            let mut out = [0u8; 16];
            for (o, w) in out.chunks_exact_mut(4).zip(self.state) {
                o.copy_from_slice(&w.to_le_bytes());
            }
            self.zeroize();
            out
        }

        fn compress(&mut self) {
            for (w, b) in self.words.iter_mut().zip(self.block.chunks_exact(4)) {
                *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
            let x = &self.words;
            let [mut a, mut b, mut c, mut d] = self.state;
            // RFC 1320 3.4: three rounds of 16 steps; each step updates one register and the
            // roles rotate (a, b, c, d) -> (d, new, b, c).
            const R2: [usize; 16] = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
            const R3: [usize; 16] = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
            for i in 0..48 {
                let (f, k, s, add) = match i / 16 {
                    0 => ((b & c) | (!b & d), i, [3, 7, 11, 19][i % 4], 0),
                    1 => {
                        ((b & c) | (b & d) | (c & d), R2[i % 16], [3, 5, 9, 13][i % 4], 0x5a82_7999)
                    }
                    _ => (b ^ c ^ d, R3[i % 16], [3, 9, 11, 15][i % 4], 0x6ed9_eba1),
                };
                let t = a.wrapping_add(f).wrapping_add(x[k]).wrapping_add(add).rotate_left(s);
                (a, b, c, d) = (d, t, b, c);
            }
            for (st, v) in self.state.iter_mut().zip([a, b, c, d]) {
                *st = st.wrapping_add(v);
            }
            a.zeroize();
            b.zeroize();
            c.zeroize();
            d.zeroize();
        }
    }
}

/// Constant-time equality of two byte slices (different lengths compare unequal; the length
/// itself is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1320 A.5 test suite, plus lengths around the 55/56/64-byte padding edges checked
    /// against RustCrypto's `md4`.
    #[test]
    fn md4_matches_rfc_1320_and_the_md4_crate() {
        let hex = |d: [u8; 16]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        for (m, want) in [
            ("", "31d6cfe0d16ae931b73c59d7e0c089c0"),
            ("a", "bde52cb31de33e46245e05fbdbd6fb24"),
            ("abc", "a448017aaf21d8525fc10ae87aa6729d"),
            ("message digest", "d9130a8164549fe818874806e1c7014b"),
            ("abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "043f8582f241db351ce627e153e7f0e4",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "e33b4ddc9c38f2199c3e7b164fcc0536",
            ),
        ] {
            assert_eq!(hex(md4::Md4::default().digest(m.as_bytes())), want, "{m:?}");
        }
        use ::md4::Digest;
        for len in (0..200).chain([511, 512, 513, 1024]) {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let want: [u8; 16] = ::md4::Md4::digest(&data).into();
            assert_eq!(md4::Md4::default().digest(&data), want, "{len}");
        }
    }

    #[test]
    fn nt_hash_state_is_wiped() {
        fn zeroize_on_drop<T: ZeroizeOnDrop>() {}
        zeroize_on_drop::<md4::Md4>();
        // [MS-NLMP] 4.2.2.1.2: NTOWFv1("Password").
        let h = NtHash::from_password(&Password::from("Password"));
        assert_eq!(h.expose(), &NtHash::from_hex("a4f49c406510bdcab6824ee7c30fd852").unwrap().0);
    }

    #[test]
    fn debug_of_every_secret_type_is_redacted() {
        let pw = Password::from("hunter2-Sécret");
        let h = NtHash::new([0xAB; 16]);
        let k = SessionKey::new([0xCD; 16]);
        let k16 = Key16::new([0x11; 16]);
        let k32 = Key32::new([0x22; 32]);
        let k64 = Key64::new([0x33; 64]);
        let b = SecretBytes::new(b"topsecret".to_vec());
        let all = format!("{pw:?} {h:?} {k:?} {k16:?} {k32:?} {k64:?} {b:?}");
        assert!(!all.contains("hunter2"));
        for needle in ["ab", "AB", "171", "cd", "CD", "205", "11", "22", "33", "topsecret"] {
            assert!(!all.contains(needle), "{needle} leaked in {all}");
        }
        assert_eq!(format!("{h:?}"), "NtHash(..)");
    }

    #[test]
    fn nt_hash_hex() {
        let h = NtHash::from_hex("f84854deb8361033caea5c9596669938").unwrap();
        assert_eq!(h.expose()[0], 0xf8);
        assert!(NtHash::from_hex("f84854deb8361033caea5c959666993").is_none());
        assert!(NtHash::from_hex("g84854deb8361033caea5c9596669938").is_none());
    }

    #[test]
    fn utf16_counts_surrogate_pairs() {
        let p = Password::from("a😀");
        assert_eq!(p.utf16_len(), 3);
        assert_eq!(p.to_utf16le().len(), 6);
    }

    #[test]
    fn session_key_keeps_the_full_kerberos_key() {
        let k32: Vec<u8> = (0u8..32).collect();
        let s = SessionKey::from_full_key(&k32).unwrap();
        assert_eq!(&s.expose()[..], &k32[..16]);
        assert_eq!(s.full_key(), &k32[..]);
        let s16 = SessionKey::from_full_key(&k32[..16]).unwrap();
        assert_eq!(s16.full_key(), &k32[..16]);
        assert_ne!(s, s16, "same first half, different full key");
        assert!(SessionKey::from_full_key(&k32[..24]).is_none());
        assert_eq!(format!("{s:?}"), "SessionKey(..)");
    }

    #[test]
    fn zeroize_clears_array() {
        let mut k = Key32::new([7; 32]);
        k.zeroize();
        assert_eq!(k.expose(), &[0; 32]);
    }
}
