//! Kerberos cryptography: the AES etypes 17 and 18 ([RFC 3961] simplified profile, [RFC 3962])
//! and RC4-HMAC, etype 23 ([RFC 4757]).
//!
//! Everything goes through [`KerberosKey`]: build one from a password and salt
//! ([`KerberosKey::from_password`], the AES string-to-key is PBKDF2 and takes milliseconds:
//! call it off any async executor), from an NT hash ([`KerberosKey::from_nt_hash`], RC4 only),
//! from raw bytes ([`KerberosKey::new`], e.g. a session key from a ticket), or at random
//! ([`KerberosKey::random`], e.g. an authenticator subkey). Then [`KerberosKey::encrypt`] /
//! [`KerberosKey::decrypt`] with a key usage number ([RFC 4120] §7.5.1) and
//! [`KerberosKey::checksum`] / [`KerberosKey::verify_checksum`].
//!
//! Decryption checks the integrity MAC in constant time before any plaintext is returned;
//! every length is checked, so no input makes these functions panic.
//!
//! [RFC 3961]: https://www.rfc-editor.org/rfc/rfc3961
//! [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
//! [RFC 4120]: https://www.rfc-editor.org/rfc/rfc4120
//! [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757

// The building blocks (n-fold, DR/DK, AES-CTS, the RC4-HMAC primitives) are visible to the
// crate for known-answer tests and fuzzing: `aes::{aes_cts_encrypt, aes_cts_decrypt, dr, dk}`,
// `nfold::nfold`.
pub(crate) mod aes;
pub(crate) mod nfold;
pub(crate) mod rc4_hmac;

#[cfg(test)]
mod tests;

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::rng::SecureRandom;
use crate::secret::{NtHash, Password};

pub use self::aes::{DEFAULT_ITERATIONS, MAX_ITERATIONS};

/// Checksum type 15, hmac-sha1-96-aes128 ([RFC 3962] §7).
///
/// [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
pub const CKSUMTYPE_HMAC_SHA1_96_AES128: i32 = 15;
/// Checksum type 16, hmac-sha1-96-aes256 ([RFC 3962] §7).
///
/// [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
pub const CKSUMTYPE_HMAC_SHA1_96_AES256: i32 = 16;
/// Checksum type -138, HMAC-MD5 for RC4-HMAC keys ([RFC 4757] §4).
///
/// [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757
pub const CKSUMTYPE_HMAC_MD5: i32 = -138;

/// An encryption type ([RFC 3961] §8, [RFC 3962], [RFC 4757]). Only the etypes samrpc
/// implements are listed; [`Etype::from_number`] answers `None` for the others.
///
/// [RFC 3961]: https://www.rfc-editor.org/rfc/rfc3961
/// [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
/// [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Etype {
    /// aes128-cts-hmac-sha1-96, etype 17.
    Aes128CtsHmacSha196,
    /// aes256-cts-hmac-sha1-96, etype 18.
    Aes256CtsHmacSha196,
    /// rc4-hmac (arcfour-hmac-md5), etype 23: the key is the NT hash.
    Rc4Hmac,
}

impl Etype {
    /// Every supported etype, strongest first (the order to offer them in).
    pub const ALL: [Etype; 3] =
        [Etype::Aes256CtsHmacSha196, Etype::Aes128CtsHmacSha196, Etype::Rc4Hmac];

    /// The etype number: 17, 18 or 23.
    pub const fn number(self) -> i32 {
        match self {
            Etype::Aes128CtsHmacSha196 => 17,
            Etype::Aes256CtsHmacSha196 => 18,
            Etype::Rc4Hmac => 23,
        }
    }

    /// The etype for a number, if samrpc implements it.
    pub const fn from_number(n: i32) -> Option<Etype> {
        match n {
            17 => Some(Etype::Aes128CtsHmacSha196),
            18 => Some(Etype::Aes256CtsHmacSha196),
            23 => Some(Etype::Rc4Hmac),
            _ => None,
        }
    }

    /// The key length in bytes: 16, 32 or 16.
    pub const fn key_len(self) -> usize {
        match self {
            Etype::Aes128CtsHmacSha196 => 16,
            Etype::Aes256CtsHmacSha196 => 32,
            Etype::Rc4Hmac => 16,
        }
    }

    /// The mandatory keyed checksum type: 15, 16 or -138.
    pub const fn checksum_type(self) -> i32 {
        match self {
            Etype::Aes128CtsHmacSha196 => CKSUMTYPE_HMAC_SHA1_96_AES128,
            Etype::Aes256CtsHmacSha196 => CKSUMTYPE_HMAC_SHA1_96_AES256,
            Etype::Rc4Hmac => CKSUMTYPE_HMAC_MD5,
        }
    }

    /// The checksum length in bytes: 12 for the AES types, 16 for HMAC-MD5.
    pub const fn checksum_len(self) -> usize {
        match self {
            Etype::Aes128CtsHmacSha196 | Etype::Aes256CtsHmacSha196 => aes::MAC_LEN,
            Etype::Rc4Hmac => rc4_hmac::MAC_LEN,
        }
    }

