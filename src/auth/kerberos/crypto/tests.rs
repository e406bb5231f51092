//! Known-answer and property tests for the Kerberos crypto. Every vector names its source.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use super::aes::{aes_cts_decrypt, aes_cts_encrypt, dk};
use super::*;
use crate::rng::FixedRandom;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

const AES128: Etype = Etype::Aes128CtsHmacSha196;
const AES256: Etype = Etype::Aes256CtsHmacSha196;
const RC4: Etype = Etype::Rc4Hmac;

// ---------------------------------------------------------------------------------------------
// RFC 3962 Appendix B: string-to-key.

struct S2k {
    iterations: u32,
    pass: &'static str,
    salt: &'static [u8],
    pbkdf2_256: &'static str,
    key128: &'static str,
    key256: &'static str,
}

/// RFC 3962 Appendix B, every string-to-key case: the 128-bit PBKDF2 output is the first 16
/// bytes of the 256-bit one (the same PBKDF2 block), and the AES keys are DK(that, "kerberos").
const RFC3962_S2K: &[S2k] = &[
    S2k {
        iterations: 1,
        pass: "password",
        salt: b"ATHENA.MIT.EDUraeburn",
        pbkdf2_256: "cdedb5281bb2f801565a1122b25635150ad1f7a04bb9f3a333ecc0e2e1f70837",
        key128: "42263c6e89f4fc28b8df68ee09799f15",
        key256: "fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161",
    },
    S2k {
        iterations: 2,
        pass: "password",
        salt: b"ATHENA.MIT.EDUraeburn",
        pbkdf2_256: "01dbee7f4a9e243e988b62c73cda935da05378b93244ec8f48a99e61ad799d86",
        key128: "c651bf29e2300ac27fa469d693bdda13",
        key256: "a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff",
    },
    S2k {
        iterations: 1200,
        pass: "password",
        salt: b"ATHENA.MIT.EDUraeburn",
        pbkdf2_256: "5c08eb61fdf71e4e4ec3cf6ba1f5512ba7e52ddbc5e5142f708a31e2e62b1e13",
        key128: "4c01cd46d632d01e6dbe230a01ed642a",
        key256: "55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a",
    },
    S2k {
        iterations: 5,
        pass: "password",
        salt: &[0x12, 0x34, 0x56, 0x78, 0x78, 0x56, 0x34, 0x12],
        pbkdf2_256: "d1daa78615f287e6a1c8b120d7062a493f98d203e6be49a6adf4fa574b6e64ee",
        key128: "e9b23d52273747dd5c35cb55be619d8e",
        key256: "97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31",
    },
    S2k {
        iterations: 1200,
        pass: "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        salt: b"pass phrase equals block size",
        pbkdf2_256: "139c30c0966bc32ba55fdbf212530ac9c5ec59f1a452f5cc9ad940fea0598ed1",
        key128: "59d1bb789a828b1aa54ef9c2883f69ed",
        key256: "89adee3608db8bc71f1bfbfe459486b05618b70cbae22092534e56c553ba4b34",
    },
    S2k {
        iterations: 1200,
        pass: "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        salt: b"pass phrase exceeds block size",
        pbkdf2_256: "9ccad6d468770cd51b10e6a68721be611a8b4d282601db3b36be9246915ec82a",
        key128: "cb8005dc5f90179a7f02104c0018751d",
        key256: "d78c5c9cb872a8c9dad4697f0bb5b2d21496c82beb2caeda2112fceea057401b",
    },
    S2k {
        iterations: 50,
        // U+1D11E MUSICAL SYMBOL G CLEF, UTF-8 f0 9d 84 9e.
        pass: "\u{1D11E}",
        salt: b"EXAMPLE.COMpianist",
        pbkdf2_256: "6b9cf26d45455a43a5b8bb276a403b39e7fe37a0c41e02c281ff3069e1e94f52",
        key128: "f149c1f2e154a73452d43e7fe62a56e5",
        key256: "4b6d9839f84406df1f09cc166db4b83c571848b784a3d6bdc346589a3e393f9e",
    },
];

