//! NTLMv2 response and key computation — [MS-NLMP] 3.3.2, 3.4.5; notes 6.4, 6.6.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};

use super::flags;
use super::rc4::rc4_oneshot;
use crate::secret::{Key16, NtHash, Password, SessionKey};

type HmacMd5 = Hmac<Md5>;

/// HMAC-MD5 over the concatenation of `parts`.
pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut m = match <HmacMd5 as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 16],
    };
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// NTOWFv1: MD4 of the UTF-16LE password.
pub fn nt_hash(password: &Password) -> NtHash {
    // A zeroizing MD4 (the `md4` crate's hasher state is not wiped on drop).
    NtHash::from_password(password)
}

/// Uppercase the way Windows' `RtlUpcaseUnicodeString` does: character by character, with
/// no length-changing mappings (so `ß` stays `ß` instead of becoming `SS`).
pub fn upcase_like_windows(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// NTOWFv2 = HMAC_MD5(NT hash, UTF-16LE(UPPERCASE(user) ‖ domain)). The domain is used
/// exactly as given (not uppercased) — notes 8.3. The user is uppercased per character
/// ([`upcase_like_windows`]).
pub fn ntowfv2(nt_hash: &NtHash, user: &str, domain: &str) -> Key16 {
    let upper = upcase_like_windows(user);
    let u = super::utf16le(&upper);
    let d = super::utf16le(domain);
    Key16::new(hmac_md5(nt_hash.expose(), &[&u, &d]))
}

/// The NTLMv2 client blob ("temp"): `01 01 Z6 time(8) client_challenge(8) Z4 av_pairs Z4`.
/// `av_pairs` is the encoded list including its EOL.
pub fn ntlmv2_temp(time: u64, client_challenge: &[u8; 8], av_pairs: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(28 + av_pairs.len() + 4);
    t.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    t.extend_from_slice(&time.to_le_bytes());
    t.extend_from_slice(client_challenge);
    t.extend_from_slice(&[0; 4]);
    t.extend_from_slice(av_pairs);
    t.extend_from_slice(&[0; 4]);
    t
}

/// The outputs of the NTLMv2 computation.
#[derive(Debug)]
pub struct Ntlmv2Response {
    /// NtChallengeResponse = NTProofStr ‖ temp.
    pub nt_response: Vec<u8>,
    /// LmChallengeResponse (LMv2, or Z(24) when the server sent a timestamp).
    pub lm_response: Vec<u8>,
    /// SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr); also the KeyExchangeKey.
    pub session_base_key: SessionKey,
}

/// NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge ‖ temp).
pub fn nt_proof_str(response_key: &Key16, server_challenge: &[u8; 8], temp: &[u8]) -> [u8; 16] {
    hmac_md5(response_key.expose(), &[server_challenge, temp])
}

/// LMv2 = HMAC_MD5(ResponseKeyLM, ServerChallenge ‖ ClientChallenge) ‖ ClientChallenge.
pub fn lmv2_response(
    response_key: &Key16,
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
) -> [u8; 24] {
    let h = hmac_md5(response_key.expose(), &[server_challenge, client_challenge]);
    let mut out = [0u8; 24];
    out[..16].copy_from_slice(&h);
    out[16..].copy_from_slice(client_challenge);
    out
}

/// Compute the NTLMv2 responses and SessionBaseKey ([MS-NLMP] 3.3.2).
///
/// `zero_lm` selects Z(24) for the LM response (used when the CHALLENGE had MsvAvTimestamp).
pub fn ntlmv2_response(
    response_key: &Key16,
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
    time: u64,
    av_pairs: &[u8],
    zero_lm: bool,
) -> Ntlmv2Response {
    let temp = ntlmv2_temp(time, client_challenge, av_pairs);
    let proof = nt_proof_str(response_key, server_challenge, &temp);
    let session_base_key = SessionKey::new(hmac_md5(response_key.expose(), &[&proof]));
    let mut nt_response = Vec::with_capacity(16 + temp.len());
    nt_response.extend_from_slice(&proof);
    nt_response.extend_from_slice(&temp);
    let lm_response = if zero_lm {
        vec![0; 24]
    } else {
        lmv2_response(response_key, server_challenge, client_challenge).to_vec()
    };
    Ntlmv2Response { nt_response, lm_response, session_base_key }
}

/// EncryptedRandomSessionKey = RC4(KeyExchangeKey, ExportedSessionKey).
pub fn encrypt_session_key(key_exchange_key: &SessionKey, exported: &SessionKey) -> [u8; 16] {
    let mut out = *exported.expose();
    rc4_oneshot(key_exchange_key.expose(), &mut out);
    out
}

/// MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE ‖ CHALLENGE ‖ AUTHENTICATE), the last with
/// its MIC field zeroed.
pub fn compute_mic(
    exported: &SessionKey,
    negotiate: &[u8],
    challenge: &[u8],
    authenticate_zero_mic: &[u8],
) -> [u8; 16] {
    hmac_md5(exported.expose(), &[negotiate, challenge, authenticate_zero_mic])
}

const CLIENT_SIGN: &[u8] = b"session key to client-to-server signing key magic constant\0";
const SERVER_SIGN: &[u8] = b"session key to server-to-client signing key magic constant\0";
const CLIENT_SEAL: &[u8] = b"session key to client-to-server sealing key magic constant\0";
const SERVER_SEAL: &[u8] = b"session key to server-to-client sealing key magic constant\0";

fn md5_parts(parts: &[&[u8]]) -> Key16 {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    Key16::new(h.finalize().into())
}

/// The four ESS sign/seal keys ([MS-NLMP] 3.4.5.2, 3.4.5.3).
#[derive(Debug)]
pub struct SessionKeys {
    /// ClientSigningKey.
    pub client_sign: Key16,
    /// ServerSigningKey.
    pub server_sign: Key16,
    /// ClientSealingKey.
    pub client_seal: Key16,
    /// ServerSealingKey.
    pub server_seal: Key16,
}

/// Derive the sign and seal keys from the ExportedSessionKey under the negotiated `flags`
/// (the sealing key hashes the first 16, 7 or 5 key bytes for 128, 56 or neither).
pub fn derive_keys(exported: &SessionKey, neg_flags: u32) -> SessionKeys {
    let k = exported.expose();
    let seal_len = if neg_flags & flags::NEGOTIATE_128 != 0 {
        16
    } else if neg_flags & flags::NEGOTIATE_56 != 0 {
        7
    } else {
        5
    };
    SessionKeys {
        client_sign: md5_parts(&[k, CLIENT_SIGN]),
        server_sign: md5_parts(&[k, SERVER_SIGN]),
        client_seal: md5_parts(&[&k[..seal_len], CLIENT_SEAL]),
        server_seal: md5_parts(&[&k[..seal_len], SERVER_SEAL]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::ntlm::Challenge;
    use crate::auth::ntlm::av_pair::AvPairs;
    use crate::auth::ntlm::challenge::tests::spec_challenge_bytes;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    const SERVER_CHALLENGE: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
    const CLIENT_CHALLENGE: [u8; 8] = [0xaa; 8];

    /// [MS-NLMP] 4.2.4.1.1 (notes 7.7): NTOWFv2("Password", "User", "Domain").
    #[test]
    fn ntowfv2_spec() {
        let nt = nt_hash(&Password::from("Password"));
        assert_eq!(hex::encode(nt.expose()), "a4f49c406510bdcab6824ee7c30fd852"); // 4.2.2.1.2
        let k = ntowfv2(&nt, "User", "Domain");
        assert_eq!(hex::encode(k.expose()), "0c868a403bfd7a93a3001ef22ef02e3f");
        // Only the user is uppercased: a different domain case gives a different key.
        assert_ne!(ntowfv2(&nt, "User", "DOMAIN").expose(), k.expose());
        assert_eq!(ntowfv2(&nt, "user", "Domain").expose(), k.expose());
    }

    #[test]
    fn upcase_is_per_character() {
        assert_eq!(upcase_like_windows("straße-é"), "STRAßE-É");
        assert_eq!(upcase_like_windows("Administrator"), "ADMINISTRATOR");
    }

    /// [MS-NLMP] 4.2.4.1.2, 4.2.4.1.3, 4.2.4.2.1, 4.2.4.2.2 (notes 7.7), time = 0.
    #[test]
    fn ntlmv2_spec_vectors() {
        let nt = nt_hash(&Password::from("Password"));
        let k = ntowfv2(&nt, "User", "Domain");
        let c = Challenge::decode(&spec_challenge_bytes()).unwrap();
        let ti = c.target_info.unwrap().encode();
        let temp = ntlmv2_temp(0, &CLIENT_CHALLENGE, &ti);
        assert_eq!(
            temp,
            h(concat!(
                "0101",
                "000000000000",
                "0000000000000000",
                "aaaaaaaaaaaaaaaa",
                "00000000",
                "02000c0044006f006d00610069006e00",
                "01000c00530065007200760065007200",
                "00000000",
                "00000000"
            ))
        );
        let r = ntlmv2_response(&k, &SERVER_CHALLENGE, &CLIENT_CHALLENGE, 0, &ti, false);
        assert_eq!(hex::encode(&r.nt_response[..16]), "68cd0ab851e51c96aabc927bebef6a1c");
        assert_eq!(&r.nt_response[16..], &temp[..]);
        assert_eq!(hex::encode(r.session_base_key.expose()), "8de40ccadbc14a82f15cb0ad0de95ca3");
        assert_eq!(
            hex::encode(&r.lm_response),
            concat!("86c35097ac9cec102554764a57cccc19", "aaaaaaaaaaaaaaaa")
        );
        let zero = ntlmv2_response(&k, &SERVER_CHALLENGE, &CLIENT_CHALLENGE, 0, &ti, true);
        assert_eq!(zero.lm_response, vec![0; 24]);
        // 4.2.4.2.3: EncryptedRandomSessionKey with RandomSessionKey 0x55 x16.
        let enc = encrypt_session_key(&r.session_base_key, &SessionKey::new([0x55; 16]));
        assert_eq!(hex::encode(enc), "c5dad2544fc9799094ce1ce90bc9d03e");
    }

    /// [MS-NLMP] 4.2.4.4 (notes 7.7): seal and sign keys from ExportedSessionKey 0x55 x16,
    /// flags 0xE28A8233 (128-bit).
    #[test]
    fn sign_seal_keys_spec() {
        let keys = derive_keys(&SessionKey::new([0x55; 16]), 0xE28A_8233);
        assert_eq!(hex::encode(keys.client_seal.expose()), "59f600973cc4960a25480a7c196e4c58");
        assert_eq!(hex::encode(keys.client_sign.expose()), "4788dc861b4782f35d43fd98fe1a2d39");
    }

    /// chromium `ntlm_test_data.h` (notes 7.7): NTProofStr, SessionBaseKey and MIC of
    /// `kExpectedAuthenticateMsgSpecResponseV2` (no KEY_EXCH, so Exported = SessionBaseKey).
    #[test]
    fn chromium_mic_vector() {
        use crate::auth::ntlm::authenticate::{Authenticate, MIC_OFFSET, tests::CHROMIUM_AUTH_V2};
        let nt = nt_hash(&Password::from("Password"));
        let k = ntowfv2(&nt, "User", "Domain");
        let auth = h(CHROMIUM_AUTH_V2);
        let a = Authenticate::decode(&auth).unwrap();
        // The client target info inside the NT response: temp[28..len-4].
        let ti = &a.nt_response[16 + 28..a.nt_response.len() - 4];
        let parsed = AvPairs::decode(ti).unwrap();
        assert_eq!(parsed.av_flags(), Some(2));
        let r = ntlmv2_response(
            &k,
            &SERVER_CHALLENGE,
            &CLIENT_CHALLENGE,
            0x01d2_d400_fdc8_0b80,
            ti,
            true,
        );
        assert_eq!(hex::encode(&r.nt_response[..16]), "8c0260dbef690662af9c42d50782d2ed");
        assert_eq!(r.nt_response, a.nt_response);
        assert_eq!(hex::encode(r.session_base_key.expose()), "623dbd071be7a530b6a95c2eb4982470");
        let negotiate = h(concat!(
            "4e544c4d53535000",
            "01000000",
            "07820800",
            "0000000020000000",
            "0000000020000000"
        ));
        let mut zeroed = auth.clone();
        zeroed[MIC_OFFSET..MIC_OFFSET + 16].fill(0);
        let mic = compute_mic(&r.session_base_key, &negotiate, &spec_challenge_bytes(), &zeroed);
        assert_eq!(hex::encode(mic), "f7361633f0ad9bdf4a7c421bc6b824a3");
    }
}