    /// The bytes encryption adds to a plaintext: confounder plus MAC (16 + 12 for AES, 16 + 8
    /// for RC4-HMAC).
    pub const fn overhead(self) -> usize {
        match self {
            Etype::Aes128CtsHmacSha196 | Etype::Aes256CtsHmacSha196 => aes::BLOCK + aes::MAC_LEN,
            Etype::Rc4Hmac => rc4_hmac::MAC_LEN + rc4_hmac::CONFOUNDER,
        }
    }

    /// The name MIT krb5 uses: `aes256-cts-hmac-sha1-96`, `aes128-cts-hmac-sha1-96`,
    /// `rc4-hmac`.
    pub const fn name(self) -> &'static str {
        match self {
            Etype::Aes128CtsHmacSha196 => "aes128-cts-hmac-sha1-96",
            Etype::Aes256CtsHmacSha196 => "aes256-cts-hmac-sha1-96",
            Etype::Rc4Hmac => "rc4-hmac",
        }
    }

    pub(crate) const fn is_aes(self) -> bool {
        matches!(self, Etype::Aes128CtsHmacSha196 | Etype::Aes256CtsHmacSha196)
    }
}

impl fmt::Display for Etype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a Kerberos crypto operation failed. Never carries key or plaintext bytes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KrbCryptoError {
    /// The etype number is not one samrpc implements (17, 18, 23).
    #[error("unsupported Kerberos encryption type {0}")]
    UnsupportedEtype(i32),
    /// Key bytes of the wrong length for the etype.
    #[error("Kerberos key of {actual} bytes where {expected} are needed")]
    BadKeyLength {
        /// The etype's key length.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The integrity check (HMAC) of a ciphertext or checksum failed: wrong key, wrong key
    /// usage, or tampered data.
    #[error("Kerberos integrity check failed")]
    IntegrityCheckFailed,
    /// A ciphertext shorter than the etype's confounder plus MAC.
    #[error("Kerberos ciphertext too short")]
    CiphertextTooShort,
    /// String-to-key parameters that are not a 4-byte iteration count in 1..=10,000,000.
    #[error("bad string-to-key parameters")]
    BadS2kParams,
    /// A checksum type that does not go with this key's etype (or is not implemented).
    #[error("checksum type {cksumtype} cannot be used with a {etype} key")]
    ChecksumTypeMismatch {
        /// The checksum type asked for.
        cksumtype: i32,
        /// The key's etype.
        etype: Etype,
    },
    /// An internal derivation constant could not be folded (never happens with the
    /// constants this module uses).
    #[error("bad key-derivation constant")]
    BadConstant,
}

/// A Kerberos protocol key: a long-term key, a session key or a subkey, with its etype.
///
/// The bytes are zeroized on drop and never printed: `Debug` shows
/// `KerberosKey(aes256-cts-hmac-sha1-96, ..)`. Equality is constant-time.
#[derive(Clone)]
pub struct KerberosKey {
    etype: Etype,
    bytes: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for KerberosKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KerberosKey({}, ..)", self.etype.name())
    }
}

impl PartialEq for KerberosKey {
    fn eq(&self, other: &Self) -> bool {
        self.etype == other.etype
            && self.bytes.len() == other.bytes.len()
            && bool::from(self.bytes.ct_eq(&other.bytes))
    }
}
impl Eq for KerberosKey {}

impl KerberosKey {
    /// A key from raw bytes, which must be exactly [`Etype::key_len`] long.
    pub fn new(etype: Etype, bytes: &[u8]) -> Result<KerberosKey, KrbCryptoError> {
        if bytes.len() != etype.key_len() {
            return Err(KrbCryptoError::BadKeyLength {
                expected: etype.key_len(),
                actual: bytes.len(),
            });
        }
        Ok(KerberosKey { etype, bytes: Zeroizing::new(bytes.to_vec()) })
    }

    /// A key from an etype number and raw bytes (e.g. an `EncryptionKey` from a KDC reply).
    pub fn from_number(etype: i32, bytes: &[u8]) -> Result<KerberosKey, KrbCryptoError> {
        let e = Etype::from_number(etype).ok_or(KrbCryptoError::UnsupportedEtype(etype))?;
        KerberosKey::new(e, bytes)
    }

