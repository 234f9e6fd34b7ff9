#!/usr/bin/env bash
# shellcheck shell=bash
# Starting and restarting dockerd on a machine without systemd. Sourced by deploy/host-setup.sh; also run on its own
# by the fault-injection tests (RecoveryIT restarts the engine under a running job):
#
#   deploy/host/dockerd.sh restart     stop dockerd (SIGTERM; live-restore keeps containers running), start it again
#
# Uses DOCKERD (default /usr/sbin/dockerd), and info/die when the sourcing script defines them.

DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
DOCKER_SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/cloister-dockerd.log}

declare -F info >/dev/null || info() { printf '    %s\n' "$*"; }
declare -F die >/dev/null || die() { printf 'dockerd: error: %s\n' "$*" >&2; exit 1; }

docker_ping() { [[ $(curl -s -m 2 --unix-socket "$DOCKER_SOCK" http://localhost/_ping 2>/dev/null) == OK ]]; }

dockerd_pid() {
  local pid
  pid=$(cat /var/run/docker.pid 2>/dev/null) || return 1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

start_dockerd() {
  info "starting dockerd (log: $DOCKERD_LOG)"
  printf '\n--- %s: started by cloister host-setup\n' "$(date -Is)" >>"$DOCKERD_LOG"
  # setsid + nohup: dockerd must outlive this script and its terminal. A fixed PATH so it
  # finds Debian's containerd/runc/docker-init, not whatever else is in /usr/local.
  # 9>&-: dockerd must not inherit (and so hold forever) host-setup's lock.
  setsid env PATH=/usr/sbin:/usr/bin:/sbin:/bin nohup "$DOCKERD" </dev/null >>"$DOCKERD_LOG" 2>&1 9>&- &
  local i
  for ((i = 0; i < 60; i++)); do
    docker_ping && { info "dockerd answers /_ping"; return 0; }
    sleep 1
  done
  tail -n 30 "$DOCKERD_LOG" >&2
  die "dockerd did not answer /_ping within 60 s (log above: $DOCKERD_LOG)"
}

restart_dockerd() {
  local pid i
  pid=$(dockerd_pid) || die "dockerd answers but /var/run/docker.pid names no live process; restart it by hand"
  info "restarting dockerd (pid $pid); live-restore keeps running containers"
  kill -TERM "$pid"
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  kill -0 "$pid" 2>/dev/null && die "dockerd (pid $pid) did not stop within 60 s"
  start_dockerd
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  [[ $(id -u) -eq 0 ]] || die "run as root"
  case ${1:-} in
    restart) restart_dockerd ;;
    *) die "usage: $0 restart" ;;
  esac
fi
