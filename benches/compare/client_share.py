#!/usr/bin/env python3
"""Client share of a password change's wall time, from a capture (issue 14 item 5).

Usage: client_share.py [-v] RUNS.tsv FRAMES.tsv [EVENTS OFFSET PARENT_PID]
(-v: one line per run as well)

RUNS.tsv, one line per run: host tool user t0 t1 (t0/t1: epoch seconds right before the exec
and right after the wait, bash's $EPOCHREALTIME).

FRAMES.tsv: `tshark -T fields -E separator=/t` with the fields, in this order,
  frame.time_epoch tcp.stream tcp.srcport tcp.dstport tcp.flags.syn tcp.flags.ack
  tcp.flags.fin tcp.len
  smb2.msg_id smb2.flags.response smb2.nt_status ntlmssp.auth.username
(several SMB2 messages in one frame give comma-separated msg_id / response / status lists).

For each run the script finds the run's TCP connection (SYN inside [t0, t1], NTLMSSP user
= the run's user) and walks its frames in time order, keeping the set of outstanding SMB2
message ids: a client frame adds the ids of the requests it carries, a server frame removes
the ids it answers unless the answer is an interim STATUS_PENDING (0x103), whose final
answer comes later. "Server time" is the time during which at least one request was
outstanding and then answered, before the client closed its side of the connection (FIN)
and before t1: a request the client does not wait for, like samrpc's closing CLOSE +
TREE_DISCONNECT + LOGOFF chain, counts as the client's time, not the server's. The rest of the wall time is the client's, and splits into:

  exec->SYN      t0 to the client's SYN (process start, loading, set-up before connect)
  SYN->1st req   SYN to the first request (the TCP handshake is in here, ~0.02 ms on lo)
  think          sum of the gaps between an answer and the next request
  tail           the end of the last server interval to t1 (teardown, exit, the wait)

wall = exec->SYN + SYN->1st req + server + think + tail.  Prints per host and tool the
median and minimum of each column over the runs, plus the flight count (request frames).

With EVENTS OFFSET PARENT_PID (perf sched_process_{fork,exec,exit} events, the offset from
their CLOCK_MONOTONIC to CLOCK_REALTIME, the benchmark shell's pid) it also splits off what
the shell's timing adds: `exec` (t0 to the exec of the forked child: fork + exec) and `reap`
(the exit of the process's last thread to t1: the shell's wake-up), and gives the client's
share of the process's own lifetime (exec to exit).
"""

import statistics
import sys
from collections import defaultdict

PENDING = 0x103


