//! SMB 3.x key derivation (SP800-108 counter-mode KDF with HMAC-SHA256) and the 3.1.1
//! pre-authentication integrity hash ([MS-SMB2] 3.1.4.2, 3.2.5.2, 3.2.5.3.1; protocol notes
//! 5.3, 5.4).

use super::{Cipher, Dialect, SigningAlgorithm};
use crate::secret::{Key16, Key32, SessionKey};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

type HmacSha256 = Hmac<Sha256>;

/// SP800-108 KDF in counter mode with HMAC-SHA256, one iteration per 32 output bytes:
/// `HMAC(Ki, u32_BE(i) || label || 0x00 || context || u32_BE(L))`. `label` and `context`
/// include their own trailing NUL where the spec says so. `out.len()` must be 16 or 32.
pub fn kdf(ki: &[u8], label: &[u8], context: &[u8], out: &mut [u8]) {
    let l_bits = (out.len() as u32).saturating_mul(8);
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        let Ok(mut mac) = HmacSha256::new_from_slice(ki) else { return };
        mac.update(&(i as u32 + 1).to_be_bytes());
        mac.update(label);
        mac.update(&[0]);
        mac.update(context);
        mac.update(&l_bits.to_be_bytes());
        let full = mac.finalize().into_bytes();
        let n = chunk.len();
        chunk.copy_from_slice(&full[..n]);
    }
}

fn kdf16(ki: &[u8], label: &[u8], context: &[u8]) -> Key16 {
    let mut k = Key16::new([0; 16]);
    kdf(ki, label, context, k.expose_mut());
    k
}

fn kdf32(ki: &[u8], label: &[u8], context: &[u8]) -> Key32 {
    let mut k = Key32::new([0; 32]);
    kdf(ki, label, context, k.expose_mut());
    k
}

/// The 3.1.1 pre-authentication integrity hash value (SHA-512 chain, 64 bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct PreauthHash(pub [u8; 64]);

impl core::fmt::Debug for PreauthHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PreauthHash(..)")
    }
}

impl Default for PreauthHash {
    fn default() -> Self {
        Self([0; 64])
    }
}

impl PreauthHash {
    /// `H = SHA512(H || message)` where `message` is a whole SMB2 message (no TCP header).
    pub fn update(&mut self, message: &[u8]) {
        let mut d = Sha512::new();
        d.update(self.0);
        d.update(message);
        self.0.copy_from_slice(&d.finalize());
    }
}

/// A symmetric cipher key for SMB3 encryption: 128 or 256 bits depending on the cipher.
#[derive(Clone, Debug)]
pub enum CipherKey {
    /// AES-128 key.
    Aes128(Key16),
    /// AES-256 key.
    Aes256(Key32),
}

impl CipherKey {
    /// The raw key bytes.
    pub fn expose(&self) -> &[u8] {
        match self {
            Self::Aes128(k) => k.expose(),
            Self::Aes256(k) => k.expose(),
        }
    }
}

/// The keys of an established SMB2 session.
#[derive(Clone, Debug)]
pub struct SessionKeys {
    /// The signing key (2.x: the session key itself).
    pub signing: Key16,
    /// Client→server cipher key (3.x only).
    pub encryption: Option<CipherKey>,
    /// Server→client cipher key (3.x only).
    pub decryption: Option<CipherKey>,
    /// The ApplicationKey (2.x: the session key) that SAMR password-set levels use.
    pub application: SessionKey,
}

/// Derive the session's keys from `Session.SessionKey` for `dialect`. `preauth` is the final
/// session preauth hash (3.1.1 only) and `cipher` the negotiated cipher, if any (3.0/3.0.2
/// always AES-128-CCM).
pub fn derive_session_keys(
    session_key: &SessionKey,
    dialect: Dialect,
    preauth: Option<&PreauthHash>,
    cipher: Option<Cipher>,
) -> SessionKeys {
    let ki = session_key.expose();
    // [MS-SMB2] 3.2.5.3.1: the AES-256 cipher keys come from Session.FullSessionKey (the
    // whole Kerberos key); everything else from the 16-byte Session.SessionKey.
    let full = session_key.full_key();
    if !dialect.is_smb3() {
        return SessionKeys {
            signing: Key16::new(*ki),
            encryption: None,
            decryption: None,
            application: SessionKey::new(*ki),
        };
    }
    let cipher_key = |label: &[u8], ctx: &[u8]| match cipher {
        Some(c) if c.is_256() => Some(CipherKey::Aes256(kdf32(full, label, ctx))),
        Some(_) => Some(CipherKey::Aes128(kdf16(ki, label, ctx))),
        None => None,
    };
    match (dialect >= Dialect::SMB311, preauth) {
        (true, Some(h)) => {
            let ctx = &h.0[..];
            let app = kdf16(ki, b"SMBAppKey\0", ctx);
            SessionKeys {
                signing: kdf16(ki, b"SMBSigningKey\0", ctx),
                encryption: cipher_key(b"SMBC2SCipherKey\0", ctx),
                decryption: cipher_key(b"SMBS2CCipherKey\0", ctx),
                application: SessionKey::new(*app.expose()),
            }
        }
        _ => {
            let app = kdf16(ki, b"SMB2APP\0", b"SmbRpc\0");
            SessionKeys {
                signing: kdf16(ki, b"SMB2AESCMAC\0", b"SmbSign\0"),
                encryption: cipher_key(b"SMB2AESCCM\0", b"ServerIn \0"),
                decryption: cipher_key(b"SMB2AESCCM\0", b"ServerOut\0"),
                application: SessionKey::new(*app.expose()),
            }
        }
    }
}

