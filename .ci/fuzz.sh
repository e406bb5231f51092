#!/usr/bin/env bash
# Short, bounded fuzzing of every cargo-fuzz target in fuzz/ (a smoke run; long runs are manual:
# `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> corpus/<target> -- -max_total_time=600`).
#
#   .ci/fuzz.sh            each target for $FUZZ_SECONDS seconds (default 12)
#   .ci/fuzz.sh ndr spnego only these targets
#
# Each target starts from its committed corpus (fuzz/corpus/<target>, read only: new inputs go
# to a temporary directory) and fails the script on any crash, leak, timeout or OOM; the
# reproducer is left in fuzz/artifacts/<target>/ and its path printed. cargo-fuzz needs nightly
# flags: RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them. The fuzz crate builds into its
# own target directory (fuzz/target), never CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1 CARGO_TERM_COLOR=never
unset CARGO_TARGET_DIR
SECONDS_PER_TARGET=${FUZZ_SECONDS:-12}

# libfuzzer-sys compiles libFuzzer (C++).
if ! command -v c++ >/dev/null 2>&1 && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q g++ >/dev/null
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "[fuzz.sh] installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

start=$(date +%s)
cargo fuzz build
echo "[fuzz.sh] build took $(( $(date +%s) - start )) s" >&2

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=()
for t in "${targets[@]}"; do
    mkdir -p "$tmp/$t" "corpus/$t"
    echo "[fuzz.sh] $t: ${SECONDS_PER_TARGET}s" >&2
    if ! cargo fuzz run "$t" "$tmp/$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 >"$tmp/$t.log" 2>&1; then
        echo "[fuzz.sh] $t FAILED:" >&2
        grep -E "ERROR|panicked|Test unit written|SUMMARY" "$tmp/$t.log" >&2 || tail -n 30 "$tmp/$t.log" >&2
        failed+=("$t")
    else
        grep -E "stat::number_of_executed_units" "$tmp/$t.log" | sed "s/^/[fuzz.sh] $t: /" >&2 || true
    fi
done
echo "[fuzz.sh] total $(( $(date +%s) - start )) s" >&2
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "[fuzz.sh] crashes in: ${failed[*]}" >&2
    exit 1
fi
echo "[fuzz.sh] no crashes in ${#targets[@]} targets" >&2
