#!/usr/bin/env bash
# API load (issue #6): GET /api/v1/jobs/{id} throughput and latency with wrk over loopback while two jobs train, and
# the admission latency of a new job (POST /api/v1/jobs, through HTTP) with 10,000 jobs queued.
#
# 1. Warm-up: the JIT needs its time. On two cores, a 5 s warm-up left the read path half interpreted and measured
#    1,000-2,500 requests/s where the warm JVM answers 10,000 (2026-11-27). wrk reads a sleeping job for $WARMUP,
#    which is then cancelled.
# 2. Two example training jobs (the example's trainer at its maximum of 1,000,000 epochs, six times in a row: about
#    five minutes at 1 cpu each, so together they ask for both cores) are submitted and awaited until RUNNING; wrk -t2 -c$CONNECTIONS -d$DURATION --latency then
#    reads one of them $RUNS times, and the script checks that both still ran throughout. wrk reports requests/s and
#    the latency distribution itself; the script prints the median over the runs.
# 3. Admission: once the training jobs are cancelled, two long sleeping jobs take both job slots (jobs concurrency 2),
#    so everything submitted afterwards stays QUEUED. api-admission.py submits $QUEUE jobs (a short sleep job under
#    `restricted`) over one keep-alive connection, then times $PROBES more submissions one at a time; each is a
#    complete POST (parse, policy admission, image check, store, audit entry) answered 201.
# 4. The service is stopped (which cancels everything queued), so the next start begins clean.
#
# Usage: deploy/bench/api-load.sh   (as root; builds nothing: run deploy/bench/service.sh build first)
#   CONNECTIONS=16 DURATION=20s WARMUP=60s RUNS=5 QUEUE=10000 PROBES=500, plus common.sh's settings
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/common.sh"
CONNECTIONS=${CONNECTIONS:-16}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-60s}
RUNS=${RUNS:-5}
QUEUE=${QUEUE:-10000}
PROBES=${PROBES:-500}

command -v wrk >/dev/null || { note "installing wrk (Debian package)"; apt-get install -y -qq wrk >/dev/null; }
JAVA_OPTS="${JAVA_OPTS:-} -Dcloister.jobs.concurrency=2" "$bench_dir/service.sh" start
bench_login
trap '"$bench_dir/service.sh" stop >/dev/null || true' EXIT
bench_preflight
bench_results api-load

submit() { # name, command (JSON array), extra fields (JSON object)
    local extra='{}'
    [ $# -lt 3 ] || extra=$3
    jq -n --arg image "$cloister_image" --arg name "$1" --argjson command "$2" --argjson extra "$extra" \
        '{name: $name, team: "examples", policy: "restricted", image: $image, command: $command,
          dataset: "breast-cancer", maxRuntime: "30m"} + $extra' \
        | curl -K "$auth" -sf -H 'Content-Type: application/json' --data-binary @- "$api/jobs" | jq -r .id
}
await_state() { # id, state
    for _ in $(seq 1 240); do [ "$(job_state "$1")" = "$2" ] && return 0; sleep 0.5; done
    die "job $1 is $(job_state "$1"), not $2"
}
sleeper() { submit "$1" '["sleep", "3600"]'; }
# The example's trainer, six times over in one container (its epochs are capped at 1,000,000, about 50 s at 1 cpu):
# two jobs training for about five minutes.
train() { submit api-load-train '["sh", "-c", "for i in 1 2 3 4 5 6; do python3 /opt/cloister/example/train.py || exit 1; done"]' \
    '{"hyperparameters": {"epochs": 1000000, "log_every": 100000}}'; }

warm=$(sleeper api-load-warm-up)
await_state "$warm" RUNNING
note "warm-up: wrk for $WARMUP on $api/jobs/$warm"
wrk -t2 -c"$CONNECTIONS" -d"$WARMUP" -H "Authorization: Bearer $CLOISTER_TOKEN" "$api/jobs/$warm" >/dev/null
curl -K "$auth" -sf -X POST "$api/jobs/$warm/cancel" >/dev/null
await_state "$warm" CANCELLED

jobs=("$(train)" "$(train)")
for id in "${jobs[@]}"; do await_state "$id" RUNNING; done
note "two jobs training: ${jobs[*]}"
url="$api/jobs/${jobs[0]}"
for run in $(seq 1 "$RUNS"); do
    note "run $run/$RUNS: wrk -t2 -c$CONNECTIONS -d$DURATION --latency $url"
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $CLOISTER_TOKEN" "$url" \
        | tee "$RESULTS/wrk-get-job-$run.txt"
done
for id in "${jobs[@]}"; do
    [ "$(job_state "$id")" = RUNNING ] || die "training job $id stopped during the GET runs ($(job_state "$id")): lower RUNS or DURATION"
done
# Median of the runs' requests/s and of their p99s.
"$python" - "$RESULTS"/wrk-get-job-*.txt <<'PY' | tee "$RESULTS/get-job-summary.txt"
import re, statistics, sys
unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
rps, p99 = [], []
for name in sys.argv[1:]:
    text = open(name).read()
    rps.append(float(re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M).group(1)))
    v, u = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)$", text, re.M).groups()
    p99.append(float(v) * unit[u])
print("GET job over %d runs: median %.0f requests/s (min %.0f, max %.0f), median p99 %.2f ms (runs: %s)"
      % (len(rps), statistics.median(rps), min(rps), max(rps), statistics.median(p99),
         ", ".join("%.0f/s p99 %.1f ms" % x for x in zip(rps, p99))))
PY
for id in "${jobs[@]}"; do # ended, however: only the job slots matter now
    curl -K "$auth" -sf -X POST "$api/jobs/$id/cancel" >/dev/null || true
    for _ in $(seq 1 600); do
        case $(job_state "$id") in PUBLISHED|FAILED|CANCELLED|TIMED_OUT|OOM_KILLED) break ;; esac
        sleep 0.5
    done
done
holders=("$(sleeper api-load-slot)" "$(sleeper api-load-slot)")
for id in "${holders[@]}"; do await_state "$id" RUNNING; done
note "both job slots held by ${holders[*]}: what is submitted now stays queued"

"$python" "$bench_dir/api-admission.py" "$CLOISTER_URL" "$cloister_image" "$QUEUE" "$PROBES" \
    | tee "$RESULTS/admission.txt"
note "raw data: $RESULTS"
