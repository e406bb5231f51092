# Shared helpers for latency.sh and bulk.sh (sourced).
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
SAMRPC="$TARGET_DIR/release/samrpc"
SAMBA_SH="$ROOT/tests/samba/samba.sh"
ADMIN_PW_FILE="${SAMRPC_SAMBA_DIR:-/tmp/samrpc-samba}/admin-password"

build_samrpc() {
    (cd "$ROOT" && cargo build --quiet --release --features cli --bin samrpc)
}

# The NetBIOS domain of a test server: HOST:DOMAIN pairs, or looked up anonymously.
domain_of() {
    local host="$1"
    "$SAMRPC" policy "$host" --anonymous --json 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["domain"])'
}

now_ns() { date +%s%N; }

# stats NAME < values(ms, one per line): prints "NAME median mean min n"
stats() {
    sort -n | awk -v name="$1" '{v[NR]=$1; s+=$1} END {
        if (NR == 0) { print name, "nan nan nan 0"; exit }
        m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
        printf "%s %.2f %.2f %.2f %d\n", name, m, s/NR, v[1], NR }'
}

machine_line() {
    echo "machine: $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)" \
        "($(nproc) CPUs), load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "date:    $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "samba:   $(rpcclient --version)"
}

# Prove the LD_PRELOAD iteration shim is in effect: one rpcclient change of USER on HOST from
# $A to $B with the shim logging what samba asked for, then back to $A with the caller's
# `theirs`. Needs ITER, SHIM, WORK, A, B and a `theirs HOST DOMAIN USER OLD NEW` function.
prove_pin_shim() {  # host domain user
    SAMRPC_PIN_LOG=1 SAMRPC_PIN_ITERATIONS="$ITER" LD_PRELOAD="$SHIM" \
        rpcclient -U "$2\\$3%$A" "$1" -c "chgpasswd4 $3 $A $B" >"$WORK/pin" 2>&1
    grep -q "generate_random_u64_range(5000, 1000000) -> $ITER" "$WORK/pin" ||
        { echo "the iteration shim did not take effect:"; cat "$WORK/pin"; exit 1; }
    theirs "$1" "$2" "$3" "$B" "$A" || { cat "$WORK/err"; exit 1; }
}
