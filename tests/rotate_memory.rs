//! Memory over a long rotation (issue 14 item 3): RSS sampled while the library rotates many
//! accounts on the standalone server 127.0.0.2. Its own test binary, so that no other test's
//! allocations move the process's RSS.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{admin_password, require_servers};
use samrpc::{Credentials, Password};
use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

fn proc_status(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn rotation_user(i: usize) -> String {
    format!("rsrot{i:05}")
}

/// Make sure the standalone server S2 has the accounts `rsrot00000`… (`n` of them; reused
/// across runs). Missing ones are made in bulk: Unix accounts with `newusers`, then one
/// `pdbedit -i smbpasswd:` import with their NT hash, far faster than one `smbpasswd -a`
/// per account. Returns how long that took.
fn ensure_rotation_users(n: usize) -> Duration {
    let t = Instant::now();
    require_servers();
    let state = std::env::var("SAMRPC_SAMBA_DIR").unwrap_or_else(|_| "/tmp/samrpc-samba".into());
    let conf = format!("{state}/s2/smb.conf");
    let listed = Command::new("pdbedit")
        .args(["-s", &conf, "-L"])
        .env("_NO_WINBINDD", "1")
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    let have: std::collections::HashSet<&str> =
        listed.lines().filter_map(|l| l.split(':').next()).collect();
    let missing: Vec<String> =
        (0..n).map(rotation_user).filter(|u| !have.contains(u.as_str())).collect();
    if missing.is_empty() {
        return t.elapsed();
    }
    // Every Unix account newusers makes also takes a subordinate UID and GID range (65,536
    // each, login.defs defaults), and a machine has room for about 9,000 of them in all: when
    // they run out, every later useradd on the machine fails. Thousands of accounts are made
    // only on request.
    assert!(
        missing.len() <= 2000 || std::env::var_os("SAMRPC_ROTATE_CREATE").is_some(),
        "{} accounts to create: set SAMRPC_ROTATE_CREATE=1 to make them (each takes a \
         subordinate-ID range; on a shared machine remove the rsrot lines from /etc/subuid and \
         /etc/subgid afterwards)",
        missing.len()
    );
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let unix: std::collections::HashSet<&str> =
        passwd.lines().filter_map(|l| l.split(':').next()).collect();
    let dir = std::env::temp_dir().join(format!("samrpc-rsrot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let new_unix: Vec<String> = missing
        .iter()
        .filter(|u| !unix.contains(u.as_str()))
        .map(|u| format!("{u}:Unused-1!x:::rsrot:/nonexistent:/usr/sbin/nologin\n"))
        .collect();
    // Small batches: newusers holds the passwd/shadow locks for the whole batch, and other
    // processes creating accounts meanwhile wait at most 15 s for them.
    for (i, batch) in new_unix.chunks(50).enumerate() {
        let f = dir.join(format!("newusers{i}"));
        std::fs::write(&f, batch.concat()).unwrap();
        let o = Command::new("newusers").arg(&f).env("_NO_WINBINDD", "1").output().unwrap();
        assert!(o.status.success(), "newusers: {}", String::from_utf8_lossy(&o.stderr));
        std::thread::sleep(Duration::from_millis(300));
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let uids: HashMap<&str, &str> = passwd
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            Some((name, f.nth(1)?))
        })
        .collect();
    let hash = samrpc::crypto::nt_hash(&Password::from("Rotate-Initial-2026!q"));
    let hex: String = hash.expose().iter().map(|b| format!("{b:02X}")).collect();
    let entries: String = missing
        .iter()
        .map(|u| {
            format!(
                "{u}:{}:{}:{hex}:[U          ]:LCT-6B146F23:\n",
                uids[u.as_str()],
                "X".repeat(32)
            )
        })
        .collect();
    let f = dir.join("smbpasswd");
    std::fs::write(&f, entries).unwrap();
    let o = Command::new("pdbedit")
        .args(["-s", &conf, "-i"])
        .arg(format!("smbpasswd:{}", f.display()))
        .env("_NO_WINBINDD", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "pdbedit -i: {}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
    t.elapsed()
}

/// Issue 14 item 3: memory stays flat over a long rotation against the standalone server
/// (the library's `rotate_journaled`, 4 connections). RSS is sampled as accounts complete;
/// after the first 20 % (connections, buffers and allocator pools warmed up) it may not grow
/// by more than 4 MiB, whatever the count. `SAMRPC_ROTATE_ACCOUNTS` sets the count (default
/// 400 in CI; the 10,000-account figure is in benches/compare/README.md).
#[test]
fn rotation_memory_stays_flat() {
    use samrpc::api::rotate::{RotateEvent, RotateRequest, RotateUsers, rotate_journaled};
    let n: usize =
        std::env::var("SAMRPC_ROTATE_ACCOUNTS").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    let made = ensure_rotation_users(n);
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let users: Vec<String> = (0..n).map(rotation_user).collect();
    let admin =
        Credentials::password("Administrator", None, Password::from(admin_password().as_str()));
    let req = RotateRequest::new(common::S2.ip, admin, RotateUsers::List(users))
        .with_jobs(4)
        .with_length(16);
    let rss_start = proc_status("VmRSS:");
    let mut samples: Vec<(usize, u64)> = Vec::new();
    let mut pending = 0usize;
    let started = Instant::now();
    let summary = rt
        .block_on(rotate_journaled(req, |ev| {
            match ev {
                RotateEvent::Pending { .. } => pending += 1,
                RotateEvent::Done { done, total, .. }
                    if done % (total / 10).max(1) == 0 || done == total =>
                {
                    samples.push((done, proc_status("VmRSS:")));
                }
                _ => {}
            }
            std::ops::ControlFlow::Continue(())
        }))
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let peak = proc_status("VmHWM:");
    println!(
        "rotation of {n} accounts on 127.0.0.2 (accounts made in {:.1} s): {} ok in {secs:.1} s \
         ({:.0}/s), {} reconnects, {} pending records; RSS start {rss_start} kB, samples \
         (done, kB) {samples:?}, peak (VmHWM) {peak} kB",
        made.as_secs_f64(),
        summary.ok,
        summary.ok as f64 / secs,
        summary.reconnects,
        pending,
    );
    assert_eq!(summary.ok, n);
    assert!(pending >= n);
    let after_warmup = samples.iter().find(|(d, _)| *d >= n / 5).map(|s| s.1).unwrap();
    let end = samples.last().unwrap().1;
    assert!(end <= after_warmup + 4096, "RSS grew from {after_warmup} kB to {end} kB");
}
