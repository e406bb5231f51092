//! The two plaintext password buffers: `SAMPR_USER_PASSWORD_AES` (514 bytes, [MS-SAMR]
//! 2.2.6.32; protocol notes 1.5) and `SAMPR_USER_PASSWORD` (516 bytes, [MS-SAMR] 2.2.6.21;
//! protocol notes 2.4).
//!
//! They lay the password out in opposite ways:
//!
//! ```text
//! 514 (AES):  len:u16 ‖ password (UTF-16LE) ‖ random fill ........................ (514)
//! 516 (RC4):  random fill ........................ ‖ password (UTF-16LE) ‖ len:u32 (516)
//!                                                  ^ ends at 512
//! ```
//!
//! The fill must come from a CSPRNG: it is encrypted, but RC4 in particular leaks structure,
//! and a predictable fill would be a known plaintext. The buffers are secret types.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::CryptoError;
use crate::rng::SecureRandom;
use crate::secret::{Password, SecretBytes, secret_array};

/// The most UTF-16 code units a password buffer holds (512 bytes).
pub const MAX_PASSWORD_UTF16_UNITS: usize = 256;

/// Bytes available for the password in either buffer.
const PASSWORD_FIELD: usize = 2 * MAX_PASSWORD_UTF16_UNITS;

secret_array!(
    /// `SAMPR_USER_PASSWORD_AES` ([MS-SAMR] 2.2.6.32): `u16` byte length, the UTF-16LE password
    /// at the start of the 512-byte field, then random fill. The plaintext of the AES AEAD.
    UserPasswordAes,
    514
);

secret_array!(
    /// `SAMPR_USER_PASSWORD` ([MS-SAMR] 2.2.6.21): random fill, the UTF-16LE password
    /// right-aligned to end at byte 512, then its `u32` byte length. The plaintext of the RC4
    /// methods.
    UserPassword,
    516
);

/// The UTF-16LE bytes of `password`, after checking it is non-empty and fits.
fn checked_utf16(password: &Password) -> Result<SecretBytes, CryptoError> {
    if password.is_empty() {
        return Err(CryptoError::EmptyPassword);
    }
    let units = password.utf16_len();
    if units > MAX_PASSWORD_UTF16_UNITS {
        return Err(CryptoError::PasswordTooLong { utf16_units: units });
    }
    Ok(password.to_utf16le())
}

/// Validate a password byte-length field: 1..=512 and even (whole UTF-16 code units).
fn check_len_field(len: usize) -> Result<usize, CryptoError> {
    if len == 0 || len > PASSWORD_FIELD || len % 2 != 0 {
        Err(CryptoError::MalformedPasswordBuffer)
    } else {
        Ok(len)
    }
}

impl UserPasswordAes {
    /// Build the buffer for `password`, drawing the fill after the password from `rng`
    /// (exactly `512 - 2 × utf16_units` bytes).
    pub fn encode(password: &Password, rng: &mut dyn SecureRandom) -> Result<Self, CryptoError> {
        let utf16 = checked_utf16(password)?;
        let pw = utf16.expose();
        let mut out = Self::new([0; 514]);
        let b = out.expose_mut();
        // pw.len() <= 512, checked above.
        b[..2].copy_from_slice(&(pw.len() as u16).to_le_bytes());
        b[2..2 + pw.len()].copy_from_slice(pw);
        rng.fill(&mut b[2 + pw.len()..]);
        Ok(out)
    }

    /// Parse a decrypted 514-byte buffer and return the UTF-16LE password bytes.
    ///
    /// Rejects a buffer that is not exactly 514 bytes and a length field of 0, an odd number,
    /// or more than 512.
    pub fn decode(buf: &[u8]) -> Result<SecretBytes, CryptoError> {
        let (len, rest) = match buf {
            [lo, hi, rest @ ..] if rest.len() == PASSWORD_FIELD => {
                (usize::from(u16::from_le_bytes([*lo, *hi])), rest)
            }
            _ => return Err(CryptoError::MalformedPasswordBuffer),
        };
        let len = check_len_field(len)?;
        let pw = rest.get(..len).ok_or(CryptoError::MalformedPasswordBuffer)?;
        Ok(SecretBytes::new(pw.to_vec()))
    }

