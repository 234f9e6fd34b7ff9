#!/usr/bin/env python3
"""List the packages of a Debian root file system that only a build-time dependency needs.

Debian bookworm's python3-scipy depends on python3-pythran, which pulls in a whole C/C++
toolchain (gcc, g++, binutils, libc6-dev, Boost and Python headers: ~400 MB). scipy never
imports pythran at run time; it is a packaging dependency only. A training image should
carry no compiler, so deploy/host-setup.sh purges what this script lists.

The listing is derived, not hand-written: starting from the wanted packages plus what
debootstrap's minbase itself needs (Essential, Priority: required, apt), it follows
Depends and Pre-Depends (all installed alternatives, virtual names through Provides),
skipping the edges named with --ignore PKG:DEP. Every installed alternative and provider
is kept, so nothing chosen through update-alternatives goes. Every installed package
outside that closure is printed, one per line.

Usage: build-only-packages.py ROOTFS --keep PKG[,PKG...] --ignore PKG:DEP [--ignore ...]
"""
import argparse
import os
import re
import sys


def read_status(rootfs):
    """Installed packages of the root file system: name -> fields (lower-case keys)."""
    path = os.path.join(rootfs, "var/lib/dpkg/status")
    with open(path, encoding="utf-8") as f:
        stanzas = f.read().split("\n\n")
    installed = {}
    for stanza in stanzas:
        fields, key = {}, None
        for line in stanza.splitlines():
            if line[:1].isspace() and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                key = key.lower()
                fields[key] = value.strip()
        if fields.get("status", "").endswith(" installed"):
            installed[fields["package"]] = fields
    return installed


def name_of(atom):
    """'libc6:any (>= 2.34)' -> 'libc6'."""
    return re.split(r"[\s(:]", atom.strip(), maxsplit=1)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rootfs")
    ap.add_argument("--keep", required=True, help="comma-separated wanted packages")
    ap.add_argument("--ignore", action="append", default=[], help="PKG:DEP edge to skip")
    args = ap.parse_args()

    installed = read_status(args.rootfs)
    providers = {}
    for pkg, fields in installed.items():
        providers.setdefault(pkg, []).append(pkg)
        for atom in fields.get("provides", "").split(","):
            if atom.strip():
                providers.setdefault(name_of(atom), []).append(pkg)
    ignored = {tuple(edge.split(":", 1)) for edge in args.ignore}

    roots = {p for p in args.keep.split(",") if p}
    roots |= {p for p, f in installed.items()
              if f.get("essential") == "yes" or f.get("priority") == "required"}
    roots.add("apt")
    missing = sorted(r for r in roots if r not in installed and r in args.keep.split(","))
    if missing:
        sys.exit(f"wanted packages not installed: {', '.join(missing)}")

    needed, todo = set(), [r for r in roots if r in installed]
    while todo:
        pkg = todo.pop()
        if pkg in needed:
            continue
        needed.add(pkg)
        fields = installed[pkg]
        deps = ",".join(filter(None, (fields.get("pre-depends"), fields.get("depends"))))
        for group in deps.split(","):
            if not group.strip():
                continue
            # Keep every installed alternative and provider, not just the first: Debian
            # picks the one in use through update-alternatives (e.g. OpenBLAS over the
            # reference libblas3), and removing it would silently change what runs.
            for alternative in group.split("|"):
                dep = name_of(alternative)
                if (pkg, dep) not in ignored:
                    todo.extend(providers.get(dep, []))

    for pkg in sorted(set(installed) - needed):
        print(pkg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
