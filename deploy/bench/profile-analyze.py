#!/usr/bin/python3
"""Where a launch's time goes: joins profile-launch.sh's runs with the engine API calls its proxy logged (and,
when given, the fork/exec/exit events perf recorded on CLOCK_MONOTONIC, shifted by the offset given) and prints, per arm, the median timeline from "client invoked"
to State.StartedAt.

Usage: profile-analyze.py RAW_CSV ENGINE_CALLS_JSONL [PERF_SCRIPT_TXT REALTIME_MINUS_MONOTONIC_NS]

A run's window is [client invoked, answer to its POST /containers/{id}/start]. Within it every engine call is a
step (request sent -> first byte of the answer) and every stretch between two calls is a gap, labelled by what the
code does there (see DockerSandbox.run, JobService.submit/execute, JobWorkspace.prepare). Figures are medians over
the runs of each arm, of each step separately, so the column does not add up exactly to the median total.
"""

import csv
import datetime
import json
import re
import statistics
import sys
from collections import Counter, defaultdict


def iso_ns(iso):
    base, _, frac = iso.rstrip("Z").partition(".")
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 10**9 + int((frac + "000000000")[:9])


def label(method, path):
    p = re.sub(r"^/v1\.\d+", "", path.split("?")[0])
    p = re.sub(r"sha256:[0-9a-f]{64}", "{digest}", p)
    p = re.sub(r"/containers/[0-9a-zA-Z_.-]{12,}/", "/containers/{id}/", p)
    names = {
        "/_ping": "ping", "/info": "engine info", "/containers/create": "create container",
        "/containers/{id}/attach": "attach", "/containers/{id}/start": "start container",
        "/containers/{id}/json": "inspect container", "/containers/{id}/wait": "wait",
    }
    if p in names:
        return names[p]
    if p.startswith("/images/") and p.endswith("/json"):
        return "inspect image"
    return method + " " + p


def load_calls(path):
    calls, pending = [], defaultdict(list)
    for line in open(path):
        e = json.loads(line)
        if e["ev"] == "req":
            c = {"conn": e["conn"], "what": label(e["method"], e["path"]), "t_req": e["t"], "t_resp": None}
            calls.append(c)
            pending[e["conn"]].append(c)
        elif pending[e["conn"]]:
            c = pending[e["conn"]].pop(0)
            c["t_resp"] = e["t"]
            c["status"] = e["status"]
    calls.sort(key=lambda c: c["t_req"])
    return calls


def load_procs(path, offset_ns):
    """perf script lines (sched_process_fork/exec/exit, CLOCK_MONOTONIC) -> {pid: process} on the realtime clock.

    A process: {"fork": t or None, "parent": comm, "execs": [(t, basename)], "exit": t or None}.
    """
    procs = defaultdict(lambda: {"fork": None, "parent": None, "execs": [], "exit": None})
    rx = re.compile(r"^\s*(\S+)\s+(\d+)/(\d+)\s+(\d+\.\d+):\s+sched:(sched_process_\w+):\s*(.*)$")
    for line in open(path):
        m = rx.match(line)
        if not m:
            continue
        comm, pid, tid, t, kind, rest = m.groups()
        sec, frac = t.split(".")
        t_ns = int(sec) * 10**9 + int((frac + "000000000")[:9]) + offset_ns
        if kind == "sched_process_fork":
            child = re.search(r"child_pid=(\d+)", rest)
            if child:
                p = procs[int(child.group(1))]
                p["fork"], p["parent"] = t_ns, comm
        elif kind == "sched_process_exec":
            fn = re.search(r"filename=(\S+)", rest)
            procs[int(pid)]["execs"].append((t_ns, (fn.group(1) if fn else comm).rsplit("/", 1)[-1]))
        elif kind == "sched_process_exit" and pid == tid:
            procs[int(pid)]["exit"] = t_ns
    return procs


def segments(procs, lo, hi):
    """Per process that exec'd within [lo, hi]: (name, duration) for fork->exec ("spawn <name>") and for each
    exec -> next exec or exit ("<name>"), clipped to [lo, hi]."""
    out = []
    for p in procs.values():
        execs = [e for e in p["execs"] if lo <= e[0] <= hi]
        if not execs:
            continue
        if p["fork"] is not None and p["fork"] >= lo and p["execs"]:
            out.append(("fork -> exec of %s (by %s)" % (p["execs"][0][1], p["parent"]), p["execs"][0][0] - p["fork"]))
        for k, (t, name) in enumerate(p["execs"]):
            if not lo <= t <= hi:
                continue
            end = p["execs"][k + 1][0] if k + 1 < len(p["execs"]) else p["exit"]
            if end is None or end > hi:
                out.append((name + " (still running at StartedAt)", hi - t))
            else:
                out.append((name, end - t))
    return out


