//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`), the real-traffic seeds
//! (`fuzz/seeds/<target>/`) and regression inputs (`fuzz/regressions/<target>/`) through the same `samrpc::fuzzing` entry points the cargo-fuzz
//! targets call, on stable Rust: every input must run without a panic (the entry points assert
//! their round trips themselves).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test

use std::fs;
use std::path::{Path, PathBuf};

fn replay_dir(root: &Path) -> usize {
    let Ok(targets) = fs::read_dir(root) else { return 0 };
    let mut count = 0;
    let mut dirs: Vec<PathBuf> =
        targets.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let f = samrpc::fuzzing::by_name(&name)
            .unwrap_or_else(|| panic!("{}: no fuzzing entry point named {name}", dir.display()));
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for file in files {
            let data = fs::read(&file).unwrap();
            let r = std::panic::catch_unwind(|| f(&data));
            assert!(r.is_ok(), "{} panicked on {}", name, file.display());
            count += 1;
        }
    }
    count
}

#[test]
fn corpora_and_regressions_replay_without_panics() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let corpus = replay_dir(&fuzz.join("corpus"));
    let seeds = replay_dir(&fuzz.join("seeds"));
    let regressions = replay_dir(&fuzz.join("regressions"));
    assert!(corpus > 0, "no corpus files under {}", fuzz.display());
    eprintln!("replayed {corpus} corpus, {seeds} seed and {regressions} regression inputs");
}

#[test]
fn every_entry_point_has_a_corpus() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (name, _) in samrpc::fuzzing::ALL {
        let n = fs::read_dir(corpus.join(name)).map(|d| d.count()).unwrap_or(0);
        assert!(n > 0, "fuzz/corpus/{name} is empty or missing");
    }
}
