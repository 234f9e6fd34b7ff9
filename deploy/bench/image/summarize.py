#!/usr/bin/env python3
"""Summarizes deploy/bench/image/run.sh's results directory as Markdown (medians, ratios, verdicts)."""

import csv
import math
import os
import statistics
import sys

BUILD_TARGET = 1.0   # Jib build+push time / (docker build + docker push), medians
VERIFY_TARGET = 100  # ms, median, in process after warm-up


def rows(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def med(values):
    values = [float(v) for v in values if v not in ("", None)]
    return statistics.median(values) if values else math.nan


def pct(values, p):
    s = sorted(float(v) for v in values)
    if not s:
        return math.nan
    return s[max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))]


def verdict(ok):
    return "PASS" if ok else "FAIL"


def main(out):
    print("# Serving image benchmark: summary\n")
    env = os.path.join(out, "env.txt")
    if os.path.exists(env):
        print("```\n" + open(env).read().strip() + "\n```\n")

    builds = rows(os.path.join(out, "builds.tsv"))
    fresh = rows(os.path.join(out, "fresh.tsv"))
    verify = rows(os.path.join(out, "verify.tsv"))
    cli = rows(os.path.join(out, "cli-verify.tsv"))
    cli_help = rows(os.path.join(out, "cli-help.tsv"))

    print("## Verdicts\n")
    print("| requirement | measured | target | verdict |")
    print("|---|---|---|---|")
    for case in ("new", "same"):
        rs = [r for r in builds if r["case"] == case]
        if rs:
            ratio = med(r["jib_ms"] for r in rs) / med(r["docker_total_ms"] for r in rs)
            print(f"| build+push, in process, {case} content (ratio of medians, N={len(rs)}) | "
                  f"{ratio:.2f} | <= {BUILD_TARGET:.1f} | {verdict(ratio <= BUILD_TARGET)} |")
    for case in ("new", "same"):
        rs = [r for r in builds if r["case"] == case and r.get("reordered_total_ms")]
        if rs:
            ratio = med(r["jib_ms"] for r in rs) / med(r["reordered_total_ms"] for r in rs)
            print(f"| build+push, in process, {case} content, vs the cache-friendly Dockerfile (informative) | "
                  f"{ratio:.2f} | <= {BUILD_TARGET:.1f} | {verdict(ratio <= BUILD_TARGET)} |")
    for case in ("new", "same"):
        rs = [r for r in fresh if r["case"] == case]
        if rs:
            ratio = med(r["jib_process_ms"] for r in rs) / med(r["docker_total_ms"] for r in rs)
            print(f"| build+push, whole process (fresh JVM, default flags), {case} content (N={len(rs)};"
                  f" informative) | {ratio:.2f} | <= {BUILD_TARGET:.1f} | {verdict(ratio <= BUILD_TARGET)} |")
    main_series = [r for r in verify if r["series"].startswith("by tag, one ImageVerifier")]
    if main_series:
        m = med(r["ms"] for r in main_series)
        print(f"| verify image, in process, median (N={len(main_series)}) | {m:.1f} ms | < {VERIFY_TARGET} ms | "
              f"{verdict(m < VERIFY_TARGET)} |")
    print()

    for name in ("builds.md",):
        path = os.path.join(out, name)
        if os.path.exists(path):
            print("## Build + push, in process\n")
            print(open(path).read().strip() + "\n")
    if fresh:
        print("## Build + push, whole process (fresh JVM per Jib build)\n")
        print("| case | N | Jib process median | of which JVM start to main | of which build in that JVM |"
              " Jib process, AppCDS + C1 only | docker build+push median | ratio (default JVM) |"
              " ratio (AppCDS + C1) | load1 median |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for case in ("same", "new"):
            rs = [r for r in fresh if r["case"] == case]
            if not rs:
                continue
            j = med(r["jib_process_ms"] for r in rs)
            d = med(r["docker_total_ms"] for r in rs)
            c = med(r["jib_cds_c1_process_ms"] for r in rs)
            print(f"| {case} | {len(rs)} | {j:.0f} | {med(r['jib_jvm_to_main_ms'] for r in rs):.0f} | "
                  f"{med(r['jib_build_in_jvm_ms'] for r in rs):.0f} | {c:.0f} | {d:.0f} | {j / d:.2f} | {c / d:.2f} | "
                  f"{med(r['load1'] for r in rs):.2f} |")
        print()
    path = os.path.join(out, "profile.md")
    if os.path.exists(path):
        print("## Where a Jib build's time goes\n")
        print(open(path).read().strip() + "\n")
    path = os.path.join(out, "verify.md")
    if os.path.exists(path):
        print("## verify image, in process\n")
        print(open(path).read().strip() + "\n")
    if cli:
        ms = [r["process_ms"] for r in cli]
        print("## verify image, whole process (`deploy/cloister verify image`)\n")
        print(f"N={len(ms)}: median {med(ms):.0f} ms, p90 {pct(ms, 90):.0f}, max {pct(ms, 100):.0f}; "
              f"`deploy/cloister --help` (JVM + CLI start, no verification) median "
              f"{med(r['help_process_ms'] for r in cli_help):.0f} ms; load1 median {med(r['load1'] for r in cli):.2f}\n")
    path = os.path.join(out, "load.txt")
    if os.path.exists(path):
        print("## Load\n\n```\n" + open(path).read().strip() + "\n```")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results"))
