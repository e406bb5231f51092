//! SAMR password cryptography (pure, no I/O): NT hash, PBKDF2 CEK, the AEAD of [MS-SAMR]
//! 3.2.2.4, password buffers and the legacy RC4/DES pieces.
//!
//! Layout:
//! - key derivation — [`nt_hash`], [`derive_cek`] (the specialised PBKDF2-HMAC-SHA512 loop) and
//!   [`derive_cek_reference`] (RustCrypto's generic path, for cross-checks and benchmarks);
//!   [`derive_cek_cancellable`] and [`encrypt_password_change_aes_cancellable`] stop at the
//!   next check of a cancellation flag;
//! - AEAD — [`seal`]/[`open`], and the high-level [`encrypt_password_change_aes`] (opnum 73),
//!   [`encrypt_password_set_aes`] (levels 31/32) with their `decrypt_*` counterparts;
//! - buffers — [`UserPasswordAes`] (514 bytes) and [`UserPassword`] (516 bytes);
//! - legacy — RC4 for opnum 55 and levels 23–26, DES for the opnum-55 OWF; callers use them
//!   only on explicit opt-in.
//!
//! Every key, hash, intermediate HMAC/PBKDF2 state and plaintext buffer lives in a zeroizing
//! container. Randomness comes in as `&mut dyn crate::rng::SecureRandom`.

mod error;
mod kdf;
mod legacy;
mod password_buffer;
mod samr_aes;
mod sha512;
mod types;

pub use error::CryptoError;
pub use kdf::{
    CANCEL_CHECK_INTERVAL, MAX_PBKDF2_ITERATIONS, MIN_PBKDF2_ITERATIONS, derive_cek,
    derive_cek_cancellable, derive_cek_reference, nt_hash,
};
pub use legacy::{
    decrypt_nt_owf, decrypt_user_password_new, decrypt_user_password_with_old_nt,
    decrypt_user_password_with_session_key, encrypt_nt_owf, encrypt_user_password_new,
    encrypt_user_password_with_old_nt, encrypt_user_password_with_session_key,
    rc4_decrypt_user_password, rc4_encrypt_user_password,
};
pub use password_buffer::{
    MAX_PASSWORD_UTF16_UNITS, UserPassword, UserPasswordAes, utf16le_to_password,
};
pub use samr_aes::{
    ENC_KEY_LABEL, MAC_KEY_LABEL, decrypt_password_aes, decrypt_password_change_aes,
    decrypt_password_set_aes, derive_aead_keys, encrypt_password_change_aes,
    encrypt_password_change_aes_cancellable, encrypt_password_set_aes, open, seal,
};
pub use types::{
    EncryptedNtOwfPassword, EncryptedPasswordAes, EncryptedUserPassword, EncryptedUserPasswordNew,
};

/// The 514-byte plaintext of protocol notes 7.2 (a Windows Server 2022 trace), for tests in
/// other modules.
#[cfg(test)]
pub(crate) use password_buffer::tests::v72 as test_vector_7_2;