#[test]
fn rfc3962_appendix_b_pbkdf2_intermediate_values() {
    for c in RFC3962_S2K {
        let full = h(c.pbkdf2_256);
        let p256 = aes::pbkdf2_sha1(c.pass.as_bytes(), c.salt, c.iterations, 32);
        assert_eq!(&p256[..], &full[..], "PBKDF2-256 iter {} {:?}", c.iterations, c.salt);
        let p128 = aes::pbkdf2_sha1(c.pass.as_bytes(), c.salt, c.iterations, 16);
        assert_eq!(&p128[..], &full[..16], "PBKDF2-128 iter {}", c.iterations);
    }
}

#[test]
fn rfc3962_appendix_b_string_to_key() {
    for c in RFC3962_S2K {
        let params = c.iterations.to_be_bytes();
        let pw = Password::from(c.pass);
        let k128 = KerberosKey::from_password(AES128, &pw, c.salt, Some(&params)).unwrap();
        assert_eq!(k128.expose(), &h(c.key128)[..], "aes128 iter {} {:?}", c.iterations, c.salt);
        assert_eq!(k128.etype(), AES128);
        let k256 = KerberosKey::from_password(AES256, &pw, c.salt, Some(&params)).unwrap();
        assert_eq!(k256.expose(), &h(c.key256)[..], "aes256 iter {} {:?}", c.iterations, c.salt);
    }
}

/// Without s2kparams the count is 4,096 (RFC 3962 §4), the same as passing it explicitly.
#[test]
fn string_to_key_defaults_to_4096_iterations() {
    let pw = Password::from("password");
    let salt = b"SAMR.TESTAdministrator";
    let default = KerberosKey::from_password(AES256, &pw, salt, None).unwrap();
    let explicit =
        KerberosKey::from_password(AES256, &pw, salt, Some(&4096u32.to_be_bytes())).unwrap();
    let other =
        KerberosKey::from_password(AES256, &pw, salt, Some(&4097u32.to_be_bytes())).unwrap();
    assert_eq!(default, explicit);
    assert_ne!(default, other);
}

#[test]
fn bad_s2kparams_are_refused() {
    let pw = Password::from("password");
    for bad in [
        &[0u8, 0, 0, 0][..],
        &[0, 0x98, 0x96, 0x81],
        &[0xff; 4],
        &[0, 0, 16],
        &[0, 0, 16, 0, 0],
        &[],
    ] {
        assert_eq!(
            KerberosKey::from_password(AES128, &pw, b"salt", Some(bad)),
            Err(KrbCryptoError::BadS2kParams),
            "{bad:02x?}"
        );
    }
    // 10,000,000 itself is the largest accepted; checked without running it.
    assert_eq!(aes::iterations(Some(&10_000_000u32.to_be_bytes())), Ok(MAX_ITERATIONS));
    assert_eq!(aes::iterations(Some(&1u32.to_be_bytes())), Ok(1));
}

/// RC4-HMAC string-to-key is the NT hash (RFC 4757 §2); the NT hash of "password" is the
/// well-known 8846f7eaee8fb117ad06bdd830b7586c ([MS-NLMP] NTOWFv1 = MD4(UTF-16LE)).
#[test]
fn rc4_string_to_key_is_the_nt_hash() {
    let k = KerberosKey::from_password(
        RC4,
        &Password::from("password"),
        b"ignored",
        Some(&[0, 0, 0, 0]),
    )
    .unwrap();
    assert_eq!(k.expose(), &h("8846f7eaee8fb117ad06bdd830b7586c")[..]);
    let from_hash =
        KerberosKey::from_nt_hash(&NtHash::from_hex("8846f7eaee8fb117ad06bdd830b7586c").unwrap());
    assert_eq!(k, from_hash);
    assert_eq!(from_hash.etype(), RC4);
}

// ---------------------------------------------------------------------------------------------
// RFC 3962 Appendix B: AES-CTS.

