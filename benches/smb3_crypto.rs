//! SMB2/3 signing and sealing throughput per 64 KiB message, per algorithm.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use samrpc::secret::{Key16, Key32};
use samrpc::smb2::keys::CipherKey;
use samrpc::smb2::{Cipher, SigningAlgorithm, signing, transform};
use std::hint::black_box;

const LEN: usize = 64 * 1024;

fn message() -> Vec<u8> {
    let mut m = vec![0x5Au8; LEN];
    m[..4].copy_from_slice(&[0xFE, b'S', b'M', b'B']);
    m[24] = 7; // MessageId 7 (GMAC forbids 0)
    m
}

fn sign(c: &mut Criterion) {
    let mut g = c.benchmark_group("smb2_sign_64k");
    g.throughput(Throughput::Bytes(LEN as u64));
    let key = Key16::new([0x11; 16]);
    for alg in [SigningAlgorithm::HmacSha256, SigningAlgorithm::AesCmac, SigningAlgorithm::AesGmac]
    {
        let mut m = message();
        g.bench_function(alg.to_string(), |b| {
            b.iter(|| signing::sign(black_box(&mut m), alg, &key).unwrap())
        });
    }
    g.finish();
}

fn seal(c: &mut Criterion) {
    let mut g = c.benchmark_group("smb3_seal_open_64k");
    g.throughput(Throughput::Bytes(LEN as u64));
    let m = message();
    for cipher in Cipher::PREFERENCE {
        let key = if cipher.is_256() {
            CipherKey::Aes256(Key32::new([0x22; 32]))
        } else {
            CipherKey::Aes128(Key16::new([0x22; 16]))
        };
        g.bench_function(format!("seal {cipher}"), |b| {
            b.iter(|| transform::seal(cipher, &key, [3; 16], 9, black_box(&m)).unwrap())
        });
        let sealed = transform::seal(cipher, &key, [3; 16], 9, &m).unwrap();
        g.bench_function(format!("open {cipher}"), |b| {
            b.iter(|| transform::open(cipher, &key, black_box(&sealed)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, sign, seal);
criterion_main!(benches);