    /// Parse this buffer into a [`Password`].
    pub fn password(&self) -> Result<Password, CryptoError> {
        utf16le_to_password(Self::decode(self.expose())?.expose())
    }
}

impl UserPassword {
    /// Build the buffer for `password`, drawing the fill before the password from `rng`
    /// (exactly `512 - 2 × utf16_units` bytes).
    pub fn encode(password: &Password, rng: &mut dyn SecureRandom) -> Result<Self, CryptoError> {
        let utf16 = checked_utf16(password)?;
        let pw = utf16.expose();
        let mut out = Self::new([0; 516]);
        let b = out.expose_mut();
        let start = PASSWORD_FIELD - pw.len();
        rng.fill(&mut b[..start]);
        b[start..PASSWORD_FIELD].copy_from_slice(pw);
        // pw.len() <= 512, checked above.
        b[PASSWORD_FIELD..].copy_from_slice(&(pw.len() as u32).to_le_bytes());
        Ok(out)
    }

    /// Build the buffer with the fill set to zero. **For reproducible test vectors only**
    /// (protocol notes 7.6); real traffic must use [`UserPassword::encode`] with a CSPRNG.
    #[cfg(test)]
    pub(crate) fn encode_zero_fill(password: &Password) -> Result<Self, CryptoError> {
        struct Zeros;
        impl SecureRandom for Zeros {
            fn fill(&mut self, buf: &mut [u8]) {
                buf.fill(0);
            }
        }
        Self::encode(password, &mut Zeros)
    }

    /// Parse a decrypted 516-byte buffer and return the UTF-16LE password bytes.
    ///
    /// Rejects a buffer that is not exactly 516 bytes and a length field of 0, an odd number,
    /// or more than 512.
    pub fn decode(buf: &[u8]) -> Result<SecretBytes, CryptoError> {
        let (field, len) = match buf {
            [field @ .., a, b, c, d] if field.len() == PASSWORD_FIELD => {
                (field, u32::from_le_bytes([*a, *b, *c, *d]))
            }
            _ => return Err(CryptoError::MalformedPasswordBuffer),
        };
        let len = usize::try_from(len).map_err(|_| CryptoError::MalformedPasswordBuffer)?;
        let len = check_len_field(len)?;
        let pw = field.get(PASSWORD_FIELD - len..).ok_or(CryptoError::MalformedPasswordBuffer)?;
        Ok(SecretBytes::new(pw.to_vec()))
    }

    /// Parse this buffer into a [`Password`].
    pub fn password(&self) -> Result<Password, CryptoError> {
        utf16le_to_password(Self::decode(self.expose())?.expose())
    }
}

