//! `samrpc rotate`: reset many accounts to fresh random passwords, one JSON line per account
//! in a new file readable only by its owner (on Unix; on Windows see [`create_out`]).

use crate::output::Report;
use crate::secrets::{ENV_ADMIN_PASSWORD, SecretReader, usage};
use crate::{Common, account_display, config, fail, parse_account};
use clap::Args;
use samrpc::api::rotate::{self, RotateRequest, RotateUsers, Rotated};
use samrpc::{Credentials, Error, ErrorKind, Operation};
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

pub(crate) const ROTATE_LONG: &str = "\
Reset many accounts on HOST to fresh random passwords, as an administrator.

The domain policy is read once; each password is drawn from a cryptographic random source,
is max(--length, the policy's minimum) characters long, holds all four character classes
when the policy requires complexity, and never contains the account name. N connections
(--jobs) work in parallel, each reusing its SAMR handles across accounts; each reset is
SamrSetInformationUser2 level 31 (AES).

Results: one JSON line per account, {\"user\", \"ok\", \"status\", \"password\", \"error\"}, in
--out FILE, created new with mode 0600 (an existing file is never overwritten) and written
as each account is done. \"password\" is also given when the outcome is unknown (the
connection was lost after the reset was sent). Failures for one account do not stop the
others. Progress goes to standard error.

--users FILE: one account name per line (blank lines and lines starting with # are skipped).
--all: every normal user account except krbtgt, Guest and the -U account itself.

WARNING: a reset is not a change: the users' DPAPI secrets (saved credentials, EFS files,
certificate private keys) may become unreadable for good.

The administrator's password: SAMRPC_ADMIN_PASSWORD, else the first line of standard input,
else a prompt without echo.

Exit code: 0 when every account was rotated, 1 when any failed, 2 usage error, 3 when nothing
could start (network, logon, policy).";

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
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    #[cfg(windows)]
    std::os::windows::fs::OpenOptionsExt::share_mode(&mut options, 0);
    options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            usage(format!("{} exists; rotate never overwrites a results file", path.display()))
        } else {
            input_error(format!("cannot create {}: {e}", path.display()))
        }
    })
}

/// One results line, newline included, in a zeroizing buffer sized once for the worst case
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
    let mut out = create_out(&a.out)?;
    let req = RotateRequest::new(&a.host, admin, users)
        .with_jobs(usize::from(a.jobs))
        .with_length(usize::from(a.length))
        .with_config(cfg);
    let progress = std::io::stderr().is_terminal() || std::env::var_os("SAMRPC_PROGRESS").is_some();
    let mut write_error: Option<std::io::Error> = None;
    let started = std::time::Instant::now();
    let summary = rotate::rotate(req, |r, done, total| {
        if write_error.is_none() {
            let l = line(r);
            if let Err(e) = out.write_all(&l) {
                write_error = Some(e);
            }
        }
        if progress {
            eprint!("\r[{done}/{total}]");
        }
    })
    .await?;
    if progress {
        eprintln!();
    }
    let secs = started.elapsed().as_secs_f64();
    if let Some(e) = write_error {
        return Err(input_error(format!(
            "writing {} failed ({e}): some rotated passwords were NOT recorded; rotate those \
             accounts again",
            a.out.display()
        )));
    }
    let _ = out.sync_all();
    let failed = summary.total - summary.ok;
    rep.ok = failed == 0;
    rep.exit = i32::from(failed != 0);
    rep.extra.insert("total".into(), serde_json::json!(summary.total));
    rep.extra.insert("rotated".into(), serde_json::json!(summary.ok));
    rep.extra.insert("failed".into(), serde_json::json!(failed));
    rep.extra.insert("length".into(), serde_json::json!(summary.length));
    rep.extra.insert("complexity".into(), serde_json::json!(summary.complexity));
    rep.extra.insert("flights".into(), serde_json::json!(summary.flights));
    rep.extra.insert("seconds".into(), serde_json::json!(secs));
    rep.extra.insert("out".into(), serde_json::json!(a.out.display().to_string()));
    rep.lines.push(format!(
        "Rotated {} of {} passwords on {} ({} characters{}) in {secs:.2} s; results in {}",
        summary.ok,
        summary.total,
        a.host,
        summary.length,
        if summary.complexity { ", complexity" } else { "" },
        a.out.display()
    ));
    if failed != 0 {
        rep.lines.push(format!("{failed} failed: see the lines with \"ok\":false"));
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
        assert!(v["password"].is_null());
        assert!(v["error"].as_str().is_some());
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
