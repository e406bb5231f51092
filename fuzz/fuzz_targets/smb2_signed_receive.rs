#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| samrpc::fuzzing::smb2_signed_receive(data));
