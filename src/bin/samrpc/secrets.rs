//! Where secrets come from: environment variables, lines of standard input, or a prompt
//! without echo — never the command line (the NT hash option is the one documented exception).
//!
//! Everything here takes its sources as parameters (an environment lookup, a reader, a prompt
//! function, a warning sink) so it can be tested without a terminal. Secrets go into
//! zeroizing buffers as soon as they are read and into [`Password`] / [`NtHash`] right after;
//! no other copy is kept.

use samrpc::secret::ct_eq;
use samrpc::{Error, ErrorKind, NtHash, Operation, Password, Secret};
use std::ffi::OsString;
use std::io::{self, Read};
use zeroize::{Zeroize, Zeroizing};

/// The longest accepted line of standard input, in bytes without the line ending. SAMR
/// passwords are at most 256 UTF-16 code units, which is at most 1024 bytes of UTF-8.
pub(crate) const MAX_LINE: usize = 1024;

/// Environment variable: the current password for `passwd`.
pub(crate) const ENV_OLD_PASSWORD: &str = "SAMRPC_OLD_PASSWORD";
/// Environment variable: the current password's NT hash for `passwd`.
pub(crate) const ENV_OLD_NT_HASH: &str = "SAMRPC_OLD_NT_HASH";
/// Environment variable: the new password for `passwd` and `reset`.
pub(crate) const ENV_NEW_PASSWORD: &str = "SAMRPC_NEW_PASSWORD";
/// Environment variable: the administrator's password for `reset`.
pub(crate) const ENV_ADMIN_PASSWORD: &str = "SAMRPC_ADMIN_PASSWORD";
/// Environment variable: the `-U` account's password for `policy`, `users` and `doctor`.
pub(crate) const ENV_PASSWORD: &str = "SAMRPC_PASSWORD";

/// The warning printed (once) when a secret is taken from the environment.
pub(crate) const ENV_WARNING: &str = "warning: reading a secret from an environment variable. \
samrpc hides its own environment from other processes (it is non-dumpable on Linux), but the \
variable also lives in the shell or script that set it and in everything else that starts, \
where other processes of the same user can read it (/proc/PID/environ, ps e). Prefer standard \
input (one secret per line) or the prompt.";

/// The warning printed when an NT hash is given on the command line.
pub(crate) const ARGV_HASH_WARNING: &str = "warning: an NT hash on the command line is visible \
to other local users (/proc/PID/cmdline, ps) and may end up in the shell history; it is as good \
as the password. Prefer SAMRPC_OLD_NT_HASH, or --old-nt-hash - to read it from standard input.";

/// A usage error (exit code 2).
pub(crate) fn usage(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, Operation::Input, message)
}

