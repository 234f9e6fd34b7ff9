#!/usr/bin/env bash
# Where launch time goes: the two launches of launch-latency.sh, with every engine API call timestamped by a
# pass-through proxy on the engine's socket (engine-proxy.py) and, when perf is there, every process exec/exit on
# the host (sched_process_exec/exit tracepoints, realtime clock). Prints the median step-by-step timeline of each
# arm (profile-analyze.py).
#
# It starts its own Cloister (port $PROFILE_PORT, state in /tmp/bench-data-profile) whose engine is the proxy, and
# routes the baseline's docker client through the same proxy, so both arms pay the proxy's (sub-millisecond) cost
# per call. The figures are for attribution; the latency figures themselves come from launch-latency.sh, which
# runs without proxy or perf.
#
# Usage: deploy/bench/profile-launch.sh     (as root; after deploy/bench/service.sh build)
#   N=10 WARMUP=3 PAUSE=1 PROFILE_PORT=18081 PERF=1 (0: no perf), plus common.sh's settings
set -euo pipefail
export LC_ALL=C
PROFILE_PORT=${PROFILE_PORT:-18081}
export CLOISTER_URL=http://127.0.0.1:$PROFILE_PORT
source "$(dirname "$0")/common.sh"

N=${N:-10}
WARMUP=${WARMUP:-3}
PAUSE=${PAUSE:-1}
PERF=${PERF:-1}
proxy_sock=${PROXY_SOCK:-/tmp/bench-engine-proxy.sock}
RESULTS=${RESULTS:-/tmp/cloister-bench/profile-launch-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$RESULTS"

proxy_pid="" perf_pid=""
stop_all() {
    [ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null || true
    PORT=$PROFILE_PORT "$bench_dir/service.sh" stop >/dev/null 2>&1 || true
    [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null
    rm -f "$proxy_sock"
    [ "$(type -t cleanup)" = function ] && cleanup
    return 0
}
trap stop_all EXIT

"$python" "$bench_dir/engine-proxy.py" "$proxy_sock" "$DOCKER_SOCK" "$RESULTS/engine-calls.jsonl" &
proxy_pid=$!
for _ in $(seq 1 50); do [ -S "$proxy_sock" ] && break; sleep 0.1; done
[ -S "$proxy_sock" ] || die "the engine proxy did not start"

PORT=$PROFILE_PORT DATA_DIR=/tmp/bench-data-profile LOG="$RESULTS/service.log" \
    JAVA_OPTS="-Dcloister.docker.host=unix://$proxy_sock" "$bench_dir/service.sh" start
    bench_login

bench_preflight
bench_results profile-launch
source "$bench_dir/launch-lib.sh"
trap stop_all EXIT # launch-lib.sh set its own; this one calls it too

for i in $(seq 1 "$WARMUP"); do
    note "warm-up $i/$WARMUP"
    run_cloister "w$i"; sleep "$PAUSE"
    DOCKER_HOST="unix://$proxy_sock" run_docker "w$i"; sleep "$PAUSE"
done

if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
    # perf here rejects CLOCK_REALTIME; record on CLOCK_MONOTONIC and note the offset to the realtime clock.
    perf record -q -a -k mono -e sched:sched_process_fork -e sched:sched_process_exec -e sched:sched_process_exit \
        -o "$RESULTS/perf.data" >/dev/null 2>"$RESULTS/perf.log" &
    perf_pid=$!
    "$python" -c 'import time; a = time.time_ns(); b = time.monotonic_ns(); c = time.time_ns(); print((a + c) // 2 - b)' \
        >"$RESULTS/clock-offset.txt"
    sleep 1
    kill -0 "$perf_pid" 2>/dev/null || die "perf record failed: $(cat "$RESULTS/perf.log")"
fi
for i in $(seq 1 "$N"); do
    wait_quiet
    run_cloister "$i"; sleep "$PAUSE"
    wait_quiet
    DOCKER_HOST="unix://$proxy_sock" run_docker "$i"; sleep "$PAUSE"
    note "pair $i/$N done"
done
perf_txt=()
if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" || true
    perf_pid=""
    perf script -i "$RESULTS/perf.data" -F comm,pid,tid,time,event,trace --ns >"$RESULTS/perf.txt" 2>/dev/null
    perf_txt=("$RESULTS/perf.txt" "$(cat "$RESULTS/clock-offset.txt")")
fi

"$python" "$bench_dir/profile-analyze.py" "$RESULTS/raw.csv" "$RESULTS/engine-calls.jsonl" "${perf_txt[@]}" \
    | tee "$RESULTS/profile.txt"
echo "raw data: $RESULTS"
