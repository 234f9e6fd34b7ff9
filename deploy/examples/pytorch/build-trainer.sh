#!/usr/bin/env bash
# Build the PyTorch trainer variant cloister/trainer-pytorch:bookworm from Debian packages, the way host setup builds
# the trainer base (deploy/host/rootfs.sh): debootstrap minbase + python3, numpy, Debian's PyTorch (CPU) and tini,
# no Recommends, build-only packages purged, then `docker import`. Prints the image ID on stdout.
#
#   sudo deploy/examples/pytorch/build-trainer.sh
#
# Idempotent: does nothing but record and print the ID when the image exists. The first build takes about 5 minutes
# and downloads about 220 MB of .debs beyond the trainer base's into the debootstrap cache that host setup uses
# (/var/cache/cloister/debootstrap), so later builds download only what changed. Needs what deploy/host-setup.sh installs (Docker engine, debootstrap).
#
# Environment (all optional):
#   CLOISTER_DATA_DIR       data root; the image is recorded under images/  (default /var/lib/cloister)
#   DOCKER                  docker client to use                           (default /usr/bin/docker)
#   CLOISTER_DEBIAN_MIRROR  mirror for debootstrap                         (default: read from apt sources)
#   CLOISTER_TRAINER_PYTORCH_IMAGE  tag                                    (default cloister/trainer-pytorch:bookworm)
#   CLOISTER_REBUILD_TRAINER_PYTORCH=1  build again even if the image exists (the old image stays for whatever was
#                                       built on it)
set -euo pipefail

START_NS=$(date +%s%N)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
HOST_FILES="$REPO/deploy/host"
TRAINING_PROFILE="$REPO/seccomp-profiles/training.json"

DATA_DIR=${CLOISTER_DATA_DIR:-/var/lib/cloister}
DOCKER=${DOCKER:-/usr/bin/docker}
IMAGE=${CLOISTER_TRAINER_PYTORCH_IMAGE:-cloister/trainer-pytorch:bookworm}
SUITE=bookworm
DEBOOTSTRAP_CACHE=/var/cache/cloister/debootstrap
# python3-torch is Debian's CPU-only PyTorch (1.13.1 in bookworm); numpy is named because the example uses it
# directly. tini is PID 1, as in the trainer base.
PACKAGES=python3,python3-numpy,python3-torch,tini
# Installed because python3-torch depends on them, never loaded by `import torch` nor by training: libtorch-test
# holds PyTorch's C++ test binaries (about 50 MB with libbenchmark), python3-hypothesis is a property-testing
# library used only by torch.testing. Purged like scipy's pythran edge in the trainer base; the image's
# dev.cloister.purged-build-only label lists what went.
BUILD_ONLY_EDGES=python3-torch:libtorch-test,python3-torch:python3-hypothesis

info() { printf '    %s\n' "$*" >&2; }
die() { printf 'build-trainer.sh: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=SCRIPTDIR/../../host/rootfs.sh
source "$HOST_FILES/rootfs.sh"

[[ $(id -u) -eq 0 ]] || die "run as root (debootstrap and chroot)"
command -v debootstrap >/dev/null || die "debootstrap is missing: run deploy/host-setup.sh first"
"$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "no Docker engine answers: run deploy/host-setup.sh first"
[[ -d $DATA_DIR/images ]] || die "$DATA_DIR/images is missing: run deploy/host-setup.sh first"

# One build at a time; a second caller waits and then finds the image present.
exec 9>/run/cloister-trainer-pytorch.lock
flock 9

trap cleanup_rootfs EXIT
trap 'exit 130' INT TERM # so that an interrupted debootstrap is cleaned up too

# The locks of a Cloister job under `restricted` (ContainerSpecMapper: no entrypoint, Docker's init), for the smoke
# test before tagging.
run_locked() { # image argv...
  local image=$1
  shift
  "$DOCKER" run --rm --network none --read-only --cap-drop ALL --security-opt no-new-privileges \
    --security-opt "seccomp=$TRAINING_PROFILE" --user 1000:1000 --entrypoint '' --init --tmpfs /tmp:size=256m \
    --pids-limit 256 --memory 2g --memory-swap 2g --cpus 1 --shm-size 64m "$image" "$@"
}

build_image() {
  local rootfs compilers b torch_version id
  bootstrap_rootfs "$PACKAGES"
  rootfs=$ROOTFS
  purge_build_only "$rootfs" "$PACKAGES" "$BUILD_ONLY_EDGES" "PyTorch's test binaries and test libraries"

  # A job image carries no compiler, assembler or linker (gcc-12-base and libgcc-s1 are GCC's runtime support,
  # part of every Debian system). python3-torch only recommends build-essential, which debootstrap leaves out.
  # shellcheck disable=SC2016 # ${Package} is dpkg-query's format, not the shell's
  compilers=$(chroot "$rootfs" dpkg-query -W -f='${Package}\n' | grep -E 'gcc|g\+\+|cpp|binutils' \
    | grep -vxE 'gcc-[0-9]+-base|libgcc-s1' || true)
  [[ -z $compilers ]] || die "the PyTorch root file system has toolchain packages: $(tr '\n' ' ' <<<"$compilers")"
  for b in cc c++ gcc g++ cpp as ld ld.bfd ld.gold; do
    [[ ! -e $rootfs/usr/bin/$b ]] || die "the PyTorch root file system has /usr/bin/$b"
  done
  # shellcheck disable=SC2016
  torch_version=$(chroot "$rootfs" dpkg-query -W -f='${Version}' python3-torch)

  clean_rootfs "$rootfs"

  info "importing (python3-torch $torch_version)"
  # As the trainer base: USER left to the job's plan, tini as PID 1.
  id=$(tar --numeric-owner -C "$rootfs" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'WORKDIR /' \
    --change 'ENTRYPOINT ["/usr/bin/tini", "--"]' \
    --change "LABEL dev.cloister.image=trainer-pytorch dev.cloister.debian-suite=$SUITE dev.cloister.debootstrap-variant=minbase dev.cloister.packages=$PACKAGES dev.cloister.torch-version=$torch_version dev.cloister.purged-build-only=$PURGED_LIST" \
    --message "cloister build-trainer.sh: debootstrap $SUITE minbase + $PACKAGES" \
    -)
  cleanup_rootfs
  ROOTFS_WORK=""

  # Tag only an image that imports torch under the training seccomp profile and a job's locks.
  info "smoke test under seccomp-profiles/training.json"
  run_locked "$id" python3 -c 'import numpy, torch, torch.utils.data; print("torch", torch.__version__)' >&2 \
    || die "the new image ($id) cannot import torch under a restricted job's locks; not tagged"
  "$DOCKER" tag "$id" "$IMAGE"
}

printf '==> PyTorch trainer image %s\n' "$IMAGE" >&2
if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1 && [[ ${CLOISTER_REBUILD_TRAINER_PYTORCH:-0} != 1 ]]; then
  info "present"
else
  build_image
fi
record_image "$IMAGE" trainer-pytorch
elapsed_ms=$((($(date +%s%N) - START_NS) / 1000000))
size_mb=$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f", $1 / 1e6 }')
info "$IMAGE: $size_mb MB, $((elapsed_ms / 1000)).$(printf '%03d' $((elapsed_ms % 1000))) s"
printf '%s\n' "$RECORDED_ID"
