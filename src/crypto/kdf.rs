//! Key derivation: the NT hash (MD4) and the opnum-73 content-encryption key (PBKDF2-HMAC-SHA512)
//! ([MS-SAMR] 3.2.2.4, 2.2.6.32; protocol notes 1.4 step 1).
//!
//! PBKDF2 is the hot path of a password change: up to a million HMAC-SHA512 iterations. The
//! specialised loop here precomputes the HMAC inner/outer states once and then runs exactly two
//! SHA-512 compressions per iteration over one reusable 128-byte block whose padding and length
//! words never change (both the inner message `U_{i-1}` and the outer message `inner hash` are
//! 64 bytes after a one-block key pad, i.e. 192 bytes in total). Only block index 1 of PBKDF2 is
//! computed, because the CEK is 16 bytes (≤ 64). [`derive_cek_reference`] keeps the
//! straightforward RustCrypto path for cross-checking and benchmarks.

use core::sync::atomic::{AtomicBool, Ordering};

use zeroize::{Zeroize, Zeroizing};

use super::CryptoError;
use super::sha512::{BLOCK, HmacSha512Key, compress, store_be};
use crate::secret::{Key16, NtHash, Password};

/// The smallest PBKDF2 iteration count a server accepts for opnum 73 ([MS-SAMR] 2.2.6.32).
pub const MIN_PBKDF2_ITERATIONS: u64 = 5_000;
/// The largest PBKDF2 iteration count a server accepts for opnum 73 ([MS-SAMR] 2.2.6.32).
pub const MAX_PBKDF2_ITERATIONS: u64 = 1_000_000;

/// The NT hash (NTOWFv1): MD4 over the UTF-16LE encoding of `password` ([MS-NLMP] 3.3.1).
/// Characters outside the BMP are encoded as surrogate pairs.
/// (A zeroizing MD4: see [`NtHash::from_password`].)
pub fn nt_hash(password: &Password) -> NtHash {
    NtHash::from_password(password)
}

/// Check a PBKDF2 iteration count against the opnum-73 range.
pub(crate) fn check_iterations(iterations: u64) -> Result<u32, CryptoError> {
    if (MIN_PBKDF2_ITERATIONS..=MAX_PBKDF2_ITERATIONS).contains(&iterations) {
        // In range, so it fits in u32.
        u32::try_from(iterations).map_err(|_| CryptoError::IterationsOutOfRange { iterations })
    } else {
        Err(CryptoError::IterationsOutOfRange { iterations })
    }
}

/// The opnum-73 content-encryption key: `PBKDF2-HMAC-SHA512(password = the 16 raw bytes of the
/// old NT hash, salt, iterations, dkLen = 16)` (protocol notes 1.4 step 1).
///
/// `iterations` must be within [`MIN_PBKDF2_ITERATIONS`]..=[`MAX_PBKDF2_ITERATIONS`].
pub fn derive_cek(old: &NtHash, salt: &[u8; 16], iterations: u64) -> Result<Key16, CryptoError> {
    let n = check_iterations(iterations)?;
    pbkdf2_hmac_sha512_16_until(old.expose(), salt, n, None)
}

/// How many PBKDF2 iterations run between two checks of the cancellation flag of
/// [`derive_cek_cancellable`]: about 2 ms of work in a release build, so a cancelled
/// derivation stops promptly while the check (one relaxed atomic load per 4,096 iterations,
/// i.e. per 8,192 SHA-512 compressions) costs nothing measurable (`benches/pbkdf2.rs`).
pub const CANCEL_CHECK_INTERVAL: u32 = 4096;

/// [`derive_cek`] that gives up when `cancel` becomes `true`: the flag is read before the first
/// iteration and then every [`CANCEL_CHECK_INTERVAL`] iterations, and a set flag ends the
/// derivation with [`CryptoError::Cancelled`] (the partial state is zeroized). The async
/// shell sets the flag when the future that waits for the key is dropped.
pub fn derive_cek_cancellable(
    old: &NtHash,
    salt: &[u8; 16],
    iterations: u64,
    cancel: &AtomicBool,
) -> Result<Key16, CryptoError> {
    let n = check_iterations(iterations)?;
    pbkdf2_hmac_sha512_16_until(old.expose(), salt, n, Some(cancel))
}

/// The same key as [`derive_cek`], computed with RustCrypto's generic
/// `pbkdf2::pbkdf2_hmac::<Sha512>`. Slower; kept to cross-check the specialised loop and as
/// the benchmark baseline.
pub fn derive_cek_reference(
    old: &NtHash,
    salt: &[u8; 16],
    iterations: u64,
) -> Result<Key16, CryptoError> {
    let n = check_iterations(iterations)?;
    Ok(pbkdf2_reference(old.expose(), salt, n))
}

