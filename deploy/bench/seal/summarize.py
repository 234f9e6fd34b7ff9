#!/usr/bin/python3
"""Summarises a deploy/bench/seal/run.sh results directory (standard library only).

Usage: summarize.py RESULTS_DIR MODEL_BYTES

Round 0 (the warm-up of every arm) is left out. GB/s are 10^9 bytes per second of model content.
Throughput ratio = median openssl wall time / median arm wall time (same bytes), so >= 0.90 meets the target.
"others" = CPU seconds used by every other process on the machine while the arm ran (busy time from /proc/stat
minus the arm's own user+sys), divided by the arm's wall time: the contention the arm actually saw, in cores.
"""

import csv
import glob
import os
import re
import statistics
import sys


def med(values):
    return statistics.median(values) if values else float("nan")


def main():
    results, model_bytes = sys.argv[1], int(sys.argv[2])
    gb = model_bytes / 1e9
    every = [r for r in csv.DictReader(open(os.path.join(results, "runs.csv"))) if r["round"] != "0"]
    rows = [r for r in every if r["kept"] == "1"]
    arms = {}
    by_round = {}
    for r in rows:
        arms.setdefault(r["arm"], []).append(r)
        by_round.setdefault(r["round"], {})[r["arm"]] = float(r["wall_s"])

    print("model: %d bytes (%.3f GB); rounds: %d (round 0 = warm-up, excluded)" % (model_bytes, gb, len(by_round)))
    print("timed attempts: %d, kept: %d (a run during which other processes used >= the quiet threshold is "
          "repeated; the last attempt is kept)" % (len(every), len(rows)))
    print()
    print("%-12s %3s %9s %9s %9s %8s %8s %9s %8s %8s" % (
        "arm", "n", "median s", "min s", "max s", "GB/s", "cpu s", "cpu s/GB", "others", "load1"))
    walls = {}
    cpu_per_gb = {}
    for arm, rs in arms.items():
        w = [float(r["wall_s"]) for r in rs]
        c = [float(r["cpu_s"]) for r in rs]
        others = [float(r["others_cores"]) for r in rs]
        load = [float(r["load1"]) for r in rs]
        walls[arm] = w
        cpu_per_gb[arm] = med(c) / gb
        print("%-12s %3d %9.3f %9.3f %9.3f %8.3f %8.2f %9.3f %8.2f %8.2f" % (
            arm, len(w), med(w), min(w), max(w), gb / med(w), med(c), med(c) / gb, med(others), med(load)))
    pre = [float(r["pre_other_cores"]) for r in rows if r["pre_other_cores"] not in ("", "-")]
    loads = [float(r["load1"]) for r in rows]
    if pre:
        during = [float(r["others_cores"]) for r in rows]
        print("\nother processes just before each kept run (2 s sample): median %.2f cores, max %.2f; during the "
              "kept runs: median %.2f cores, max %.2f;\nload1 at the end of the kept runs: %.2f .. %.2f (median %.2f)" % (
                  med(pre), max(pre), med(during), max(during), min(loads), max(loads), med(loads)))

    def paired(arm, base):
        return [d[arm] / d[base] for d in by_round.values() if arm in d and base in d]

    print()
    checks = [
        ("seal_warm", "openssl", "throughput", 0.90, "seal (warm JVM) throughput / openssl -P2 throughput"),
        ("seal_fresh", "openssl", "throughput", None, "seal (fresh JVM, key open included) / openssl -P2"),
        ("verify_warm", "openssl", "throughput", None, "verify (warm JVM) throughput / openssl -P2"),
        ("verify_warm", "seal_warm", "time", 1.10, "verify time / seal time, both warm JVM"),
        ("verify_cli", "seal_warm", "time", 1.10, "verify CLI whole process / seal warm JVM"),
        ("verify_cli", "seal_fresh", "time", None, "verify CLI whole process / seal fresh JVM"),
    ]
    for arm, base, kind, target, label in checks:
        if arm not in walls or base not in walls:
            continue
        if kind == "throughput":
            ratio = med(walls[base]) / med(walls[arm])
            p = [1 / x for x in paired(arm, base)]
            verdict = "-" if target is None else ("PASS" if ratio >= target else "MISS")
            tgt = "-" if target is None else ">= %.2f" % target
        else:
            ratio = med(walls[arm]) / med(walls[base])
            p = paired(arm, base)
            verdict = "-" if target is None else ("PASS" if ratio <= target else "MISS")
            tgt = "-" if target is None else "<= %.2f" % target
        print("%-55s %.3f  (per-round paired: median %.3f, range %.3f-%.3f)  target %-7s %s" % (
            label, ratio, med(p), min(p), max(p), tgt, verdict))
    # Cross-check: every attempt (kept or not) during which other processes used < 0.5 cores.
    quiet = {}
    for r in every:
        if float(r["others_cores"]) < 0.5:
            quiet.setdefault(r["arm"], []).append(float(r["wall_s"]))
    if all(a in quiet for a in ("openssl", "seal_warm", "verify_warm")):
        q = {a: med(v) for a, v in quiet.items()}
        print("%-55s %s" % ("quiet attempts only (others < 0.5 cores), medians:", "  ".join(
            "%s %.3f s (n=%d)" % (a, q[a], len(quiet[a])) for a in sorted(q))))
        line = "    seal_warm/openssl throughput %.3f, verify_warm/seal_warm %.3f" % (
            q["openssl"] / q["seal_warm"], q["verify_warm"] / q["seal_warm"])
        if "verify_cli" in q:
            line += ", verify_cli/seal_warm %.3f" % (q["verify_cli"] / q["seal_warm"])
        print(line)
    if "openssl" in cpu_per_gb and "seal_warm" in cpu_per_gb:
        print("%-55s %.3f  (CPU s/GB openssl / CPU s/GB seal: what the throughput ratio would be on an idle "
              "2-core machine if both stay CPU-bound)" % ("CPU efficiency, seal_warm vs openssl", 
                                                         cpu_per_gb["openssl"] / cpu_per_gb["seal_warm"]))

    print()
    for log in sorted(glob.glob(os.path.join(results, "heap-*.log"))):
        text = open(log).read()
        name = os.path.basename(log)[5:-4]
        m = re.search(r"HEAP_SUMMARY (.*)", text)
        runs = re.findall(r"run +\d+ +seal ([\d.]+) s ([\d.]+) GB/s +verify ([\d.]+) s ([\d.]+) GB/s", text)
        model = re.search(r"model: \S+, (\d+) files, (\d+) bytes", text)
        if not m:
            print("heap %-22s FAILED or incomplete: %s" % (name, text.strip().splitlines()[-1:]))
            continue
        f = dict(kv.split("=") for kv in m.group(1).split())
        print("heap %-20s model %5.1f GiB  Xmx %5s MiB  baseline %5s MiB  max used %5s MiB  growth %5s MiB "
              "(sampler's own %s)  retained after GC %s MiB  GCs %s  direct %s MiB  seal %s GB/s  verify %s GB/s" % (
                  name, int(model.group(2)) / 2 ** 30 if model else float("nan"), f["xmx_mib"], f["baseline_mib"],
                  f["max_used_mib"], f["growth_mib"], f.get("sampler_alloc_mib", "?"), f.get("retained_mib", "?"),
                  f["gcs"], f["direct_max_mib"], "/".join(r[1] for r in runs), "/".join(r[3] for r in runs)))

    path = os.path.join(results, "breakdown.log")
    if os.path.exists(path):
        print("\nbreakdown.log (one warm JVM, rounds with others < 0.3 cores):")
        for line in open(path):
            if line.startswith("BREAKDOWN"):
                print("  " + line.rstrip())
    path = os.path.join(results, "cli", "summary.txt")
    if os.path.exists(path):
        print("\ncli/summary.txt (verify CLI, whole process: --version, 1 KiB model, 2 GiB model; _cds = AppCDS):")
        for line in open(path):
            print("  " + line.rstrip())

    for log in ("variants.log", "variants-nointrinsic.log"):
        path = os.path.join(results, log)
        if os.path.exists(path):
            print("\n" + log + ":")
            for line in open(path):
                if line.startswith(("VARIANT", "SUN", "pre_run", "#")):
                    print("  " + line.rstrip())


if __name__ == "__main__":
    main()
