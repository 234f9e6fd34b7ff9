#!/usr/bin/env bash
# Launch latency: Cloister (POST /api/v1/jobs, policy restricted) vs `docker run -d` with the same flags.
#
# Both arms are timed the same way, on the same host clock: from the moment the client is invoked (bash's
# $EPOCHREALTIME just before curl / docker is exec'd) to the container's State.StartedAt as the engine records it
# (read from the engine's socket; Cloister names its containers cloister-<jobId>). The job sleeps 3 s, so the
# container still exists when it is inspected; both arms poll the engine the same way at the same interval while
# the launch is in flight, so the poll's load is the same in both. Runs are interleaved A, B, A, B... after WARMUP
# unrecorded pairs, one container at a time, with a pause between runs; before each run (each, not each pair, so
# that neither arm is always the one that follows the wait) the script waits (bounded) for the host's CPUs to be
# mostly idle (common.sh: wait_quiet) and records how busy they were.
#
# Before measuring, the script checks that the baseline really is "the same flags": it compares the two
# containers' engine configs (runtime, user, entrypoint, command, env, network, capabilities, security options
# including the seccomp profile's JSON, read-only root, tmpfs, shm, pids, memory, memory+swap, cpus, init, stop
# timeout, log config, label keys, mount targets and propagation) and stops on any difference.
#
# Usage: deploy/bench/launch-latency.sh        (as root, with Cloister up: deploy/bench/service.sh start)
#   N=20 WARMUP=3 POLL=0.1 PAUSE=1 TARGET=1.15 QUIET_MAX=0.25 QUIET_WAIT=120, plus common.sh's settings
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/common.sh"

N=${N:-20}
WARMUP=${WARMUP:-3}
POLL=${POLL:-0.1}
PAUSE=${PAUSE:-1}
TARGET=${TARGET:-1.15}

bench_preflight
bench_results launch-latency

source "$bench_dir/launch-lib.sh"

note "checking that the baseline has Cloister's flags"
run_cloister check
run_docker check
if ! diff -u "$RESULTS/flags-cloister.json" "$RESULTS/flags-docker.json" >"$RESULTS/flags.diff"; then
    # Only the per-container label values may differ; everything in the fingerprint must match.
    cat "$RESULTS/flags.diff" >&2
    die "the baseline's engine config differs from Cloister's (see $RESULTS/flags.diff)"
fi
note "flags identical (fingerprint in $RESULTS/flags-cloister.json)"

for i in $(seq 1 "$WARMUP"); do
    note "warm-up $i/$WARMUP"
    run_cloister "w$i"; sleep "$PAUSE"
    run_docker "w$i"; sleep "$PAUSE"
done
for i in $(seq 1 "$N"); do
    wait_quiet
    run_cloister "$i"; sleep "$PAUSE"
    wait_quiet
    run_docker "$i"; sleep "$PAUSE"
    note "pair $i/$N done"
done

# Latency = StartedAt - t0, in ms; warm-ups and the flag check are left out.
"$python" - "$raw" "$RESULTS/latency.csv" "$RESULTS/return.csv" <<'EOF'
import csv, sys, datetime
def ns(iso):  # RFC 3339 with up to 9 fractional digits, UTC
    base, _, frac = iso.rstrip("Z").partition(".")
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 10**9 + int((frac + "000000000")[:9])
rows = list(csv.DictReader(open(sys.argv[1])))
with open(sys.argv[2], "w", newline="") as lat, open(sys.argv[3], "w", newline="") as ret:
    lw, rw = csv.writer(lat), csv.writer(ret)
    lw.writerow(["iter", "arm", "value", "load1", "busy"]); rw.writerow(["iter", "arm", "value"])
    for r in rows:
        if not r["iter"].isdigit():
            continue
        t0 = int(r["t0_us"]) * 1000
        lw.writerow([r["iter"], r["arm"], "%.3f" % ((ns(r["started_at"]) - t0) / 1e6), r["load1"], r["busy"]])
        rw.writerow([r["iter"], r["arm"], "%.3f" % ((int(r["t_return_us"]) * 1000 - t0) / 1e6)])
EOF

echo
echo "== launch latency: client invoked -> State.StartedAt (N=$N interleaved pairs after $WARMUP warm-ups)"
"$python" "$bench_dir/stats.py" "$RESULTS/latency.csv" --unit ms --compare cloister docker "$TARGET" \
    --json "$RESULTS/latency-summary.json" | tee "$RESULTS/latency-summary.txt"
echo
echo "== for information: client invoked -> client returned (Cloister: 201 from POST; docker: docker run -d exits)"
"$python" "$bench_dir/stats.py" "$RESULTS/return.csv" --unit ms --compare cloister docker - \
    | tee "$RESULTS/return-summary.txt"
echo
echo "raw data: $RESULTS"