/// Read one line from `r` into a zeroizing buffer and strip exactly one trailing `"\n"` or
/// `"\r\n"`. Returns `Ok(None)` when `r` is at its end before the first byte.
///
/// Reads one byte at a time, into a buffer allocated once (it never grows, so no unzeroized
/// copy is left behind by a reallocation). Nothing past the line is consumed *by this
/// function*; whether anything past it reaches process memory depends on `r`: std's
/// `Stdin`/`StdinLock` reads ahead into an 8 KiB buffer that is never wiped, so the CLI passes
/// [`unbuffered_stdin`] instead.
pub(crate) fn read_secret_line(r: &mut dyn Read) -> Result<Option<Zeroizing<String>>, Error> {
    let mut buf = Zeroizing::new(Vec::<u8>::with_capacity(MAX_LINE + 2));
    let mut byte = Zeroizing::new([0u8; 1]);
    let mut saw_any = false;
    loop {
        match r.read(&mut byte[..]) {
            Ok(0) => break,
            Ok(_) => {
                saw_any = true;
                if buf.len() >= MAX_LINE + 2 {
                    return Err(usage(format!(
                        "a line of standard input is longer than {MAX_LINE} bytes"
                    )));
                }
                buf.push(byte[0]);
                if byte[0] == b'\n' {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(usage(format!("cannot read standard input: {e}"))),
        }
    }
    if !saw_any {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    if buf.len() > MAX_LINE {
        return Err(usage(format!("a line of standard input is longer than {MAX_LINE} bytes")));
    }
    // Move the bytes out (no copy); on failure wipe them before returning.
    let bytes = std::mem::take(&mut *buf);
    match String::from_utf8(bytes) {
        Ok(s) => Ok(Some(Zeroizing::new(s))),
        Err(e) => {
            let mut bytes = e.into_bytes();
            bytes.zeroize();
            Err(usage("a line of standard input is not valid UTF-8"))
        }
    }
}

/// Standard input as an unbuffered reader: a `File` on a duplicate of the standard-input
/// descriptor (handle on Windows), so every `read` is one system call and the bytes after the
/// secrets samrpc reads stay in the kernel's pipe or file, never in a userspace buffer.
/// (std's `Stdin` would read ahead up to 8 KiB — every following line — into a buffer that is
/// never wiped.) Elsewhere, std's buffered handle is the documented fallback.
pub(crate) fn unbuffered_stdin() -> io::Result<Box<dyn Read>> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = io::stdin().as_fd().try_clone_to_owned()?;
        Ok(Box::new(std::fs::File::from(fd)))
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::AsHandle;
        let h = io::stdin().as_handle().try_clone_to_owned()?;
        Ok(Box::new(std::fs::File::from(h)))
    }
    #[cfg(not(any(unix, windows)))]
    {
        // No descriptor API: std's buffered handle (it may read ahead; see SECURITY.md).
        Ok(Box::new(io::stdin()))
    }
}

/// Parse an NT hash (32 hex digits) or fail with a usage error naming `source`.
pub(crate) fn parse_nt_hash(hex: &str, source: &str) -> Result<NtHash, Error> {
    NtHash::from_hex(hex).ok_or_else(|| {
        usage(format!(
            "{source}: expected the NT hash as 32 hexadecimal digits (16 bytes), \
             e.g. 8846F7EAEE8FB117AD06BDD830B7586C"
        ))
    })
}

/// One secret to obtain.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Ask<'s> {
    /// The environment variable that may hold it.
    pub(crate) env: Option<&'s str>,
    /// What it is, for error messages ("the new password").
    pub(crate) what: &'s str,
    /// The prompt text.
    pub(crate) prompt: &'s str,
    /// The confirmation prompt, when it must be typed twice.
    pub(crate) confirm: Option<&'s str>,
    /// Whether an empty value is acceptable.
    pub(crate) allow_empty: bool,
}

/// A no-echo prompt: shows the text, returns what was typed (without the line ending) in a
/// zeroizing buffer.
pub(crate) type PromptFn<'a> = dyn FnMut(&str) -> io::Result<Zeroizing<String>> + 'a;

/// The sources of secrets for one run.
pub(crate) struct SecretReader<'a> {
    env: &'a dyn Fn(&str) -> Option<OsString>,
    /// `Some` when standard input is not a terminal: secrets are read from it, one per line.
    stdin: Option<&'a mut dyn Read>,
    prompt: &'a mut PromptFn<'a>,
    warn: &'a mut dyn FnMut(&str),
    env_warned: bool,
    lines_read: usize,
}

impl<'a> SecretReader<'a> {
    /// A reader over these sources. Pass `stdin: None` when standard input is a terminal.
    pub(crate) fn new(
        env: &'a dyn Fn(&str) -> Option<OsString>,
        stdin: Option<&'a mut dyn Read>,
        prompt: &'a mut PromptFn<'a>,
        warn: &'a mut dyn FnMut(&str),
    ) -> Self {
        Self { env, stdin, prompt, warn, env_warned: false, lines_read: 0 }
    }

    /// Whether the environment variable `name` is set (its value is not read).
    pub(crate) fn env_is_set(&self, name: &str) -> bool {
        (self.env)(name).is_some()
    }

    /// The value of the environment variable `name`, warning (once per run) that the
    /// environment is not a safe place for secrets.
    pub(crate) fn env_secret(&mut self, name: &str) -> Result<Option<Zeroizing<String>>, Error> {
        let Some(value) = (self.env)(name) else {
            return Ok(None);
        };
        let value = value
            .into_string()
            .map_err(|_| usage(format!("the environment variable {name} is not valid UTF-8")))?;
        let value = Zeroizing::new(value);
        if !self.env_warned {
            self.env_warned = true;
            (self.warn)(ENV_WARNING);
        }
        Ok(Some(value))
    }