# What the code between two engine calls is doing, per arm (see the classes named).
GAP_NAMES = {
    "cloister": {
        ("start", "inspect image"): "HTTP in, parse spec, policy admission (JobService.submit)",
        ("inspect image", "inspect image"): "(between the two inspects of ImageResolver)",
        ("inspect image", "engine info"): "201 answered, job queued, worker picks it up",
        ("engine info", "inspect image"): "(EngineRuntimes.check -> ImageResolver)",
        ("inspect image", "create container"): "JobWorkspace.prepare (work dir, hyperparameters, tmpfs + 2 staged"
                                               " binds, mountinfo check), then build the create request",
        ("create container", "attach"): "JobLog: create the log file, open the attach",
        # Builds with the CIS step (DockerSandbox.benchmark, between create and start):
        ("create container", "inspect container"): "(create answered -> CIS: inspect the container)",
        ("inspect container", "engine info"): "(CIS: inspect parsed -> engine info)",
        ("engine info", "attach"): "CIS section 5 evaluation, listener (audit record), JobLog: log file, open attach",
        ("attach", "start container"): "(attach established -> start)",
    },
    "docker": {
        ("start", "ping"): "docker CLI process start, config, connect",
        ("ping", "create container"): "CLI builds the create request (reads the seccomp file)",
        ("create container", "start container"): "(CLI between create and start)",
        ("create container", "wait"): "(CLI between create and wait)",
        ("wait", "start container"): "(CLI between wait and start)",
    },
}


def timeline(run, calls, procs):
    t0, t_end = run["t0"], None
    inside = []
    for c in calls:
        if c["t_req"] < t0:
            continue
        inside.append(c)
        if c["what"] == "start container":
            t_end = c["t_resp"]
            break
    if t_end is None:
        return None
    steps = []  # (name, duration_ns)
    prev_t, prev_what = t0, "start"
    for c in inside:
        gap = GAP_NAMES.get(run["arm"], {}).get((prev_what, c["what"]), "(gap before %s)" % c["what"])
        steps.append(("  gap: " + gap, c["t_req"] - prev_t))
        if c["what"] == "start container":
            steps.append(("call: start container, until State.StartedAt", run["started"] - c["t_req"]))
        else:
            steps.append(("call: " + c["what"], (c["t_resp"] or c["t_req"]) - c["t_req"]))
        prev_t, prev_what = (c["t_resp"] or c["t_req"]), c["what"]
    cmds = segments(procs, t0, run["started"]) if procs else []
    return {"signature": tuple(s[0] for s in steps), "steps": steps, "total": run["started"] - t0,
            "return": run["t_ret"] - t0, "cmds": cmds}


def main():
    raw, calls_path = sys.argv[1], sys.argv[2]
    procs = load_procs(sys.argv[3], int(sys.argv[4])) if len(sys.argv) > 4 else {}
    calls = load_calls(calls_path)
    runs = []
    for r in csv.DictReader(open(raw)):
        if not r["iter"].isdigit():
            continue
        runs.append({"iter": r["iter"], "arm": r["arm"], "t0": int(r["t0_us"]) * 1000,
                     "t_ret": int(r["t_return_us"]) * 1000, "started": iso_ns(r["started_at"])})
    ms = lambda ns: ns / 1e6
    for arm in ("cloister", "docker"):
        tls = [t for t in (timeline(r, calls, procs) for r in runs if r["arm"] == arm) if t]
        if not tls:
            continue
        common, count = Counter(t["signature"] for t in tls).most_common(1)[0]
        same = [t for t in tls if t["signature"] == common]
        print("== %s: %d runs (%d with the usual sequence of engine calls); median total %.1f ms, client returned"
              " after %.1f ms" % (arm, len(tls), count, ms(statistics.median(t["total"] for t in tls)),
                                  ms(statistics.median(t["return"] for t in tls))))
        print("   %-100s %9s %9s" % ("step (client invoked -> State.StartedAt)", "median", "p90"))
        for k, name in enumerate(common):
            vals = [t["steps"][k][1] for t in same]
            q = statistics.quantiles(vals, n=10, method="inclusive")[8] if len(vals) > 1 else vals[0]
            print("   %-100s %7.1fms %7.1fms" % (name, ms(statistics.median(vals)), ms(q)))
        if procs:
            per_run = defaultdict(list)
            for t in same:
                agg = defaultdict(lambda: [0, 0])
                for name, d in t["cmds"]:
                    agg[name][0] += 1
                    agg[name][1] += d
                for name, nd in agg.items():
                    per_run[name].append(nd)
            if per_run:
                print("   host processes in the window (perf: fork -> exec -> exit), summed per run, median over %d runs"
                      " (a process missing from a run counts 0):" % len(same))
                rows = []
                for name, v in per_run.items():
                    v = v + [(0, 0)] * (len(same) - len(v))
                    rows.append((statistics.median(d for _, d in v), statistics.median(n for n, _ in v), name))
                for d, n, name in sorted(rows, reverse=True):
                    if d >= 0.5e6:
                        print("     %-70s %4.0fx %7.1fms" % (name, n, ms(d)))
        print()


if __name__ == "__main__":
    main()
