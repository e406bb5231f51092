#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| samrpc::fuzzing::rpc_krb_sealed(data));
