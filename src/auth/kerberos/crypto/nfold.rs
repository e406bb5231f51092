//! n-fold ([RFC 3961] §5.1): stretch or shrink a constant to a block size.
//!
//! The input is replicated until its length is the least common multiple of the input and
//! output lengths, each copy rotated 13 bits further right than the one before; the
//! replicated string is then cut into output-sized pieces which are added together in
//! ones'-complement arithmetic (big-endian, the carry out of the top wrapping around to the
//! bottom).
//!
//! [RFC 3961]: https://www.rfc-editor.org/rfc/rfc3961

/// The largest input or output accepted, in bytes. n-fold only ever folds short constants
/// (key-usage constants, `"kerberos"`, `"prf"`) to one cipher block; the cap keeps the
/// replicated buffer (`lcm(in, out)` bytes) small whatever a caller passes.
pub(crate) const MAX_NFOLD_LEN: usize = 256;

const fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

/// The bit at position `bit` (0 = most significant bit of byte 0) of `data`.
fn bit_at(data: &[u8], bit: usize) -> u8 {
    (data[bit / 8] >> (7 - bit % 8)) & 1
}

/// `data` rotated right by `r` bits, as one big-endian bit string.
fn rotate_right(data: &[u8], r: usize) -> Vec<u8> {
    let nbits = data.len() * 8;
    let mut out = vec![0u8; data.len()];
    for (j, byte) in out.iter_mut().enumerate() {
        let mut v = 0u8;
        for k in 0..8 {
            let dst = j * 8 + k;
            // Bit `dst` of the result is bit `dst - r` of the input (mod the length).
            let src = (dst + nbits - r % nbits) % nbits;
            v |= bit_at(data, src) << (7 - k);
        }
        *byte = v;
    }
    out
}

/// Ones'-complement addition of `add` into `acc` (equal lengths, big-endian).
fn ones_complement_add(acc: &mut [u8], add: &[u8]) {
    let mut carry = 0u16;
    for i in (0..acc.len()).rev() {
        let s = u16::from(acc[i]) + u16::from(add[i]) + carry;
        acc[i] = s as u8;
        carry = s >> 8;
    }
    // End-around carry: adding it back can itself carry out again only while the accumulator
    // holds all-ones bytes, so the loop ends after at most two passes.
    while carry != 0 {
        for i in (0..acc.len()).rev() {
            let s = u16::from(acc[i]) + carry;
            acc[i] = s as u8;
            carry = s >> 8;
            if carry == 0 {
                break;
            }
        }
    }
}

/// n-fold `input` to `out_len` bytes ([RFC 3961] §5.1). `None` if either length is zero or
/// above [`MAX_NFOLD_LEN`].
///
/// [RFC 3961]: https://www.rfc-editor.org/rfc/rfc3961
pub(crate) fn nfold(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let in_len = input.len();
    if in_len == 0 || out_len == 0 || in_len > MAX_NFOLD_LEN || out_len > MAX_NFOLD_LEN {
        return None;
    }
    let lcm = in_len / gcd(in_len, out_len) * out_len;
    let mut replicated = Vec::with_capacity(lcm);
    for copy in 0..lcm / in_len {
        replicated.extend_from_slice(&rotate_right(input, 13 * copy));
    }
    let mut out = vec![0u8; out_len];
    for chunk in replicated.chunks_exact(out_len) {
        ones_complement_add(&mut out, chunk);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3961 Appendix A.1, every n-fold vector, plus the "kerberos" foldings listed there.
    #[test]
    fn rfc3961_appendix_a1_vectors() {
        let cases: &[(&[u8], usize, &str)] = &[
            (b"012345", 64, "be072631276b1955"),
            (b"password", 56, "78a07b6caf85fa"),
            (b"Rough Consensus, and Running Code", 64, "bb6ed30870b7f0e0"),
            (b"password", 168, "59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e"),
            (
                b"MASSACHVSETTS INSTITVTE OF TECHNOLOGY",
                192,
                "db3b0d8f0b061e603282b308a50841229ad798fab9540c1b",
            ),
            (b"Q", 168, "518a54a215a8452a518a54a215a8452a518a54a215"),
            (b"ba", 168, "fb25d531ae8974499f52fd92ea9857c4ba24cf297e"),
            (b"kerberos", 64, "6b65726265726f73"),
            (b"kerberos", 128, "6b65726265726f737b9b5b2b93132b93"),
            (b"kerberos", 168, "8372c236344e5f1550cd0747e15d62ca7a5a3bcea4"),
            (b"kerberos", 256, "6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4"),
        ];
        for (input, bits, want) in cases {
            let got = nfold(input, bits / 8).unwrap();
            assert_eq!(
                hex::encode(got),
                *want,
                "{}-fold({:?})",
                bits,
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn rejects_empty_and_oversized() {
        assert!(nfold(b"", 16).is_none());
        assert!(nfold(b"x", 0).is_none());
        assert!(nfold(&[0u8; MAX_NFOLD_LEN + 1], 16).is_none());
        assert!(nfold(b"x", MAX_NFOLD_LEN + 1).is_none());
        assert!(nfold(&[0xffu8; MAX_NFOLD_LEN], 251).is_some());
    }

    #[test]
    fn folding_a_block_to_its_own_size_is_the_identity() {
        let block = *b"0123456789abcdef";
        assert_eq!(nfold(&block, 16).unwrap(), block);
    }
}
