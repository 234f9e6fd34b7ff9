# shellcheck shell=bash
# Building Cloister's images from Debian packages: debootstrap a root file system, prune and clean it, and record
# what was tagged. Sourced by deploy/host-setup.sh (trainer and serving bases) and by
# deploy/examples/pytorch/build-trainer.sh (the PyTorch trainer variant), so every image is made the same way.
#
# The sourcing script defines:
#   info MESSAGE, die MESSAGE   progress and fatal-error printers
#   DOCKER                      docker client
#   DATA_DIR                    Cloister's data root (record_image writes under $DATA_DIR/images)
#   SUITE                       Debian suite (bookworm)
#   DEBOOTSTRAP_CACHE           where debootstrap keeps the .debs between builds
#   HOST_FILES                  deploy/host (debian-mirror.py, build-only-packages.py)
# and installs the traps that clean up an interrupted build:
#   trap cleanup_rootfs EXIT; trap 'exit 130' INT TERM

# Writes a file that others rely on: temporary name, then rename.
write_atomically() { # path mode  (content on stdin)
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  cat >"$tmp"
  chmod "$2" "$tmp"
  mv -f "$tmp" "$1"
}

ROOTFS_WORK=""
cleanup_rootfs() {
  [[ -n $ROOTFS_WORK && -d $ROOTFS_WORK ]] || return 0
  # debootstrap mounts proc/sys (and may bind /dev) inside the target: unmount everything
  # below it, deepest first, before deleting, and never cross into another file system.
  local m
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v root="$ROOTFS_WORK/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r)
  rm -rf --one-file-system "$ROOTFS_WORK"
}

# debootstrap minbase + PACKAGES into a fresh work directory; sets ROOTFS_WORK and ROOTFS.
bootstrap_rootfs() { # packages
  local mirror
  # The mirror comes from this host's apt configuration and is never stored in the project.
  mirror=${CLOISTER_DEBIAN_MIRROR:-$(python3 "$HOST_FILES/debian-mirror.py" "$SUITE")} \
    || die "no Debian mirror for $SUITE/main in the apt sources; set CLOISTER_DEBIAN_MIRROR"
  ROOTFS_WORK=$(mktemp -d /var/tmp/cloister-rootfs.XXXXXX)
  ROOTFS="$ROOTFS_WORK/rootfs"
  mkdir -p "$DEBOOTSTRAP_CACHE"
  info "debootstrap $SUITE (minbase + $1); takes a few minutes"
  # --cache-dir keeps the .debs, so a rebuild downloads only what changed.
  debootstrap --variant=minbase --include="$1" --cache-dir="$DEBOOTSTRAP_CACHE" \
    "$SUITE" "$ROOTFS" "$mirror" >"$ROOTFS_WORK/debootstrap.log" 2>&1 || {
    tail -n 30 "$ROOTFS_WORK/debootstrap.log" >&2
    die "debootstrap failed"
  }
  # debootstrap can leave proc/sys mounted inside the target; they must not go in the tar.
  awk -v root="$ROOTFS/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r umount -l
}

# Purges the packages that only build-time dependency edges (IGNORE: PKG:DEP,...) pulled in, as
# deploy/host/build-only-packages.py lists them, and sets PURGED_LIST to them, comma-separated, or
# "none", for the image's label.
purge_build_only() { # rootfs keep(PKG,...) ignore(PKG:DEP,...) description
  local rootfs=$1 build_only edge ignores=() purged=()
  for edge in ${3//,/ }; do ignores+=(--ignore "$edge"); done
  build_only=$(python3 "$HOST_FILES/build-only-packages.py" "$rootfs" --keep "$2" "${ignores[@]}") \
    || die "cannot work out the build-only packages"
  [[ -z $build_only ]] || mapfile -t purged <<<"$build_only"
  # shellcheck disable=SC2034 # read by the caller, for its image label
  PURGED_LIST=$(IFS=,; printf '%s' "${purged[*]:-none}")
  if ((${#purged[@]})); then
    info "purging ${#purged[@]} build-only packages ($4 via $3)"
    # --force-depends: dpkg then records the dependency as unmet, which is the point; the
    # list goes into an image label so reviewers see what was taken out.
    chroot "$rootfs" dpkg --purge --force-depends "${purged[@]}" >>"$ROOTFS_WORK/debootstrap.log" 2>&1 || {
      tail -n 30 "$ROOTFS_WORK/debootstrap.log" >&2
      die "purging build-only packages failed"
    }
  fi
}

clean_rootfs() { # rootfs
  local rootfs=$1
  info "cleaning the root file system"
  # Copyright files stay (licence compliance); other docs, man pages, translations, apt
  # indexes and logs go. Compiled .pyc files stay: containers run with a read-only root,
  # where Python could not write them and every import would be compiled again.
  find "${rootfs:?}/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  find "${rootfs:?}/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "${rootfs:?}"/usr/share/{man,info,locale,lintian,linda}/* \
    "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old \
    "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/var/tmp/*
  # Docker provides these per container; an empty machine-id avoids every container
  # sharing one identity baked into the image.
  rm -f "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf"
  : >"$rootfs/etc/machine-id"
  # Device nodes made by debootstrap: Docker mounts its own /dev, so ship an empty one.
  rm -rf --one-file-system "${rootfs:?}/dev" "${rootfs:?}/proc" "${rootfs:?}/sys"
  mkdir -m 0755 "${rootfs:?}/dev" "${rootfs:?}/proc" "${rootfs:?}/sys"
}

# Records what IMAGE is: $DATA_DIR/images/NAME.id and NAME.packages, re-derived from the
# image itself whenever they are missing or name another image, so the record always
# describes what is tagged now. Sets RECORDED_ID.
record_image() { # image name
  local id_file="$DATA_DIR/images/$2.id" pkg_file="$DATA_DIR/images/$2.packages" packages
  RECORDED_ID=$("$DOCKER" image inspect -f '{{.Id}}' "$1")
  if [[ $(cat "$id_file" 2>/dev/null) != "$RECORDED_ID" || ! -s $pkg_file ]]; then
    info "recording image id and package list"
    # shellcheck disable=SC2016 # ${...} is dpkg-query's format, not the shell's
    packages=$("$DOCKER" run --rm --network none --read-only --user 65534:65534 "$1" \
      dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\n')
    printf '%s\n' "$packages" | write_atomically "$pkg_file" 0644
    printf '%s\n' "$RECORDED_ID" | write_atomically "$id_file" 0644
  fi
  info "$RECORDED_ID ($(wc -l <"$pkg_file") Debian packages)"
}