    /// The next line of standard input, or a prompt without echo when it is a terminal.
    fn line_or_prompt(&mut self, ask: &Ask<'_>) -> Result<Zeroizing<String>, Error> {
        if let Some(stdin) = self.stdin.as_mut() {
            self.lines_read += 1;
            let line = self.lines_read;
            return read_secret_line(&mut **stdin)?.ok_or_else(|| {
                usage(format!(
                    "standard input ended before {} (expected on line {line}; secrets are read \
                     one per line when standard input is not a terminal)",
                    ask.what
                ))
            });
        }
        let first = (self.prompt)(ask.prompt)
            .map_err(|e| usage(format!("cannot prompt for {}: {e}", ask.what)))?;
        if let Some(confirm) = ask.confirm {
            let second = (self.prompt)(confirm)
                .map_err(|e| usage(format!("cannot prompt for {}: {e}", ask.what)))?;
            if !ct_eq(first.as_bytes(), second.as_bytes()) {
                return Err(usage(format!("{} and its confirmation do not match", ask.what)));
            }
        }
        Ok(first)
    }

    /// The raw text of a secret: its environment variable if set, else the next line of
    /// standard input, else a prompt.
    pub(crate) fn text(&mut self, ask: &Ask<'_>) -> Result<Zeroizing<String>, Error> {
        let text = match ask.env {
            Some(name) => match self.env_secret(name)? {
                Some(v) => v,
                None => self.line_or_prompt(ask)?,
            },
            None => self.line_or_prompt(ask)?,
        };
        if !ask.allow_empty && text.is_empty() {
            return Err(usage(format!("{} is empty", ask.what)));
        }
        Ok(text)
    }

    /// A password (see [`Self::text`]).
    pub(crate) fn password(&mut self, ask: &Ask<'_>) -> Result<Password, Error> {
        let mut text = self.text(ask)?;
        Ok(Password::new(std::mem::take(&mut *text)))
    }

    /// The current secret for `passwd`, in this order: `--old-nt-hash HEX` (warns that argv
    /// is visible), `--old-nt-hash -` (the hash from standard input or a prompt),
    /// `SAMRPC_OLD_NT_HASH`, `SAMRPC_OLD_PASSWORD`, a line of standard input, a prompt.
    pub(crate) fn old_secret(
        &mut self,
        hash_arg: Option<Zeroizing<String>>,
        user: &str,
    ) -> Result<Secret, Error> {
        if let Some(arg) = hash_arg {
            if arg.as_str() == "-" {
                let prompt = format!("NT hash of the current password of {user}: ");
                let text = self.text(&Ask {
                    env: None,
                    what: "the NT hash of the current password",
                    prompt: &prompt,
                    confirm: None,
                    allow_empty: false,
                })?;
                return Ok(Secret::NtHash(parse_nt_hash(&text, "--old-nt-hash -")?));
            }
            (self.warn)(ARGV_HASH_WARNING);
            return Ok(Secret::NtHash(parse_nt_hash(&arg, "--old-nt-hash")?));
        }
        if self.env_is_set(ENV_OLD_NT_HASH) {
            if self.env_is_set(ENV_OLD_PASSWORD) {
                return Err(usage(format!(
                    "both {ENV_OLD_NT_HASH} and {ENV_OLD_PASSWORD} are set; unset one"
                )));
            }
            let text = self.env_secret(ENV_OLD_NT_HASH)?.unwrap_or_default();
            return Ok(Secret::NtHash(parse_nt_hash(&text, ENV_OLD_NT_HASH)?));
        }
        let prompt = format!("Current password of {user}: ");
        Ok(Secret::Password(self.password(&Ask {
            env: Some(ENV_OLD_PASSWORD),
            what: "the current password",
            prompt: &prompt,
            confirm: None,
            // An account may have a blank password; the server decides.
            allow_empty: true,
        })?))
    }

    /// The new password for `passwd` and `reset` (typed twice when prompted; never empty).
    pub(crate) fn new_password(&mut self, user: &str) -> Result<Password, Error> {
        let prompt = format!("New password for {user}: ");
        self.password(&Ask {
            env: Some(ENV_NEW_PASSWORD),
            what: "the new password",
            prompt: &prompt,
            confirm: Some("Retype the new password: "),
            allow_empty: false,
        })
    }