/// RFC 3962 Appendix B: AES-128 key "chicken teriyaki", zero IV, the plaintext "I would like
/// the General Gau's Chicken, please, and wonton soup." cut to 17, 31, 32, 47, 48 and 64
/// bytes.
#[test]
fn rfc3962_appendix_b_aes_cts() {
    let key = b"chicken teriyaki";
    let plain = b"I would like the General Gau's Chicken, please, and wonton soup.";
    assert_eq!(plain.len(), 64);
    let cases: &[(usize, &str)] = &[
        (17, "c6353568f2bf8cb4d8a580362da7ff7f 97"),
        (31, "fc00783e0efdb2c1d445d4c8eff7ed22 97687268d6ecccc0c07b25e25ecfe5"),
        (32, "39312523a78662d5be7fcbcc98ebf5a8 97687268d6ecccc0c07b25e25ecfe584"),
        (
            47,
            "97687268d6ecccc0c07b25e25ecfe584 b3fffd940c16a18c1b5549d2f838029e \
             39312523a78662d5be7fcbcc98ebf5",
        ),
        (
            48,
            "97687268d6ecccc0c07b25e25ecfe584 9dad8bbb96c4cdc03bc103e1a194bbd8 \
             39312523a78662d5be7fcbcc98ebf5a8",
        ),
        (
            64,
            "97687268d6ecccc0c07b25e25ecfe584 39312523a78662d5be7fcbcc98ebf5a8 \
             4807efe836ee89a526730dbc2f7bc840 9dad8bbb96c4cdc03bc103e1a194bbd8",
        ),
    ];
    for (len, want) in cases {
        let ct = aes_cts_encrypt(key, &plain[..*len]).unwrap();
        assert_eq!(ct, h(want), "encrypt {len} bytes");
        let pt = aes_cts_decrypt(key, &ct).unwrap();
        assert_eq!(&pt[..], &plain[..*len], "decrypt {len} bytes");
    }
}

