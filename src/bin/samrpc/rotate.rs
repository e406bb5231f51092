//! `samrpc rotate`: reset many accounts to fresh random passwords, one JSON line per account
//! in a new file readable only by its owner (on Unix; on Windows see [`create_out`]).

use crate::output::Report;
use crate::secrets::{ENV_ADMIN_PASSWORD, SecretReader, usage};
use crate::{Common, account_display, config, fail, parse_account};
use clap::Args;
use samrpc::api::rotate::{self, RotateEvent, RotateRequest, RotateUsers, Rotated};
use samrpc::{Credentials, Error, ErrorKind, Operation};
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

pub(crate) const ROTATE_LONG: &str = "\
Reset many accounts on HOST to fresh random passwords, as an administrator.

The domain policy is read once; each password is drawn from a cryptographic random source,
is max(--length, the policy's minimum) characters long, holds all four character classes
when the policy requires complexity, and never contains the account name. N connections
(--jobs) work in parallel, each reusing its SAMR handles across accounts; each reset is
SamrSetInformationUser2 level 31 (AES).

Results: --out FILE, created new with mode 0600 (an existing file is never overwritten),
is a journal while the run goes: before each reset is sent, a line
{\"user\", \"state\":\"pending\", \"password\"} is written and synced to disk; when the account is
done, its final line {\"user\", \"state\", \"ok\", \"status\", \"password\", \"error\"} follows, with
state \"rotated\" (the new password is set), \"failed\" (not set: the old password still works)
or \"unknown\" (a reset may have been sent and could not be settled: the recorded password
may be set). At the end the file is rewritten with one line per account (its final line).
If the run is killed, take the last line of each account: \"pending\" means the recorded
password may be set. The first failure to write or sync the file stops the run: no reset is
sent after it, and the accounts whose state is uncertain are named.

When a connection fails (network, timeout), it is replaced (up to 5 attempts, backoff from
250 ms) and the run carries on with the accounts left; the account in flight is reset again
with the same, already recorded password. Only if that cannot be done does it end as
\"unknown\". Failures for one account do not stop the others. Progress goes to standard error.

--resume FILE: a previous run's results file (compacted or not); the accounts whose last line
says \"rotated\" are skipped and their lines copied to the new --out, so that it holds the
whole result.

--users FILE: one account name per line (blank lines and lines starting with # are skipped).
--all: every normal user account except krbtgt, Guest and the -U account itself.

WARNING: a reset is not a change: the users' DPAPI secrets (saved credentials, EFS files,
certificate private keys) may become unreadable for good.

The administrator's password: SAMRPC_ADMIN_PASSWORD, else the first line of standard input,
else a prompt without echo.

Exit code: 0 when every account was rotated, 1 when any failed, 2 usage error, 3 when nothing
could start (network, logon, policy), 4 when the outcome of any account is unknown (including
a results file that failed while resets were in flight).";

#[derive(Args)]
pub(crate) struct RotateArgs {
    /// Server host name or address (a domain controller for domain accounts)
    #[arg(value_name = "HOST")]
    host: String,
    /// The administrator to log on as: NAME, DOMAIN\NAME or NAME@DOMAIN
    #[arg(short = 'U', long = "account", value_name = "[DOMAIN\\]ADMIN", required = true)]
    admin: String,
    /// A file with one account name per line
    #[arg(long, value_name = "FILE", required_unless_present = "all", conflicts_with = "all")]
    users: Option<PathBuf>,
    /// Every normal user account (but krbtgt, Guest and the -U account)
    #[arg(long)]
    all: bool,
    /// Connections used in parallel
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// Password length (the domain's minimum wins when longer)
    #[arg(long, value_name = "L", default_value_t = 20,
          value_parser = clap::value_parser!(u16).range(4..=256))]
    length: u16,
    /// Where the results go (created with mode 0600; must not exist)
    #[arg(long, value_name = "FILE", required = true)]
    out: PathBuf,
    /// A previous run's results file: accounts it records as rotated are skipped, and their
    /// records are copied to --out
    #[arg(long, value_name = "FILE")]
    resume: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) common: Common,
}

