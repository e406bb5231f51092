//! [`CryptoError`]: why a SAMR password could not be encrypted or decrypted.
//!
//! Messages name the failed check and, where useful, a non-secret number (an iteration count,
//! a length). They never contain key, hash or password bytes.

/// A failure in the SAMR password cryptography.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The PBKDF2 iteration count is outside 5,000..=1,000,000 ([MS-SAMR] 2.2.6.32).
    #[error("PBKDF2 iteration count {iterations} is outside the allowed range 5000..=1000000")]
    IterationsOutOfRange {
        /// The rejected count.
        iterations: u64,
    },
    /// The password is longer than the 512-byte field allows (256 UTF-16 code units;
    /// characters outside the Basic Multilingual Plane count as two).
    #[error("password is {utf16_units} UTF-16 code units long; at most 256 fit in the buffer")]
    PasswordTooLong {
        /// The password's length in UTF-16 code units.
        utf16_units: usize,
    },
    /// The password is empty; SAMR servers reject a zero-length password buffer.
    #[error("password is empty")]
    EmptyPassword,
    /// A plaintext password buffer has the wrong size or an impossible length field
    /// (zero, odd, or more than 512 bytes).
    #[error("malformed password buffer")]
    MalformedPasswordBuffer,
    /// The decrypted password is not valid UTF-16 (an unpaired surrogate).
    #[error("decrypted password is not valid UTF-16")]
    InvalidUtf16,
    /// The ciphertext length is zero or not a multiple of the AES block size.
    #[error("ciphertext length {len} is not a positive multiple of 16")]
    BadCipherLength {
        /// The rejected length in bytes.
        len: usize,
    },
    /// The HMAC-SHA512 tag did not verify: wrong key, or tampered tag, salt or ciphertext.
    #[error("authentication tag mismatch (wrong key or tampered data)")]
    AuthenticationFailed,
    /// The PKCS#7 padding is invalid (pad length 0, more than 16, or inconsistent bytes).
    #[error("invalid PKCS#7 padding")]
    BadPadding,
    /// The key derivation was cancelled through its flag before it finished
    /// ([`derive_cek_cancellable`](super::derive_cek_cancellable)).
    #[error("the key derivation was cancelled")]
    Cancelled,
}
