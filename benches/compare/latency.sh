#!/usr/bin/env bash
# Whole-process latency and peak RSS of one password change (issue 6, goal 3):
#   samrpc passwd HOST USER --iterations 5000
#   rpcclient -U USER%OLD HOST -c 'chgpasswd4 USER OLD NEW', with the PBKDF2 iteration count
#   pinned to 5000 by the LD_PRELOAD shim pin_iterations.c
# Runs alternate ours / theirs (so load bursts on a shared machine hit both); every run
# changes a password A -> B or B -> A (each tool has its own account). Prints per-tool
# median / mean / min in ms, the ratio ours / rpcclient, and peak RSS (max over 3 runs of
# /usr/bin/time -f %M).
#
# Usage: benches/compare/latency.sh [RUNS] [HOST...]   (defaults: 20, 127.0.0.1 127.0.0.2)
# Needs: the Samba test servers (tests/samba/samba.sh up), rpcclient, gcc, /usr/bin/time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUNS="${1:-20}"
shift || true
HOSTS=("$@")
[ ${#HOSTS[@]} -eq 0 ] && HOSTS=(127.0.0.1 127.0.0.2)
ITER=5000
A='Bench-Pass-A-2026!'
B='Bench-Pass-B-2026!'

build_samrpc
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
SHIM="$WORK/pin_iterations.so"
gcc -shared -fPIC -O2 -o "$SHIM" "$HERE/pin_iterations.c"

machine_line
echo "workload: one SamrUnicodeChangePasswordUser4 change, PBKDF2 pinned to $ITER iterations;" \
    "$RUNS alternating runs per tool"

ours() {  # host domain user old new
    SAMRPC_OLD_PASSWORD="$4" SAMRPC_NEW_PASSWORD="$5" \
        "$SAMRPC" passwd "$1" "$3" -d "$2" --iterations "$ITER" </dev/null >/dev/null 2>"$WORK/err"
}
theirs() {  # host domain user old new
    SAMRPC_PIN_ITERATIONS="$ITER" LD_PRELOAD="$SHIM" \
        rpcclient -U "$2\\$3%$4" "$1" -c "chgpasswd4 $3 $4 $5" </dev/null >"$WORK/err" 2>&1
}

for host in "${HOSTS[@]}"; do
    dom="$(domain_of "$host")"
    uo="perf_ours"; ut="perf_theirs"
    bash "$SAMBA_SH" add-user "$host" "$uo" "$A" >/dev/null
    bash "$SAMBA_SH" add-user "$host" "$ut" "$A" >/dev/null
    # Prove the shim is in effect (and leave the account at A again).
    prove_pin_shim "$host" "$dom" "$ut"
    echo
    echo "== $host (domain $dom): shim in effect (rpcclient asked for 5000..1000000, got $ITER)"
    : >"$WORK/ours.ms"; : >"$WORK/theirs.ms"
    old="$A"; new="$B"
    for i in $(seq "$RUNS"); do
        t0=$(now_ns); ours "$host" "$dom" "$uo" "$old" "$new" || { cat "$WORK/err"; exit 1; }
        t1=$(now_ns); theirs "$host" "$dom" "$ut" "$old" "$new" || { cat "$WORK/err"; exit 1; }
        t2=$(now_ns)
        echo "scale=3; ($t1 - $t0) / 1000000" | bc >>"$WORK/ours.ms"
        echo "scale=3; ($t2 - $t1) / 1000000" | bc >>"$WORK/theirs.ms"
        tmp="$old"; old="$new"; new="$tmp"
    done
    so=$(stats samrpc <"$WORK/ours.ms"); st=$(stats rpcclient <"$WORK/theirs.ms")
    printf '%-10s %10s %10s %10s %4s\n' tool median_ms mean_ms min_ms n
    printf '%-10s %10s %10s %10s %4s\n' $so
    printf '%-10s %10s %10s %10s %4s\n' $st
    mo=$(awk '{print $2}' <<<"$so"); mt=$(awk '{print $2}' <<<"$st")
    echo "ratio samrpc / rpcclient (median): $(echo "scale=3; $mo / $mt" | bc)  (goal <= 0.6)"
    # Peak RSS.
    ro=0; rt=0
    for i in 1 2 3; do
        SAMRPC_OLD_PASSWORD="$old" SAMRPC_NEW_PASSWORD="$new" /usr/bin/time -f %M -o "$WORK/rss" \
            "$SAMRPC" passwd "$host" "$uo" -d "$dom" --iterations "$ITER" </dev/null >/dev/null 2>&1
        r=$(tail -n1 "$WORK/rss"); [ "$r" -gt "$ro" ] && ro=$r
        SAMRPC_PIN_ITERATIONS="$ITER" LD_PRELOAD="$SHIM" /usr/bin/time -f %M -o "$WORK/rss" \
            rpcclient -U "$dom\\$ut%$old" "$host" -c "chgpasswd4 $ut $old $new" </dev/null >/dev/null 2>&1
        r=$(tail -n1 "$WORK/rss"); [ "$r" -gt "$rt" ] && rt=$r
        tmp="$old"; old="$new"; new="$tmp"
    done
    echo "peak RSS: samrpc ${ro} KiB, rpcclient ${rt} KiB, ratio $(echo "scale=3; $ro / $rt" | bc)  (goal <= 0.5)"
done
