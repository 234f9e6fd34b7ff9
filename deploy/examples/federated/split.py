#!/usr/bin/env python3
"""Split the breast-cancer CSV into three federated sites with different class balances, plus a held-out set.

Usage: split.py DATASETS_ROOT
Reads  DATASETS_ROOT/breast-cancer/breast_cancer.csv (host setup places it there) and writes
       DATASETS_ROOT/fed-site-a/site.csv     mostly benign (target 1)
       DATASETS_ROOT/fed-site-b/site.csv     mostly malignant (target 0)
       DATASETS_ROOT/fed-site-c/site.csv     closer to the whole set's balance
       DATASETS_ROOT/fed-heldout/heldout.csv 20% of each class, never seen by any site
Deterministic (fixed seed) and idempotent: the same input gives byte-identical files. Standard library only.
"""
import csv
import io
import os
import random
import sys

SITES = {
    # name: (benign rows, malignant rows) taken from what is left after the held-out split
    "fed-site-a": (150, 15),
    "fed-site-b": (20, 110),
    "fed-site-c": (None, None),  # the rest
}


def write(path, header, rows):
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    os.chmod(os.path.dirname(path), 0o755)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: split.py DATASETS_ROOT")
    root = sys.argv[1]
    with open(os.path.join(root, "breast-cancer", "breast_cancer.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, data = rows[0], rows[1:]
    target = header.index("target")
    rng = random.Random(20261127)
    by_class = {"0": [], "1": []}
    for r in data:
        by_class[r[target]].append(r)
    for rs in by_class.values():
        rng.shuffle(rs)
    heldout = []
    for label, rs in by_class.items():
        k = round(len(rs) * 0.2)
        heldout += rs[:k]
        by_class[label] = rs[k:]
    rng.shuffle(heldout)
    out = {}
    for name, (benign, malignant) in SITES.items():
        if benign is None:
            take = by_class["1"] + by_class["0"]
            by_class = {"0": [], "1": []}
        else:
            take = by_class["1"][:benign] + by_class["0"][:malignant]
            by_class["1"] = by_class["1"][benign:]
            by_class["0"] = by_class["0"][malignant:]
        rng.shuffle(take)
        out[name] = take
    for name, rs in out.items():
        write(os.path.join(root, name, "site.csv"), header, rs)
        ones = sum(1 for r in rs if r[target] == "1")
        print("%-11s %3d rows: %3d benign, %3d malignant" % (name, len(rs), ones, len(rs) - ones))
    write(os.path.join(root, "fed-heldout", "heldout.csv"), header, heldout)
    ones = sum(1 for r in heldout if r[target] == "1")
    print("%-11s %3d rows: %3d benign, %3d malignant" % ("fed-heldout", len(heldout), ones, len(heldout) - ones))


if __name__ == "__main__":
    main()
