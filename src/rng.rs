//! The randomness seam.
//!
//! The pure protocol core never reaches for a global RNG: it takes `&mut dyn SecureRandom`.
//! Production code passes [`OsRandom`] (the operating system's CSPRNG); tests pass a fixed
//! source to reproduce published vectors.

/// A source of cryptographically secure random bytes.
pub trait SecureRandom {
    /// Fill `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

/// The operating system's CSPRNG (`getrandom`).
#[derive(Copy, Clone, Debug, Default)]
pub struct OsRandom;

impl SecureRandom for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        use rand::RngCore;
        rand::rngs::OsRng.fill_bytes(buf);
    }
}

/// Helpers over any [`SecureRandom`].
pub trait SecureRandomExt: SecureRandom {
    /// A random array.
    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        self.fill(&mut a);
        a
    }
    /// A uniformly random `u64` in `lo..=hi` (rejection sampling, no modulo bias).
    fn u64_in(&mut self, lo: u64, hi: u64) -> u64 {
        debug_assert!(lo <= hi);
        let span = hi - lo;
        if span == u64::MAX {
            return u64::from_le_bytes(self.array());
        }
        let n = span + 1;
        let zone = u64::MAX - (u64::MAX % n) - 1;
        loop {
            let v = u64::from_le_bytes(self.array());
            if v <= zone {
                return lo + v % n;
            }
        }
    }
}

impl<T: SecureRandom + ?Sized> SecureRandomExt for T {}

/// A deterministic byte source that repeats a fixed pattern. **For tests only**: never use it
/// for real traffic.
#[cfg(test)]
#[allow(dead_code)] // used by the crypto and auth vector tests
#[derive(Clone, Debug)]
pub(crate) struct FixedRandom(pub(crate) Vec<u8>, usize);

#[cfg(test)]
#[allow(dead_code)]
impl FixedRandom {
    pub(crate) fn new(pattern: Vec<u8>) -> Self {
        Self(pattern, 0)
    }
}

#[cfg(test)]
impl SecureRandom for FixedRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.0[self.1 % self.0.len()];
            self.1 += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_in_stays_in_range() {
        let mut r = OsRandom;
        for _ in 0..1000 {
            let v = r.u64_in(5_000, 5_010);
            assert!((5_000..=5_010).contains(&v));
        }
        assert_eq!(r.u64_in(7, 7), 7);
    }

    #[test]
    fn os_random_is_not_constant() {
        let mut r = OsRandom;
        let a: [u8; 16] = r.array();
        let b: [u8; 16] = r.array();
        assert_ne!(a, b);
    }
}
