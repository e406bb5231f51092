#!/usr/bin/env bash
# The feature matrix and the docs.rs build (called by tests/run-all.sh):
#
#   .ci/features.sh            all three parts below
#   .ci/features.sh matrix     clippy (all targets, warnings denied) for every combination of
#                              the crate's features (cargo hack --feature-powerset; `default`
#                              is left out as it names a combination already in the set, and
#                              combinations a feature implies are deduplicated, e.g. cli+tokio)
#   .ci/features.sh lib-tests  the library's unit tests with the tokio shell but no `tracing`
#                              (the only shell combination `cargo test --all-features` and the
#                              no-default core tests do not already run)
#   .ci/features.sh docsrs     the docs as docs.rs builds them: nightly, every feature,
#                              `--cfg docsrs` (so `doc_cfg` badges every feature-gated item),
#                              warnings denied, in target/docsrs
#
# Installs cargo-hack and the nightly toolchain (minimal profile) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }

matrix() {
    step "feature matrix: cargo hack clippy --feature-powerset --all-targets (warnings denied)"
    command -v cargo-hack >/dev/null 2>&1 || cargo install cargo-hack --locked
    cargo hack clippy --feature-powerset --exclude-features default --all-targets --keep-going \
        -- -D warnings
}

lib_tests() {
    step "cargo test --lib --no-default-features --features tokio (the shell without tracing)"
    cargo test --lib --no-default-features --features tokio
}

docsrs() {
    step "docs as docs.rs builds them (nightly, --all-features, --cfg docsrs, warnings denied)"
    rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
    RUSTDOCFLAGS="--cfg docsrs -D warnings" \
        cargo +nightly doc --no-deps --all-features --target-dir target/docsrs
}

case ${1:-all} in
    matrix) matrix ;;
    lib-tests) lib_tests ;;
    docsrs) docsrs ;;
    all) matrix; lib_tests; docsrs ;;
    *) sed -n '2,18p' "$0" >&2; exit 2 ;;
esac
