#!/usr/bin/env bash
# API load (issue #6): GET /api/v1/jobs/{id} throughput and latency with wrk over loopback while two jobs train, and
# the admission latency of a new job (POST /api/v1/jobs, through HTTP) with 10,000 jobs queued behind them.
#
# 1. Two example training jobs (EPOCHS=1000000, 1 cpu each) are submitted and awaited until both are RUNNING; with
#    the service started at jobs concurrency 2, everything submitted afterwards stays QUEUED.
# 2. wrk -t2 -c$CONNECTIONS -d$DURATION --latency on GET /api/v1/jobs/<one of the running jobs>, after a 5 s warm-up
#    run. wrk reports requests/s and the latency distribution (p50/p75/p90/p99) itself.
# 3. Admission: api-admission.py submits $QUEUE jobs (a short sleep job under `restricted`) over one keep-alive
#    connection, then times $PROBES more submissions one at a time; each is a complete POST (parse, policy
#    admission, image resolution against the engine, store, audit append with fsync) answered 201.
# 4. The service is stopped (which cancels everything queued), so the next start begins clean.
#
# Usage: deploy/bench/api-load.sh   (as root; builds nothing: run deploy/bench/service.sh build first)
#   CONNECTIONS=16 DURATION=20s QUEUE=10000 PROBES=500, plus common.sh's settings
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/common.sh"
CONNECTIONS=${CONNECTIONS:-16}
DURATION=${DURATION:-20s}
QUEUE=${QUEUE:-10000}
PROBES=${PROBES:-500}

command -v wrk >/dev/null || { note "installing wrk (Debian package)"; apt-get install -y -qq wrk >/dev/null; }
JAVA_OPTS="${JAVA_OPTS:-} -Dcloister.jobs.concurrency=2" "$bench_dir/service.sh" start
bench_login
trap '"$bench_dir/service.sh" stop >/dev/null || true' EXIT
bench_preflight
bench_results api-load

train() {
    jq -n --arg image "$cloister_image" '{name: "api-load-train", team: "examples", policy: "restricted",
        image: $image, command: ["python3", "/opt/cloister/example/train.py"], dataset: "breast-cancer",
        hyperparameters: {epochs: 1000000, log_every: 100000}, maxRuntime: "30m"}' \
        | curl -K "$auth" -sf -H 'Content-Type: application/json' --data-binary @- "$api/jobs" | jq -r .id
}
jobs=("$(train)" "$(train)")
for id in "${jobs[@]}"; do
    for _ in $(seq 1 120); do [ "$(job_state "$id")" = RUNNING ] && break; sleep 0.5; done
    [ "$(job_state "$id")" = RUNNING ] || die "training job $id is $(job_state "$id"), not RUNNING"
done
note "two jobs training: ${jobs[*]}"

url="$api/jobs/${jobs[0]}"
wrk -t2 -c"$CONNECTIONS" -d5s -H "Authorization: Bearer $CLOISTER_TOKEN" "$url" >/dev/null
note "wrk -t2 -c$CONNECTIONS -d$DURATION --latency $url"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $CLOISTER_TOKEN" "$url" | tee "$RESULTS/wrk-get-job.txt"
for id in "${jobs[@]}"; do
    [ "$(job_state "$id")" = RUNNING ] || die "training job $id stopped during the GET run ($(job_state "$id"))"
done

"$python" "$bench_dir/api-admission.py" "$CLOISTER_URL" "$cloister_image" "$QUEUE" "$PROBES" \
    | tee "$RESULTS/admission.txt"
note "raw data: $RESULTS"
