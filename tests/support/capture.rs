//! A `dumpcap` capture of loopback traffic for wire-level assertions (`tests/wire.rs`,
//! `tests/tcp.rs`): start with a capture filter, run the traffic, stop (SIGTERM, so dumpcap
//! flushes) and read the file back with tshark.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `dumpcap` on the loopback interface.
pub struct Capture {
    child: Child,
    file: PathBuf,
}

impl Capture {
    /// Start capturing what `filter` (a pcap capture filter) matches on `lo`, into a temporary
    /// file named after `tag`; returns once dumpcap says it is capturing. `setup` names the
    /// command that installs dumpcap (for the panic message).
    pub fn start(filter: &str, tag: &str, setup: &str) -> Self {
        let file =
            std::env::temp_dir().join(format!("samrpc-wire-{tag}-{}.pcapng", std::process::id()));
        let log = file.with_extension("log");
        let _ = std::fs::remove_file(&file);
        let child = Command::new("dumpcap")
            .args(["-i", "lo", "-q", "-f", filter])
            .arg("-w")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run dumpcap ({e}); install it with `{setup}`"));
        // Wait until dumpcap says it is capturing.
        let t = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("File:") {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "dumpcap did not start: {text}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, file }
    }

    /// Stop capturing (SIGTERM, so dumpcap flushes) and return the capture's path.
    pub fn stop(mut self) -> PathBuf {
        std::thread::sleep(Duration::from_millis(300));
        let st = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        assert!(st.is_ok_and(|s| s.success()), "cannot stop dumpcap");
        self.child.wait().unwrap();
        self.file.clone()
    }
}
