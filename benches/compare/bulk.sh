#!/usr/bin/env bash
# Bulk reset rate (issue 6, goal 4): resets per second of
#   samrpc rotate HOST -U Administrator --users FILE --jobs J --out FILE   (level 31, AES)
#   rpcclient -U Administrator HOST -c 'setuserinfo2 u1 23 pw1; setuserinfo2 u2 23 pw2; …'
# (all commands in one -c string: one process, one connection, in sequence), whole process
# timed, N accounts each. rotate runs with each J of JOBS; the best rate over all clients and
# job counts is taken as the server's ceiling on this machine.
#
# Usage: benches/compare/bulk.sh [N] [JOBS] [HOST...]
#        (defaults: 100, "1 2 4", 127.0.0.1 127.0.0.2). Accounts bulk0001… are created once
#        per host and reused. Needs the Samba test servers and rpcclient.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N="${1:-100}"
JOBS="${2:-1 2 4}"
shift 2 || shift $# || true
HOSTS=("$@")
[ ${#HOSTS[@]} -eq 0 ] && HOSTS=(127.0.0.1 127.0.0.2)
ADMIN_PW="$(cat "$ADMIN_PW_FILE")"
STATE_DIR="${SAMRPC_SAMBA_DIR:-/tmp/samrpc-samba}"

build_samrpc
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
machine_line
echo "workload: $N admin password resets per run"

ensure_users() {  # host
    local host="$1" marker="$STATE_DIR/bulk-users-$1-$N"
    [ -f "$marker" ] && return 0
    if [ "$host" = 127.0.0.1 ]; then
        local cmds=""
        for i in $(seq -f %04g "$N"); do cmds+="createdomuser bulk$i;"; done
        rpcclient -U "Administrator%$ADMIN_PW" "$host" -c "$cmds" >/dev/null 2>&1 || true
    else
        for i in $(seq -f %04g "$N"); do
            bash "$SAMBA_SH" add-user "$host" "bulk$i" 'Bulk-Initial-2026!' >/dev/null 2>&1
        done
    fi
    touch "$marker"
}

rate() { echo "scale=1; $1 * 1000000000 / $2" | bc; }

for host in "${HOSTS[@]}"; do
    ensure_users "$host"
    seq -f 'bulk%04g' "$N" >"$WORK/users"
    echo
    echo "== $host"
    # rpcclient, one -c string.
    cmds=""
    for i in $(seq -f %04g "$N"); do cmds+="setuserinfo2 bulk$i 23 Rc-Bulk-$RANDOM-x$i!;"; done
    t0=$(now_ns)
    rpcclient -U "Administrator%$ADMIN_PW" "$host" -c "$cmds" >"$WORK/rc.out" 2>&1 || true
    t1=$(now_ns)
    bad=$(grep -c NT_STATUS "$WORK/rc.out" || true)
    rc_rate=$(rate "$N" $((t1 - t0)))
    echo "rpcclient setuserinfo2 23 (one -c string): ${rc_rate} resets/s  (errors: $bad)"
    best="$rc_rate"; best_who="rpcclient"
    for j in $JOBS; do
        rm -f "$WORK/out.jsonl"
        t0=$(now_ns)
        SAMRPC_ADMIN_PASSWORD="$ADMIN_PW" "$SAMRPC" rotate "$host" -U Administrator \
            --users "$WORK/users" --jobs "$j" --out "$WORK/out.jsonl" --json </dev/null \
            >"$WORK/rot.json" 2>/dev/null || true
        t1=$(now_ns)
        okc=$(grep -c '"ok":true' "$WORK/out.jsonl" || true)
        r=$(rate "$N" $((t1 - t0)))
        echo "samrpc rotate --jobs $j: ${r} resets/s  (rotated $okc/$N)"
        if [ "$(echo "$r > $best" | bc)" = 1 ]; then best="$r"; best_who="samrpc --jobs $j"; fi
        eval "rot_$j=$r"
    done
    for j in $JOBS; do
        v="rot_$j"
        echo "ratio samrpc --jobs $j / rpcclient: $(echo "scale=2; ${!v} / $rc_rate" | bc)"
    done
    echo "ceiling (best observed: $best_who): $best resets/s"
done