/// The default signing algorithm for a dialect when none was negotiated.
pub const fn default_signing(dialect: Dialect) -> SigningAlgorithm {
    if dialect.is_smb3() { SigningAlgorithm::AesCmac } else { SigningAlgorithm::HmacSha256 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb2::test_util::h;

    fn sk(hex: &str) -> SessionKey {
        SessionKey::from_slice(&h(hex)).unwrap()
    }

    /// Protocol notes 7.9, SMB 3.0 keys from the MS blog "SMB 2 and SMB 3 security in
    /// Windows 10: the anatomy of signing and cryptographic keys", appendix.
    #[test]
    fn smb30_key_vectors() {
        let k = derive_session_keys(
            &sk("7CD451825D0450D235424E44BA6E78CC"),
            Dialect::SMB300,
            None,
            Some(Cipher::Aes128Ccm),
        );
        assert_eq!(k.signing.expose()[..], h("0B7E9C5CAC36C0F6EA9AB275298CEDCE")[..]);
        assert_eq!(k.encryption.unwrap().expose(), &h("FAD27796665B313EBB578F388632B4F7")[..]);
        assert_eq!(k.decryption.unwrap().expose(), &h("B0F0427F7CEB416D1D9DCC0CD4F99447")[..]);
        assert_eq!(k.application.expose()[..], h("BB23A4575AA26C721AF525AF15A87B4F")[..]);
    }

    /// Protocol notes 7.9, SMB 3.1.1 keys (MS blog appendix), AES-128-GCM.
    #[test]
    fn smb311_key_vectors() {
        let mut ph = PreauthHash::default();
        ph.0.copy_from_slice(&h("0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB79
             28622DDDAD522D9751640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01"));
        let k = derive_session_keys(
            &sk("270E1BA896585EEB7AF3472D3B4C75A7"),
            Dialect::SMB311,
            Some(&ph),
            Some(Cipher::Aes128Gcm),
        );
        assert_eq!(k.signing.expose()[..], h("73FE7A9A77BEF0BDE49C650D8CCB5F76")[..]);
        assert_eq!(k.encryption.unwrap().expose(), &h("629BCBC54422A0F572B97F45989B6073")[..]);
        assert_eq!(k.decryption.unwrap().expose(), &h("E2AF0DCEFAC68DA71A0DFBD0D1350D74")[..]);
        assert_eq!(k.application.expose()[..], h("6D7AD7954E9EC61E907B4D473DC178FF")[..]);
    }

    #[test]
    fn smb2_keys_are_the_session_key() {
        let k = derive_session_keys(
            &sk("000102030405060708090A0B0C0D0E0F"),
            Dialect::SMB210,
            None,
            None,
        );
        assert_eq!(k.signing.expose()[..], h("000102030405060708090A0B0C0D0E0F")[..]);
        assert_eq!(k.application.expose()[..], h("000102030405060708090A0B0C0D0E0F")[..]);
        assert!(k.encryption.is_none());
    }

    #[test]
    fn aes256_keys_are_32_bytes_and_extend_the_128_bit_output_differently() {
        let k = derive_session_keys(
            &sk("7CD451825D0450D235424E44BA6E78CC"),
            Dialect::SMB311,
            Some(&PreauthHash::default()),
            Some(Cipher::Aes256Gcm),
        );
        assert_eq!(k.encryption.as_ref().unwrap().expose().len(), 32);
        // L is part of the PRF input, so the first 16 bytes differ from the L=128 key.
        let k128 = derive_session_keys(
            &sk("7CD451825D0450D235424E44BA6E78CC"),
            Dialect::SMB311,
            Some(&PreauthHash::default()),
            Some(Cipher::Aes128Gcm),
        );
        assert_ne!(&k.encryption.unwrap().expose()[..16], k128.encryption.unwrap().expose());
    }

    /// [MS-SMB2] 3.2.5.3.1: with a 32-byte Kerberos key, AES-256 cipher keys derive from the
    /// full key while signing and application keys derive from its first 16 bytes; AES-128
    /// ciphers ignore the full key.
    #[test]
    fn full_session_key_feeds_only_aes256_cipher_keys() {
        let k: Vec<u8> = (0u8..32).collect();
        let full = SessionKey::from_full_key(&k).unwrap();
        let short = SessionKey::from_slice(&k[..16]).unwrap();
        let ph = PreauthHash::default();
        let a = derive_session_keys(&full, Dialect::SMB311, Some(&ph), Some(Cipher::Aes256Gcm));
        let b = derive_session_keys(&short, Dialect::SMB311, Some(&ph), Some(Cipher::Aes256Gcm));
        assert_eq!(a.signing, b.signing);
        assert_eq!(a.application, b.application);
        assert_ne!(
            a.encryption.as_ref().unwrap().expose(),
            b.encryption.as_ref().unwrap().expose()
        );
        let mut want = [0u8; 32];
        kdf(&k, b"SMBC2SCipherKey\0", &ph.0, &mut want);
        assert_eq!(a.encryption.unwrap().expose(), &want[..]);
        let mut want = [0u8; 32];
        kdf(&k, b"SMBS2CCipherKey\0", &ph.0, &mut want);
        assert_eq!(a.decryption.unwrap().expose(), &want[..]);
        let c = derive_session_keys(&full, Dialect::SMB311, Some(&ph), Some(Cipher::Aes128Gcm));
        let d = derive_session_keys(&short, Dialect::SMB311, Some(&ph), Some(Cipher::Aes128Gcm));
        assert_eq!(c.encryption.unwrap().expose(), d.encryption.unwrap().expose());
    }

    #[test]
    fn preauth_chain_starts_from_zero() {
        let mut a = PreauthHash::default();
        a.update(b"x");
        let mut d = Sha512::new();
        d.update([0u8; 64]);
        d.update(b"x");
        assert_eq!(a.0[..], d.finalize()[..]);
    }
}