/// RFC 3962 §5: exactly one block is plain CBC of that block (with a zero IV: one AES block
/// operation); shorter inputs cannot occur in the profile and are refused.
#[test]
fn aes_cts_single_block_and_short_inputs() {
    use ::aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
    let key = b"chicken teriyaki";
    let block = *b"I would like the";
    let mut want = block;
    ::aes::Aes128::new(GenericArray::from_slice(key))
        .encrypt_block(GenericArray::from_mut_slice(&mut want));
    let ct = aes_cts_encrypt(key, &block).unwrap();
    assert_eq!(ct, want);
    assert_eq!(&aes_cts_decrypt(key, &ct).unwrap()[..], &block);
    for n in 0..16 {
        assert_eq!(aes_cts_encrypt(key, &block[..n]), Err(KrbCryptoError::CiphertextTooShort));
        assert_eq!(
            aes_cts_decrypt(key, &block[..n]).err(),
            Some(KrbCryptoError::CiphertextTooShort)
        );
    }
    assert!(matches!(
        aes_cts_encrypt(&key[..15], &block),
        Err(KrbCryptoError::BadKeyLength { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// MIT krb5 known values (src/lib/crypto/crypto_tests/t_derive.c, t_decrypt.c, t_cksums.c).

/// MIT krb5 `t_derive.c`: Kc, Ke and Ki for usage 2 of an AES-128 and an AES-256 key
/// (DK with the constants 00000002 99 / AA / 55). The AES-128 input key is the RFC 3962
/// iteration-1 key.
#[test]
fn mit_t_derive_usage_keys() {
    let k128 = h("42263c6e89f4fc28b8df68ee09799f15");
    let k256 = h("fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161");
    let cases: &[(&[u8], u8, &str)] = &[
        (&k128, aes::KC, "34280a382bc92769b2da2f9ef066854b"),
        (&k128, aes::KE, "5b14fc4e250e14ddf9dccf1af6674f53"),
        (&k128, aes::KI, "4ed31063621684f09ae8d89991af3e8f"),
        (&k256, aes::KC, "bfab388bdcb238e9f9c98d6a878304f04d30c82556375ac507a7a852790f4674"),
        (&k256, aes::KE, "c7cfd9cd75fe793a586a542d87e0d1396f1134a104bb1a9190b8c90ada3ddf37"),
        (&k256, aes::KI, "97151b4c76945063e2eb0529dc067d97d7bba90776d8126d91f34f3101aea8ba"),
    ];
    for (key, kind, want) in cases {
        assert_eq!(&aes::usage_key(key, 2, *kind).unwrap()[..], &h(want)[..], "{kind:02x}");
        // The same through the generic DK with the explicit 5-byte constant.
        assert_eq!(&dk(key, &[0, 0, 0, 2, *kind]).unwrap()[..], &h(want)[..]);
    }
}

struct Decrypt {
    etype: Etype,
    plaintext: &'static str,
    usage: u32,
    key: &'static str,
    ciphertext: &'static str,
}

/// MIT krb5 `t_decrypt.c`: known ciphertexts (made with a random confounder) of five
/// plaintexts under usages 0 to 4, for aes128, aes256 and arcfour-hmac.
const MIT_T_DECRYPT: &[Decrypt] = &[
    Decrypt {
        etype: AES128,
        plaintext: "",
        usage: 0,
        key: "5a5c0f0ba54f3828b2195e66ca24a289",
        ciphertext: "49ff8e11c173d9583a3254fbe7b1f1df36c538e8416784a1672e6676",
    },
    Decrypt {
        etype: AES128,
        plaintext: "1",
        usage: 1,
        key: "98450e3f3baa13f5c99beb936981b06f",
        ciphertext: "f86742f537b35dc2174a4dbaa920faf9042090b065e1ebb1cad9a65394",
    },
    Decrypt {
        etype: AES128,
        plaintext: "9 bytesss",
        usage: 2,
        key: "9062430c8cda3388922e6d6a509f5b7a",
        ciphertext: "68fb9679601f45c78857b2bf820fd6e53eca8d42fd4b1d7024a09205abb7cd2ec26c355d2f",
    },
    Decrypt {
        etype: AES128,
        plaintext: "13 bytes byte",
        usage: 3,
        key: "033ee6502c54fd23e27791e987983827",
        ciphertext: "ec366d0327a933bf49330e650e49bc6b974637fe80bf532fe51795b4809718e6194724db948d1fd637",
    },
    Decrypt {
        etype: AES128,
        plaintext: "30 bytes bytes bytes bytes byt",
        usage: 4,
        key: "dceeb70b3de76562e689226c76429148",
        ciphertext: "c96081032d5d8eeb7e32b4089f789d0faa481dea74c0f97cbf3146ddfcf8e800156ecb532fc203e30ff600b63b350939fece510f02d7ff1e7bac",
    },
    Decrypt {
        etype: AES256,
        plaintext: "",
        usage: 0,
        key: "17f275f2954f2ed1f90c377ba7f4d6a369aa0136e0bf0c927ad6133c693759a9",
        ciphertext: "e5094c55ee7b38262e2b044280b069379a95bf95bd8376fb3281b435",
    },
    Decrypt {
        etype: AES256,
        plaintext: "1",
        usage: 1,
        key: "b9477e1ff0329c0050e20ce6c72d2dff27e8fe541ab0954429a9cb5b4f7b1e2a",
        ciphertext: "406150b97aeb76d43b36b62cc1ecdfbe6f40e95755e0beb5c27825f3a4",
    },
    Decrypt {
        etype: AES256,
        plaintext: "9 bytesss",
        usage: 2,
        key: "b1ae4cd8462aff1677053cc9279aac30b796fb81ce21474dd3ddbcfea4ec76d7",
        ciphertext: "09957aa25fcaf88f7b39e4406e633012d5fea21853f6478da7065caef41fd454a40824eec5",
    },
    Decrypt {
        etype: AES256,
        plaintext: "13 bytes byte",
        usage: 3,
        key: "e5a72be9b7926c1225bafef9c1872e7ba4cdb2b17893d84abd90acdd8764d966",
        ciphertext: "d8f1aafeec84587cc3e700a774e56651a6d693e174ec4473b5e6d96f80297a653fb818ad893e719f96",
    },
    Decrypt {
        etype: AES256,
        plaintext: "30 bytes bytes bytes bytes byt",
        usage: 4,
        key: "f1c795e9248a09338d82c3f8d5b567040b0110736845041347235b1404231398",
        ciphertext: "d1137a4d634cfece924dbc3bf6790648bd5cff7de0e7b99460211d0daef3d79a295c688858f3b34b9cbd6eebae81daf6b734d4d498b6714f1c1d",
    },
    Decrypt {
        etype: RC4,
        plaintext: "",
        usage: 0,
        key: "f81fec39255f5784e850c4377c88bd85",
        ciphertext: "02c1eb15586144122ec717763dd348bf00434ddc6585954c",
    },
    Decrypt {
        etype: RC4,
        plaintext: "1",
        usage: 1,
        key: "67d1300d281223867f9647ff48721273",
        ciphertext: "6156e0cc04e0a0874f9fda008f498a7adbbc80b70b14dddbc0",
    },
    Decrypt {
        etype: RC4,
        plaintext: "9 bytesss",
        usage: 2,
        key: "3e40ab6093695281b3ac1a9304224d98",
        ciphertext: "0f9ad121d99d4a09448e4f1f718c4f5cbe6096262c66f29df232a87c9f98755d55",
    },
    Decrypt {
        etype: RC4,
        plaintext: "13 bytes byte",
        usage: 3,
        key: "4ba2fbf0379faed87a254d3b353d5a7e",
        ciphertext: "612c57568b17a70352bae8cf26fb9459a6f3353cd35fd439db3107cbec765d326dfc04c1dd",
    },
    Decrypt {
        etype: RC4,
        plaintext: "30 bytes bytes bytes bytes byt",
        usage: 4,
        key: "68f263db3fce15d031c9eab02d67107a",
        ciphertext: "95f9047c3ad75891c2e9b04b16566dc8b6eb9ce4231afb2542ef87a7b5a0f260a99f0460508de0cecc632d07c354124e46c5d2234eb8",
    },
];

#[test]
fn mit_t_decrypt_known_ciphertexts() {
    for (i, t) in MIT_T_DECRYPT.iter().enumerate() {
        let key = KerberosKey::new(t.etype, &h(t.key)).unwrap();
        let ct = h(t.ciphertext);
        assert_eq!(ct.len(), t.plaintext.len() + t.etype.overhead(), "case {i}");
        let pt = key.decrypt(t.usage, &ct).unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(&pt[..], t.plaintext.as_bytes(), "case {i}");
        // The wrong usage must not decrypt (usage 3 and 9 share RC4 message type 8, so step
        // to a usage with a different mapping).
        assert_eq!(
            key.decrypt(t.usage + 10, &ct).err(),
            Some(KrbCryptoError::IntegrityCheckFailed),
            "case {i}"
        );
    }
}

/// Full encryption with a fixed confounder, byte for byte: take the confounder out of each
/// MIT `t_decrypt.c` ciphertext (decrypting with the derived Ke, or RC4 with K3) and encrypt
/// the plaintext again with it; the result must be MIT's ciphertext exactly. This checks the
/// encryption direction of the simplified profile and of RFC 4757 against an independent
/// implementation (no published AES vector fixes the confounder).
#[test]
fn encrypt_with_mit_confounders_reproduces_mit_ciphertexts() {
    for (i, t) in MIT_T_DECRYPT.iter().enumerate() {
        let key = h(t.key);
        let ct = h(t.ciphertext);
        let again = match t.etype {
            Etype::Aes128CtsHmacSha196 | Etype::Aes256CtsHmacSha196 => {
                let ke = aes::usage_key(&key, t.usage, aes::KE).unwrap();
                let p = aes_cts_decrypt(&ke, &ct[..ct.len() - aes::MAC_LEN]).unwrap();
                let conf: [u8; 16] = p[..16].try_into().unwrap();
                aes::encrypt_with_confounder(&key, t.usage, &conf, t.plaintext.as_bytes()).unwrap()
            }
            Etype::Rc4Hmac => {
                let kr = KerberosKey::new(RC4, &key).unwrap();
                // Recover the confounder by decrypting the RC4 layer by hand.
                let k1 = {
                    use hmac::{Hmac, Mac};
                    let mut m = <Hmac<md5::Md5> as Mac>::new_from_slice(&key).unwrap();
                    m.update(&rc4_hmac::ms_usage(t.usage).to_le_bytes());
                    m.finalize().into_bytes()
                };
                let k3 = {
                    use hmac::{Hmac, Mac};
                    let mut m = <Hmac<md5::Md5> as Mac>::new_from_slice(&k1).unwrap();
                    m.update(&ct[..16]);
                    m.finalize().into_bytes()
                };
                let mut data = ct[16..].to_vec();
                crate::auth::ntlm::rc4::Rc4::new(&k3).apply(&mut data);
                let conf: [u8; 8] = data[..8].try_into().unwrap();
                assert!(kr.decrypt(t.usage, &ct).is_ok());
                rc4_hmac::encrypt_with_confounder(&key, t.usage, &conf, t.plaintext.as_bytes())
            }
        };
        assert_eq!(hex::encode(again), t.ciphertext, "case {i}");
    }
}

/// MIT krb5 `t_cksums.c`: hmac-sha1-96-aes128 (usage 3), hmac-sha1-96-aes256 (usage 4) and
/// hmac-md5-arcfour, type -138 (usage 6).
#[test]
fn mit_t_cksums_keyed_checksums() {
    let cases: &[(Etype, &str, u32, &str, &str)] = &[
        (
            AES128,
            "eight nine ten eleven twelve thirteen",
            3,
            "9062430c8cda3388922e6d6a509f5b7a",
            "01a4b088d45628f6946614e3",
        ),
        (
            AES256,
            "fourteen",
            4,
            "b1ae4cd8462aff1677053cc9279aac30b796fb81ce21474dd3ddbcfea4ec76d7",
            "e08739e3279e2903ec8e3836",
        ),
        (
            RC4,
            "seventeen eighteen nineteen twenty",
            6,
            "f7d3a155af5e238a0b7a871a96ba2ab2",
            "eb38cc97e2230f59da4117dc5859d7ec",
        ),
    ];
    for (etype, data, usage, key, want) in cases {
        let k = KerberosKey::new(*etype, &h(key)).unwrap();
        assert_eq!(hex::encode(k.checksum(*usage, data.as_bytes())), *want, "{etype}");
        assert_eq!(
            k.verify_checksum(*usage, etype.checksum_type(), data.as_bytes(), &h(want)),
            Ok(())
        );
        let mut bad = h(want);
        bad[0] ^= 1;
        assert_eq!(
            k.verify_checksum(*usage, etype.checksum_type(), data.as_bytes(), &bad),
            Err(KrbCryptoError::IntegrityCheckFailed)
        );
        assert_eq!(
            k.verify_checksum(*usage + 1, etype.checksum_type(), data.as_bytes(), &h(want)),
            Err(KrbCryptoError::IntegrityCheckFailed)
        );
        assert_eq!(
            k.verify_checksum(*usage, etype.checksum_type(), data.as_bytes(), &h(want)[..8]),
            Err(KrbCryptoError::IntegrityCheckFailed)
        );
    }
}

#[test]
fn checksum_type_must_match_the_key() {
    let k = KerberosKey::new(AES256, &[7; 32]).unwrap();
    let c = k.checksum(6, b"data");
    assert_eq!(c.len(), 12);
    assert_eq!(k.verify_checksum(6, 16, b"data", &c), Ok(()));
    for wrong in [15, -138, 0, 1, 7, 138] {
        assert_eq!(
            k.verify_checksum(6, wrong, b"data", &c),
            Err(KrbCryptoError::ChecksumTypeMismatch { cksumtype: wrong, etype: AES256 })
        );
    }
}

/// RFC 4757 §3 usage mapping: 3 and 9 (the AS-REP and TGS-REP encrypted parts) share message
/// type 8, so a ciphertext for one decrypts under the others; 23 maps to 13.
#[test]
fn rc4_usage_mapping() {
    assert_eq!(rc4_hmac::ms_usage(3), 8);
    assert_eq!(rc4_hmac::ms_usage(9), 8);
    assert_eq!(rc4_hmac::ms_usage(23), 13);
    for u in [1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 24, 1000] {
        assert_eq!(rc4_hmac::ms_usage(u), u);
    }
    let k = KerberosKey::new(RC4, &[9; 16]).unwrap();
    let ct = k.encrypt(3, b"enc-part", &mut FixedRandom::new(vec![1, 2, 3]));
    assert_eq!(&k.decrypt(9, &ct).unwrap()[..], b"enc-part");
    assert_eq!(&k.decrypt(8, &ct).unwrap()[..], b"enc-part");
    assert_eq!(k.decrypt(7, &ct).err(), Some(KrbCryptoError::IntegrityCheckFailed));
}

// ---------------------------------------------------------------------------------------------
// API behaviour.

#[test]
fn etype_numbers_names_and_lengths() {
    for (e, n, len, ck, name) in [
        (AES128, 17, 16, 15, "aes128-cts-hmac-sha1-96"),
        (AES256, 18, 32, 16, "aes256-cts-hmac-sha1-96"),
        (RC4, 23, 16, -138, "rc4-hmac"),
    ] {
        assert_eq!(e.number(), n);
        assert_eq!(Etype::from_number(n), Some(e));
        assert_eq!(e.key_len(), len);
        assert_eq!(e.checksum_type(), ck);
        assert_eq!(e.name(), name);
        assert_eq!(e.to_string(), name);
    }
    for n in [-1, 0, 1, 3, 16, 19, 20, 24, 25, 26] {
        assert_eq!(Etype::from_number(n), None);
    }
    assert_eq!(
        KerberosKey::from_number(24, &[0; 16]).err(),
        Some(KrbCryptoError::UnsupportedEtype(24))
    );
}

#[test]
fn key_lengths_are_checked() {
    for e in Etype::ALL {
        for n in [0, 1, 15, 17, 24, 31, 33, 64] {
            if n == e.key_len() {
                continue;
            }
            assert_eq!(
                KerberosKey::new(e, &vec![0; n]).err(),
                Some(KrbCryptoError::BadKeyLength { expected: e.key_len(), actual: n })
            );
        }
        assert!(KerberosKey::new(e, &vec![0; e.key_len()]).is_ok());
    }
}

#[test]
fn debug_never_shows_key_bytes() {
    for e in Etype::ALL {
        let k = KerberosKey::new(e, &vec![0xAB; e.key_len()]).unwrap();
        let d = format!("{k:?}");
        assert_eq!(d, format!("KerberosKey({}, ..)", e.name()));
        assert!(!d.to_lowercase().contains("ab"), "{d}");
        assert!(!d.contains("171"), "{d}");
    }
}

#[test]
fn random_keys_have_the_right_length_and_differ() {
    let mut rng = crate::rng::OsRandom;
    for e in Etype::ALL {
        let a = KerberosKey::random(e, &mut rng);
        let b = KerberosKey::random(e, &mut rng);
        assert_eq!(a.expose().len(), e.key_len());
        assert_eq!(a.etype(), e);
        assert_ne!(a, b);
    }
}

#[test]
fn short_ciphertexts_are_refused() {
    for e in Etype::ALL {
        let k = KerberosKey::new(e, &vec![1; e.key_len()]).unwrap();
        for n in 0..e.overhead() {
            assert_eq!(
                k.decrypt(1, &vec![0; n]).err(),
                Some(KrbCryptoError::CiphertextTooShort),
                "{e} {n}"
            );
        }
        // Exactly the overhead is an empty plaintext: well-formed length, bad MAC.
        assert_eq!(
            k.decrypt(1, &vec![0; e.overhead()]).err(),
            Some(KrbCryptoError::IntegrityCheckFailed)
        );
    }
}

/// A fixed confounder gives a fixed ciphertext; a different key or confounder a different one.
#[test]
fn encryption_uses_the_rng_for_the_confounder() {
    let k = KerberosKey::new(AES128, &[3; 16]).unwrap();
    let a = k.encrypt(7, b"authenticator", &mut FixedRandom::new(vec![5]));
    let b = k.encrypt(7, b"authenticator", &mut FixedRandom::new(vec![5]));
    let c = k.encrypt(7, b"authenticator", &mut FixedRandom::new(vec![6]));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.len(), 13 + AES128.overhead());
}

fn any_key() -> impl Strategy<Value = KerberosKey> {
    (0usize..3, proptest::collection::vec(any::<u8>(), 32)).prop_map(|(i, bytes)| {
        let e = Etype::ALL[i];
        KerberosKey::new(e, &bytes[..e.key_len()]).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn encrypt_then_decrypt_round_trips(
        key in any_key(),
        usage in any::<u32>(),
        plain in proptest::collection::vec(any::<u8>(), 0..100),
        seed in any::<u8>(),
    ) {
        let ct = key.encrypt(usage, &plain, &mut FixedRandom::new(vec![seed, 0x5a]));
        prop_assert_eq!(ct.len(), plain.len() + key.etype().overhead());
        let pt = key.decrypt(usage, &ct).unwrap();
        prop_assert_eq!(&pt[..], &plain[..]);
    }

    #[test]
    fn any_single_bit_flip_fails_to_decrypt(
        key in any_key(),
        usage in any::<u32>(),
        plain in proptest::collection::vec(any::<u8>(), 0..60),
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut ct = key.encrypt(usage, &plain, &mut crate::rng::OsRandom);
        let i = pos.index(ct.len());
        ct[i] ^= 1 << bit;
        prop_assert_eq!(key.decrypt(usage, &ct).err(), Some(KrbCryptoError::IntegrityCheckFailed));
    }

    #[test]
    fn truncation_or_extension_fails_to_decrypt(
        key in any_key(),
        plain in proptest::collection::vec(any::<u8>(), 0..60),
        cut in 1usize..20,
        extra in any::<u8>(),
    ) {
        let ct = key.encrypt(2, &plain, &mut crate::rng::OsRandom);
        let short = &ct[..ct.len().saturating_sub(cut)];
        prop_assert!(key.decrypt(2, short).is_err());
        let mut long = ct.clone();
        long.push(extra);
        prop_assert!(key.decrypt(2, &long).is_err());
    }

    #[test]
    fn decrypting_arbitrary_bytes_never_panics(
        key in any_key(),
        usage in any::<u32>(),
        junk in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        prop_assert!(key.decrypt(usage, &junk).is_err());
    }

    #[test]
    fn checksums_verify_and_reject_other_data(
        key in any_key(),
        usage in any::<u32>(),
        data in proptest::collection::vec(any::<u8>(), 0..80),
        flip in any::<prop::sample::Index>(),
    ) {
        let c = key.checksum(usage, &data);
        prop_assert_eq!(c.len(), key.etype().checksum_len());
        prop_assert_eq!(key.verify_checksum(usage, key.etype().checksum_type(), &data, &c), Ok(()));
        let mut other = data.clone();
        if other.is_empty() { other.push(0) } else { let i = flip.index(other.len()); other[i] ^= 0x80; }
        prop_assert_eq!(
            key.verify_checksum(usage, key.etype().checksum_type(), &other, &c),
            Err(KrbCryptoError::IntegrityCheckFailed)
        );
    }

    #[test]
    fn aes_cts_round_trips_every_length(len in 16usize..100, wide in any::<bool>(), fill in any::<u8>()) {
        let key = if wide { vec![fill; 32] } else { vec![fill; 16] };
        let plain: Vec<u8> = (0..len).map(|i| i as u8 ^ fill).collect();
        let ct = aes_cts_encrypt(&key, &plain).unwrap();
        prop_assert_eq!(ct.len(), len);
        prop_assert_eq!(&aes_cts_decrypt(&key, &ct).unwrap()[..], &plain[..]);
    }
}
