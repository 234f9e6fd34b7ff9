#!/usr/bin/env bash
# A private Cloister for benchmarks: built once and copied out of target/ together with the policies/ and
# seccomp-profiles/ it was built with (so that other builds and edits of the tree change nothing under a running
# benchmark, and a later start still gets policies this build can read), then started from the repo root with
# those copies (cloister.policies.dir / cloister.policies.seccomp-dir), its own port and its own state directory.
#
# Usage: deploy/bench/service.sh build|start|stop|status
#   build   mvn -B -q package -DskipTests, then copy target/quarkus-app, policies/ and seccomp-profiles/ to $APP_DIR
#   start   start $APP_DIR/quarkus-run.jar on 127.0.0.1:$PORT with data dir $DATA_DIR (wiped first), wait until ready
#   stop    stop the instance started by `start` (by the pid it recorded)
#
#   APP_DIR    default /tmp/bench-app        PORT      default 18080
#   DATA_DIR   default /tmp/bench-data       LOG       default /tmp/bench-service-$PORT.log
#   JAVA_OPTS  extra JVM options, e.g. -Dcloister.docker.host=unix:///tmp/bench-proxy.sock (profile-launch.sh)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
APP_DIR=${APP_DIR:-/tmp/bench-app}
PORT=${PORT:-18080}
DATA_DIR=${DATA_DIR:-/tmp/bench-data}
LOG=${LOG:-/tmp/bench-service-$PORT.log}
pidfile=/tmp/bench-service-$PORT.pid

case ${1:-} in
build)
    (cd "$repo" && mvn -B -q package -DskipTests)
    rm -rf "$APP_DIR.new"
    cp -a "$repo/target/quarkus-app" "$APP_DIR.new"
    cp -a "$repo/policies" "$repo/seccomp-profiles" "$APP_DIR.new/"
    {
        echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "commit: $(git -C "$repo" rev-parse HEAD)"
        echo "uncommitted paths: $(git -C "$repo" status --porcelain | wc -l)"
        git -C "$repo" status --porcelain -- src | sed 's/^/  /'
    } >"$APP_DIR.new/BUILD-INFO"
    rm -rf "$APP_DIR"
    mv "$APP_DIR.new" "$APP_DIR"
    echo "copied $repo/target/quarkus-app, policies/ and seccomp-profiles/ to $APP_DIR ($(git -C "$repo" rev-parse --short HEAD), $(git -C "$repo" status --porcelain | wc -l) uncommitted paths)"
    ;;
start)
    [ -f "$APP_DIR/quarkus-run.jar" ] || { echo "no $APP_DIR/quarkus-run.jar: run '$0 build' first" >&2; exit 1; }
    policies="$APP_DIR/policies" profiles="$APP_DIR/seccomp-profiles"
    [ -d "$policies" ] || policies="$repo/policies"
    [ -d "$profiles" ] || profiles="$repo/seccomp-profiles"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "already running (pid $(cat "$pidfile"))" >&2
        exit 1
    fi
    rm -rf "$DATA_DIR"
    mkdir -p "$DATA_DIR"
    # Millisecond timestamps in the service log, for the phase breakdown; everything else as configured.
    # shellcheck disable=SC2086
    # on-shutdown=cancel: the next start wipes the data dir, so no later process would follow jobs left running.
    (cd "$repo" && exec java ${JAVA_OPTS:-} -Dquarkus.http.port="$PORT" -Dcloister.data-dir="$DATA_DIR" \
        -Dcloister.jobs.on-shutdown=cancel \
        -Dcloister.limits.submissions-per-minute=1000000 -Dcloister.limits.submission-burst=1000000 \
        -Dcloister.policies.dir="$policies" -Dcloister.policies.seccomp-dir="$profiles" \
        -Dcloister.datasets.root="${DATASETS:-/var/lib/cloister/datasets}" \
        '-Dquarkus.log.console.format=%d{HH:mm:ss.SSS} %-5p [%c{2.}] %s%e%n' \
        -jar "$APP_DIR/quarkus-run.jar" >"$LOG" 2>&1) &
    echo $! >"$pidfile"
    for _ in $(seq 1 120); do
        curl -sf "http://127.0.0.1:$PORT/q/health/ready" >/dev/null && break
        kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "service exited; log:" >&2; cat "$LOG" >&2; exit 1; }
        sleep 0.5
    done
    curl -sf "http://127.0.0.1:$PORT/q/health/ready" >/dev/null || { echo "not ready; log: $LOG" >&2; exit 1; }
    # Register the dataset for team examples with an admin token issued from the service's own issuer key.
    token=$(java -cp "$APP_DIR/app/*:$APP_DIR/lib/boot/*:$APP_DIR/lib/main/*" dev.cloister.cli.Cloister token issue \
        --data-dir "$DATA_DIR" --team examples --role admin --ttl 10m --subject bench-setup 2>/dev/null)
    curl -sS -o /dev/null -K <(printf 'header = "Authorization: Bearer %s"\n' "$token") \
        -H 'Content-Type: application/json' -d '{"name":"breast-cancer"}' "http://127.0.0.1:$PORT/api/v1/datasets"
    echo "Cloister up on 127.0.0.1:$PORT (pid $(cat "$pidfile"), log $LOG, data $DATA_DIR)"
    ;;
stop)
    if [ -f "$pidfile" ]; then
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        rm -f "$pidfile"
        echo "stopped pid $pid"
    fi
    ;;
status)
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && echo "running (pid $(cat "$pidfile"))" || echo "not running"
    ;;
*)
    sed -n '2,14p' "$0" >&2
    exit 2
    ;;
esac