/// Decode UTF-16LE bytes (an even count) into a [`Password`] without leaving an unzeroized
/// copy: the string is built in a buffer sized up front, so it never reallocates.
pub fn utf16le_to_password(bytes: &[u8]) -> Result<Password, CryptoError> {
    if bytes.len() % 2 != 0 {
        return Err(CryptoError::InvalidUtf16);
    }
    let units = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    // Each UTF-16 unit becomes at most 3 UTF-8 bytes (a surrogate pair: 4 bytes for 2 units).
    let mut s = String::with_capacity(bytes.len() / 2 * 3);
    for ch in char::decode_utf16(units) {
        match ch {
            Ok(c) => s.push(c),
            Err(_) => {
                s.zeroize();
                return Err(CryptoError::InvalidUtf16);
            }
        }
    }
    Ok(Password::new(s))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::rng::FixedRandom;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    /// Protocol notes 7.2: the 514-byte SAMPR_USER_PASSWORD_AES of "Pa$$w0rd@2" from a Windows
    /// Server 2022 trace (Samba `libcli/auth/tests/test_encode_decode.c`).
    pub(crate) const V72_BUFFER: &str = concat!(
        // PasswordLength = 0x0014, then "Pa$$w0rd@2" in UTF-16LE
        "1400",
        "50006100240024007700300072006400400032",
        "00",
        // random fill (492 bytes)
        "c2347d217905ef88d711ece2ceb5d44d642d15790139b8b9",
        "895c4e71bdf0140c8772a5fa90be6255ad7fe97f0d20193a76beb2146d5b251c673a23451f7e36a095b7a7b133e1",
        "c4b6e62dd82fe7df01e8ba025436e9b65e00529e6400cb3c6d05437d019c221892e7a355656d2ea3536ec06726ac",
        "aa98a4cbb4491360d4332c77585e5045aa1e0515185955ca143731ac63fc63a82aa999ec4987641d4edda3d0dc08",
        "0017f42f9c4a17c7bd30b70e81e4d59431ffd6ccc6bb39cd72fea63d0d886840f8512be6c9aa84f3f46e5537bf5d",
        "87cea6804f8f8f7be830c32e24c73ef19fa677ca04beb5e1405943c530c8e7bfabfa8662d93a8ea93473207b611b",
        "0eca98eca1c178a9a76c8ce3217db990e2731a991d44a8d57f0a5947d0f56c14ff4a2920b5fce9f0a5359e1ca14c",
        "ecb57d2d27ff7a4218b8534efbecb1c1652da4698556616d21668831dfba28c69af8b7f62a43ba9b8414cea9c9f5",
        "856f31898dfc252e98255a03f0b85d4ad44cc8624eeb07c85c9e6330fe9f0f96d0d770adcd84bc1e48a0201410a4",
        "b15b05369a6db01098bd8da2d1b2fa2337ebb00453cba1a9c488ddf980f5a9cd7bf8770b19844cef2c14a1dc9f2f",
        "41d0d033298ab9397ec97fe76364a47b4a6a33a7aaf6ca98c49b625bcd5382bff00b9ce7b2441b887161a1369e7a",
        "0a3c20d8ffa12366",
    );

    pub(crate) fn v72() -> Vec<u8> {
        hex::decode(V72_BUFFER).unwrap()
    }

    #[test]
    fn vector_7_2_parses_and_rebuilds() {
        let buf = v72();
        assert_eq!(buf.len(), 514);
        assert_eq!(
            hex::encode(Sha256::digest(&buf)),
            "e53c7499161cdeb939e085298054a63d99948338ae53813b2e4e72021c1b9a2c"
        );
        let pw = utf16le_to_password(UserPasswordAes::decode(&buf).unwrap().expose()).unwrap();
        assert_eq!(pw.expose(), "Pa$$w0rd@2");
        // Re-encode with an RNG that returns the trace's fill: byte-identical.
        let mut rng = FixedRandom::new(buf[22..].to_vec());
        let rebuilt = UserPasswordAes::encode(&Password::from("Pa$$w0rd@2"), &mut rng).unwrap();
        assert_eq!(&rebuilt.expose()[..], &buf[..]);
        assert_eq!(rebuilt.password().unwrap().expose(), "Pa$$w0rd@2");
    }

    #[test]
    fn aes_buffer_rejects_bad_lengths() {
        let mut buf = v72();
        for len in [0u16, 1, 21, 513, 514, 0xffff] {
            buf[..2].copy_from_slice(&len.to_le_bytes());
            assert_eq!(
                UserPasswordAes::decode(&buf).unwrap_err(),
                CryptoError::MalformedPasswordBuffer,
                "len {len}"
            );
        }
        buf[..2].copy_from_slice(&512u16.to_le_bytes());
        assert_eq!(UserPasswordAes::decode(&buf).unwrap().len(), 512);
        for n in [0usize, 1, 2, 513, 515, 516] {
            let b = vec![2u8; n];
            assert!(UserPasswordAes::decode(&b).is_err(), "size {n}");
        }
    }

    #[test]
    fn rc4_buffer_layout_vector_7_6() {
        // Protocol notes 7.6: with all-zero fill, plaintext[492..516] is "Pa$$w0rd@2" UTF-16LE
        // followed by the u32 length 20.
        let b = UserPassword::encode_zero_fill(&Password::from("Pa$$w0rd@2")).unwrap();
        assert_eq!(
            hex::encode(&b.expose()[492..]),
            "500061002400240077003000720064004000320014000000"
        );
        assert!(b.expose()[..492].iter().all(|&x| x == 0));
        assert_eq!(b.password().unwrap().expose(), "Pa$$w0rd@2");
    }

    #[test]
    fn rc4_buffer_rejects_bad_lengths() {
        let good = UserPassword::encode_zero_fill(&Password::from("abc")).unwrap();
        for len in [0u32, 3, 514, 516, u32::MAX] {
            let mut b = good.expose().to_vec();
            b[512..].copy_from_slice(&len.to_le_bytes());
            assert_eq!(
                UserPassword::decode(&b).unwrap_err(),
                CryptoError::MalformedPasswordBuffer,
                "len {len}"
            );
        }
        for n in [0usize, 4, 515, 517] {
            assert!(UserPassword::decode(&vec![0u8; n]).is_err(), "size {n}");
        }
    }

    #[test]
    fn password_limits() {
        let mut rng = FixedRandom::new(vec![0x5a]);
        assert_eq!(
            UserPasswordAes::encode(&Password::from(""), &mut rng).unwrap_err(),
            CryptoError::EmptyPassword
        );
        assert_eq!(
            UserPassword::encode(&Password::from(""), &mut rng).unwrap_err(),
            CryptoError::EmptyPassword
        );
        let max = "x".repeat(256);
        let b = UserPasswordAes::encode(&Password::from(max.as_str()), &mut rng).unwrap();
        assert_eq!(b.password().unwrap().expose(), max);
        let b = UserPassword::encode(&Password::from(max.as_str()), &mut rng).unwrap();
        assert_eq!(b.password().unwrap().expose(), max);
        let over = "x".repeat(257);
        assert_eq!(
            UserPasswordAes::encode(&Password::from(over.as_str()), &mut rng).unwrap_err(),
            CryptoError::PasswordTooLong { utf16_units: 257 }
        );
        // 128 emoji = 256 units fits; 129 = 258 units does not.
        let e = "😀".repeat(128);
        assert!(UserPassword::encode(&Password::from(e.as_str()), &mut rng).is_ok());
        let e = "😀".repeat(129);
        assert_eq!(
            UserPassword::encode(&Password::from(e.as_str()), &mut rng).unwrap_err(),
            CryptoError::PasswordTooLong { utf16_units: 258 }
        );
    }

    #[test]
    fn decoders_reject_every_truncation_and_extension() {
        let aes = v72();
        let rc4 = UserPassword::encode_zero_fill(&Password::from("Pa$$w0rd@2")).unwrap();
        for n in 0..aes.len() {
            assert!(UserPasswordAes::decode(&aes[..n]).is_err(), "prefix {n}");
        }
        for n in 0..rc4.expose().len() {
            assert!(UserPassword::decode(&rc4.expose()[..n]).is_err(), "prefix {n}");
        }
        let mut long = aes.clone();
        long.push(0);
        assert!(UserPasswordAes::decode(&long).is_err());
        let mut long = rc4.expose().to_vec();
        long.push(0);
        assert!(UserPassword::decode(&long).is_err());
    }

    #[test]
    fn unpaired_surrogate_is_rejected() {
        assert_eq!(
            utf16le_to_password(&[0x3d, 0xd8, 0x41, 0x00]).unwrap_err(),
            CryptoError::InvalidUtf16
        );
    }

    #[test]
    fn debug_is_redacted() {
        let mut rng = FixedRandom::new(vec![0xab]);
        let a = UserPasswordAes::encode(&Password::from("hunter2"), &mut rng).unwrap();
        let b = UserPassword::encode(&Password::from("hunter2"), &mut rng).unwrap();
        assert_eq!(format!("{a:?}"), "UserPasswordAes(..)");
        assert_eq!(format!("{b:?}"), "UserPassword(..)");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn round_trip_both_layouts(pw in "\\PC{1,128}", fill in any::<u8>()) {
            let p = Password::from(pw.as_str());
            let mut rng = FixedRandom::new(vec![fill, fill.wrapping_add(1)]);
            let a = UserPasswordAes::encode(&p, &mut rng).unwrap();
            prop_assert_eq!(a.password().unwrap().expose().to_owned(), pw.as_str());
            let b = UserPassword::encode(&p, &mut rng).unwrap();
            prop_assert_eq!(b.password().unwrap().expose().to_owned(), pw.as_str());
        }
    }
}
