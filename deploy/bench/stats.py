#!/usr/bin/python3
"""Summarises a benchmark CSV (columns: iter,arm,value,...) with the standard library only.

Usage: stats.py CSV --unit ms --compare ARM BASELINE TARGET [--compare ...] [--json OUT]

For each arm: n, median, p90, min, max. For each comparison: the ratio of medians ARM/BASELINE (the figure the
targets are stated in), the median of the per-iteration ratios over the iterations that have both arms (the runs
are interleaved, so a pair shares the machine's state), and a 95 % bootstrap interval of the ratio of medians
(resampling whole iterations, fixed seed, so reruns of this script on the same CSV print the same interval).
A comparison PASSes when the ratio of medians is at most TARGET ("-" for no target).

p90 is the 0.9 quantile with linear interpolation between order statistics (statistics.quantiles, 'inclusive').
"""

import argparse
import csv
import json
import random
import statistics
import sys


def p90(values):
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def summary(values):
    return {
        "n": len(values),
        "median": statistics.median(values),
        "p90": p90(values),
        "min": min(values),
        "max": max(values),
        "mean": statistics.fmean(values),
    }


def bootstrap_ratio(by_iter, arm, base, reps=5000, seed=20261127):
    """95 % interval of median(arm)/median(base), resampling iterations (both arms of an iteration together)."""
    iters = sorted(by_iter)
    rng = random.Random(seed)
    ratios = []
    for _ in range(reps):
        pick = [iters[rng.randrange(len(iters))] for _ in iters]
        a = [v for i in pick for v in by_iter[i].get(arm, [])]
        b = [v for i in pick for v in by_iter[i].get(base, [])]
        if a and b:
            ratios.append(statistics.median(a) / statistics.median(b))
    ratios.sort()
    return ratios[int(0.025 * len(ratios))], ratios[min(len(ratios) - 1, int(0.975 * len(ratios)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--unit", default="ms")
    ap.add_argument("--compare", nargs=3, action="append", default=[], metavar=("ARM", "BASELINE", "TARGET"))
    ap.add_argument("--json")
    args = ap.parse_args()

    values, by_iter = {}, {}
    with open(args.csv, newline="") as f:
        for row in csv.DictReader(f):
            v = float(row["value"])
            values.setdefault(row["arm"], []).append(v)
            by_iter.setdefault(row["iter"], {}).setdefault(row["arm"], []).append(v)

    u = args.unit
    out = {"unit": u, "arms": {}, "comparisons": []}
    print("%-22s %4s %10s %10s %10s %10s" % ("arm", "n", "median", "p90", "min", "max"))
    for arm, vs in values.items():
        s = summary(vs)
        out["arms"][arm] = s
        print("%-22s %4d %8.3f%-2s %8.3f%-2s %8.3f%-2s %8.3f%-2s" % (
            arm, s["n"], s["median"], u, s["p90"], u, s["min"], u, s["max"], u))
    print()
    for arm, base, target in args.compare:
        if arm not in values or base not in values:
            print("%s vs %s: no data" % (arm, base))
            continue
        ratio = statistics.median(values[arm]) / statistics.median(values[base])
        paired = [statistics.median(d[arm]) / statistics.median(d[base]) for d in by_iter.values() if arm in d and base in d]
        lo, hi = bootstrap_ratio(by_iter, arm, base)
        c = {
            "arm": arm, "baseline": base, "ratio_of_medians": ratio,
            "ratio_of_p90": p90(values[arm]) / p90(values[base]),
            "median_paired_ratio": statistics.median(paired), "pairs": len(paired),
            "ci95": [lo, hi], "target": None if target == "-" else float(target),
            "delta_median": statistics.median(values[arm]) - statistics.median(values[base]),
        }
        verdict = "-"
        if c["target"] is not None:
            verdict = "PASS" if ratio <= c["target"] else "MISS"
        c["verdict"] = verdict
        out["comparisons"].append(c)
        print("%s / %s: ratio of medians %.3f (95%% bootstrap %.3f-%.3f), median paired ratio %.3f over %d pairs,"
              " p90 ratio %.3f, median delta %+.3f%s; target %s -> %s" % (
                  arm, base, ratio, lo, hi, c["median_paired_ratio"], len(paired), c["ratio_of_p90"],
                  c["delta_median"], u, "-" if c["target"] is None else "<= %.2f" % c["target"], verdict))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