    /// The password of the account given with `-U` (`env` names its variable).
    pub(crate) fn account_password(&mut self, env: &str, account: &str) -> Result<Password, Error> {
        let prompt = format!("Password for {account}: ");
        self.password(&Ask {
            env: Some(env),
            what: "the password of the -U account",
            prompt: &prompt,
            confirm: None,
            allow_empty: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn line(input: &[u8]) -> Result<Option<String>, Error> {
        let mut r = input;
        read_secret_line(&mut r).map(|o| o.map(|z| z.as_str().to_owned()))
    }

    #[test]
    fn strips_exactly_one_line_ending() {
        assert_eq!(line(b"pw\n").unwrap().as_deref(), Some("pw"));
        assert_eq!(line(b"pw\r\n").unwrap().as_deref(), Some("pw"));
        assert_eq!(line(b"pw\n\n").unwrap().as_deref(), Some("pw"));
        assert_eq!(line(b"pw\r\r\n").unwrap().as_deref(), Some("pw\r"));
        assert_eq!(line(b"pw\r").unwrap().as_deref(), Some("pw\r"));
        assert_eq!(line(b" pw \t\n").unwrap().as_deref(), Some(" pw \t"));
        assert_eq!(
            line(b"last-line-without-newline").unwrap().as_deref(),
            Some("last-line-without-newline")
        );
        assert_eq!(line(b"\n").unwrap().as_deref(), Some(""));
        assert_eq!(line(b"").unwrap(), None);
    }

    #[test]
    fn reads_only_one_line() {
        let mut r: &[u8] = b"first\r\nsecond\nthird";
        assert_eq!(read_secret_line(&mut r).unwrap().unwrap().as_str(), "first");
        assert_eq!(read_secret_line(&mut r).unwrap().unwrap().as_str(), "second");
        assert_eq!(read_secret_line(&mut r).unwrap().unwrap().as_str(), "third");
        assert!(read_secret_line(&mut r).unwrap().is_none());
    }

    #[test]
    fn rejects_long_and_non_utf8_lines() {
        let mut long = vec![b'a'; MAX_LINE];
        long.push(b'\n');
        assert_eq!(line(&long).unwrap().unwrap().len(), MAX_LINE);
        let mut crlf = vec![b'a'; MAX_LINE];
        crlf.extend_from_slice(b"\r\n");
        assert_eq!(line(&crlf).unwrap().unwrap().len(), MAX_LINE);
        let too_long = vec![b'a'; MAX_LINE + 1];
        assert_eq!(line(&too_long).unwrap_err().exit_code(), 2);
        let way_too_long = vec![b'a'; MAX_LINE * 4];
        assert_eq!(line(&way_too_long).unwrap_err().exit_code(), 2);
        assert_eq!(line(b"\xff\xfe\n").unwrap_err().exit_code(), 2);
        assert_eq!(line("pässwörd ✓\n".as_bytes()).unwrap().as_deref(), Some("pässwörd ✓"));
    }

    /// Run `f` against a reader built from these sources; returns what `f` returned, the
    /// warnings and the prompts shown.
    fn with_reader<T>(
        env: &[(&str, &str)],
        stdin: Option<&[u8]>,
        typed: &[&str],
        f: impl FnOnce(&mut SecretReader<'_>) -> T,
    ) -> (T, Vec<String>, Vec<String>) {
        let env: HashMap<String, String> =
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let lookup = move |k: &str| env.get(k).map(OsString::from);
        let mut cursor = stdin.map(|s| io::Cursor::new(s.to_vec()));
        let stdin_reader = cursor.as_mut().map(|c| c as &mut dyn Read);
        let mut typed: Vec<String> = typed.iter().rev().map(|s| (*s).to_owned()).collect();
        let mut prompts = Vec::new();
        let mut warnings = Vec::new();
        let out;
        {
            let mut prompt = |p: &str| {
                prompts.push(p.to_owned());
                typed.pop().map(Zeroizing::new).ok_or_else(|| io::Error::other("no tty"))
            };
            let mut warn = |w: &str| warnings.push(w.to_owned());
            let mut reader = SecretReader::new(&lookup, stdin_reader, &mut prompt, &mut warn);
            out = f(&mut reader);
        }
        (out, warnings, prompts)
    }

    fn expose(s: &Secret) -> String {
        match s {
            Secret::Password(p) => format!("pw:{}", p.expose()),
            Secret::NtHash(h) => format!("hash:{:02x}{:02x}", h.expose()[0], h.expose()[15]),
            _ => "other".to_owned(),
        }
    }

    #[test]
    fn passwd_reads_old_then_new_from_stdin() {
        let ((old, new), warnings, prompts) =
            with_reader(&[], Some(b"old-pw\r\nnew-pw\nignored\n"), &[], |r| {
                (r.old_secret(None, "bob").unwrap(), r.new_password("bob").unwrap())
            });
        assert_eq!(expose(&old), "pw:old-pw");
        assert_eq!(new.expose(), "new-pw");
        assert!(warnings.is_empty());
        assert!(prompts.is_empty());
    }

    #[test]
    fn passwd_with_hash_reads_only_the_new_password() {
        let hex = "8846F7EAEE8FB117AD06BDD830B7586C";
        let ((old, new), warnings, _) = with_reader(&[], Some(b"new-pw\n"), &[], |r| {
            (
                r.old_secret(Some(Zeroizing::new(hex.to_owned())), "bob").unwrap(),
                r.new_password("bob").unwrap(),
            )
        });
        assert_eq!(expose(&old), "hash:886c");
        assert_eq!(new.expose(), "new-pw");
        assert_eq!(warnings, vec![ARGV_HASH_WARNING.to_owned()]);
    }

    #[test]
    fn hash_from_stdin_with_dash() {
        let ((old, new), warnings, _) =
            with_reader(&[], Some(b"8846f7eaee8fb117ad06bdd830b7586c\nnew-pw\n"), &[], |r| {
                (
                    r.old_secret(Some(Zeroizing::new("-".to_owned())), "bob").unwrap(),
                    r.new_password("bob").unwrap(),
                )
            });
        assert_eq!(expose(&old), "hash:886c");
        assert_eq!(new.expose(), "new-pw");
        assert!(warnings.is_empty());
    }

    #[test]
    fn bad_hashes_are_usage_errors() {
        for bad in [
            "zz",
            "8846F7EAEE8FB117AD06BDD830B7586",
            "8846F7EAEE8FB117AD06BDD830B7586CC",
            "g846F7EAEE8FB117AD06BDD830B7586C",
            "",
        ] {
            let (res, _, _) = with_reader(&[], Some(b"new\n"), &[], |r| {
                r.old_secret(Some(Zeroizing::new(bad.to_owned())), "bob").map(|_| ())
            });
            assert_eq!(res.unwrap_err().exit_code(), 2, "{bad:?}");
        }
        let (res, _, _) = with_reader(&[(ENV_OLD_NT_HASH, "xyz")], Some(b"new\n"), &[], |r| {
            r.old_secret(None, "bob").map(|_| ())
        });
        let e = res.unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message().contains(ENV_OLD_NT_HASH));
    }

    #[test]
    fn env_wins_and_warns_once() {
        let ((old, new), warnings, prompts) = with_reader(
            &[(ENV_OLD_PASSWORD, "old-env"), (ENV_NEW_PASSWORD, "new-env")],
            None,
            &[],
            |r| (r.old_secret(None, "bob").unwrap(), r.new_password("bob").unwrap()),
        );
        assert_eq!(expose(&old), "pw:old-env");
        assert_eq!(new.expose(), "new-env");
        assert_eq!(warnings, vec![ENV_WARNING.to_owned()]);
        assert!(prompts.is_empty());
    }

    #[test]
    fn env_for_one_secret_and_stdin_for_the_other() {
        // Only the new password is in the environment: the old one is the first line.
        let ((old, new), warnings, _) =
            with_reader(&[(ENV_NEW_PASSWORD, "new-env")], Some(b"old-line\n"), &[], |r| {
                (r.old_secret(None, "bob").unwrap(), r.new_password("bob").unwrap())
            });
        assert_eq!(expose(&old), "pw:old-line");
        assert_eq!(new.expose(), "new-env");
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn env_hash_and_env_password_conflict() {
        let (res, _, _) = with_reader(
            &[(ENV_OLD_NT_HASH, "8846F7EAEE8FB117AD06BDD830B7586C"), (ENV_OLD_PASSWORD, "x")],
            None,
            &[],
            |r| r.old_secret(None, "bob").map(|_| ()),
        );
        assert_eq!(res.unwrap_err().exit_code(), 2);
        let (res, w, _) =
            with_reader(&[(ENV_OLD_NT_HASH, "8846F7EAEE8FB117AD06BDD830B7586C")], None, &[], |r| {
                r.old_secret(None, "bob").map(|s| expose(&s))
            });
        assert_eq!(res.unwrap(), "hash:886c");
        assert_eq!(w, vec![ENV_WARNING.to_owned()]);
    }

    #[test]
    fn missing_stdin_lines_are_usage_errors() {
        let (res, _, _) = with_reader(&[], Some(b"only-old\n"), &[], |r| {
            r.old_secret(None, "bob").unwrap();
            r.new_password("bob").map(|_| ())
        });
        let e = res.unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message().contains("the new password"));
        assert!(e.message().contains("line 2"));
        let (res, _, _) =
            with_reader(&[], Some(b""), &[], |r| r.old_secret(None, "bob").map(|_| ()));
        assert_eq!(res.unwrap_err().exit_code(), 2);
    }

    #[test]
    fn empty_new_password_is_refused_but_empty_old_is_allowed() {
        let ((old, new), _, _) = with_reader(&[], Some(b"\n\n"), &[], |r| {
            (r.old_secret(None, "bob").map(|s| expose(&s)), r.new_password("bob").map(|_| ()))
        });
        assert_eq!(old.unwrap(), "pw:");
        assert_eq!(new.unwrap_err().exit_code(), 2);
    }

    #[test]
    fn prompts_when_stdin_is_a_terminal_and_confirms_the_new_password() {
        let ((old, new), _, prompts) =
            with_reader(&[], None, &["old-typed", "new-typed", "new-typed"], |r| {
                (r.old_secret(None, "bob").unwrap(), r.new_password("bob").unwrap())
            });
        assert_eq!(expose(&old), "pw:old-typed");
        assert_eq!(new.expose(), "new-typed");
        assert_eq!(prompts.len(), 3);
        assert!(prompts[0].contains("Current password of bob"));
        assert!(prompts[1].contains("New password for bob"));
        assert!(prompts[2].contains("Retype"));
    }

    #[test]
    fn mismatched_confirmation_is_a_usage_error() {
        let (res, _, _) = with_reader(&[], None, &["new-typed", "new-typo"], |r| {
            r.new_password("bob").map(|_| ())
        });
        let e = res.unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message().contains("do not match"));
        // And the message never contains what was typed.
        assert!(!e.message().contains("new-typ"));
    }

    #[test]
    fn prompt_failure_is_a_usage_error() {
        let (res, _, _) = with_reader(&[], None, &[], |r| r.new_password("bob").map(|_| ()));
        assert_eq!(res.unwrap_err().exit_code(), 2);
    }

    #[test]
    fn reset_reads_admin_then_new() {
        let ((admin, new), w, _) = with_reader(&[], Some(b"admin-pw\nnew-pw\n"), &[], |r| {
            (
                r.account_password(ENV_ADMIN_PASSWORD, "SAMR\\Administrator").unwrap(),
                r.new_password("bob").unwrap(),
            )
        });
        assert_eq!(admin.expose(), "admin-pw");
        assert_eq!(new.expose(), "new-pw");
        assert!(w.is_empty());
        let ((admin, new), w, _) = with_reader(
            &[(ENV_ADMIN_PASSWORD, "a-env"), (ENV_NEW_PASSWORD, "n-env")],
            Some(b"unused\n"),
            &[],
            |r| {
                (
                    r.account_password(ENV_ADMIN_PASSWORD, "Administrator").unwrap(),
                    r.new_password("bob").unwrap(),
                )
            },
        );
        assert_eq!(admin.expose(), "a-env");
        assert_eq!(new.expose(), "n-env");
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn account_password_from_env_stdin_or_prompt() {
        let (p, w, _) = with_reader(&[(ENV_PASSWORD, "p-env")], None, &[], |r| {
            r.account_password(ENV_PASSWORD, "bob").unwrap()
        });
        assert_eq!(p.expose(), "p-env");
        assert_eq!(w.len(), 1);
        let (p, _, _) = with_reader(&[], Some(b"p-line\r\n"), &[], |r| {
            r.account_password(ENV_PASSWORD, "bob").unwrap()
        });
        assert_eq!(p.expose(), "p-line");
        let (p, _, prompts) = with_reader(&[], None, &["p-typed"], |r| {
            r.account_password(ENV_PASSWORD, "bob").unwrap()
        });
        assert_eq!(p.expose(), "p-typed");
        assert_eq!(prompts, vec!["Password for bob: ".to_owned()]);
    }
}
