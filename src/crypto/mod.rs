//! SAMR password cryptography (pure, no I/O): NT hash, PBKDF2 CEK, the AEAD of [MS-SAMR]
//! 3.2.2.4, password buffers and the legacy RC4/DES pieces.

mod types;
pub use types::{
    EncryptedNtOwfPassword, EncryptedPasswordAes, EncryptedUserPassword, EncryptedUserPasswordNew,
};
