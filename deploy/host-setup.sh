#!/usr/bin/env bash
# Cloister host setup: prepares a Debian 12 machine to run training jobs.
#
#   sudo deploy/host-setup.sh
#
# Idempotent: every step checks first and does nothing when its result is already in
# place, so a second run on a set-up machine takes a few seconds. Steps:
#   1. Debian packages (docker.io 20.10, runsc = gVisor, docker-registry, debootstrap, jq,
#      curl, python3, iproute2)
#   2. /etc/docker/daemon.json hardening, merged into whatever else the file holds
#   3. dockerd (these machines have no systemd: started in the background when needed)
#   4. the data directories under $CLOISTER_DATA_DIR
#   5. the OCI registry on 127.0.0.1:5000 (Debian's docker-registry, loopback only, no auth)
#   6. the trainer base image, built from Debian packages (no Docker Hub here)
#   7. the serving base image, built the same way and pushed to the registry; its manifest
#      digest is recorded for the serving image builds (Jib pulls the base by digest); the
#      trainer base is pushed too, as the base of training image builds (FROM by digest)
#   8. the breast-cancer sample data set, exported from the trainer image
#   9. a smoke test (the images under runc, the trainer under gVisor) and a summary
#
# Environment (all optional):
#   CLOISTER_DATA_DIR       data root                       (default /var/lib/cloister)
#   DOCKER                  docker client to use             (default /usr/bin/docker)
#   DOCKERD                 docker daemon binary             (default /usr/sbin/dockerd)
#   CLOISTER_DEBIAN_MIRROR  mirror for debootstrap           (default: read from apt sources)
#   CLOISTER_TRAINER_IMAGE  trainer base image tag           (default cloister/trainer-base:bookworm)
#   CLOISTER_SERVING_IMAGE  serving base image tag           (default cloister/serving-base:bookworm)
#   CLOISTER_REBUILD_TRAINER=1    build the trainer image again even if it exists (the old
#                                 image stays for whatever was built on it)
#   CLOISTER_REBUILD_SERVING=1    the same for the serving base image (pushed again; the
#                                 recorded reference then names the new manifest)
#   CLOISTER_ALLOW_ANY_DOCKER=1   accept an engine other than 20.10 (the seccomp and API
#                                 facts in DESIGN.md were measured on 20.10)
set -euo pipefail

START_NS=$(date +%s%N)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HOST_FILES="$HERE/host"
SECCOMP_PROFILES=$(cd "$HERE/../seccomp-profiles" && pwd)

DATA_DIR=${CLOISTER_DATA_DIR:-/var/lib/cloister}
# /usr/local/bin/docker may be a newer client that appears first on PATH; Debian's client
# matches the 20.10 engine, so use it explicitly.
DOCKER=${DOCKER:-/usr/bin/docker}
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DAEMON_JSON=/etc/docker/daemon.json
TRAINER_IMAGE=${CLOISTER_TRAINER_IMAGE:-cloister/trainer-base:bookworm}
SUITE=bookworm
# Lean on purpose: python3 + numpy + scikit-learn for the sample jobs, tini as PID 1 so
# signals reach the job and zombies are reaped. debootstrap does not pull Recommends.
TRAINER_PACKAGES=python3,python3-numpy,python3-sklearn,tini
# Also kept when pruning build-only packages: the rest of Python's standard library, which
# Debian splits out and training code still imports (e.g. distutils.version).
TRAINER_KEEP=python3-distutils,python3-lib2to3
# Debian's python3-scipy depends on python3-pythran, which drags in gcc, g++, binutils and
# headers (~400 MB). scipy never imports it at run time, and a job image carries no compiler.
TRAINER_BUILD_ONLY_EDGE=python3-scipy:python3-pythran
# The serving base: the model server needs python3 + numpy only (deploy/serving/app/serve.py);
# tini is PID 1. No scipy, so no pythran and no compiler toolchain to begin with.
SERVING_IMAGE=${CLOISTER_SERVING_IMAGE:-cloister/serving-base:bookworm}
SERVING_PACKAGES=python3,python3-numpy,tini
DEBOOTSTRAP_CACHE=/var/cache/cloister/debootstrap
# The registry: loopback only and without auth (deploy/registry/config.yml says why).
# Debian's docker-registry runs as its own unprivileged user, docker-registry.
REGISTRY=127.0.0.1:5000
REGISTRY_URL=http://$REGISTRY
REGISTRY_BIN=/usr/bin/docker-registry
REGISTRY_USER=docker-registry
REGISTRY_TEMPLATE="$HERE/registry/config.yml"
REGISTRY_CONFIG=/etc/cloister/registry.yml
REGISTRY_LOG=/var/log/cloister-registry.log
REGISTRY_PID=/run/cloister-registry.pid
HOST_PACKAGES=(docker.io runsc docker-registry debootstrap jq curl ca-certificates python3 iproute2 openssl)

step() { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'host-setup: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=SCRIPTDIR/host/rootfs.sh
source "$HOST_FILES/rootfs.sh"
# shellcheck source=SCRIPTDIR/host/dockerd.sh
source "$HOST_FILES/dockerd.sh"

[[ $(id -u) -eq 0 ]] || die "run as root"

# One run at a time: two concurrent runs would race on daemon.json and dockerd.
exec 9>/run/cloister-host-setup.lock
flock 9

# ---------------------------------------------------------------------------------------
step "Debian packages"
missing=()
for pkg in "${HOST_PACKAGES[@]}"; do
  # dpkg-query is local and fast; apt is touched only when something is missing.
  if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  info "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
else
  info "all present"
fi

# Debian's path, not whatever `command -v` finds first (/bin vs /usr/bin on a merged-/usr
# system would otherwise flip daemon.json between runs with different PATHs).
RUNSC=/usr/bin/runsc
[[ -x $RUNSC ]] || RUNSC=$(command -v runsc) || die "runsc not found after install"

# ---------------------------------------------------------------------------------------
step "Docker daemon configuration ($DAEMON_JSON)"
# Keys we own are set; every other key in an existing file is kept as it is.
#  live-restore       containers (running jobs) survive a dockerd restart
#  icc=false          no traffic between containers on the default bridge
#  no-new-privileges  setuid binaries cannot raise privileges (see DESIGN.md: without it a
#                     setuid-root binary gives euid 0 even with --cap-drop ALL)
#  log-driver/opts    bounded container logs: a chatty job cannot fill the disk
#  userland-proxy     no docker-proxy processes for published ports
#  runtimes.runsc     gVisor. --platform=ptrace: no KVM on these machines.
#                     --oci-seccomp: apply the container's seccomp profile inside the sandbox
#                     (without it runsc silently ignores the profile; see deploy/seccomp/README.md).
#                     --network=none: the sandbox gets no network stack at all, whatever
#                     Docker attaches. Other runtimes already in the file are kept.
mkdir -p "$(dirname "$DAEMON_JSON")"
old_json='{}'
if [[ -s $DAEMON_JSON ]]; then
  old_json=$(jq -e 'if type == "object" then . else error("not a JSON object") end' "$DAEMON_JSON") \
    || die "$DAEMON_JSON is not a JSON object; fix it by hand (not overwriting it)"
fi
new_json=$(jq --arg runsc "$RUNSC" '
  . + {
    "live-restore": true,
    "icc": false,
    "no-new-privileges": true,
    "log-driver": "json-file",
    "log-opts": ((.["log-opts"] // {}) + {"max-size": "10m", "max-file": "3"}),
    "userland-proxy": false
  }
  | .runtimes = ((.runtimes // {}) + {
      "runsc": {"path": $runsc, "runtimeArgs": ["--platform=ptrace", "--network=none", "--oci-seccomp"]}
    })' <<<"$old_json")
# Top-level keys whose value changes: decides between reload (SIGHUP) and restart.
changed_keys=$(jq -rn --argjson old "$old_json" --argjson new "$new_json" \
  '[$new | keys[] as $k | select($old[$k] != $new[$k]) | $k] | join(" ")')

config_changed=false
if [[ ! -f $DAEMON_JSON ]] || [[ $(cat "$DAEMON_JSON") != "$new_json" ]]; then
  tmp=$(mktemp "$DAEMON_JSON.XXXXXX")
  printf '%s\n' "$new_json" >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$DAEMON_JSON"
  config_changed=true
  info "written (changed: ${changed_keys:-formatting only})"
else
  info "unchanged"
fi

# ---------------------------------------------------------------------------------------
runtimes_json() { "$DOCKER" info --format '{{json .Runtimes}}'; }
has_runsc() { runtimes_json | jq -e 'has("runsc")' >/dev/null; }

step "Docker daemon"
if ! docker_ping; then
  start_dockerd
elif [[ $config_changed == true ]]; then
  # dockerd 20.10 reloads runtimes and live-restore on SIGHUP; the other keys we own
  # (icc, no-new-privileges, log-*, userland-proxy) only take effect on a restart.
  needs_restart=false
  for k in $changed_keys; do
    case $k in runtimes | live-restore) ;; *) needs_restart=true ;; esac
  done
  if [[ $needs_restart == true ]]; then
    restart_dockerd
  else
    info "reloading dockerd configuration (SIGHUP)"
    pid=$(dockerd_pid) || die "cannot find dockerd's pid to reload it"
    kill -HUP "$pid"
    sleep 1
  fi
else
  info "already running"
fi
# Converge even if dockerd was started by someone else before daemon.json was right.
if ! has_runsc; then
  pid=$(dockerd_pid) && kill -HUP "$pid" && sleep 1
  has_runsc || restart_dockerd
  has_runsc || die "runtime runsc is still not registered; see $DOCKERD_LOG"
fi

server_version=$("$DOCKER" version --format '{{.Server.Version}}')
if [[ $server_version != 20.10.* && ${CLOISTER_ALLOW_ANY_DOCKER:-0} != 1 ]]; then
  die "Docker engine is $server_version; Cloister's seccomp and API facts are for 20.10 (set CLOISTER_ALLOW_ANY_DOCKER=1 to go on)"
fi
info "engine $server_version, runtimes: $(runtimes_json | jq -r 'keys | join(", ")')"

# ---------------------------------------------------------------------------------------
step "Data directories under $DATA_DIR"
# 0711: other host users may not list jobs or data sets, but dockerd (root) reaches every
# bind-mount source. Data sets are world-readable so a job's uid can read its mount.
install -d -o root -g root -m 0711 "$DATA_DIR" "$DATA_DIR/artifacts" "$DATA_DIR/work"
install -d -o root -g root -m 0755 "$DATA_DIR/datasets" "$DATA_DIR/images"

# ---------------------------------------------------------------------------------------
step "Registry $REGISTRY"
# The template's storage root is replaced by this data directory's (a registry config file
# cannot expand variables). The rendered file is root-owned: the registry reads it, and it
# holds no secret. The storage is the registry user's alone.
registry_root="$DATA_DIR/registry"
getent passwd "$REGISTRY_USER" >/dev/null || die "user $REGISTRY_USER missing (made by the docker-registry package)"
install -d -o "$REGISTRY_USER" -g "$REGISTRY_USER" -m 0700 "$registry_root"
install -d -o root -g root -m 0755 "$(dirname "$REGISTRY_CONFIG")"
rendered=$(ROOT=$(jq -rn --arg p "$registry_root" '$p | tojson') awk '
  /^    rootdirectory:/ { print "    rootdirectory: " ENVIRON["ROOT"]; n++; next } { print }
  END { exit n != 1 }' "$REGISTRY_TEMPLATE") || die "$REGISTRY_TEMPLATE has no single storage.filesystem.rootdirectory line"
registry_config_changed=false
if [[ $(cat "$REGISTRY_CONFIG" 2>/dev/null) != "$rendered" ]]; then
  printf '%s\n' "$rendered" | write_atomically "$REGISTRY_CONFIG" 0644
  registry_config_changed=true
  info "config written to $REGISTRY_CONFIG (storage $registry_root)"
fi

# 200 with body {} is distribution's answer on /v2/ without auth; anything else (no answer,
# 401 from an auth-enabled registry) is not our registry.
registry_up() { [[ $(curl -s -m 2 "$REGISTRY_URL/v2/" 2>/dev/null) == "{}" ]]; }

registry_pid() { # the registry this script started, if it still runs
  local pid
  pid=$(cat "$REGISTRY_PID" 2>/dev/null) || return 1
  [[ -n $pid && $(readlink "/proc/$pid/exe" 2>/dev/null) == "$REGISTRY_BIN" ]] && printf '%s\n' "$pid"
}

start_registry() {
  info "starting docker-registry as $REGISTRY_USER (log: $REGISTRY_LOG)"
  printf '\n--- %s: started by cloister host-setup\n' "$(date -Is)" >>"$REGISTRY_LOG"
  # As for dockerd: setsid + nohup so it outlives this script, 9>&- so it does not hold
  # the lock. setpriv drops to the package's system user with no capabilities at all and
  # no_new_privs; env -i so it sees no REGISTRY_* variable from this shell (each would
  # override a config key).
  setsid env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin nohup setpriv \
    --reuid="$REGISTRY_USER" --regid="$REGISTRY_USER" --init-groups \
    --inh-caps=-all --bounding-set=-all --no-new-privs \
    "$REGISTRY_BIN" serve "$REGISTRY_CONFIG" </dev/null >>"$REGISTRY_LOG" 2>&1 9>&- &
  # setsid, env, nohup and setpriv each exec the next, so $! is the registry itself.
  printf '%s\n' "$!" >"$REGISTRY_PID"
  local i
  for ((i = 0; i < 30; i++)); do
    registry_up && { info "registry answers $REGISTRY_URL/v2/"; return 0; }
    kill -0 "$!" 2>/dev/null || break
    sleep 0.5
  done
  tail -n 20 "$REGISTRY_LOG" >&2
  die "the registry did not answer $REGISTRY_URL/v2/ within 15 s (log above: $REGISTRY_LOG)"
}

if ! registry_up; then
  start_registry
elif [[ $registry_config_changed == true ]]; then
  if pid=$(registry_pid); then
    info "restarting the registry (pid $pid) for the new config"
    kill -TERM "$pid"
    for ((i = 0; i < 40; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -0 "$pid" 2>/dev/null && die "registry (pid $pid) did not stop within 10 s"
    start_registry
  else
    info "WARNING: the registry was not started by host setup; restart it by hand to apply $REGISTRY_CONFIG"
  fi
else
  info "already running"
fi
# A registry without auth must not be reachable from elsewhere: refuse any listener on
# port 5000 other than the loopback one (e.g. the Debian package's own service, which
# binds every address).
exposed=$(ss -Hltn 'sport = :5000' | awk '$4 != "127.0.0.1:5000" { print $4 }')
[[ -z $exposed ]] || die "something listens on port 5000 beyond loopback ($exposed); stop it (/etc/init.d/docker-registry stop?)"

# ---------------------------------------------------------------------------------------
# bootstrap_rootfs, purge_build_only, clean_rootfs, record_image: deploy/host/rootfs.sh.
trap cleanup_rootfs EXIT
trap 'exit 130' INT TERM # so that an interrupted debootstrap is cleaned up too

build_trainer_image() {
  local rootfs
  bootstrap_rootfs "$TRAINER_PACKAGES"
  rootfs=$ROOTFS

  purge_build_only "$rootfs" "$TRAINER_PACKAGES,$TRAINER_KEEP" "$TRAINER_BUILD_ONLY_EDGE" "compiler toolchain"
  # The image must still do its job: fail here rather than tag a broken image.
  chroot "$rootfs" /usr/bin/python3 -c 'import numpy, scipy.optimize, sklearn.linear_model, sklearn.datasets' \
    || die "the trainer root file system cannot import numpy/scipy/sklearn"

  clean_rootfs "$rootfs"

  info "importing as $TRAINER_IMAGE"
  # USER is left unset on purpose: Cloister's ContainerPlan always sets the job's user.
  # tini is PID 1 so SIGTERM at a deadline reaches the job and zombies are reaped.
  tar --numeric-owner -C "$rootfs" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'WORKDIR /' \
    --change 'ENTRYPOINT ["/usr/bin/tini", "--"]' \
    --change "LABEL dev.cloister.image=trainer-base dev.cloister.debian-suite=$SUITE dev.cloister.debootstrap-variant=minbase dev.cloister.packages=$TRAINER_PACKAGES dev.cloister.purged-build-only=$PURGED_LIST" \
    --message "cloister host-setup: debootstrap $SUITE minbase + $TRAINER_PACKAGES" \
    - "$TRAINER_IMAGE" >/dev/null
  cleanup_rootfs
  ROOTFS_WORK=""
}

step "Trainer base image $TRAINER_IMAGE"
if "$DOCKER" image inspect "$TRAINER_IMAGE" >/dev/null 2>&1 && [[ ${CLOISTER_REBUILD_TRAINER:-0} != 1 ]]; then
  info "present"
else
  build_trainer_image
fi
record_image "$TRAINER_IMAGE" trainer-base
image_id=$RECORDED_ID

# ---------------------------------------------------------------------------------------
# The serving base: what every sealed model's serving image is built on (Jib adds the
# server code and the model as layers). It is pulled by digest from the registry, so it
# is pushed there and the manifest digest recorded.
SERVING_REPO=${SERVING_IMAGE%:*}  # cloister/serving-base
SERVING_TAG=${SERVING_IMAGE##*:}  # bookworm
SERVING_REF_FILE="$DATA_DIR/images/serving-base.ref"
# Docker image manifest v2 schema 2: what `docker push` writes and Jib reads.
V2_MANIFEST=application/vnd.docker.distribution.manifest.v2+json

build_serving_image() {
  local rootfs compilers b
  bootstrap_rootfs "$SERVING_PACKAGES"
  rootfs=$ROOTFS
  chroot "$rootfs" /usr/bin/python3 -c 'import numpy, http.server, json, hashlib, zipfile' \
    || die "the serving root file system cannot import numpy and the server's modules"
  # No compiler, assembler or linker. gcc-12-base and libgcc-s1 match the names but are
  # GCC's runtime support (libgcc_s, which glibc loads for pthread_cancel and unwinding),
  # part of every Debian system; they compile nothing.
  # shellcheck disable=SC2016 # ${Package} is dpkg-query's format, not the shell's
  compilers=$(chroot "$rootfs" dpkg-query -W -f='${Package}\n' | grep -E 'gcc|g\+\+|cpp|binutils' \
    | grep -vxE 'gcc-[0-9]+-base|libgcc-s1' || true)
  [[ -z $compilers ]] || die "the serving root file system has toolchain packages: $(tr '\n' ' ' <<<"$compilers")"
  for b in cc c++ gcc g++ cpp as ld ld.bfd ld.gold; do
    [[ ! -e $rootfs/usr/bin/$b ]] || die "the serving root file system has /usr/bin/$b"
  done

  clean_rootfs "$rootfs"

  info "importing as $SERVING_IMAGE"
  # Unlike the trainer, a default user: the server never needs root (65534 = nobody).
  # The CMD runs the server as the serving image lays it out (deploy/serving/README.md);
  # -I: no PYTHON* variables, no user site, no script directory on sys.path.
  tar --numeric-owner -C "$rootfs" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'WORKDIR /' \
    --change 'USER 65534:65534' \
    --change 'EXPOSE 8080/tcp' \
    --change 'ENTRYPOINT ["/usr/bin/tini", "--"]' \
    --change 'CMD ["python3", "-I", "/opt/cloister/serving/serve.py"]' \
    --change "LABEL dev.cloister.image=serving-base dev.cloister.debian-suite=$SUITE dev.cloister.debootstrap-variant=minbase dev.cloister.packages=$SERVING_PACKAGES" \
    --message "cloister host-setup: debootstrap $SUITE minbase + $SERVING_PACKAGES" \
    - "$SERVING_IMAGE" >/dev/null
  cleanup_rootfs
  ROOTFS_WORK=""
}

# Prints REGISTRY/REPO@sha256:... when the registry's REPO:TAG holds a schema 2 manifest whose
# digest matches its bytes and that this engine pushed from the local IMAGE; fails otherwise.
pushed_ref() { # image repo tag
  local url="$REGISTRY_URL/v2/$2/manifests/$3" digest manifest
  digest=$(curl -s -m 5 -I -H "Accept: $V2_MANIFEST" "$url" | tr -d '\r' \
    | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }') || return 1
  [[ $digest == sha256:* ]] || return 1
  manifest=$(curl -sf -m 5 -H "Accept: $V2_MANIFEST" "$url") || return 1
  [[ $(jq -r '"\(.schemaVersion) \(.mediaType)"' <<<"$manifest") == "2 $V2_MANIFEST" ]] || return 1
  [[ sha256:$(curl -sf -m 5 -H "Accept: $V2_MANIFEST" "$url" | sha256sum | cut -d' ' -f1) == "$digest" ]] || return 1
  "$DOCKER" image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$1" \
    | grep -qxF "$REGISTRY/$2@$digest" || return 1
  printf '%s/%s@%s\n' "$REGISTRY" "$2" "$digest"
}

# Pushes IMAGE to the registry as REPO:TAG unless it is there already, and records
# REGISTRY/REPO@sha256:... in REF_FILE; sets PUSHED_REF.
push_and_record() { # image repo tag ref_file
  if PUSHED_REF=$(pushed_ref "$1" "$2" "$3"); then
    info "pushed"
  else
    info "pushing to $REGISTRY/$2:$3"
    # 127.0.0.0/8 registries are plain HTTP for Docker 20.10 without any daemon.json entry.
    "$DOCKER" tag "$1" "$REGISTRY/$2:$3"
    "$DOCKER" push "$REGISTRY/$2:$3" >/dev/null || die "docker push to $REGISTRY failed"
    PUSHED_REF=$(pushed_ref "$1" "$2" "$3") \
      || die "after the push, $REGISTRY/$2:$3 is not a schema 2 manifest of $1"
  fi
  if [[ $(cat "$4" 2>/dev/null) != "$PUSHED_REF" ]]; then
    printf '%s\n' "$PUSHED_REF" | write_atomically "$4" 0644
    info "recorded in $4"
  fi
  info "$PUSHED_REF"
}

step "Serving base image $SERVING_IMAGE"
if "$DOCKER" image inspect "$SERVING_IMAGE" >/dev/null 2>&1 && [[ ${CLOISTER_REBUILD_SERVING:-0} != 1 ]]; then
  info "present"
else
  build_serving_image
fi
record_image "$SERVING_IMAGE" serving-base
serving_id=$RECORDED_ID
push_and_record "$SERVING_IMAGE" "$SERVING_REPO" "$SERVING_TAG" "$SERVING_REF_FILE"
serving_ref=$PUSHED_REF

# The trainer base in the registry too: training image builds (POST /api/v1/images) name
# their base by registry digest (FROM 127.0.0.1:5000/cloister/trainer-base@sha256:...),
# since an imported image has only an image ID, which FROM cannot name.
TRAINER_REPO=${TRAINER_IMAGE%:*}
TRAINER_TAG=${TRAINER_IMAGE##*:}
TRAINER_REF_FILE="$DATA_DIR/images/trainer-base.ref"
step "Trainer base image in the registry"
push_and_record "$TRAINER_IMAGE" "$TRAINER_REPO" "$TRAINER_TAG" "$TRAINER_REF_FILE"
trainer_ref=$PUSHED_REF

# ---------------------------------------------------------------------------------------
DATASET_DIR="$DATA_DIR/datasets/breast-cancer"
DATASET_CSV="$DATASET_DIR/breast_cancer.csv"
step "Data set breast-cancer"
if [[ -s $DATASET_CSV ]]; then
  info "present"
else
  install -d -o root -g root -m 0755 "$DATASET_DIR"
  tmp=$(mktemp "$DATASET_CSV.XXXXXX")
  # Exported inside the trainer image (no network, read-only, unprivileged): the host
  # needs no scikit-learn, and the data are exactly what the jobs' sklearn ships.
  "$DOCKER" run --rm -i --network none --read-only --user 65534:65534 --cap-drop ALL \
    --security-opt no-new-privileges "$TRAINER_IMAGE" \
    python3 - <"$HOST_FILES/export-breast-cancer.py" >"$tmp" \
    || { rm -f "$tmp"; die "exporting the breast-cancer data set failed"; }
  # 1 header + 569 samples, 30 features + target on every line.
  awk -F, 'NF != 31 { bad = 1 } END { exit (bad || NR != 570) }' "$tmp" \
    || { rm -f "$tmp"; die "exported breast-cancer CSV does not have 570 lines of 31 columns"; }
  chmod 0644 "$tmp"
  mv -f "$tmp" "$DATASET_CSV"
  info "written"
fi
chmod 0755 "$DATASET_DIR"
info "$DATASET_CSV ($(($(wc -l <"$DATASET_CSV") - 1)) samples)"

# ---------------------------------------------------------------------------------------
step "Smoke test: runc and gVisor"
# About a second: proves the image, the hardening flags and the runsc registration work on
# this kernel, not just that they are configured.
"$DOCKER" run --rm --network none --read-only --user 1000:1000 --cap-drop ALL "$TRAINER_IMAGE" \
  python3 -c 'import numpy, sklearn' || die "trainer image fails under runc"
"$DOCKER" run --rm --runtime runsc --network none --read-only --user 1000:1000 --cap-drop ALL \
  "$TRAINER_IMAGE" python3 -c 'pass' || die "trainer image fails under gVisor (runsc); see $DOCKERD_LOG"
# The serving base with the serving seccomp profile and the serving container's locks.
"$DOCKER" run --rm --network none --read-only --user 65534:65534 --cap-drop ALL \
  --security-opt no-new-privileges --security-opt "seccomp=$SECCOMP_PROFILES/serving.json" \
  "$SERVING_IMAGE" python3 -c 'import numpy, http.server, socket; socket.socket().close()' \
  || die "serving base image fails under runc with seccomp-profiles/serving.json"
info "ok"

# ---------------------------------------------------------------------------------------
step "Summary"
elapsed_ms=$((($(date +%s%N) - START_NS) / 1000000))
cat <<EOF
    docker engine : $server_version (client $DOCKER)
    runtimes      : $(runtimes_json | jq -c 'with_entries(.value |= (.path + (if .runtimeArgs then " " + (.runtimeArgs | join(" ")) else "" end)))')
    trainer image : $TRAINER_IMAGE $image_id
                    $trainer_ref ($TRAINER_REF_FILE)
    serving base  : $SERVING_IMAGE $serving_id
                    $serving_ref ($SERVING_REF_FILE)
    registry      : $REGISTRY_URL (storage $registry_root, log $REGISTRY_LOG)
    packages      : $DATA_DIR/images/{trainer-base,serving-base}.packages
    data set      : $DATASET_CSV
    data dir      : $DATA_DIR
    elapsed       : $((elapsed_ms / 1000)).$(printf '%03d' $((elapsed_ms % 1000))) s
EOF
