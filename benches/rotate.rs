//! Criterion benchmarks for the client-side parts of bulk rotation (issue 6, goal 4):
//!
//! - `rotate/generate_password/<L>`: one policy-conforming random password of L characters
//!   (four classes, account-name check) from the OS random source;
//! - `rotate/encrypt_password_set_aes`: the level-31 encryption of one new password under a
//!   session key (AES-256-CBC + HMAC-SHA512, no PBKDF2).
//!
//! Both are microseconds, far below one network round trip: the bulk rate is set by the
//! server (see benches/compare/bulk.sh). Run with `cargo bench --bench rotate`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};
use samrpc::api::rotate::{PasswordRules, generate_password};
use samrpc::crypto::encrypt_password_set_aes;
use samrpc::rng::OsRandom;
use samrpc::{Password, SessionKey};

fn rotate(c: &mut Criterion) {
    let mut g = c.benchmark_group("rotate");
    g.measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(300));
    for len in [14usize, 20, 64] {
        g.bench_with_input(BenchmarkId::new("generate_password", len), &len, |b, &len| {
            let rules = PasswordRules { length: len, complexity: true };
            b.iter(|| generate_password(black_box("alice"), rules, &mut OsRandom))
        });
    }
    let key = SessionKey::new([0x5C; 16]);
    let pw = Password::from("Rotated-Password-2026!");
    g.bench_function("encrypt_password_set_aes", |b| {
        b.iter(|| encrypt_password_set_aes(black_box(&key), black_box(&pw), &mut OsRandom))
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    rotate(&mut c);
    c.final_summary();
}
