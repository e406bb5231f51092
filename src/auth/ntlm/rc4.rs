//! RC4 with a persistent, zeroized keystream state ([MS-NLMP] 3.4.3: one handle per direction).

use zeroize::{Zeroize, ZeroizeOnDrop};

/// An RC4 keystream whose internal state is zeroized on drop and hidden from `Debug`.
///
/// RC4 is only used where the NTLM protocol requires it (session-key exchange and message
/// sealing); it is not a general-purpose cipher.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Rc4 {
    s: [u8; 256],
    i: u8,
    j: u8,
}

impl Rc4 {
    /// Key schedule. `key` must not be empty (an empty key yields the identity permutation's
    /// stream, which is never what a caller wants; every NTLM key is 5, 8 or 16 bytes).
    pub fn new(key: &[u8]) -> Self {
        let mut s = [0u8; 256];
        for (k, b) in s.iter_mut().enumerate() {
            *b = k as u8;
        }
        if !key.is_empty() {
            let mut j: u8 = 0;
            for i in 0..256 {
                j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
                s.swap(i, j as usize);
            }
        }
        Self { s, i: 0, j: 0 }
    }

    /// XOR the next `buf.len()` keystream bytes into `buf` (encrypts or decrypts).
    pub fn apply(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.i = self.i.wrapping_add(1);
            self.j = self.j.wrapping_add(self.s[self.i as usize]);
            self.s.swap(self.i as usize, self.j as usize);
            let k = self.s[self.s[self.i as usize].wrapping_add(self.s[self.j as usize]) as usize];
            *b ^= k;
        }
    }
}

impl core::fmt::Debug for Rc4 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Rc4(..)")
    }
}

/// One-shot RC4 of `data` under `key`.
pub fn rc4_oneshot(key: &[u8], data: &mut [u8]) {
    Rc4::new(key).apply(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6229 section 2, key 0x0102030405 (40-bit), keystream offset 0.
    #[test]
    fn rfc6229_40_bit_key() {
        let mut buf = [0u8; 16];
        rc4_oneshot(&[1, 2, 3, 4, 5], &mut buf);
        assert_eq!(hex::encode(buf), "b2396305f03dc027ccc3524a0a1118a8");
    }

    /// Classic "Key"/"Plaintext" vector (Wikipedia RC4 test vectors).
    #[test]
    fn key_plaintext() {
        let mut buf = *b"Plaintext";
        rc4_oneshot(b"Key", &mut buf);
        assert_eq!(hex::encode(buf), "bbf316e8d940af0ad3");
    }

    #[test]
    fn streaming_equals_oneshot() {
        let mut a = [0x42u8; 40];
        let mut b = a;
        rc4_oneshot(b"k3y", &mut a);
        let mut r = Rc4::new(b"k3y");
        r.apply(&mut b[..7]);
        r.apply(&mut b[7..]);
        assert_eq!(a, b);
        assert_eq!(format!("{r:?}"), "Rc4(..)");
    }
}
