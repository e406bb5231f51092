//! The SAMR AES AEAD: AES-256-CBC + HMAC-SHA512 ([MS-SAMR] 3.2.2.4, 2.2.6.32; protocol notes
//! 1.4), used by SamrUnicodeChangePasswordUser4 (opnum 73, CEK from PBKDF2) and by
//! SamrSetInformationUser2 levels 31/32 (CEK = the SMB session/application key).
//!
//! ```text
//! EncKey   = HMAC-SHA512(CEK, "Microsoft SAM encryption key AEAD-AES-256-CBC-HMAC-SHA512 16\0")[..32]
//! MacKey   = HMAC-SHA512(CEK, "Microsoft SAM MAC key AEAD-AES-256-CBC-HMAC-SHA512 16\0")
//! Cipher   = AES-256-CBC(EncKey, IV = Salt, PKCS#7(plaintext))
//! AuthData = HMAC-SHA512(MacKey, 0x01 ‖ Salt ‖ Cipher ‖ 0x01)          (64 bytes)
//! ```
//!
//! The MAC input order is the one Windows uses (vector 7.1), not the order in the spec prose.

use aes::Aes256;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, generic_array::GenericArray};

use super::password_buffer::UserPasswordAes;
use super::sha512::HmacSha512Key;
use super::{CryptoError, EncryptedPasswordAes, derive_cek, derive_cek_cancellable};
use crate::rng::{SecureRandom, SecureRandomExt};
use crate::secret::{Key16, Key32, Key64, NtHash, Password, SecretBytes, SessionKey, ct_eq};
use core::sync::atomic::AtomicBool;

/// The label for the AES-256 encryption sub-key, including its terminating NUL (61 bytes).
pub const ENC_KEY_LABEL: &[u8; 61] =
    b"Microsoft SAM encryption key AEAD-AES-256-CBC-HMAC-SHA512 16\0";
/// The label for the HMAC-SHA512 MAC sub-key, including its terminating NUL (54 bytes).
pub const MAC_KEY_LABEL: &[u8; 54] = b"Microsoft SAM MAC key AEAD-AES-256-CBC-HMAC-SHA512 16\0";

/// The AEAD "version byte" and "version byte length" that bracket the MAC input.
const VERSION: u8 = 0x01;
/// AES block size.
const AES_BLOCK: usize = 16;

/// Derive `(EncKey, MacKey)` from a 16-byte CEK (protocol notes 1.4 step 2).
pub fn derive_aead_keys(cek: &Key16) -> (Key32, Key64) {
    let k = HmacSha512Key::new(cek.expose());
    let enc_full = k.mac(&[ENC_KEY_LABEL]);
    let mac_full = k.mac(&[MAC_KEY_LABEL]);
    let mut enc = Key32::new([0; 32]);
    enc.expose_mut().copy_from_slice(&enc_full[..32]);
    let mac = Key64::new(*mac_full);
    (enc, mac)
}

fn tag(mac_key: &Key64, salt: &[u8; 16], cipher: &[u8]) -> [u8; 64] {
    let t = HmacSha512Key::new(mac_key.expose()).mac(&[&[VERSION], salt, cipher, &[VERSION]]);
    *t
}

/// Encrypt and authenticate `plaintext` under `cek`, with `salt` as the CBC IV. Returns
/// `(auth_data, cipher)`; a 514-byte plaintext gives a 528-byte cipher.
pub fn seal(cek: &Key16, salt: [u8; 16], plaintext: &[u8]) -> ([u8; 64], Vec<u8>) {
    let (enc_key, mac_key) = derive_aead_keys(cek);
    let pad = AES_BLOCK - plaintext.len() % AES_BLOCK;
    let mut buf = Vec::with_capacity(plaintext.len() + pad);
    buf.extend_from_slice(plaintext);
    // pad is 1..=16, so it fits in a byte.
    buf.resize(plaintext.len() + pad, pad as u8);
    let mut enc = cbc::Encryptor::<Aes256>::new(
        GenericArray::from_slice(enc_key.expose()),
        GenericArray::from_slice(&salt),
    );
    for block in buf.chunks_exact_mut(AES_BLOCK) {
        enc.encrypt_block_mut(GenericArray::from_mut_slice(block));
    }
    let auth_data = tag(&mac_key, &salt, &buf);
    (auth_data, buf)
}

