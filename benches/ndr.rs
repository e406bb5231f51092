//! NDR marshalling benchmarks: encoding the two password stubs we send (opnum 73 and
//! SamrSetInformationUser2 level 31) and decoding a SamrEnumerateUsersInDomain response with
//! 1,000 users.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use samrpc::NtStatus;
use samrpc::crypto::EncryptedPasswordAes;
use samrpc::ndr::{ContextHandle, RpcUnicodeString, Stub};
use samrpc::samr::{
    Call, EnumerationBuffer, RidEnumeration, SamrEnumerateUsersInDomain,
    SamrEnumerateUsersInDomainResponse, SamrSetInformationUser2, SamrUnicodeChangePasswordUser4,
    UserInfo,
};

fn aes_blob(iterations: u64) -> EncryptedPasswordAes {
    EncryptedPasswordAes {
        auth_data: [0x5a; 64],
        salt: [0xa5; 16],
        cipher: vec![0x3c; 528],
        pbkdf2_iterations: iterations,
    }
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("ndr_encode");
    let change = SamrUnicodeChangePasswordUser4 {
        server_name: Some(RpcUnicodeString::new(r"\\dc1.example.com").unwrap()),
        user_name: RpcUnicodeString::new("alice").unwrap(),
        encrypted_password: aes_blob(100_000),
    };
    g.bench_function("SamrUnicodeChangePasswordUser4", |b| b.iter(|| black_box(&change).encode()));
    let set = SamrSetInformationUser2 {
        user_handle: ContextHandle([7; 20]),
        info: UserInfo::Internal7 { password: aes_blob(0), password_expired: 0 },
    };
    g.bench_function("SamrSetInformationUser2_level31", |b| b.iter(|| black_box(&set).encode()));
    g.finish();
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("ndr_decode");
    for users in [100usize, 1_000] {
        let entries = (0..users)
            .map(|i| RidEnumeration {
                relative_id: 1_000 + i as u32,
                name: RpcUnicodeString::new(&format!("user{i:05}")).unwrap(),
            })
            .collect();
        let response = SamrEnumerateUsersInDomainResponse {
            enumeration_context: 0,
            buffer: Some(EnumerationBuffer::new(entries)),
            count_returned: users as u32,
            status: NtStatus::STATUS_SUCCESS,
        };
        let stub = response.to_stub();
        g.throughput(Throughput::Bytes(stub.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("SamrEnumerateUsersInDomain_response", users),
            &stub,
            |b, stub| {
                b.iter(|| SamrEnumerateUsersInDomain::decode_response(black_box(stub)).unwrap())
            },
        );
    }
    g.finish();
}

criterion_group!(benches, encode, decode);
criterion_main!(benches);