/// RustCrypto's generic PBKDF2-HMAC-SHA512 with dkLen 16 (any count ≥ 1, for tests).
pub(crate) fn pbkdf2_reference(key: &[u8], salt: &[u8], rounds: u32) -> Key16 {
    let mut out = Zeroizing::new([0u8; 16]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(key, salt, rounds, &mut out[..]);
    Key16::new(*out)
}

/// The length trailer of a 192-byte message (one key-pad block plus 64 bytes), as the last 16
/// bytes of a SHA-512 block: a 128-bit big-endian bit count.
const LEN_192_BITS: [u8; 16] = (192u128 * 8).to_be_bytes();

/// Specialised PBKDF2-HMAC-SHA512, dkLen 16, for any `rounds` ≥ 1 (0 is treated as 1).
///
/// `T_1 = U_1 ^ U_2 ^ … ^ U_c`, `U_1 = HMAC(K, salt ‖ INT(1))`, `U_i = HMAC(K, U_{i-1})`.
/// Only the first 16 bytes of `T_1` are wanted, so only the first two state words are
/// accumulated.
#[cfg(test)]
pub(crate) fn pbkdf2_hmac_sha512_16(key: &[u8], salt: &[u8], rounds: u32) -> Key16 {
    // Without a flag there is nothing to cancel.
    pbkdf2_hmac_sha512_16_until(key, salt, rounds, None).unwrap()
}

/// [`pbkdf2_hmac_sha512_16`], checking `cancel` (if any) before the first iteration and every
/// [`CANCEL_CHECK_INTERVAL`] iterations. The hot loop itself has no branch on the flag: it
/// runs in chunks of [`CANCEL_CHECK_INTERVAL`] iterations.
fn pbkdf2_hmac_sha512_16_until(
    key: &[u8],
    salt: &[u8],
    rounds: u32,
    cancel: Option<&AtomicBool>,
) -> Result<Key16, CryptoError> {
    let cancelled = || cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    if cancelled() {
        return Err(CryptoError::Cancelled);
    }
    let hk = HmacSha512Key::new(key);

    // U_1 through the general HMAC (the salt has arbitrary length).
    let u1 = hk.mac(&[salt, &1u32.to_be_bytes()]);

    // The reusable block: bytes 0..64 hold the message (U_{i-1}, then the inner hash),
    // byte 64 the 0x80 terminator, 65..112 zeros, 112..128 the fixed length (192 bytes).
    let mut block = Zeroizing::new([0u8; BLOCK]);
    block[..64].copy_from_slice(&u1[..]);
    block[64] = 0x80;
    block[BLOCK - 16..].copy_from_slice(&LEN_192_BITS);

    let mut acc = Zeroizing::new([0u64; 2]);
    for (a, c) in acc.iter_mut().zip(u1.chunks_exact(8)) {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        *a = u64::from_be_bytes(w);
        w.zeroize();
    }
    drop(u1);

    let inner0 = hk.inner_state();
    let outer0 = hk.outer_state();
    let mut st = Zeroizing::new([0u64; 8]);
    let mut left = rounds.saturating_sub(1);
    while left > 0 {
        let chunk = left.min(CANCEL_CHECK_INTERVAL);
        for _ in 0..chunk {
            // Inner: H(K^ipad ‖ U_{i-1}).
            *st = *inner0;
            compress(&mut st, &block);
            store_be(&st, &mut block);
            // Outer: H(K^opad ‖ inner) = U_i.
            *st = *outer0;
            compress(&mut st, &block);
            store_be(&st, &mut block);
            acc[0] ^= st[0];
            acc[1] ^= st[1];
        }
        left -= chunk;
        if left > 0 && cancelled() {
            // `block`, `acc` and `st` are zeroized on drop.
            return Err(CryptoError::Cancelled);
        }
    }

    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&acc[0].to_be_bytes());
    out[8..].copy_from_slice(&acc[1].to_be_bytes());
    let cek = Key16::new(out);
    out.zeroize();
    Ok(cek)
}

#[cfg(test)]
mod tests {
    use super::*;
    use md4::Digest;
    use proptest::prelude::*;

    #[test]
    fn a_set_flag_stops_the_derivation_before_the_first_iteration() {
        let nt = NtHash::new([0x42; 16]);
        let flag = AtomicBool::new(true);
        assert_eq!(
            derive_cek_cancellable(&nt, &[1; 16], MAX_PBKDF2_ITERATIONS, &flag).err(),
            Some(CryptoError::Cancelled)
        );
    }

    #[test]
    fn a_flag_set_while_deriving_stops_it_at_the_next_check() {
        let nt = NtHash::new([0x42; 16]);
        let flag = AtomicBool::new(false);
        std::thread::scope(|s| {
            let worker =
                s.spawn(|| derive_cek_cancellable(&nt, &[1; 16], MAX_PBKDF2_ITERATIONS, &flag));
            flag.store(true, Ordering::Relaxed);
            // A million iterations take seconds in this (debug) build; the flag is read every
            // CANCEL_CHECK_INTERVAL iterations, so the worker ends with Cancelled.
            assert_eq!(worker.join().unwrap().err(), Some(CryptoError::Cancelled));
        });
    }

