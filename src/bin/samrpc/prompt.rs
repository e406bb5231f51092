//! The no-echo password prompt (issue 15, item 8).
//!
//! On Unix samrpc reads the terminal itself: it opens `/dev/tty`, turns echo off with termios
//! (through `rustix`'s safe wrappers), writes the prompt, and reads the answer one byte per
//! system call into a zeroizing buffer allocated once for the longest accepted line, so no
//! reallocation or read-ahead buffer leaves an unwiped copy (the `rpassword` crate grows a
//! `String` and reads through a `BufReader`). Echo is restored when the guard drops, on every
//! return path. Elsewhere (Windows) `rpassword` does the console work; its growing buffer is
//! wrapped in `Zeroizing` but earlier reallocations are not wiped (SECURITY.md says so).

use crate::secrets::MAX_LINE;
use std::io::{self, Read};
use zeroize::Zeroizing;

/// Read one line (without its `\n` / `\r\n`) from `r` into a buffer sized once for
/// [`MAX_LINE`] bytes plus the line ending; longer lines and invalid UTF-8 are errors (the
/// bytes read are wiped either way). Used by the Unix prompt (and the tests everywhere).
#[cfg_attr(not(unix), allow(dead_code))]
pub(crate) fn read_hidden_line(r: &mut dyn Read) -> io::Result<Zeroizing<String>> {
    let mut buf = Zeroizing::new(Vec::<u8>::with_capacity(MAX_LINE + 2));
    let mut byte = Zeroizing::new([0u8; 1]);
    loop {
        match r.read(&mut byte[..]) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => {
                if buf.len() > MAX_LINE {
                    return Err(io::Error::other(format!(
                        "the answer is longer than {MAX_LINE} bytes"
                    )));
                }
                buf.push(byte[0]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    if buf.len() > MAX_LINE {
        return Err(io::Error::other(format!("the answer is longer than {MAX_LINE} bytes")));
    }
    // Move the bytes into a String without copying (the capacity goes with them).
    let bytes = std::mem::take(&mut *buf);
    match String::from_utf8(bytes) {
        Ok(s) => Ok(Zeroizing::new(s)),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            Err(io::Error::other("the answer is not valid UTF-8"))
        }
    }
}

/// Show `prompt` on the terminal and read the answer without echo.
#[cfg(unix)]
pub(crate) fn prompt_password(prompt: &str) -> io::Result<Zeroizing<String>> {
    use rustix::termios::{LocalModes, OptionalActions, Termios, tcgetattr, tcsetattr};
    use std::io::Write;

    /// Puts the terminal back as it was when dropped.
    struct Restore<'a> {
        tty: &'a std::fs::File,
        saved: Termios,
    }
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let _ = tcsetattr(self.tty, OptionalActions::Now, &self.saved);
        }
    }

    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let saved = tcgetattr(&tty)?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    // Still echo the newline, so the next output starts on a fresh line.
    quiet.local_modes.insert(LocalModes::ECHONL);
    (&tty).write_all(prompt.as_bytes())?;
    (&tty).flush()?;
    tcsetattr(&tty, OptionalActions::Now, &quiet)?;
    let _restore = Restore { tty: &tty, saved };
    read_hidden_line(&mut &tty)
}

/// Show `prompt` on the console and read the answer without echo (`rpassword`).
#[cfg(not(unix))]
pub(crate) fn prompt_password(prompt: &str) -> io::Result<Zeroizing<String>> {
    rpassword::prompt_password(prompt).map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(input: &[u8]) -> io::Result<Zeroizing<String>> {
        let mut r = input;
        read_hidden_line(&mut r)
    }

    #[test]
    fn reads_one_line_into_a_buffer_that_never_grows() {
        for (input, want) in [
            (&b"secret\n"[..], "secret"),
            (b"secret\r\n", "secret"),
            (b"no-newline", "no-newline"),
            (b"\n", ""),
            (b"a\nb\n", "a"),
        ] {
            let got = line(input).unwrap();
            assert_eq!(got.as_str(), want);
            assert_eq!(got.capacity(), MAX_LINE + 2, "allocated once, never grown");
        }
        let long = vec![b'x'; MAX_LINE];
        let got = line(&[long.as_slice(), b"\r\n"].concat()).unwrap();
        assert_eq!((got.len(), got.capacity()), (MAX_LINE, MAX_LINE + 2));
        assert!(line(&vec![b'x'; MAX_LINE + 1]).is_err());
        assert!(line(&vec![b'x'; MAX_LINE * 3]).is_err());
        assert!(line(b"\xff\n").is_err());
    }

    #[test]
    fn reads_nothing_past_the_line() {
        let mut r: &[u8] = b"first\nsecond\n";
        assert_eq!(read_hidden_line(&mut r).unwrap().as_str(), "first");
        assert_eq!(r, b"second\n");
    }
}
