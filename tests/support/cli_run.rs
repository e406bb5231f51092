//! Running the `samrpc` binary from integration tests (feature `cli`): a clean environment
//! (no inherited `SAMRPC_*` secrets or `RUST_LOG`), piped output, optional standard input.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_samrpc");

/// Run samrpc with `args`, `stdin` (`None` = /dev/null) and only the given SAMRPC_* variables.
pub fn run(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str() {
            if k.starts_with("SAMRPC_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("spawn samrpc");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        // The binary may exit before reading everything (a usage error): ignore EPIPE.
        let _ = pipe.write_all(input);
    }
    child.wait_with_output().expect("wait for samrpc")
}

/// The exit code.
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

/// Standard output must be exactly one JSON object (one line).
pub fn json(o: &Output) -> Value {
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), 1, "one line of JSON expected, got {out:?}");
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert!(v.is_object(), "{v}");
    v
}