    /// The long-term key for a password.
    ///
    /// AES ([RFC 3962] §4): PBKDF2-HMAC-SHA1 over the UTF-8 password and `salt` (normally
    /// the realm followed by the principal's name components, or the salt from ETYPE-INFO2),
    /// then DK(tkey, "kerberos"). `s2kparams` is the 4-byte big-endian iteration count; `None`
    /// means 4,096; 0 and counts above [`MAX_ITERATIONS`] are refused with
    /// [`KrbCryptoError::BadS2kParams`]. This runs thousands of SHA-1 compressions: call it
    /// from a blocking thread in async code.
    ///
    /// RC4-HMAC ([RFC 4757] §2): the NT hash of the password; salt and parameters are ignored.
    ///
    /// [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
    /// [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757
    pub fn from_password(
        etype: Etype,
        password: &Password,
        salt: &[u8],
        s2kparams: Option<&[u8]>,
    ) -> Result<KerberosKey, KrbCryptoError> {
        match etype {
            Etype::Aes128CtsHmacSha196 | Etype::Aes256CtsHmacSha196 => {
                let iterations = aes::iterations(s2kparams)?;
                let bytes = aes::string_to_key(
                    password.expose().as_bytes(),
                    salt,
                    iterations,
                    etype.key_len(),
                )?;
                Ok(KerberosKey { etype, bytes })
            }
            Etype::Rc4Hmac => {
                Ok(KerberosKey::from_nt_hash(&crate::auth::ntlm::crypto::nt_hash(password)))
            }
        }
    }

    /// The RC4-HMAC (etype 23) key for an NT hash ([RFC 4757] §2: the key is the hash).
    ///
    /// [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757
    pub fn from_nt_hash(hash: &NtHash) -> KerberosKey {
        KerberosKey { etype: Etype::Rc4Hmac, bytes: Zeroizing::new(hash.expose().to_vec()) }
    }

    /// A fresh random key (random-to-key is the identity for all three etypes).
    pub fn random(etype: Etype, rng: &mut dyn SecureRandom) -> KerberosKey {
        let mut bytes = Zeroizing::new(vec![0u8; etype.key_len()]);
        rng.fill(&mut bytes);
        KerberosKey { etype, bytes }
    }

    /// The key's etype.
    pub fn etype(&self) -> Etype {
        self.etype
    }

    /// The raw key bytes (e.g. to put into an `EncryptionKey` or derive an SMB session key).
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// Encrypt `plaintext` for key usage `usage` ([RFC 4120] §7.5.1) with a random confounder:
    /// the [RFC 3961] §5.3 simplified profile for AES (Ke/Ki derived from the usage), [RFC 4757]
    /// for RC4-HMAC (with its usage-number mapping: 3 and 9 become 8, 23 becomes 13).
    ///
    /// [RFC 3961]: https://www.rfc-editor.org/rfc/rfc3961
    /// [RFC 4120]: https://www.rfc-editor.org/rfc/rfc4120
    /// [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757
    pub fn encrypt(&self, usage: u32, plaintext: &[u8], rng: &mut dyn SecureRandom) -> Vec<u8> {
        if self.etype.is_aes() {
            // The key length was checked when the key was built and the confounder makes
            // every input at least one block, so the AES path cannot fail.
            aes::encrypt(&self.bytes, usage, plaintext, rng).unwrap_or_default()
        } else {
            rc4_hmac::encrypt(&self.bytes, usage, plaintext, rng)
        }
    }

    /// Decrypt a ciphertext made for key usage `usage`. The integrity MAC is checked in
    /// constant time before any plaintext is returned; a wrong key, wrong usage or tampered
    /// ciphertext gives [`KrbCryptoError::IntegrityCheckFailed`], a truncated one
    /// [`KrbCryptoError::CiphertextTooShort`].
    pub fn decrypt(
        &self,
        usage: u32,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KrbCryptoError> {
        if self.etype.is_aes() {
            aes::decrypt(&self.bytes, usage, ciphertext)
        } else {
            rc4_hmac::decrypt(&self.bytes, usage, ciphertext)
        }
    }

    /// The keyed checksum of `data` for key usage `usage`, with this key's mandatory checksum
    /// type ([`Etype::checksum_type`]): HMAC-SHA1-96 with Kc for AES, HMAC-MD5 (-138) for
    /// RC4-HMAC.
    pub fn checksum(&self, usage: u32, data: &[u8]) -> Vec<u8> {
        if self.etype.is_aes() {
            // Cannot fail: the key length is an invariant of the type.
            aes::checksum(&self.bytes, usage, data).map(|c| c.to_vec()).unwrap_or_default()
        } else {
            rc4_hmac::checksum(&self.bytes, usage, data).to_vec()
        }
    }

    /// Verify a checksum of type `cksumtype` over `data`, in constant time. The type must be
    /// this key's mandatory type (15 for AES-128, 16 for AES-256, -138 for RC4-HMAC).
    pub fn verify_checksum(
        &self,
        usage: u32,
        cksumtype: i32,
        data: &[u8],
        checksum: &[u8],
    ) -> Result<(), KrbCryptoError> {
        if cksumtype != self.etype.checksum_type() {
            return Err(KrbCryptoError::ChecksumTypeMismatch { cksumtype, etype: self.etype });
        }
        let want = self.checksum(usage, data);
        if want.len() == checksum.len() && !want.is_empty() && bool::from(want.ct_eq(checksum)) {
            Ok(())
        } else {
            Err(KrbCryptoError::IntegrityCheckFailed)
        }
    }
}
