//! Architecture checks (ARCHITECTURE.md, "Dependency direction"): each core module uses only
//! the modules it may depend on, only the tokio shell mentions tokio, and unsafe code stays
//! forbidden.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Foundation modules every core module may use.
const FOUNDATION: &[&str] = &["wire", "secret", "status", "rng"];

/// module → the crate modules it may `use` (besides itself and the foundation).
const ALLOWED: &[(&str, &[&str])] = &[
    ("wire", &[]),
    ("secret", &[]),
    ("status", &[]),
    ("rng", &[]),
    ("error", &[]),
    ("config", &["session"]),
    ("session", &[]),
    ("crypto", &[]),
    ("ndr", &[]),
    ("auth", &[]),
    ("smb2", &[]),
    ("dcerpc", &["ndr"]),
    ("samr", &["ndr", "crypto"]),
    ("rpcauth", &["auth", "dcerpc"]),
    ("fuzzing", &["auth", "crypto", "dcerpc", "ndr", "rpcauth", "samr", "smb2"]),
];

/// Files of the tokio shell: the only ones allowed to mention tokio (`src/transport/`,
/// `src/client.rs`, `src/api/` with rotate, `src/blocking.rs`, the CLI in `src/bin/`).
const SHELL: &[&str] = &["transport", "client", "api", "blocking", "bin"];

/// The shell's own direction: shell module → the shell modules it must not use. The transports
/// know nothing of the client or the jobs; the client knows nothing of the jobs.
const SHELL_FORBIDDEN: &[(&str, &[&str])] = &[
    ("transport", &["client", "api", "blocking"]),
    ("client", &["api", "blocking"]),
    ("api", &["blocking"]),
];

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a source file belongs to (`src/smb2/keys.rs` → `smb2`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_owned()
}

/// Crate modules named in `crate::X` paths of non-comment lines.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let l = line.trim_start();
        if l.starts_with("//") {
            continue;
        }
        let mut rest = l;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + 7..];
            let name: String =
                after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = after;
        }
    }
    out
}

/// Every `crate::X` reference in `src/` that `ok(module, X)` refuses, as "file uses crate::X".
fn crate_ref_violations(ok: impl Fn(&str, &str) -> bool) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut violations = Vec::new();
    for f in &files {
        let module = module_of(&src, f);
        let text = fs::read_to_string(f).unwrap();
        for r in crate_refs(&text) {
            if !ok(&module, &r) {
                violations.push(format!("{} uses crate::{r}", f.display()));
            }
        }
    }
    violations
}

#[test]
fn core_modules_respect_the_dependency_direction() {
    let violations = crate_ref_violations(|module, r| {
        let Some((_, allowed)) = ALLOWED.iter().find(|(m, _)| *m == module) else { return true };
        r == module
            || FOUNDATION.contains(&r)
            || allowed.contains(&r)
            // Re-exported items at the crate root (crate::Error, crate::NtStatus, …).
            || r.chars().next().is_some_and(|c| c.is_ascii_uppercase())
    });
    assert!(violations.is_empty(), "dependency direction broken:\n{}", violations.join("\n"));
}

#[test]
fn shell_modules_point_one_way() {
    let violations = crate_ref_violations(|module, r| {
        SHELL_FORBIDDEN.iter().find(|(m, _)| *m == module).is_none_or(|(_, no)| !no.contains(&r))
    });
    assert!(violations.is_empty(), "shell dependency direction broken:\n{}", violations.join("\n"));
}

#[test]
fn only_the_shell_mentions_tokio() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut violations = Vec::new();
    for f in &files {
        let module = module_of(&src, f);
        if SHELL.contains(&module.as_str()) || module == "lib" {
            continue;
        }
        let text = fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            if !line.trim_start().starts_with("//") && line.contains("tokio") {
                violations.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(violations.is_empty(), "tokio outside the shell:\n{}", violations.join("\n"));
}

#[test]
fn unsafe_code_is_forbidden_at_the_root() {
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    assert!(lib.contains("#![forbid(unsafe_code)]"));
}

/// A string literal of a source file: its line and its text (escapes left as written).
struct Literal {
    line: usize,
    text: String,
}

/// The string literals of Rust source `text` outside comments (doc comments included) and
/// outside `#[cfg(test)]` items. A small lexer: line and block comments, normal, byte and raw
/// strings, char literals versus lifetimes, and brace depth for the test items.
fn string_literals(text: &str) -> Vec<Literal> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line, mut depth) = (0usize, 1usize, 0usize);
    // Brace depth at which an excluded `#[cfg(test)]` item started, and whether its body is open.
    let mut pending_test = false;
    let mut excluded_at: Option<usize> = None;
    let count_lines = |s: &[u8]| s.iter().filter(|&&c| c == b'\n').count();
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut nest = 0usize;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    nest += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    nest -= 1;
                    i += 2;
                    if nest == 0 {
                        break;
                    }
                } else {
                    line += usize::from(b[i] == b'\n');
                    i += 1;
                }
            }
        } else if b[i..].starts_with(b"#[cfg(test)]") {
            pending_test = true;
            i += 12;
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // Raw string r"…" / r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close: Vec<u8> =
                std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            let start = j + 1;
            let mut k = start;
            while k < b.len() && !b[k..].starts_with(&close) {
                k += 1;
            }
            if excluded_at.is_none() {
                out.push(Literal {
                    line,
                    text: String::from_utf8_lossy(&b[start..k]).into_owned(),
                });
            }
            line += count_lines(&b[start..k]);
            i = k + close.len();
        } else if c == b'"' {
            let start = i + 1;
            let mut k = start;
            while k < b.len() && b[k] != b'"' {
                k += if b[k] == b'\\' { 2 } else { 1 };
            }
            if excluded_at.is_none() {
                out.push(Literal {
                    line,
                    text: String::from_utf8_lossy(&b[start..k]).into_owned(),
                });
            }
            line += count_lines(&b[start..k.min(b.len())]);
            i = k + 1;
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\'', '\u{..}') or a lifetime ('a).
            if b.get(i + 1) == Some(&b'\\') {
                let mut k = i + 3;
                while k < b.len() && b[k] != b'\'' {
                    k += 1;
                }
                i = k + 1;
            } else {
                let ch_len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                i += if b.get(i + 1 + ch_len) == Some(&b'\'') { ch_len + 2 } else { 1 };
            }
        } else if c == b'{' {
            if pending_test && excluded_at.is_none() {
                excluded_at = Some(depth);
            }
            pending_test = false;
            depth += 1;
            i += 1;
        } else if c == b'}' {
            depth = depth.saturating_sub(1);
            if excluded_at == Some(depth) {
                excluded_at = None;
            }
            i += 1;
        } else {
            if c == b';' && excluded_at.is_none() {
                pending_test = false; // `#[cfg(test)] use …;` and the like end here
            }
            i += 1;
        }
    }
    out
}

