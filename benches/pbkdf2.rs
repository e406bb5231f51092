//! PBKDF2 benchmarks (filled in by the crypto work).
fn main() {}
