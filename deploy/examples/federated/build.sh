#!/bin/sh
# Build cloister/example-federated FROM the trainer base, pinned by image ID, and print the new image ID.
#
# Usage: deploy/examples/federated/build.sh [BASE_IMAGE]   (default: cloister/trainer-base:bookworm)
#   DOCKER  docker client to use (default /usr/bin/docker)
# Only the image ID goes to stdout: image=$(deploy/examples/federated/build.sh)
# No network is used: the base is local and the Dockerfile only copies train_site.py.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
docker=${DOCKER:-/usr/bin/docker}
base=${1:-cloister/trainer-base:bookworm}
tag=cloister/example-federated:latest

base_id=$("$docker" image inspect --format '{{.Id}}' "$base") || {
    echo "build.sh: base image $base not found (run deploy/host-setup.sh first)" >&2
    exit 1
}
echo "build.sh: building $tag FROM $base_id" >&2
id=$(DOCKER_BUILDKIT=0 "$docker" build --quiet --network none --build-arg "BASE=$base_id" -t "$tag" "$here")
echo "$id"
