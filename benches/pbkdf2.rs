//! Criterion benchmarks for the opnum-73 password encryption ([MS-SAMR] 3.2.2.4).
//!
//! - `derive_cek/<N>`: the specialised PBKDF2-HMAC-SHA512 CEK derivation at N iterations;
//! - `derive_cek_generic/10000`: RustCrypto's generic `pbkdf2_hmac::<Sha512>` for comparison;
//! - `derive_cek_cancellable/100000`: the same loop reading a cancellation flag every
//!   `CANCEL_CHECK_INTERVAL` iterations (as the async change does), to compare with
//!   `derive_cek/100000`;
//! - `seal/encrypt_password_change_aes/5000`: a whole opnum-73 encryption (salt, buffer,
//!   PBKDF2 at 5,000 iterations, sub-keys, AES-256-CBC, HMAC-SHA512).
//!
//! Throughput is reported in elements = PBKDF2 iterations, so `1e9 / (elem/s)` is the cost of
//! one iteration in nanoseconds (two SHA-512 compressions). Flat sampling with 10 samples keeps
//! the whole run to about a minute. Run with `cargo bench --bench pbkdf2`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use samrpc::crypto::{
    derive_cek, derive_cek_cancellable, derive_cek_reference, encrypt_password_change_aes,
};
use samrpc::rng::OsRandom;
use samrpc::{NtHash, Password};
use std::sync::atomic::AtomicBool;

fn pbkdf2(c: &mut Criterion) {
    let nt = NtHash::new([0x78; 16]);
    let salt = [0x79u8; 16];

    let mut g = c.benchmark_group("derive_cek");
    g.sampling_mode(SamplingMode::Flat).sample_size(10).warm_up_time(Duration::from_millis(500));
    for n in [5_000u64, 10_000, 100_000, 1_000_000] {
        g.throughput(Throughput::Elements(n));
        g.measurement_time(Duration::from_secs(if n >= 1_000_000 { 8 } else { 2 }));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| derive_cek(black_box(&nt), black_box(&salt), black_box(n)))
        });
    }
    g.finish();

    let flag = AtomicBool::new(false);
    let mut g = c.benchmark_group("derive_cek_cancellable");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(100_000));
    g.bench_function(BenchmarkId::from_parameter(100_000), |b| {
        b.iter(|| {
            derive_cek_cancellable(black_box(&nt), black_box(&salt), black_box(100_000), &flag)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("derive_cek_generic");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(10_000));
    g.bench_function(BenchmarkId::from_parameter(10_000), |b| {
        b.iter(|| derive_cek_reference(black_box(&nt), black_box(&salt), black_box(10_000)))
    });
    g.finish();

    let new = Password::from("N3w-Passw0rd!");
    let mut g = c.benchmark_group("seal");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(5_000));
    g.bench_function("encrypt_password_change_aes/5000", |b| {
        b.iter(|| encrypt_password_change_aes(black_box(&nt), &new, 5_000, &mut OsRandom))
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    pbkdf2(&mut c);
    c.final_summary();
}