fn input_error(message: String) -> Error {
    Error::new(ErrorKind::InvalidInput, Operation::Input, message)
}

/// The account names of a --users file.
fn read_users(path: &Path) -> Result<Vec<String>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| input_error(format!("cannot read {}: {e}", path.display())))?;
    let users: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| Credentials::split_account(l).0)
        .collect();
    if users.is_empty() {
        return Err(usage(format!("{} names no account", path.display())));
    }
    Ok(users)
}

/// Create the results file: new (never overwritten), owner read/write only.
///
/// On Unix the file is created with mode 0600. On Windows safe `std` cannot set a security
/// descriptor: the file gets the ACL it inherits from its directory (under `%USERPROFILE%`
/// that is the user, SYSTEM and Administrators; elsewhere it may be wider), and it is opened
/// with no sharing, so no other process can open it while `rotate` runs. README.md and
/// SECURITY.md say so.
fn create_out(path: &Path) -> Result<File, Error> {
    new_private_file(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            usage(format!("{} exists; rotate never overwrites a results file", path.display()))
        } else {
            input_error(format!("cannot create {}: {e}", path.display()))
        }
    })
}

/// The state a final record gives an account: `rotated` (the new password is set),
/// `failed` (not set: the old password is still in force) or `unknown` (a reset may have
/// been sent and could not be settled: the recorded password may be set).
fn state(r: &Rotated) -> &'static str {
    match (&r.result, &r.password) {
        (Ok(()), _) => "rotated",
        (Err(_), Some(_)) => "unknown",
        (Err(_), None) => "failed",
    }
}

/// One final results line, newline included, in a zeroizing buffer sized once for the worst case
/// (every byte escaped as `\uXXXX`), so neither a `serde_json::Value`, a `String` nor a
/// reallocation leaves an unwiped copy of the password behind.
fn line(r: &Rotated) -> zeroize::Zeroizing<Vec<u8>> {
    let status = match (&r.result, r.status()) {
        (_, Some(s)) => s.symbol(),
        (Err(e), None) => e.kind_name().to_owned(),
        (Ok(()), None) => "STATUS_SUCCESS".to_owned(),
    };
    let error = r.result.as_ref().err().map(ToString::to_string);
    let password = r.password.as_ref().map(|p| p.expose());
    let strings = r.user.len() + status.len() + error.as_ref().map_or(0, String::len);
    let bound = 6 * (strings + password.map_or(0, str::len)) + 128;
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(bound));
    // Writing JSON strings into a Vec cannot fail.
    let put = |b: &mut Vec<u8>, s: &str| {
        let _ = serde_json::to_writer(&mut *b, s);
    };
    buf.extend_from_slice(b"{\"user\":");
    put(&mut buf, &r.user);
    buf.extend_from_slice(b",\"state\":");
    put(&mut buf, state(r));
    buf.extend_from_slice(if r.result.is_ok() { b",\"ok\":true" } else { b",\"ok\":false" });
    buf.extend_from_slice(b",\"status\":");
    put(&mut buf, &status);
    buf.extend_from_slice(b",\"password\":");
    match password {
        Some(p) => put(&mut buf, p),
        None => buf.extend_from_slice(b"null"),
    }
    if let Some(e) = &error {
        buf.extend_from_slice(b",\"error\":");
        put(&mut buf, e);
    }
    buf.extend_from_slice(b"}\n");
    debug_assert!(buf.capacity() == bound, "the results line outgrew its buffer");
    buf
}

/// The write-ahead line (newline included), written and synced before the reset it
/// describes is sent; built like [`line`] in one zeroizing buffer that never reallocates.
fn pending_line(user: &str, password: &samrpc::Password) -> zeroize::Zeroizing<Vec<u8>> {
    let bound = 6 * (user.len() + password.expose().len()) + 64;
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(bound));
    let put = |b: &mut Vec<u8>, s: &str| {
        let _ = serde_json::to_writer(&mut *b, s);
    };
    buf.extend_from_slice(b"{\"user\":");
    put(&mut buf, user);
    buf.extend_from_slice(b",\"state\":\"pending\",\"password\":");
    put(&mut buf, password.expose());
    buf.extend_from_slice(b"}\n");
    debug_assert!(buf.capacity() == bound, "the pending line outgrew its buffer");
    buf
}