/// What in `s` names the command line rather than the library, if anything.
fn names_the_cli(s: &str) -> Option<String> {
    const SUBCOMMANDS: &[&str] = &["passwd", "reset", "policy", "users", "doctor", "rotate"];
    if s.contains("rpcclient") {
        return Some("rpcclient".into());
    }
    for sub in SUBCOMMANDS {
        if s.contains(&format!("samrpc {sub}")) {
            return Some(format!("samrpc {sub}"));
        }
    }
    let b = s.as_bytes();
    let boundary =
        |i: usize| i == 0 || matches!(b[i - 1], b' ' | b'(' | b'`' | b'"' | b'\'' | b'[');
    for i in 0..b.len() {
        if !boundary(i) {
            continue;
        }
        // --long-flag
        if b[i..].starts_with(b"--") && b.get(i + 2).is_some_and(u8::is_ascii_lowercase) {
            let end = (i + 2..b.len())
                .find(|&k| !(b[k].is_ascii_lowercase() || b[k].is_ascii_digit() || b[k] == b'-'))
                .unwrap_or(b.len());
            return Some(s[i..end].to_owned());
        }
        // -d / -U / -v as a word
        if b[i] == b'-'
            && matches!(b.get(i + 1), Some(b'd' | b'U' | b'v'))
            && b.get(i + 2).is_none_or(|c| matches!(c, b' ' | b',' | b')' | b'.' | b'`' | b';'))
        {
            return Some(s[i..i + 2].to_owned());
        }
    }
    None
}

#[test]
fn the_lexer_sees_literals_and_skips_comments_and_tests() {
    let src = "/// doc --allow-rc4\n// note -d \nfn f<'a>(x: &'a str) -> char { let _ = \"give -d DOMAIN\"; let _ = r#\"raw \"q\" --port\"#; '\\'' }\n#[cfg(test)]\nmod tests { fn t() { let _ = \"--anonymous\"; } }\nfn g() { let _ = 'x'; let _ = \"after\"; }\n";
    let lits: Vec<(usize, String)> =
        string_literals(src).into_iter().map(|l| (l.line, l.text)).collect();
    assert_eq!(
        lits,
        vec![
            (3, "give -d DOMAIN".to_owned()),
            (3, "raw \"q\" --port".to_owned()),
            (6, "after".to_owned())
        ]
    );
    assert_eq!(names_the_cli("give -d DOMAIN").as_deref(), Some("-d"));
    assert_eq!(names_the_cli("allow it (--allow-rc4)").as_deref(), Some("--allow-rc4"));
    assert_eq!(names_the_cli("`samrpc policy` shows").as_deref(), Some("samrpc policy"));
    assert_eq!(names_the_cli("try rpcclient").as_deref(), Some("rpcclient"));
    assert_eq!(names_the_cli("-----BEGIN x"), None);
    assert_eq!(names_the_cli("a TCP-only/ncacn_ip_tcp, 2-d array, x-U"), None);
}

/// Library hints speak to every caller: no string literal of the library (outside `src/bin/`,
/// comments and tests) names the command line's flags, its subcommands, or rpcclient. The
/// command line turns the errors' `Advice` into its own flags.
#[test]
fn library_strings_name_no_cli_flags() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut violations = Vec::new();
    for f in &files {
        if f.strip_prefix(&src).unwrap().starts_with("bin") {
            continue;
        }
        let text = fs::read_to_string(f).unwrap();
        for lit in string_literals(&text) {
            if let Some(what) = names_the_cli(&lit.text) {
                violations.push(format!(
                    "{}:{}: names {what}: {:?}",
                    f.display(),
                    lit.line,
                    lit.text
                ));
            }
        }
    }
    assert!(violations.is_empty(), "library strings that name the CLI:\n{}", violations.join("\n"));
}
