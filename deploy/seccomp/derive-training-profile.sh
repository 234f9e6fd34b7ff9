#!/bin/sh
# Regenerate seccomp-profiles/docker-default.json, training.json, training-gvisor.json
# and serving.json.
#
# Docker's default profile comes from Debian's golang-github-docker-docker-dev
# (Docker 20.10.24, the same release as the docker.io engine on the host), the
# x86_64 syscall table from Debian's linux-libc-dev. Both packages are only
# downloaded and unpacked into a temporary directory, never installed.
# derive_training_profile.py does the derivation and explains every step;
# README.md beside it summarises the rules.
#
# Usage: deploy/seccomp/derive-training-profile.sh [OUT_DIR]   (default: <repo>/seccomp-profiles)
# Needs: apt-get (configured Debian sources), dpkg, python3. Runs as any user.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out_dir=${1:-$repo/seccomp-profiles}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

cd "$work"
# apt-get download writes to the current directory; as root it warns that the
# _apt user cannot write here, which is harmless.
apt-get download golang-github-docker-docker-dev linux-libc-dev >download.log 2>&1 || {
    cat download.log >&2
    echo "derive-training-profile: apt-get download failed (run apt-get update?)" >&2
    exit 1
}
for deb in ./*.deb; do
    dpkg -x "$deb" "$work/root"
    echo "derive-training-profile: using $(basename "$deb")" >&2
done

upstream="$work/root/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json"
unistd="$work/root/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
for f in "$upstream" "$unistd"; do
    [ -f "$f" ] || { echo "derive-training-profile: missing $f in the unpacked packages" >&2; exit 1; }
done

mkdir -p "$out_dir"
python3 "$here/derive_training_profile.py" --upstream "$upstream" --unistd "$unistd" --out-dir "$out_dir"