/// The last record of every account in a results file (a journal until the run compacts
/// it), in the order the accounts first appear; unreadable lines (a write cut short) are
/// skipped.
fn last_records(text: &str) -> Vec<Record<'_>> {
    let mut order: Vec<Record<'_>> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in text.lines() {
        // Only the fields named in `Head` are read: the password stays in `text` (a
        // zeroizing buffer) and is never copied out of it.
        let Ok(head) = serde_json::from_str::<Head<'_>>(line) else { continue };
        let state = match head.state.as_deref() {
            Some("pending") => "pending",
            Some("rotated") => "rotated",
            Some("unknown") => "unknown",
            Some(_) => "failed",
            None if head.ok == Some(true) => "rotated",
            None => "failed",
        };
        let user = head.user.into_owned();
        let rec = Record { user: user.clone(), state, line };
        match index.get(&user) {
            Some(&i) => order[i] = rec,
            None => {
                index.insert(user, order.len());
                order.push(rec);
            }
        }
    }
    order
}

/// The fields of a results line that the journal's readers need (not the password).
#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    user: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    state: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    ok: Option<bool>,
}

/// An account's last record in a results file: its name, final state (`rotated`, `failed`,
/// `unknown`, or `pending` when the run ended before the outcome was recorded; lines written
/// before the `state` field existed count by their `ok`) and the line itself.
struct Record<'a> {
    user: String,
    state: &'static str,
    line: &'a str,
}

/// The accounts a previous results file records as rotated, with their records (the lines
/// as they were, in zeroizing buffers: they hold the passwords).
fn read_resume(path: &Path) -> Result<Vec<(String, zeroize::Zeroizing<String>)>, Error> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| input_error(format!("cannot read {}: {e}", path.display())))?,
    );
    Ok(last_records(&text)
        .into_iter()
        .filter(|r| r.state == "rotated")
        .map(|r| (r.user, zeroize::Zeroizing::new(r.line.to_owned())))
        .collect())
}

/// A new file (never an existing one) that only its owner can read: mode 0600 on Unix; on
/// Windows opened with no sharing (see [`create_out`]).
fn new_private_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    #[cfg(windows)]
    std::os::windows::fs::OpenOptionsExt::share_mode(&mut options, 0);
    options.open(path)
}