/// Verify (in constant time, before decrypting) and decrypt `enc` under `cek`; return the
/// unpadded plaintext. The `pbkdf2_iterations` field is not looked at here.
pub fn open(cek: &Key16, enc: &EncryptedPasswordAes) -> Result<SecretBytes, CryptoError> {
    let len = enc.cipher.len();
    if len == 0 || len % AES_BLOCK != 0 {
        return Err(CryptoError::BadCipherLength { len });
    }
    let (enc_key, mac_key) = derive_aead_keys(cek);
    let expect = tag(&mac_key, &enc.salt, &enc.cipher);
    if !ct_eq(&expect, &enc.auth_data) {
        return Err(CryptoError::AuthenticationFailed);
    }
    let mut out = SecretBytes::new(enc.cipher.clone());
    let mut dec = cbc::Decryptor::<Aes256>::new(
        GenericArray::from_slice(enc_key.expose()),
        GenericArray::from_slice(&enc.salt),
    );
    let buf = out.expose_mut();
    for block in buf.chunks_exact_mut(AES_BLOCK) {
        dec.decrypt_block_mut(GenericArray::from_mut_slice(block));
    }
    let pad = usize::from(*buf.last().ok_or(CryptoError::BadPadding)?);
    if pad == 0 || pad > AES_BLOCK || buf[len - pad..].iter().any(|&b| usize::from(b) != pad) {
        return Err(CryptoError::BadPadding);
    }
    buf.truncate(len - pad);
    Ok(out)
}

/// Seal the 514-byte buffer of `new` under `cek`, drawing the salt and then the buffer fill
/// from `rng`.
fn seal_password(
    cek_for: impl FnOnce(&[u8; 16]) -> Result<Key16, CryptoError>,
    new: &Password,
    pbkdf2_iterations: u64,
    rng: &mut dyn SecureRandom,
) -> Result<EncryptedPasswordAes, CryptoError> {
    let salt: [u8; 16] = rng.array();
    let plain = UserPasswordAes::encode(new, rng)?;
    let cek = cek_for(&salt)?;
    let (auth_data, cipher) = seal(&cek, salt, plain.expose());
    Ok(EncryptedPasswordAes { auth_data, salt, cipher, pbkdf2_iterations })
}

/// Encrypt `new` for SamrUnicodeChangePasswordUser4 (opnum 73): a random 16-byte salt (drawn
/// first from `rng`, then the 514-byte buffer's fill), CEK = PBKDF2-HMAC-SHA512 of the old NT
/// hash with `iterations` (5,000..=1,000,000).
pub fn encrypt_password_change_aes(
    old: &NtHash,
    new: &Password,
    iterations: u64,
    rng: &mut dyn SecureRandom,
) -> Result<EncryptedPasswordAes, CryptoError> {
    super::kdf::check_iterations(iterations)?;
    seal_password(|salt| derive_cek(old, salt, iterations), new, iterations, rng)
}

/// [`encrypt_password_change_aes`] whose PBKDF2 stops with [`CryptoError::Cancelled`] at the
/// next check of `cancel` once it is set (see
/// [`derive_cek_cancellable`](super::derive_cek_cancellable)).
pub fn encrypt_password_change_aes_cancellable(
    old: &NtHash,
    new: &Password,
    iterations: u64,
    rng: &mut dyn SecureRandom,
    cancel: &AtomicBool,
) -> Result<EncryptedPasswordAes, CryptoError> {
    super::kdf::check_iterations(iterations)?;
    seal_password(
        |salt| derive_cek_cancellable(old, salt, iterations, cancel),
        new,
        iterations,
        rng,
    )
}

/// Encrypt `new` for SamrSetInformationUser2 levels 31/32: CEK = `session_key` as given (the
/// SMB `Session.SessionKey` on 2.x, the `ApplicationKey` on 3.x; protocol notes 2.1), no PBKDF2,
/// `pbkdf2_iterations` = 0. The salt is drawn first from `rng`, then the buffer fill.
pub fn encrypt_password_set_aes(
    session_key: &SessionKey,
    new: &Password,
    rng: &mut dyn SecureRandom,
) -> Result<EncryptedPasswordAes, CryptoError> {
    seal_password(|_| Ok(Key16::new(*session_key.expose())), new, 0, rng)
}

/// Verify, decrypt and parse `enc` under an explicit CEK, returning the password.
pub fn decrypt_password_aes(
    cek: &Key16,
    enc: &EncryptedPasswordAes,
) -> Result<Password, CryptoError> {
    let plain = open(cek, enc)?;
    UserPasswordAes::from_slice(plain.expose())
        .ok_or(CryptoError::MalformedPasswordBuffer)?
        .password()
}