    #[test]
    fn an_unset_flag_changes_nothing_across_chunk_boundaries() {
        let nt = NtHash::new([0x37; 16]);
        let flag = AtomicBool::new(false);
        let c = CANCEL_CHECK_INTERVAL as u64;
        // Counts ending just before, on and just after a check (every c iterations after the
        // first).
        for n in [MIN_PBKDF2_ITERATIONS, 2 * c, 2 * c + 1, 2 * c + 2, 3 * c, 3 * c + 1] {
            assert_eq!(
                derive_cek_cancellable(&nt, &[9; 16], n, &flag).unwrap().expose(),
                derive_cek_reference(&nt, &[9; 16], n).unwrap().expose(),
                "{n} iterations"
            );
        }
    }

    fn h16(s: &str) -> [u8; 16] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// Protocol notes 7.3 (Samba `lib/crypto/tests/test_gnutls_aead_aes_256_cbc_hmac_sha512.c`
    /// `torture_pbkdf2`, from a Windows Server 2022 trace).
    const V73_NT: &str = "f84854deb8361033caea5c9596669938";
    const V73_SALT: &str = "d5be4fd7b685d1eafd3bf42983ce1044";
    const V73_ITER: u64 = 23533;
    const V73_CEK: &str = "f1e6b26a782863057738c971d2058858";

    #[test]
    fn nt_hash_of_vector_7_3_password() {
        // Protocol notes 7.3: the 7.3 NT hash is MD4(UTF-16LE("Pa$$w0rd@3")).
        let h = nt_hash(&Password::from("Pa$$w0rd@3"));
        assert_eq!(h.expose(), &h16(V73_NT));
    }

    #[test]
    fn nt_hash_ms_nlmp_4_2_2() {
        // [MS-NLMP] 4.2.2.1.2 NTOWFv1("Password") (protocol notes 7.7).
        let h = nt_hash(&Password::from("Password"));
        assert_eq!(h.expose(), &h16("a4f49c406510bdcab6824ee7c30fd852"));
    }

    #[test]
    fn nt_hash_non_bmp_uses_surrogate_pairs() {
        // U+1F600 is D83D DE00 in UTF-16; MD4 must run over the surrogate pair.
        let bytes = [0x3d, 0xd8, 0x00, 0xde];
        let expect: [u8; 16] = md4::Md4::digest(bytes).into();
        assert_eq!(nt_hash(&Password::from("😀")).expose(), &expect);
    }

    #[test]
    fn cek_vector_7_3() {
        let nt = NtHash::new(h16(V73_NT));
        let salt = h16(V73_SALT);
        let cek = derive_cek(&nt, &salt, V73_ITER).unwrap();
        assert_eq!(cek.expose(), &h16(V73_CEK));
        let reference = derive_cek_reference(&nt, &salt, V73_ITER).unwrap();
        assert_eq!(reference.expose(), &h16(V73_CEK));
    }

    #[test]
    fn specialised_equals_generic_at_several_counts() {
        let key = h16(V73_NT);
        let salt = h16(V73_SALT);
        for n in [1u32, 2, 3, 4, 17, 100, 1000, 5000] {
            assert_eq!(
                pbkdf2_hmac_sha512_16(&key, &salt, n).expose(),
                pbkdf2_reference(&key, &salt, n).expose(),
                "rounds {n}"
            );
        }
    }

    #[test]
    fn rfc_style_pbkdf2_sha512_known_answer() {
        // PBKDF2-HMAC-SHA512("password", "salt", c=1, dkLen 64) begins 867f70cf1ade02cf
        // f3752599a3a53dc4 (the widely published test values, e.g. RustCrypto pbkdf2 tests).
        let out = pbkdf2_hmac_sha512_16(b"password", b"salt", 1);
        assert_eq!(hex::encode(out.expose()), "867f70cf1ade02cff3752599a3a53dc4");
        let out = pbkdf2_hmac_sha512_16(b"password", b"salt", 2);
        assert_eq!(hex::encode(out.expose()), "e1d9c16aa681708a45f5c7c4e215ceb6");
    }

    #[test]
    fn iteration_bounds() {
        let nt = NtHash::new([1; 16]);
        let salt = [2; 16];
        for bad in [0u64, 1, 4_999, 1_000_001, u64::MAX] {
            assert_eq!(
                derive_cek(&nt, &salt, bad).unwrap_err(),
                CryptoError::IterationsOutOfRange { iterations: bad }
            );
            assert!(derive_cek_reference(&nt, &salt, bad).is_err());
        }
        assert!(check_iterations(MIN_PBKDF2_ITERATIONS).is_ok());
        assert!(check_iterations(MAX_PBKDF2_ITERATIONS).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn specialised_equals_generic_random(
            key in proptest::collection::vec(any::<u8>(), 0..150),
            salt in proptest::collection::vec(any::<u8>(), 0..200),
            rounds in 1u32..200,
        ) {
            let ours = pbkdf2_hmac_sha512_16(&key, &salt, rounds);
            let theirs = pbkdf2_reference(&key, &salt, rounds);
            prop_assert_eq!(ours.expose(), theirs.expose());
        }
    }
}