def load_frames(path):
    streams = defaultdict(list)
    for line in open(path, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        f += [""] * (12 - len(f))
        t, stream, sport, dport, syn, ack, fin, tlen, mids, resp, status, user = f[:12]
        if not stream:
            continue
        streams[int(stream)].append(
            {
                "t": float(t),
                "client": dport in ("445", "139"),
                "syn": syn in ("1", "True") and ack not in ("1", "True"),
                "fin": fin in ("1", "True"),
                "len": int(tlen or 0),
                "mids": [int(x) for x in mids.split(",") if x],
                "resp": [x in ("1", "True") for x in resp.split(",") if x],
                "status": [int(x, 16) if x.startswith("0x") else int(x) for x in status.split(",") if x],
                "user": user,
            }
        )
    for frames in streams.values():
        frames.sort(key=lambda fr: fr["t"])
    return streams


def analyse(frames, t0, t1):
    syn = next(fr["t"] for fr in frames if fr["syn"] and fr["client"])
    outstanding = set()
    busy_since = None
    server = 0.0
    intervals = []
    first_req = None
    flights = 0
    for fr in frames:
        if fr["t"] > t1:
            break
        if fr["client"] and fr["fin"]:
            break  # the client closed its side: later answers are not awaited
        if fr["client"]:
            req_ids = [m for m, r in zip(fr["mids"], fr["resp"]) if not r]
            if not req_ids:
                continue
            flights += 1
            if first_req is None:
                first_req = fr["t"]
            if not outstanding:
                busy_since = fr["t"]
            outstanding.update(req_ids)
        else:
            answered = False
            statuses = fr["status"] + [0] * (len(fr["mids"]) - len(fr["status"]))
            for m, r, s in zip(fr["mids"], fr["resp"], statuses):
                if r and s != PENDING and m in outstanding:
                    outstanding.discard(m)
                    answered = True
            if answered and not outstanding:
                intervals.append((busy_since, fr["t"]))
                busy_since = None
    # Requests still unanswered when the client closed or exited were not waited for: their
    # time is the client's (samrpc sends its closing chain and closes without waiting).
    server = sum(b - a for a, b in intervals)
    think = sum(intervals[i + 1][0] - intervals[i][1] for i in range(len(intervals) - 1))
    return {
        "wall": t1 - t0,
        "server": server,
        "client": (t1 - t0) - server,
        "exec_syn": syn - t0,
        "syn_req": first_req - syn,
        "think": think,
        "tail": t1 - intervals[-1][1],
        "flights": flights,
    }


def load_events(path, offset, parent):
    """`perf script -F pid,tid,time,event,trace --ns` of sched_process_{fork,exec,exit}, in
    CLOCK_MONOTONIC (+ offset = CLOCK_REALTIME). Returns [(fork time, child pid)] of the
    forks made by the benchmark's shell (pid `parent`), {pid: exec time}, {pid: exit time of
    the process's last thread}."""
    forks, execs, exits = [], {}, {}
    for line in open(path, encoding="utf-8", errors="replace"):
        f = line.split()
        if len(f) < 4:
            continue
        t = float(f[1].rstrip(":")) + offset
        pid = int(f[0].split("/")[0])
        fields = dict(x.split("=", 1) for x in f[3:] if "=" in x)
        if f[2].startswith("sched:sched_process_fork") and fields.get("pid") == str(parent):
            forks.append((t, int(fields["child_pid"])))
        elif f[2].startswith("sched:sched_process_exec"):
            execs.setdefault(pid, t)
        elif f[2].startswith("sched:sched_process_exit") and fields.get("group_dead") == "true":
            exits[pid] = t
    return forks, execs, exits


def main():
    args = sys.argv[1:]
    verbose = "-v" in args
    args = [a for a in args if a != "-v"]
    runs_path, frames_path = args[:2]
    events = None
    if len(args) >= 5:  # EVENTS OFFSET PARENT_PID
        events = load_events(args[2], float(args[3]), int(args[4]))
    streams = load_frames(frames_path)
    results = defaultdict(list)
    order = []
    for line in open(runs_path, encoding="utf-8"):
        host, tool, user, t0, t1 = line.split()
        t0, t1 = float(t0), float(t1)
        mine = [
            s
            for s, frames in streams.items()
            if any(fr["syn"] and fr["client"] and t0 <= fr["t"] <= t1 for fr in frames)
            and any(fr["user"].lower() == user.lower() for fr in frames)
        ]
        if len(mine) != 1:
            print(f"warning: {tool} run at {t0:.6f} on {host}: {len(mine)} matching connections, skipped")
            continue
        key = (host, tool)
        if key not in order:
            order.append(key)
        r = analyse(streams[mine[0]], t0, t1)
        if events:
            forks, execs, exits = events
            child = [pid for t, pid in forks if t0 - 0.0005 <= t <= t1]
            if len(child) == 1 and child[0] in execs and child[0] in exits:
                pid = child[0]
                r["exec"] = execs[pid] - t0
                r["reap"] = t1 - exits[pid]
                r["to_syn"] = r["exec_syn"] - r["exec"]
                life = exits[pid] - execs[pid]
                r["life"] = life
                r["life_share"] = (life - r["server"]) / life
        results[key].append(r)
        if verbose:
            print(f"{host} {tool:<12} t0={t0:.6f} " + " ".join(
                f"{c}={r[c] * 1000:.2f}"
                for c in ("wall", "server", "client", "exec_syn", "syn_req", "think", "tail", "exec", "reap")
                if c in r
            ))
    cols = ["wall", "server", "client", "exec_syn", "syn_req", "think", "tail"]
    head = "  ".join(f"{c:>13}" for c in cols)
    for host in dict.fromkeys(h for h, _ in order):
        print(f"\n== {host}: milliseconds, median (min) over the runs; share = client / wall")
        print(f"{'tool':<12}{'n':>3}  {head}  {'share':>14}  flights")
        for (h, tool) in order:
            if h != host:
                continue
            rs = results[(h, tool)]
            cells = []
            for c in cols:
                v = [r[c] * 1000 for r in rs]
                cells.append(f"{statistics.median(v):5.2f}({min(v):.2f})".rjust(13))
            share = [r["client"] / r["wall"] * 100 for r in rs]
            fl = sorted({r["flights"] for r in rs})
            print(
                f"{tool:<12}{len(rs):>3}  {'  '.join(cells)}  "
                f"{statistics.median(share):5.1f}% ({min(share):.1f}%)  {','.join(map(str, fl))}"
            )
        traced = [(t, results[(h, t)]) for (h, t) in order if h == host]
        if all(rs and all("life" in r for r in rs) for _, rs in traced):
            print(
                "  the process alone (from sched tracepoints): exec = t0 to its exec (fork + exec),"
                " to_syn = exec to SYN,\n  life = exec to the exit of its last thread,"
                " reap = that exit to t1 (the shell's wake-up):"
            )
            for tool, rs in traced:
                cells = []
                for c in ("exec", "to_syn", "life", "reap"):
                    v = [r[c] * 1000 for r in rs]
                    cells.append(f"{c} {statistics.median(v):.2f} ({min(v):.2f})")
                share = [r["life_share"] * 100 for r in rs]
                print(
                    f"  {tool:<12} {', '.join(cells)} ms; client share of the lifetime "
                    f"{statistics.median(share):.1f}% ({min(share):.1f}%)"
                )


if __name__ == "__main__":
    main()
