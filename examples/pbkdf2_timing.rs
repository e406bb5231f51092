//! Time the opnum-73 CEK derivation (PBKDF2-HMAC-SHA512, 16-byte NT hash, 16-byte salt,
//! dkLen 16): samrpc's specialised loop and RustCrypto's generic `pbkdf2_hmac::<Sha512>`.
//!
//! Usage: `cargo run --release --example pbkdf2_timing -- [iterations] [repeats]`
//! (defaults 100000 and 5). Prints one line per implementation:
//! `<name> <best ns/iteration> <best seconds>`; used by `benches/compare/pbkdf2_vs_openssl.sh`.

use std::hint::black_box;
use std::time::Instant;

use samrpc::NtHash;
use samrpc::crypto::{derive_cek, derive_cek_reference};

fn best_of(repeats: u32, iterations: u64, f: impl Fn(&NtHash, &[u8; 16], u64)) -> f64 {
    let nt = NtHash::new([0x78; 16]);
    let salt = [0x79u8; 16];
    // Warm-up (CPU frequency, caches).
    f(&nt, &salt, iterations.min(20_000));
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let t = Instant::now();
        f(black_box(&nt), black_box(&salt), black_box(iterations));
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    let mut args = std::env::args().skip(1);
    let iterations: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let repeats: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let ours = best_of(repeats, iterations, |nt, salt, n| {
        black_box(derive_cek(nt, salt, n).ok());
    });
    let generic = best_of(repeats, iterations, |nt, salt, n| {
        black_box(derive_cek_reference(nt, salt, n).ok());
    });
    let per = |s: f64| s * 1e9 / iterations as f64;
    println!("samrpc-specialised {:.2} {:.6}", per(ours), ours);
    println!("rustcrypto-generic {:.2} {:.6}", per(generic), generic);
}
