#!/usr/bin/env python3
"""Print the first Debian mirror URI in the host's apt sources that serves SUITE/main.

Used by deploy/host-setup.sh to feed debootstrap, so that the mirror is taken from the
machine it runs on and never written into the project.

Reads, in apt's own order, /etc/apt/sources.list, then /etc/apt/sources.list.d/*.list and
*.sources (one-line and deb822 formats). Files with other endings (e.g. "*.disabled") are
ignored, as apt ignores them. Only "deb" entries with an http, https or file URI qualify:
those are the schemes debootstrap can fetch from.

Usage: debian-mirror.py [SUITE]   (default: bookworm). Exit status 1 when nothing matches.
"""
import glob
import os
import re
import sys

APT_DIR = os.environ.get("APT_DIR", "/etc/apt")
SCHEMES = ("http://", "https://", "file:/")


def one_line_entries(path):
    """Yield (types, uris, suites, components) from a one-line-style .list file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            # Drop an options block such as "[arch=amd64 signed-by=...]".
            line = re.sub(r"\[[^\]]*\]", " ", line)
            fields = line.split()
            if len(fields) < 4:
                continue
            yield [fields[0]], [fields[1]], [fields[2]], fields[3:]


def deb822_entries(path):
    """Yield (types, uris, suites, components) from a deb822-style .sources file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for stanza in re.split(r"\n\s*\n", text):
        fields = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#"):
                continue
            if line[:1].isspace() and key:  # continuation line
                fields[key] += " " + line.strip()
                continue
            if ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() == "no":
            continue
        yield (fields.get("types", "").split(), fields.get("uris", "").split(),
               fields.get("suites", "").split(), fields.get("components", "").split())


def source_files():
    main = os.path.join(APT_DIR, "sources.list")
    if os.path.isfile(main):
        yield main
    parts = glob.glob(os.path.join(APT_DIR, "sources.list.d", "*.list"))
    parts += glob.glob(os.path.join(APT_DIR, "sources.list.d", "*.sources"))
    yield from sorted(parts, key=os.path.basename)


def main():
    suite = sys.argv[1] if len(sys.argv) > 1 else "bookworm"
    for path in source_files():
        reader = deb822_entries if path.endswith(".sources") else one_line_entries
        try:
            entries = list(reader(path))
        except OSError:
            continue
        for types, uris, suites, components in entries:
            if "deb" in types and suite in suites and "main" in components:
                for uri in uris:
                    if uri.startswith(SCHEMES):
                        print(uri)
                        return 0
    print(f"no apt source serves {suite}/main over http(s) or file", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
