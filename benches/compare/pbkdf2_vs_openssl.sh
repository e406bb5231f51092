#!/usr/bin/env bash
# Compare samrpc's PBKDF2-HMAC-SHA512 CEK derivation (opnum 73: 16-byte NT hash, 16-byte salt,
# dkLen 16) with OpenSSL's, as reached through Python's hashlib.pbkdf2_hmac. Best of REPEATS
# runs of ITERATIONS iterations each; prints ns/iteration and the ratio ours / OpenSSL.
#
# Usage: benches/compare/pbkdf2_vs_openssl.sh [ITERATIONS] [REPEATS] [ROUNDS]
#        (defaults 100000 5 3). The two sides run alternately ROUNDS times, so a burst of load
#        on a shared machine hits both; each side's best over all runs is reported.
# Honours CARGO_TARGET_DIR. Needs python3 with hashlib backed by OpenSSL (the CPython default).
# CANDIDATE_BIN=path/to/pbkdf2_timing (built from another revision, e.g. an experiment) adds
# that build's derive_cek to the same alternating rounds, as "candidate".
set -euo pipefail

ITERATIONS="${1:-100000}"
REPEATS="${2:-5}"
ROUNDS="${3:-3}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

cd "$ROOT"
# SAMRPC_FEATURES (e.g. "asm") selects crate features for the measured build.
cargo build --quiet --release --example pbkdf2_timing ${SAMRPC_FEATURES:+--features "$SAMRPC_FEATURES"}
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release/examples/pbkdf2_timing"

echo "machine:    $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1) ($(nproc) CPUs)"
echo "date:       $(date -u +%Y-%m-%dT%H:%MZ)"
echo "rustc:      $(rustc --version)"
echo "workload:   PBKDF2-HMAC-SHA512, 16-byte key, 16-byte salt, dkLen 16, N=$ITERATIONS," \
    "best of $REPEATS x $ROUNDS alternating rounds"

ALL=""
for _ in $(seq "$ROUNDS"); do
    ALL+="$(python3 "$HERE/openssl_pbkdf2.py" "$ITERATIONS" "$REPEATS")"$'\n'
    ALL+="$("$BIN" "$ITERATIONS" "$REPEATS")"$'\n'
    if [[ -n ${CANDIDATE_BIN:-} ]]; then
        ALL+="$("$CANDIDATE_BIN" "$ITERATIONS" "$REPEATS" | sed -n 's/^samrpc-specialised /candidate /p')"$'\n'
    fi
    ALL+="$(python3 "$HERE/openssl_sha512_block.py")"$'\n'
done

best() { awk -v n="$1" '$1==n && (m=="" || $2<m) {m=$2} END {print m}' <<<"$ALL"; }
OPENSSL_NS="$(best openssl)"
OURS_NS="$(best samrpc-specialised)"
GENERIC_NS="$(best rustcrypto-generic)"
OPENSSL_VER="$(awk '$1=="openssl"{print $4; exit}' <<<"$ALL")"

echo "openssl:    ${OPENSSL_VER//_/ } (python3 hashlib.pbkdf2_hmac)"
echo
printf '%-38s %10s %14s\n' "implementation" "ns/iter" "ratio/OpenSSL"
printf '%-38s %10.1f %14.2f\n' "OpenSSL (hashlib.pbkdf2_hmac)" "$OPENSSL_NS" 1
printf '%-38s %10.1f %14.2f\n' "samrpc derive_cek (specialised)" "$OURS_NS" \
    "$(awk -v a="$OURS_NS" -v b="$OPENSSL_NS" 'BEGIN{print a/b}')"
if [[ -n ${CANDIDATE_BIN:-} ]]; then
    CANDIDATE_NS="$(best candidate)"
    printf '%-38s %10.1f %14.2f\n' "candidate ($(basename "$CANDIDATE_BIN"))" "$CANDIDATE_NS" \
        "$(awk -v a="$CANDIDATE_NS" -v b="$OPENSSL_NS" 'BEGIN{print a/b}')"
fi
printf '%-38s %10.1f %14.2f\n' "RustCrypto pbkdf2_hmac::<Sha512>" "$GENERIC_NS" \
    "$(awk -v a="$GENERIC_NS" -v b="$OPENSSL_NS" 'BEGIN{print a/b}')"

BLOCK_NS="$(best openssl-sha512-block)"
BOUND_NS="$(awk -v b="$BLOCK_NS" 'BEGIN{print 1.10 * 2 * b}')"
echo
echo "OpenSSL SHA-512 block (hashlib over 1 MiB): $BLOCK_NS ns"
printf 'goal 1 bound = 1.10 x 2 x block = %.1f ns/iter; samrpc is at %.2f x the bound\n' \
    "$BOUND_NS" "$(awk -v a="$OURS_NS" -v b="$BOUND_NS" 'BEGIN{print a/b}')"
if [[ -n ${CANDIDATE_BIN:-} ]]; then
    printf 'candidate is at %.2f x the bound\n' "$(awk -v a="$CANDIDATE_NS" -v b="$BOUND_NS" 'BEGIN{print a/b}')"
fi
