#!/usr/bin/env bash
# The client's own share of a password change's wall time (issue 14 item 5):
#   samrpc passwd HOST USER --iterations 5000
#   rpcclient -U DOM\USER%OLD HOST -c 'chgpasswd4 USER OLD NEW', PBKDF2 pinned to 5000 by
#   the LD_PRELOAD shim pin_iterations.c (as in latency.sh)
# Wall time: bash's $EPOCHREALTIME right before the exec and right after the wait (no fork of
# `date` inside the measured interval). Server time: from a capture of the exchange on `lo`
# (dumpcap), the time during which an SMB2 request of the run is awaiting its final answer
# (interim STATUS_PENDING answers do not end a request); see client_share.py. Runs alternate
# ours / theirs; every run changes a password A -> B or B -> A (one account per tool).
# Also times `/bin/true` the same way: the floor of fork + exec + exit + wait on this machine.
#
# Usage: benches/compare/client_share.sh [RUNS] [HOST...]   (defaults: 20, 127.0.0.1 127.0.0.2)
# Needs: the Samba test servers (tests/samba/samba.sh up), rpcclient, gcc, dumpcap and tshark,
# the right to capture on lo (root or CAP_NET_RAW), python3.
# SAMRPC_BIN=path times another samrpc binary instead of building one; SAMRPC_BASE=path adds
# a second samrpc binary (e.g. the build before a change) to the rotation as "samrpc-base";
# SHARE_VERBOSE=1 prints every run's breakdown; SHARE_KEEP=DIR keeps the capture and tables.
# With perf (optional): sched fork/exec/exit tracepoints split the shell's fork and wake-up
# off the process's own lifetime (SHARE_TRACE=0: off), and SHARE_CPU_RUNS (10) more runs per
# tool under `perf stat -e task-clock` give each client's CPU time per change.
# SHARE_ITERATIONS changes the pinned PBKDF2 count (default 5000).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUNS="${1:-20}"
CPU_RUNS="${SHARE_CPU_RUNS:-10}"
shift || true
HOSTS=("$@")
[ ${#HOSTS[@]} -eq 0 ] && HOSTS=(127.0.0.1 127.0.0.2)
ITER="${SHARE_ITERATIONS:-5000}"
A='Bench-Pass-A-2026!'
B='Bench-Pass-B-2026!'
UO=share_ours
UT=share_theirs
UB=share_base
BASE="${SAMRPC_BASE:-}"

if [ -n "${SAMRPC_BIN:-}" ]; then SAMRPC="$SAMRPC_BIN"; else build_samrpc; fi
WORK="$(mktemp -d)"
CAP_PID=
cleanup() {
    [ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
    [ -n "${TRACE_PID:-}" ] && kill -INT "$TRACE_PID" 2>/dev/null && wait "$TRACE_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
SHIM="$WORK/pin_iterations.so"
gcc -shared -fPIC -O2 -o "$SHIM" "$HERE/pin_iterations.c"

machine_line
echo "workload: one SamrUnicodeChangePasswordUser4 change, PBKDF2 pinned to $ITER iterations;" \
    "$RUNS alternating runs per tool; samrpc: $SAMRPC${BASE:+; samrpc-base: $BASE}"

ours() {  # host domain user old new [binary]
    SAMRPC_OLD_PASSWORD="$4" SAMRPC_NEW_PASSWORD="$5" \
        "${6:-$SAMRPC}" passwd "$1" "$3" -d "$2" --iterations "$ITER" </dev/null >/dev/null 2>"$WORK/err"
}
theirs() {  # host domain user old new
    SAMRPC_PIN_ITERATIONS="$ITER" LD_PRELOAD="$SHIM" \
        rpcclient -U "$2\\$3%$4" "$1" -c "chgpasswd4 $3 $4 $5" </dev/null >"$WORK/err" 2>&1
}

declare -A DOM
for host in "${HOSTS[@]}"; do
    DOM[$host]="$(domain_of "$host")"
    bash "$SAMBA_SH" add-user "$host" "$UO" "$A" >/dev/null
    bash "$SAMBA_SH" add-user "$host" "$UT" "$A" >/dev/null
    [ -n "$BASE" ] && bash "$SAMBA_SH" add-user "$host" "$UB" "$A" >/dev/null
    prove_pin_shim "$host" "${DOM[$host]}" "$UT"
done

# One capture for all runs; the analysis picks each run's connection by time and user name.
filter="tcp port 445 and ($(printf 'host %s or ' "${HOSTS[@]}" | sed 's/ or $//'))"
dumpcap -q -i lo -f "$filter" -w "$WORK/cap.pcapng" 2>"$WORK/dumpcap.err" &
CAP_PID=$!
for _ in $(seq 50); do [ -s "$WORK/cap.pcapng" ] && break; sleep 0.1; done
[ -s "$WORK/cap.pcapng" ] || { echo "dumpcap did not start:"; cat "$WORK/dumpcap.err"; exit 1; }
# With perf: fork/exec/exit tracepoints, to tell the process's own lifetime from what the
# shell's timing adds (SHARE_TRACE=0 turns it off).
TRACE_PID=
if [ "${SHARE_TRACE:-1}" != 0 ] && command -v perf >/dev/null; then
    perf record -q -a -k mono -o "$WORK/ev.data" -e sched:sched_process_fork \
        -e sched:sched_process_exec -e sched:sched_process_exit 2>"$WORK/perf.err" &
    TRACE_PID=$!
fi
sleep 1
mono_offset() { python3 -c 'import time; print(time.time() - time.clock_gettime(time.CLOCK_MONOTONIC))'; }
OFFSET="$(mono_offset)"

: >"$WORK/runs.tsv"; : >"$WORK/true.ms"
for host in "${HOSTS[@]}"; do
    dom="${DOM[$host]}"; old="$A"; new="$B"
    for i in $(seq "$RUNS"); do
        t0=$EPOCHREALTIME; ours "$host" "$dom" "$UO" "$old" "$new" || { cat "$WORK/err"; exit 1; }
        t1=$EPOCHREALTIME
        echo "$host samrpc $UO $t0 $t1" >>"$WORK/runs.tsv"
        t0=$EPOCHREALTIME; theirs "$host" "$dom" "$UT" "$old" "$new" || { cat "$WORK/err"; exit 1; }
        t1=$EPOCHREALTIME
        echo "$host rpcclient $UT $t0 $t1" >>"$WORK/runs.tsv"
        if [ -n "$BASE" ]; then
            t0=$EPOCHREALTIME; ours "$host" "$dom" "$UB" "$old" "$new" "$BASE" ||
                { cat "$WORK/err"; exit 1; }
            t1=$EPOCHREALTIME
            echo "$host samrpc-base $UB $t0 $t1" >>"$WORK/runs.tsv"
        fi
        t0=$EPOCHREALTIME; /bin/true; t1=$EPOCHREALTIME
        echo "($t1 - $t0) * 1000" | bc -l >>"$WORK/true.ms"
        tmp="$old"; old="$new"; new="$tmp"
    done
done
sleep 0.5
kill "$CAP_PID"; wait "$CAP_PID" 2>/dev/null || true; CAP_PID=
EVENTS=()
if [ -n "$TRACE_PID" ]; then
    kill -INT "$TRACE_PID"; wait "$TRACE_PID" 2>/dev/null || true; TRACE_PID=
    if perf script -i "$WORK/ev.data" -F pid,tid,time,event,trace --ns >"$WORK/ev.txt" 2>/dev/null; then
        EVENTS=("$WORK/ev.txt" "$OFFSET" "$BASHPID")
    fi
fi

tshark -r "$WORK/cap.pcapng" -T fields -E separator=/t \
    -e frame.time_epoch -e tcp.stream -e tcp.srcport -e tcp.dstport -e tcp.flags.syn \
    -e tcp.flags.ack -e tcp.flags.fin -e tcp.len -e smb2.msg_id -e smb2.flags.response -e smb2.nt_status \
    -e ntlmssp.auth.username >"$WORK/frames.tsv" 2>"$WORK/tshark.err"
[ -n "${SHARE_KEEP:-}" ] && mkdir -p "$SHARE_KEEP" && cp "$WORK"/{runs.tsv,frames.tsv,cap.pcapng} "$SHARE_KEEP/" &&
    { [ ${#EVENTS[@]} -eq 0 ] || { cp "$WORK/ev.txt" "$SHARE_KEEP/" && echo "${EVENTS[*]:1}" >"$SHARE_KEEP/ev.args"; }; }
python3 "$HERE/client_share.py" ${SHARE_VERBOSE:+-v} "$WORK/runs.tsv" "$WORK/frames.tsv" "${EVENTS[@]}"
# CPU time of each client (task-clock: user + system, all threads), which scheduling on a
# shared machine does not inflate; PBKDF2 at 5,000 iterations is ~1.5 ms of it on this CPU.
if command -v perf >/dev/null; then
    echo
    echo "client CPU per change (perf stat task-clock, ms, median (min) of $CPU_RUNS runs):"
    for host in "${HOSTS[@]}"; do
        dom="${DOM[$host]}"; : >"$WORK/cpu.ours"; : >"$WORK/cpu.theirs"; : >"$WORK/cpu.base"
        # Passwords are back at A after an even number of runs; start from the current one.
        old="$A"; new="$B"; [ $((RUNS % 2)) -eq 1 ] && { old="$B"; new="$A"; }
        for i in $(seq "$CPU_RUNS"); do
            SAMRPC_OLD_PASSWORD="$old" SAMRPC_NEW_PASSWORD="$new" perf stat -x, -e task-clock \
                -o "$WORK/ps" "$SAMRPC" passwd "$host" "$UO" -d "$dom" --iterations "$ITER" \
                </dev/null >/dev/null 2>&1 || { echo "samrpc failed under perf"; exit 1; }
            awk -F, '/task-clock/ {print $1}' "$WORK/ps" >>"$WORK/cpu.ours"
            SAMRPC_PIN_ITERATIONS="$ITER" LD_PRELOAD="$SHIM" perf stat -x, -e task-clock \
                -o "$WORK/ps" rpcclient -U "$dom\\$UT%$old" "$host" -c "chgpasswd4 $UT $old $new" \
                </dev/null >/dev/null 2>&1 || { echo "rpcclient failed under perf"; exit 1; }
            awk -F, '/task-clock/ {print $1}' "$WORK/ps" >>"$WORK/cpu.theirs"
            if [ -n "$BASE" ]; then
                SAMRPC_OLD_PASSWORD="$old" SAMRPC_NEW_PASSWORD="$new" perf stat -x, -e task-clock \
                    -o "$WORK/ps" "$BASE" passwd "$host" "$UB" -d "$dom" --iterations "$ITER" \
                    </dev/null >/dev/null 2>&1 || { echo "samrpc-base failed under perf"; exit 1; }
                awk -F, '/task-clock/ {print $1}' "$WORK/ps" >>"$WORK/cpu.base"
            fi
            tmp="$old"; old="$new"; new="$tmp"
        done
        line="  $host: samrpc $(stats x <"$WORK/cpu.ours" | awk '{printf "%s (%s)", $2, $4}')"
        line+=", rpcclient $(stats x <"$WORK/cpu.theirs" | awk '{printf "%s (%s)", $2, $4}')"
        [ -n "$BASE" ] && line+=", samrpc-base $(stats x <"$WORK/cpu.base" | awk '{printf "%s (%s)", $2, $4}')"
        echo "$line"
    done
fi
echo
echo "fork + exec + exit + wait floor (/bin/true, same timing): $(stats true <"$WORK/true.ms" |
    awk '{printf "median %s ms, min %s ms", $2, $4}')"
echo "load after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
