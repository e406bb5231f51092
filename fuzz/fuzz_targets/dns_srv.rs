#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| samrpc::fuzzing::dns_srv(data));