/// The receiving side of [`encrypt_password_change_aes`]: derive the CEK from the old NT hash
/// and `enc.pbkdf2_iterations` (which must be in range), then decrypt.
pub fn decrypt_password_change_aes(
    old: &NtHash,
    enc: &EncryptedPasswordAes,
) -> Result<Password, CryptoError> {
    let cek = derive_cek(old, &enc.salt, enc.pbkdf2_iterations)?;
    decrypt_password_aes(&cek, enc)
}

/// The receiving side of [`encrypt_password_set_aes`] (the iteration field is ignored, as
/// servers do).
pub fn decrypt_password_set_aes(
    session_key: &SessionKey,
    enc: &EncryptedPasswordAes,
) -> Result<Password, CryptoError> {
    decrypt_password_aes(&Key16::new(*session_key.expose()), enc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::password_buffer::tests::v72;
    use crate::rng::{FixedRandom, OsRandom};
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    fn h<const N: usize>(s: &str) -> [u8; N] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    // Protocol notes 7.1 (Samba `lib/crypto/tests/test_gnutls_aead_aes_256_cbc_hmac_sha512.c`,
    // from a Windows Server 2022 trace). CEK is a 16-byte SMB session key (levels 31/32 style).
    const V71_CEK: &str = "9617399ca7549e41c479714ba0895b0a";
    const V71_SALT: &str = "ac9cadcb66ed2d05551318a9a56bf96f";
    const V71_ENC_KEY: &str = "d9b28ba11574f65a73ea82ba993754251b2720aaa3f7d5238f02e6e7215bd2a9";
    const V71_MAC_KEY: &str = concat!(
        "8a04466d5ee62db8329eabbea48b3f6c3c1ca1aab8ec9c43bc4b91356f3ac4e2",
        "629be8126373942a5947fcd8785d6d681b9f35319027c8ab888d80ad7beacdf5"
    );
    const V71_AUTH: &str = concat!(
        "0a7aaf9ec16e0312517604b20117eb04f3dde3a790fdc0ca9631bf309ec5055a",
        "bca8c1ba568f975a4e2a140e4bf36d9a2a6ec35e9d510af6b21beee7f30930c9"
    );
    // Computed in the notes (not published): SHA-256 / first 32 / last 16 bytes of the cipher.
    const V71_CIPHER_SHA256: &str =
        "bb9a8f900d25d1b0ab05ad2b0e35e50fb272f3741e916c3b2c5566d37a7a5bb4";
    const V71_CIPHER_FIRST32: &str =
        "9faac1e740ac09d0c23266f6acbb8ad12225364c68161677b2b140c98c77d126";
    const V71_CIPHER_LAST16: &str = "b723fc57701c20108f973c461ed6b213";

    #[test]
    fn labels_include_nul() {
        assert_eq!(ENC_KEY_LABEL.len(), 61);
        assert_eq!(MAC_KEY_LABEL.len(), 54);
        assert_eq!(ENC_KEY_LABEL.last(), Some(&0));
        assert_eq!(MAC_KEY_LABEL.last(), Some(&0));
    }

    #[test]
    fn vector_7_1_subkeys_cipher_and_auth_data() {
        let cek = Key16::new(h(V71_CEK));
        let (enc, mac) = derive_aead_keys(&cek);
        assert_eq!(hex::encode(enc.expose()), V71_ENC_KEY);
        assert_eq!(hex::encode(mac.expose()), V71_MAC_KEY);

        let (auth, cipher) = seal(&cek, h(V71_SALT), &v72());
        assert_eq!(cipher.len(), 528);
        assert_eq!(hex::encode(Sha256::digest(&cipher)), V71_CIPHER_SHA256);
        assert_eq!(hex::encode(&cipher[..32]), V71_CIPHER_FIRST32);
        assert_eq!(hex::encode(&cipher[512..]), V71_CIPHER_LAST16);
        assert_eq!(hex::encode(auth), V71_AUTH);

        // The same through the levels 31/32 helper with an RNG replaying salt ‖ 7.2 fill.
        let mut pattern = h::<16>(V71_SALT).to_vec();
        pattern.extend_from_slice(&v72()[22..]);
        let mut rng = FixedRandom::new(pattern);
        let sk = SessionKey::new(h(V71_CEK));
        let e = encrypt_password_set_aes(&sk, &Password::from("Pa$$w0rd@2"), &mut rng).unwrap();
        assert_eq!(hex::encode(e.auth_data), V71_AUTH);
        assert_eq!(e.pbkdf2_iterations, 0);
        assert_eq!(decrypt_password_set_aes(&sk, &e).unwrap().expose(), "Pa$$w0rd@2");
    }

    #[test]
    fn vector_7_1_spec_prose_mac_order_does_not_match() {
        // Protocol notes 1.4 pitfall: "Cipher ‖ version byte ‖ version byte length" (the
        // spec prose order) does not reproduce Windows' AuthData.
        let cek = Key16::new(h(V71_CEK));
        let (_, mac) = derive_aead_keys(&cek);
        let (_, cipher) = seal(&cek, h(V71_SALT), &v72());
        let wrong = HmacSha512Key::new(mac.expose()).mac(&[&cipher, &[1], &[1]]);
        assert_ne!(hex::encode(&wrong[..]), V71_AUTH);
    }

    /// Protocol notes 7.3, composite opnum-73 vector (derived in the notes from the 7.3 CEK and
    /// the 7.2 plaintext, not published).
    #[test]
    fn vector_7_3_composite_opnum_73() {
        let salt: [u8; 16] = h("d5be4fd7b685d1eafd3bf42983ce1044");
        let mut pattern = salt.to_vec();
        pattern.extend_from_slice(&v72()[22..]);
        let mut rng = FixedRandom::new(pattern);
        let old = crate::crypto::nt_hash(&Password::from("Pa$$w0rd@3"));
        let e = encrypt_password_change_aes(&old, &Password::from("Pa$$w0rd@2"), 23533, &mut rng)
            .unwrap();
        let cek = derive_cek(&old, &salt, 23533).unwrap();
        let (enc, mac) = derive_aead_keys(&cek);
        assert_eq!(
            hex::encode(enc.expose()),
            "b79507edd5373569c0f2e313fe2a086b1b2327dfaf915cabc89557c816ae7e64"
        );
        assert_eq!(
            hex::encode(mac.expose()),
            concat!(
                "9540fc6dbb63164673ea0cab26ea005a68b2d220603412317a4fd7d09b38d4e6",
                "d1f6cb6cf371999fb40cd546e8d4f57a3ce4498bebd6163136dab415e078d0e1"
            )
        );
        assert_eq!(e.salt, salt);
        assert_eq!(e.pbkdf2_iterations, 23533);
        assert_eq!(e.cipher.len(), 528);
        assert_eq!(
            hex::encode(Sha256::digest(&e.cipher)),
            "e248cee7a7515d511f401ab7a357c327947bacce4445036b2b9d66c7a3173fec"
        );
        assert_eq!(
            hex::encode(&e.cipher[..32]),
            "7720ecbe697acea3f10a3d2e8751a39b2b966885b5db027685a7f7c2df5469c8"
        );
        assert_eq!(
            hex::encode(&e.cipher[496..]),
            "c91ad8ba453bb6a1f7aacc05c3b9d73a1563ae1598058cdfbbb8d4e4f545695e"
        );
        assert_eq!(
            hex::encode(e.auth_data),
            concat!(
                "06b71ed641c2450368fc75b62739e809d2f7e1dd87368c4db5efbb76fb40df18",
                "2fb50773322ab40beba24664b9f4937d267966f0f6a1e97e269d29fa806bb779"
            )
        );
        assert_eq!(decrypt_password_change_aes(&old, &e).unwrap().expose(), "Pa$$w0rd@2");
        // The wrong old password fails the MAC.
        let other = crate::crypto::nt_hash(&Password::from("Pa$$w0rd@4"));
        assert_eq!(
            decrypt_password_change_aes(&other, &e).unwrap_err(),
            CryptoError::AuthenticationFailed
        );
    }

    #[test]
    fn change_rejects_out_of_range_iterations_before_drawing_randomness() {
        let old = NtHash::new([1; 16]);
        let mut rng = FixedRandom::new(vec![0]);
        for bad in [0u64, 4_999, 1_000_001] {
            assert_eq!(
                encrypt_password_change_aes(&old, &Password::from("x"), bad, &mut rng).unwrap_err(),
                CryptoError::IterationsOutOfRange { iterations: bad }
            );
        }
        let e = encrypt_password_set_aes(
            &SessionKey::new([1; 16]),
            &Password::from("x"),
            &mut OsRandom,
        )
        .unwrap();
        // A level-31 blob (iterations 0) cannot be opened as an opnum-73 one.
        assert!(matches!(
            decrypt_password_change_aes(&old, &e),
            Err(CryptoError::IterationsOutOfRange { iterations: 0 })
        ));
    }

    #[test]
    fn open_rejects_bad_lengths_and_padding() {
        let cek = Key16::new([7; 16]);
        for len in [0usize, 1, 15, 17, 527] {
            let e = EncryptedPasswordAes {
                auth_data: [0; 64],
                salt: [0; 16],
                cipher: vec![0; len],
                pbkdf2_iterations: 0,
            };
            assert_eq!(open(&cek, &e).unwrap_err(), CryptoError::BadCipherLength { len });
        }
        // Correctly MACed ciphertexts whose padding is bad: build raw CBC blocks whose last
        // plaintext byte is 0, 17, or inconsistent, then MAC them properly.
        let (enc_key, mac_key) = derive_aead_keys(&cek);
        for last_block in [[0u8; 16], [17u8; 16], {
            let mut b = [2u8; 16];
            b[14] = 3;
            b
        }] {
            let salt = [9u8; 16];
            let mut c = last_block.to_vec();
            let mut e = cbc::Encryptor::<Aes256>::new(
                GenericArray::from_slice(enc_key.expose()),
                GenericArray::from_slice(&salt),
            );
            e.encrypt_block_mut(GenericArray::from_mut_slice(&mut c));
            let auth_data = tag(&mac_key, &salt, &c);
            let blob = EncryptedPasswordAes { auth_data, salt, cipher: c, pbkdf2_iterations: 0 };
            assert_eq!(open(&cek, &blob).unwrap_err(), CryptoError::BadPadding);
        }
        // A full 16-byte pad block is fine.
        let (a, c) = seal(&cek, [3; 16], &[0x41; 16]);
        assert_eq!(c.len(), 32);
        let blob =
            EncryptedPasswordAes { auth_data: a, salt: [3; 16], cipher: c, pbkdf2_iterations: 0 };
        assert_eq!(open(&cek, &blob).unwrap().expose(), &[0x41; 16]);
    }

    #[test]
    fn wrong_size_plaintext_is_not_a_password() {
        let cek = Key16::new([7; 16]);
        let (a, c) = seal(&cek, [3; 16], &[0x02, 0x00, 0x41, 0x00]);
        let blob =
            EncryptedPasswordAes { auth_data: a, salt: [3; 16], cipher: c, pbkdf2_iterations: 0 };
        assert_eq!(
            decrypt_password_aes(&cek, &blob).unwrap_err(),
            CryptoError::MalformedPasswordBuffer
        );
    }

    #[test]
    fn every_single_bit_flip_fails_to_open() {
        let sk = SessionKey::new([0x42; 16]);
        let e =
            encrypt_password_set_aes(&sk, &Password::from("Zürich-2024!"), &mut OsRandom).unwrap();
        let cek = Key16::new([0x42; 16]);
        assert!(open(&cek, &e).is_ok());
        for i in 0..64 * 8 {
            let mut t = e.clone();
            t.auth_data[i / 8] ^= 1 << (i % 8);
            assert_eq!(open(&cek, &t).unwrap_err(), CryptoError::AuthenticationFailed);
        }
        for i in 0..16 * 8 {
            let mut t = e.clone();
            t.salt[i / 8] ^= 1 << (i % 8);
            assert_eq!(open(&cek, &t).unwrap_err(), CryptoError::AuthenticationFailed);
        }
        for i in 0..e.cipher.len() * 8 {
            let mut t = e.clone();
            t.cipher[i / 8] ^= 1 << (i % 8);
            assert_eq!(open(&cek, &t).unwrap_err(), CryptoError::AuthenticationFailed);
        }
    }

    #[test]
    fn debug_of_secret_outputs_leaks_nothing() {
        let old = crate::crypto::nt_hash(&Password::from("Pa$$w0rd@3"));
        let cek = derive_cek(&old, &[0x11; 16], 5_000).unwrap();
        let (enc, mac) = derive_aead_keys(&cek);
        let mut rng = FixedRandom::new(vec![0xc3]);
        let buf = UserPasswordAes::encode(&Password::from("Pa$$w0rd@2"), &mut rng).unwrap();
        let back = decrypt_password_set_aes(
            &SessionKey::new([0x42; 16]),
            &encrypt_password_set_aes(
                &SessionKey::new([0x42; 16]),
                &Password::from("Pa$$w0rd@2"),
                &mut rng,
            )
            .unwrap(),
        )
        .unwrap();
        let all = format!("{old:?} {cek:?} {enc:?} {mac:?} {buf:?} {back:?}");
        assert_eq!(
            all,
            "NtHash(..) Key16(..) Key32(..) Key64(..) UserPasswordAes(..) Password(..)"
        );
        for secret in [&old.expose()[..], &cek.expose()[..], &enc.expose()[..4], &mac.expose()[..4]]
        {
            assert!(!all.contains(&hex::encode(secret)));
        }
    }

    #[test]
    fn errors_do_not_leak() {
        let msg = format!("{}", CryptoError::AuthenticationFailed);
        assert!(!msg.contains("42"));
        let e = CryptoError::PasswordTooLong { utf16_units: 300 };
        assert_eq!(
            e.to_string(),
            "password is 300 UTF-16 code units long; at most 256 fit in the buffer"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]
        #[test]
        fn change_round_trip(
            old in "\\PC{1,20}",
            new in "\\PC{1,128}",
            iterations in 5_000u64..=5_200,
            seed in any::<[u8; 32]>(),
        ) {
            let old = crate::crypto::nt_hash(&Password::from(old.as_str()));
            let mut rng = FixedRandom::new(seed.to_vec());
            let e = encrypt_password_change_aes(&old, &Password::from(new.as_str()), iterations, &mut rng).unwrap();
            prop_assert_eq!(e.cipher.len(), 528);
            prop_assert_eq!(e.pbkdf2_iterations, iterations);
            let back = decrypt_password_change_aes(&old, &e).unwrap();
            prop_assert_eq!(back.expose(), new.as_str());
        }

        #[test]
        fn change_round_trip_non_bmp(
            new in "[a-zA-Z0-9😀-🙏𐀀-𐀍𝄞]{1,128}",
            iterations in 5_000u64..=5_200,
        ) {
            let old = NtHash::new([0x33; 16]);
            let p = Password::from(new.as_str());
            let e = encrypt_password_change_aes(&old, &p, iterations, &mut OsRandom).unwrap();
            prop_assert_eq!(decrypt_password_change_aes(&old, &e).unwrap().expose().to_owned(), new.as_str());
        }

        #[test]
        fn open_seal_arbitrary_plaintext(
            key in any::<[u8; 16]>(),
            salt in any::<[u8; 16]>(),
            plain in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let cek = Key16::new(key);
            let (auth_data, cipher) = seal(&cek, salt, &plain);
            prop_assert_eq!(cipher.len(), (plain.len() / 16 + 1) * 16);
            let e = EncryptedPasswordAes { auth_data, salt, cipher, pbkdf2_iterations: 0 };
            let opened = open(&cek, &e).unwrap();
            prop_assert_eq!(opened.expose(), &plain[..]);
        }

        #[test]
        fn open_never_panics_on_garbage(
            auth_data in any::<[u8; 64]>(),
            salt in any::<[u8; 16]>(),
            cipher in proptest::collection::vec(any::<u8>(), 0..600),
            pbkdf2_iterations in any::<u64>(),
        ) {
            let e = EncryptedPasswordAes { auth_data, salt, cipher, pbkdf2_iterations };
            prop_assert!(open(&Key16::new([1; 16]), &e).is_err());
            prop_assert!(decrypt_password_set_aes(&SessionKey::new([1; 16]), &e).is_err());
        }

        #[test]
        fn set_round_trip_and_bit_flips(
            key in any::<[u8; 16]>(),
            new in "\\PC{1,128}",
            which in 0usize..3,
            bit in any::<usize>(),
        ) {
            let sk = SessionKey::new(key);
            let e = encrypt_password_set_aes(&sk, &Password::from(new.as_str()), &mut OsRandom).unwrap();
            prop_assert_eq!(decrypt_password_set_aes(&sk, &e).unwrap().expose().to_owned(), new.as_str());
            let mut t = e.clone();
            match which {
                0 => { let i = bit % 512; t.auth_data[i / 8] ^= 1 << (i % 8); }
                1 => { let i = bit % 128; t.salt[i / 8] ^= 1 << (i % 8); }
                _ => { let i = bit % (t.cipher.len() * 8); t.cipher[i / 8] ^= 1 << (i % 8); }
            }
            prop_assert_eq!(
                decrypt_password_set_aes(&sk, &t).unwrap_err(),
                CryptoError::AuthenticationFailed
            );
        }
    }
}
