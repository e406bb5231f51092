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
    ("config", &["smb2"]),
    ("session", &[]),
    ("crypto", &[]),
    ("ndr", &[]),
    ("auth", &[]),
    ("smb2", &[]),
    ("dcerpc", &["ndr"]),
    ("samr", &["ndr", "crypto"]),
    ("fuzzing", &["auth", "crypto", "dcerpc", "ndr", "samr", "smb2"]),
];

/// Files of the tokio shell: the only ones allowed to mention tokio (`src/transport/`,
/// `src/client.rs`, `src/api/` with rotate, the CLI in `src/bin/`).
const SHELL: &[&str] = &["transport", "client", "api", "bin"];

/// The shell's own direction: shell module → the shell modules it must not use. The transports
/// know nothing of the client or the jobs; the client knows nothing of the jobs.
const SHELL_FORBIDDEN: &[(&str, &[&str])] =
    &[("transport", &["client", "api"]), ("client", &["api"])];

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