/// Rewrite the journal at `path` as one line per account (its last record), atomically: a
/// new 0600 file beside it, synced, renamed over it, and the directory synced.
fn compact(path: &Path) -> std::io::Result<()> {
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path)?);
    let mut out = zeroize::Zeroizing::new(String::with_capacity(text.len()));
    for r in last_records(&text) {
        out.push_str(r.line);
        out.push('\n');
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.compact-{}", std::process::id()));
    let mut f = new_private_file(&tmp)?;
    let written = f.write_all(out.as_bytes()).and_then(|()| f.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    drop(f);
    std::fs::rename(&tmp, path)?;
    sync_dir(path)
}

/// Make a rename in `path`'s directory durable (Unix: fsync the directory; Windows has no
/// such call in safe `std`, and NTFS journals the rename itself).
fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// The results file while the run goes: every write-ahead line is synced before its reset
/// is sent; the first failure stops the run.
struct Journal {
    file: File,
    failure: Option<std::io::Error>,
    /// Accounts with a synced pending record and no final record yet.
    pending: std::collections::BTreeSet<String>,
    /// Accounts whose final record says `unknown`.
    unknown: Vec<String>,
}

impl Journal {
    /// Write one line (newline included); `sync`: `fdatasync` it before returning.
    fn append(&mut self, l: &[u8], sync: bool) -> bool {
        let r =
            self.file.write_all(l).and_then(|()| if sync { self.file.sync_data() } else { Ok(()) });
        match r {
            Ok(()) => true,
            Err(e) => {
                self.failure = Some(e);
                false
            }
        }
    }

    fn event(&mut self, ev: RotateEvent<'_>) -> ControlFlow<()> {
        if self.failure.is_some() {
            return ControlFlow::Break(());
        }
        match ev {
            RotateEvent::Pending { user, password } => {
                if !self.append(&pending_line(user, password), true) {
                    return ControlFlow::Break(());
                }
                self.pending.insert(user.to_owned());
            }
            RotateEvent::Done { result, .. } => {
                if state(result) == "unknown" {
                    self.unknown.push(result.user.clone());
                }
                if !self.append(&line(result), false) {
                    return ControlFlow::Break(());
                }
                self.pending.remove(&result.user);
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    /// Accounts whose password may have changed without a final record saying so.
    fn uncertain(&self) -> Vec<String> {
        let mut v: Vec<String> = self.pending.iter().cloned().collect();
        v.extend(self.unknown.iter().filter(|u| !self.pending.contains(*u)).cloned());
        v
    }
}

/// A list of account names for a message (the first 50, then a count).
fn names(v: &[String]) -> String {
    let mut s = v.iter().take(50).cloned().collect::<Vec<_>>().join(", ");
    if v.len() > 50 {
        s.push_str(&format!(" and {} more", v.len() - 50));
    }
    s
}

pub(crate) async fn rotate(a: RotateArgs, secrets: &mut SecretReader<'_>) -> Report {
    eprintln!("warning: {}", crate::DPAPI_WARNING);
    let mut rep = Report::new("rotate", &a.host);
    if let Err(e) = rotate_inner(&a, secrets, &mut rep).await {
        let h = Some(format!("No password on {} was rotated.", a.host));
        fail(&mut rep, e, h, a.common.port);
    }
    rep
}

async fn rotate_inner(
    a: &RotateArgs,
    secrets: &mut SecretReader<'_>,
    rep: &mut Report,
) -> Result<(), Error> {
    let (admin, admin_domain) = parse_account(&a.admin, "-U")?;
    let shown = account_display(&admin, admin_domain.as_deref());
    rep.account = Some(shown.clone());
    let users = match &a.users {
        Some(path) => RotateUsers::List(read_users(path)?),
        None => RotateUsers::All,
    };
    let resumed = match &a.resume {
        Some(path) => read_resume(path)?,
        None => Vec::new(),
    };
    let cfg = config(&a.common, false);
    let admin = super::account_credentials(
        &a.host,
        admin,
        admin_domain,
        &shown,
        ENV_ADMIN_PASSWORD,
        &cfg,
        secrets,
    )?;
    let out = create_out(&a.out)?;
    let mut journal =
        Journal { file: out, failure: None, pending: Default::default(), unknown: Vec::new() };
    // The accounts a previous run rotated keep their records: this file is the whole result.
    for (_, record) in &resumed {
        let mut l = zeroize::Zeroizing::new(Vec::with_capacity(record.len() + 1));
        l.extend_from_slice(record.as_bytes());
        l.push(b'\n');
        if !journal.append(&l, false) {
            break;
        }
    }
    if let Some(e) = journal.failure.take() {
        return Err(input_error(format!("writing {} failed: {e}", a.out.display())));
    }
    let req = RotateRequest::new(&a.host, admin, users)
        .with_jobs(usize::from(a.jobs))
        .with_length(usize::from(a.length))
        .with_skip(resumed.iter().map(|(u, _)| u.clone()).collect())
        .with_config(cfg);
    let progress = std::io::stderr().is_terminal() || std::env::var_os("SAMRPC_PROGRESS").is_some();
    let started = std::time::Instant::now();
    let summary = rotate::rotate_journaled(req, |ev| {
        if progress {
            if let RotateEvent::Done { done, total, .. } = &ev {
                eprint!("\r[{done}/{total}]");
            }
        }
        journal.event(ev)
    })
    .await?;
    if progress {
        eprintln!();
    }
    let secs = started.elapsed().as_secs_f64();
    let synced = match journal.failure.take() {
        Some(e) => Err(e),
        None => journal.file.sync_all(),
    };
    if let Err(e) = synced {
        // Whatever was not synced may be lost: every account with a reset in flight or an
        // unknown outcome is uncertain.
        let uncertain = journal.uncertain();
        let kind =
            if uncertain.is_empty() { ErrorKind::InvalidInput } else { ErrorKind::OutcomeUnknown };
        let what = if uncertain.is_empty() {
            "no reset was sent after it".to_owned()
        } else {
            format!(
                "the state of {} account(s) is uncertain (their pending record holds the \
                 password that may be set): {}",
                uncertain.len(),
                names(&uncertain)
            )
        };
        let err = Error::new(
            kind,
            Operation::Input,
            format!(
                "writing {} failed ({e}); the run stopped at the first failure and {what}",
                a.out.display()
            ),
        );
        let h = Some(format!(
            "Rotated {} of {} passwords on {} before the results file failed.",
            summary.ok,
            summary.total + resumed.len(),
            a.host
        ));
        fail(rep, err, h, a.common.port);
        rep.extra.insert("uncertain".into(), serde_json::json!(uncertain));
        return Ok(());
    }
    drop(journal.file);
    let compacted = compact(&a.out);
    let failed = summary.total - summary.ok - summary.unknown;
    rep.ok = failed == 0 && summary.unknown == 0;
    rep.exit = if summary.unknown != 0 { 4 } else { i32::from(failed != 0) };
    rep.extra.insert("total".into(), serde_json::json!(summary.total + resumed.len()));
    rep.extra.insert("rotated".into(), serde_json::json!(summary.ok + resumed.len()));
    rep.extra.insert("resumed".into(), serde_json::json!(resumed.len()));
    rep.extra.insert("failed".into(), serde_json::json!(failed));
    rep.extra.insert("unknown".into(), serde_json::json!(journal.unknown));
    rep.extra.insert("reconnects".into(), serde_json::json!(summary.reconnects));
    rep.extra.insert("length".into(), serde_json::json!(summary.length));
    rep.extra.insert("complexity".into(), serde_json::json!(summary.complexity));
    rep.extra.insert("flights".into(), serde_json::json!(summary.flights));
    rep.extra.insert("seconds".into(), serde_json::json!(secs));
    rep.extra.insert("out".into(), serde_json::json!(a.out.display().to_string()));
    rep.lines.push(format!(
        "Rotated {} of {} passwords on {} ({} characters{}) in {secs:.2} s; results in {}",
        summary.ok + resumed.len(),
        summary.total + resumed.len(),
        a.host,
        summary.length,
        if summary.complexity { ", complexity" } else { "" },
        a.out.display()
    ));
    if !resumed.is_empty() {
        rep.lines.push(format!("{} already rotated by the resumed run", resumed.len()));
    }
    if summary.reconnects != 0 {
        rep.lines.push(format!("{} connection(s) replaced after a failure", summary.reconnects));
    }
    if failed != 0 {
        rep.lines.push(format!("{failed} failed: see the lines with \"state\":\"failed\""));
    }
    if !journal.unknown.is_empty() {
        rep.lines.push(format!(
            "{} with an unknown outcome (the recorded password may be set): {}",
            journal.unknown.len(),
            names(&journal.unknown)
        ));
    }
    if let Err(e) = compacted {
        rep.lines.push(format!(
            "(could not compact {} to one line per account: {e}; take the last line of each \
             account)",
            a.out.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use samrpc::NtStatus;

    #[test]
    fn users_file_skips_blanks_and_comments() {
        let dir = std::env::temp_dir().join(format!("samrpc-rot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("users");
        std::fs::write(&p, "alice\n\n# comment\n  bob  \nSAMR\\carol\n").unwrap();
        assert_eq!(read_users(&p).unwrap(), ["alice", "bob", "carol"]);
        std::fs::write(&p, "\n# nobody\n").unwrap();
        assert!(read_users(&p).is_err());
        let out = dir.join("out.jsonl");
        let _ = std::fs::remove_file(&out);
        drop(create_out(&out).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let e = create_out(&out).unwrap_err();
        assert!(e.to_string().contains("never overwrites"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn result_lines() {
        let ok = Rotated {
            user: "alice".into(),
            result: Ok(()),
            password: Some(samrpc::Password::from("p\"w")),
        };
        let l = line(&ok);
        assert_eq!(l.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&l).unwrap();
        assert_eq!(v["user"], "alice");
        assert_eq!(v["state"], "rotated");
        assert_eq!(v["ok"], true);
        assert_eq!(v["status"], "STATUS_SUCCESS");
        assert_eq!(v["password"], "p\"w");
        let bad = Rotated {
            user: "nobody".into(),
            result: Err(Error::refused(Operation::Input, NtStatus::STATUS_NONE_MAPPED)),
            password: None,
        };
        let v: serde_json::Value = serde_json::from_slice(&line(&bad)).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["status"], "STATUS_NONE_MAPPED");
        assert_eq!(v["state"], "failed");
        assert!(v["password"].is_null());
        assert!(v["error"].as_str().is_some());
        let unknown = Rotated {
            user: "carol".into(),
            result: Err(Error::new(ErrorKind::OutcomeUnknown, Operation::Input, "lost")),
            password: Some(samrpc::Password::from("x")),
        };
        let v: serde_json::Value = serde_json::from_slice(&line(&unknown)).unwrap();
        assert_eq!(v["state"], "unknown");
        assert_eq!(v["password"], "x");
    }

    #[test]
    fn the_last_record_of_each_account_wins_and_cut_lines_are_skipped() {
        let p1 = pending_line("alice", &samrpc::Password::from("a1"));
        let p2 = pending_line("bob", &samrpc::Password::from("b1"));
        let text = format!(
            "{}{}{}\n{}\n{{\"user\":\"dave\",\"sta",
            String::from_utf8_lossy(&p1),
            String::from_utf8_lossy(&p2),
            r#"{"user":"alice","state":"rotated","ok":true,"password":"a1"}"#,
            r#"{"user":"carol","ok":true,"password":"c1"}"#,
        );
        let recs = last_records(&text);
        let states: Vec<(&str, &str)> = recs.iter().map(|r| (r.user.as_str(), r.state)).collect();
        assert_eq!(states, [("alice", "rotated"), ("bob", "pending"), ("carol", "rotated")]);
        let dir = std::env::temp_dir().join(format!("samrpc-compact-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("out.jsonl");
        std::fs::write(&p, &text).unwrap();
        let resumed = read_resume(&p).unwrap();
        let names: Vec<&str> = resumed.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(names, ["alice", "carol"]);
        compact(&p).unwrap();
        let lines: Vec<String> =
            std::fs::read_to_string(&p).unwrap().lines().map(str::to_owned).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[1].contains("pending") && lines[1].contains("b1"), "{lines:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The line is built in one buffer that never reallocates, even for the worst escaping
    /// (a reallocation would leave an unwiped copy of the password behind).
    #[test]
    fn result_line_never_reallocates() {
        let nasty: String = (0u8..32).map(char::from).chain("\"\\ü😀".chars()).collect();
        for pw in ["", "plain", "\"\"\"\"\\\\", nasty.as_str()] {
            let r = Rotated {
                user: nasty.clone(),
                result: Ok(()),
                password: Some(samrpc::Password::from(pw)),
            };
            let l = line(&r);
            let strings = nasty.len() + "STATUS_SUCCESS".len();
            assert_eq!(l.capacity(), 6 * (strings + pw.len()) + 128, "{pw:?}");
            let v: serde_json::Value = serde_json::from_slice(&l).unwrap();
            assert_eq!(v["password"], pw);
            assert_eq!(v["user"], nasty.as_str());
        }
    }
}
