//! What the `samrpc` process leaves where others can find it (issue 15, items 4 and 5), seen
//! from outside the process on Linux:
//!
//! * a standard-input line the CLI never read is not in its memory (no 8 KiB buffered read
//!   slurped it): the test reads `/proc/PID/mem` region by region (`/proc/PID/maps`) while the
//!   CLI waits on a silent server, and finds the line it did read (the scanner works) but not
//!   the one after it;
//! * a SIGQUIT with the core limit raised produces no core dump (a `sleep` started the same
//!   way does, so the environment can dump cores);
//! * another process of the same (non-root) user cannot read the CLI's `/proc/PID/environ` or
//!   `/proc/PID/mem` (the process is non-dumpable); the same reader can read a dumpable
//!   process of that user, so the refusal is the CLI's doing.
//!
//! Reading another process's memory needs root (CAP_SYS_PTRACE), which the CI has; the
//! same-user test switches to the `nobody` user with `setpriv` (util-linux).
#![cfg(all(feature = "cli", target_os = "linux"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const BIN: &str = env!("CARGO_BIN_EXE_samrpc");
const SIGQUIT: i32 = 3;

fn unique(tag: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{tag}-{}-{nanos:x}", std::process::id())
}

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

fn require_root() {
    assert!(
        is_root(),
        "this test reads another process's memory and needs root (CAP_SYS_PTRACE); run the \
         suite as root as the CI does"
    );
}

/// A TCP listener that accepts and never answers: the CLI waits there after reading its
/// secrets, for as long as its timeout.
fn silent_server() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

