#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing (Samba 4.22 from
# bookworm-backports, tshark), starts the real test servers, then runs formatting, lints,
# every test (unit, integration against the servers, doc tests), the no-default-features
# core tests and the docs build with warnings denied; then the feature matrix and the docs.rs
# build (.ci/features.sh), the CLI for Windows, macOS and as a static Linux binary that
# changes a password on the DC (.ci/platforms.sh), and the package contents (.ci/package.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
    # shellcheck disable=SC1091
    [[ -f $HOME/.cargo/env ]] && . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo not found: install a Rust toolchain (rustup)" >&2; exit 1; }

step "test servers (tests/samba/samba.sh up)"
bash tests/samba/samba.sh up

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, warnings denied)"
cargo clippy --all-targets --all-features -- -D warnings

step "cargo clippy on the pure core alone (no default features)"
cargo clippy --no-default-features --lib -- -D warnings

step "cargo deny (licenses, bans, sources; advisories need the RustSec database: see SECURITY.md)"
command -v cargo-deny >/dev/null 2>&1 || cargo install cargo-deny --locked
cargo deny check licenses bans sources

step "cargo test --all-features"
cargo test --all-features

step "cargo test --no-default-features --lib (the pure core, without tokio)"
cargo test --no-default-features --lib

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features

bash .ci/features.sh
bash .ci/platforms.sh
bash .ci/package.sh

step "all checks passed"
