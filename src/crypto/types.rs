//! The encrypted password structures SAMR carries on the wire. These hold ciphertext and MACs
//! only (no secrets); `crate::samr` marshals them, this module produces them.

/// `SAMPR_ENCRYPTED_PASSWORD_AES` ([MS-SAMR] 2.2.6.32): the AEAD output for opnum 73 and
/// SamrSetInformationUser2 levels 31/32.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedPasswordAes {
    /// HMAC-SHA512 tag over `0x01 ‖ salt ‖ cipher ‖ 0x01` (64 bytes, not truncated).
    pub auth_data: [u8; 64],
    /// Random salt: the PBKDF2 salt (opnum 73) and the AES-CBC IV.
    pub salt: [u8; 16],
    /// AES-256-CBC ciphertext of the padded 514-byte plaintext (528 bytes normally).
    pub cipher: Vec<u8>,
    /// PBKDF2 iterations (5,000..=1,000,000 for opnum 73; 0 for levels 31/32).
    pub pbkdf2_iterations: u64,
}

/// `SAMPR_ENCRYPTED_USER_PASSWORD` ([MS-SAMR] 2.2.6.21): RC4 of the 516-byte buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedUserPassword(pub [u8; 516]);

/// `SAMPR_ENCRYPTED_USER_PASSWORD_NEW` ([MS-SAMR] 2.2.6.22): RC4 of the 516-byte buffer keyed
/// by MD5(clear salt ‖ session key), followed by the 16-byte clear salt (532 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedUserPasswordNew(pub [u8; 532]);

/// `ENCRYPTED_NT_OWF_PASSWORD` ([MS-SAMR] 2.2.7.3): one NT hash DES-encrypted with another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedNtOwfPassword(pub [u8; 16]);
