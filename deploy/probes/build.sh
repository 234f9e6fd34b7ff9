#!/bin/sh
# Build cloister/probe FROM the trainer base, pinned by image ID, and print the new image ID.
#
# Usage: deploy/probes/build.sh [BASE_IMAGE]   (default: cloister/trainer-base:bookworm)
#   DOCKER  docker client to use (default /usr/bin/docker, Debian's 20.10)
# Only the image ID goes to stdout, so callers can write: image=$(deploy/probes/build.sh)
# No network is used: the base is local and the Dockerfile only copies probe.py.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
docker=${DOCKER:-/usr/bin/docker}
base=${1:-cloister/trainer-base:bookworm}
tag=cloister/probe:latest

base_id=$("$docker" image inspect --format '{{.Id}}' "$base") || {
    echo "build.sh: base image $base not found (run deploy/host-setup.sh first)" >&2
    exit 1
}
probe_sha256=$(sha256sum "$here/probe.py" | cut -d' ' -f1)
echo "build.sh: building $tag FROM $base_id (probe.py $probe_sha256)" >&2
id=$(DOCKER_BUILDKIT=0 "$docker" build --quiet --network none --build-arg "BASE=$base_id" \
    --build-arg "PROBE_SHA256=$probe_sha256" -t "$tag" "$here")
echo "$id"
