#!/bin/sh
# Build cloister/example-pytorch FROM the PyTorch trainer variant, pinned by image ID, and print the new image ID.
#
# Usage: deploy/examples/pytorch/build.sh
#   DOCKER                              docker client to use (default /usr/bin/docker, Debian's 20.10)
#   CLOISTER_REBUILD_TRAINER_PYTORCH=1  build the trainer variant again, and so this image
#   CLOISTER_TRAINER_PYTORCH_IMAGE      the trainer variant's tag (default cloister/trainer-pytorch:bookworm)
# Only the image ID goes to stdout, so callers can write: image=$(deploy/examples/pytorch/build.sh)
#
# When cloister/trainer-pytorch:bookworm is missing, build-trainer.sh builds it first (as root, with debootstrap:
# about 5 minutes and 220 MB of Debian packages the first time). When both images exist and the example was built
# from this train.py on this trainer, nothing is built and the call takes well under a second. No network is used
# by the docker build: the base is local and the Dockerfile only copies train.py.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
docker=${DOCKER:-/usr/bin/docker}
trainer=${CLOISTER_TRAINER_PYTORCH_IMAGE:-cloister/trainer-pytorch:bookworm}
repo=cloister/example-pytorch
tag=$repo:latest

if ! "$docker" image inspect "$trainer" >/dev/null 2>&1 || [ "${CLOISTER_REBUILD_TRAINER_PYTORCH:-0}" = 1 ]; then
    "$here/build-trainer.sh" >/dev/null
fi
base_id=$("$docker" image inspect --format '{{.Id}}' "$trainer") || {
    echo "build.sh: base image $trainer not found (run deploy/examples/pytorch/build-trainer.sh as root)" >&2
    exit 1
}
train_sha256=$(sha256sum "$here/train.py" | cut -d' ' -f1)

labels='{{index .Config.Labels "dev.cloister.base-image-id"}} {{index .Config.Labels "dev.cloister.train-sha256"}}'
if [ "$("$docker" image inspect --format "$labels" "$tag" 2>/dev/null || true)" = "$base_id $train_sha256" ]; then
    echo "build.sh: $tag is up to date (FROM $base_id, train.py $train_sha256)" >&2
    id=$("$docker" image inspect --format '{{.Id}}' "$tag")
else
    echo "build.sh: building $tag FROM $base_id (train.py $train_sha256)" >&2
    id=$(DOCKER_BUILDKIT=0 "$docker" build --quiet --network none --build-arg "BASE=$base_id" \
        --build-arg "TRAIN_SHA256=$train_sha256" -t "$tag" "$here")
fi
echo "build.sh: image $repo@$id" >&2
echo "$id"