/// Wait (up to 20 s) until the CLI connects: it has read what it reads from standard input.
fn wait_for_connection(l: &TcpListener) -> std::net::TcpStream {
    l.set_nonblocking(true).unwrap();
    let start = Instant::now();
    loop {
        match l.accept() {
            Ok((s, _)) => return s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(start.elapsed() < Duration::from_secs(20), "samrpc never connected");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// `samrpc policy` against the silent server, started by `sh -c PREFIX exec samrpc …` in
/// `dir`, with standard input piped (returned open, so the CLI never sees its end).
fn spawn_cli(prefix: &str, port: u16, dir: &Path, stdin: &[u8]) -> Child {
    let script = format!(
        "{prefix} exec \"$0\" policy 127.0.0.1 -U memtest --port {port} --timeout 60 --json"
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).arg(BIN).current_dir(dir);
    cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str() {
            if k.starts_with("SAMRPC_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
    }
    let mut child = cmd.spawn().expect("spawn samrpc");
    child.stdin.as_mut().unwrap().write_all(stdin).unwrap();
    child
}

/// Every readable region of `pid`'s memory, concatenated per region.
fn read_memory(pid: u32) -> Vec<Vec<u8>> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("read maps");
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).expect("open /proc/PID/mem");
    let mut regions = Vec::new();
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else { continue };
        if !perms.starts_with('r') || line.ends_with("[vvar]") || line.ends_with("[vsyscall]") {
            continue;
        }
        let (a, b) = range.split_once('-').unwrap();
        let (a, b) = (u64::from_str_radix(a, 16).unwrap(), u64::from_str_radix(b, 16).unwrap());
        let mut buf = vec![0u8; usize::try_from(b - a).unwrap()];
        if mem.seek(SeekFrom::Start(a)).is_ok() && mem.read_exact(&mut buf).is_ok() {
            regions.push(buf);
        }
    }
    assert!(!regions.is_empty(), "no memory could be read");
    regions
}

fn contains(regions: &[Vec<u8>], needle: &[u8]) -> bool {
    regions.iter().any(|r| r.windows(needle.len()).any(|w| w == needle))
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(unique(tag));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn kill(pid: u32, signal: &str) {
    let ok = Command::new("kill").args([signal, &pid.to_string()]).status().unwrap().success();
    assert!(ok, "kill {signal} {pid}");
}

#[test]
fn a_standard_input_line_never_read_is_not_in_memory() {
    require_root();
    let (listener, port) = silent_server();
    let dir = temp_dir("samrpc-mem");
    let read_line = unique("pw-read-by-samrpc");
    let unread_line = unique("line-samrpc-never-reads");
    let input = format!("{read_line}\n{unread_line}\n");
    let mut child = spawn_cli("", port, &dir, input.as_bytes());
    let _conn = wait_for_connection(&listener);
    // The password it read is still in use (the logon is pending), the next line is not.
    let regions = read_memory(child.id());
    let found_read = contains(&regions, read_line.as_bytes());
    let found_unread = contains(&regions, unread_line.as_bytes());
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(found_read, "the scanner did not find the line samrpc read (scanner broken?)");
    assert!(!found_unread, "a standard-input line samrpc never read is in its memory");
}

/// The files named core* in `dir`.
fn cores(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("core"))
        .collect()
}

#[test]
fn sigquit_with_the_core_limit_raised_dumps_no_core() {
    let raise = "ulimit -c unlimited || exit 99;";
    // Control: a process started the same way does dump a core on SIGQUIT here.
    let dir = temp_dir("samrpc-core-control");
    let mut sleeper = Command::new("sh")
        .arg("-c")
        .arg(format!("{raise} exec sleep 60"))
        .current_dir(&dir)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    kill(sleeper.id(), "-QUIT");
    let st = sleeper.wait().unwrap();
    assert_eq!(st.signal(), Some(SIGQUIT), "{st:?}");
    assert!(
        st.core_dumped(),
        "the control process dumped no core: this machine cannot show the difference \
         (check /proc/sys/kernel/core_pattern and the hard core limit)"
    );
    let _ = std::fs::remove_dir_all(&dir);

    // samrpc, holding a secret while it waits on a silent server.
    let (listener, port) = silent_server();
    let dir = temp_dir("samrpc-core");
    let secret = unique("pw-that-must-not-reach-a-core");
    let mut child = spawn_cli(raise, port, &dir, format!("{secret}\n").as_bytes());
    let _conn = wait_for_connection(&listener);
    kill(child.id(), "-QUIT");
    let st = child.wait().unwrap();
    let left = cores(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(st.signal(), Some(SIGQUIT), "{st:?}");
    assert!(!st.core_dumped(), "samrpc dumped a core");
    assert!(left.is_empty(), "core files left: {left:?}");
}

/// Whether `nobody` can open FILE for reading (and, with `read`, read bytes from it).
fn nobody_can(file: &str, read: bool) -> bool {
    let script = if read { "cat \"$1\"" } else { "exec 3<\"$1\" && echo opened" };
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--", "sh", "-c", script])
        .args(["sh", file])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("setpriv (util-linux) is needed for this test");
    out.status.success() && !out.stdout.is_empty()
}

fn nobody_can_read(file: &str) -> bool {
    nobody_can(file, true)
}

fn nobody_can_open(file: &str) -> bool {
    nobody_can(file, false)
}

#[test]
fn environ_and_mem_are_closed_to_other_processes_of_the_same_user() {
    require_root();
    let as_nobody = "exec setpriv --reuid=65534 --regid=65534 --clear-groups --";
    // Control: a dumpable process of `nobody` is open to another process of `nobody`.
    let mut sleeper = Command::new("sh")
        .arg("-c")
        .arg(format!("{as_nobody} sleep 60"))
        .env("SAMRPC_CONTROL", "x")
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let environ = nobody_can_read(&format!("/proc/{}/environ", sleeper.id()));
    let mem = nobody_can_open(&format!("/proc/{}/mem", sleeper.id()));
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    assert!(environ, "control: nobody cannot read its own dumpable process's environ");
    assert!(mem, "control: nobody cannot open its own dumpable process's mem");

    // samrpc run by `nobody`, its secret in the environment.
    let (listener, port) = silent_server();
    let dir = std::env::temp_dir();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "{as_nobody} \"$0\" policy 127.0.0.1 -U memtest --port {port} --timeout 60 --json"
        ))
        .arg(BIN)
        .current_dir(&dir)
        .env("SAMRPC_PASSWORD", unique("env-secret"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let _conn = wait_for_connection(&listener);
    let pid = child.id();
    let environ = nobody_can_read(&format!("/proc/{pid}/environ"));
    let mem = nobody_can_open(&format!("/proc/{pid}/mem"));
    let cmdline = nobody_can_read(&format!("/proc/{pid}/cmdline"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!environ, "another process of the same user read samrpc's /proc/PID/environ");
    assert!(!mem, "another process of the same user opened samrpc's /proc/PID/mem");
    // What stays visible (documented in SECURITY.md): the command line.
    assert!(cmdline, "/proc/PID/cmdline stays world-readable");
}

/// The prompt path on a real terminal (`script` from util-linux gives samrpc a pty): the
/// prompt appears, the typed password is not echoed, the logon goes ahead with it (exit 3:
/// nothing listens on port 1), and echo is back on afterwards.
#[test]
fn prompt_reads_the_terminal_without_echo_and_restores_it() {
    let typed = unique("typed-at-the-prompt");
    let cmd = format!("{BIN} policy 127.0.0.1 -U bob --port 1 --timeout 2; echo EXIT=$?; stty -a");
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) is needed for this test");
    let mut stdin = child.stdin.take().unwrap();
    // Type only once the prompt has turned echo off (the terminal echoes on arrival).
    std::thread::sleep(Duration::from_millis(1500));
    stdin.write_all(format!("{typed}\n").as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Password for bob: "), "{text}");
    assert!(!text.contains(&typed), "the password was echoed: {text}");
    assert!(text.contains("EXIT=3"), "{text}");
    assert!(text.split_whitespace().any(|w| w == "echo"), "echo not restored: {text}");
}
