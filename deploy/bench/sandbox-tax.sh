#!/usr/bin/env bash
# Sandbox tax: the example's training time as a Cloister job under `restricted` (and `strict`, gVisor) vs a plain
# `docker run` of the same image and command.
#
# Training time is measured the same way in every arm, inside the container: the job's command wraps train.py,
#   python3 -c "<WRAP>"  = perf_counter() around runpy.run_path('/opt/cloister/example/train.py'), printing
#                          "TRAIN_SECONDS x.xxxx" (numpy import, CSV read, training, writing the model files),
#                          and the process's CPU time (user+system, all threads) over the same span as
#                          "CPU_SECONDS x.xxxx"; after the timed span it also prints the container's CFS
#                          throttling from its cgroup (v1: /sys/fs/cgroup/cpu/cpu.stat), recorded as throttled_ms
# read from the job's log (GET /api/v1/jobs/{id}/logs) or from docker run's output. Interpreter start-up and the
# container's launch are not in it. TRAIN_SECONDS (wall) is the figure the target is stated in; CPU_SECONDS is
# reported beside it because on a shared host it is far less disturbed by other work than wall time is (it does
# not see waiting for a CPU, CFS throttling included).
#
# plain = docker run --rm --network none, the image's own entrypoint (tini) and user (root), no --security-opt
#         (so Docker's default seccomp profile), writable root, no tmpfs/shm/pids/memory/cpu limits, no --init;
#         the dataset bind-mounted read-only at /data, a host dir at /out, a read-only dir holding the same
#         hyperparameters.json at /opt/ml/input/config, and the same environment Cloister's admission gives the job
#         (SM_* variables incl. SM_HPS, HOME=/tmp, PYTHONDONTWRITEBYTECODE=1, OMP/OPENBLAS/MKL_NUM_THREADS=1).
#         The daemon's own defaults (daemon.json) apply to it as to every container.
# plain-noenv (first NOENV iterations, for information) = plain without that environment: OpenBLAS then starts a
#         thread per host core.
#
# Interleaved per iteration: restricted, plain, then strict (first N_STRICT iterations) and plain-noenv (first NOENV
# iterations), after one unrecorded warm-up of each arm. One job at a time; before each run the script waits
# (bounded) for the host's CPUs to be mostly idle (common.sh: wait_quiet) and records how busy they were.
#
# Usage: deploy/bench/sandbox-tax.sh     (as root, with Cloister up: deploy/bench/service.sh start)
#   N=10 N_STRICT=5 NOENV=5 EPOCHS=90000 PAUSE=1 TARGET=1.03 QUIET_MAX=0.25 QUIET_WAIT=120, plus common.sh's settings
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/common.sh"

N=${N:-10}
N_STRICT=${N_STRICT:-5}
NOENV=${NOENV:-5}
EPOCHS=${EPOCHS:-90000}
PAUSE=${PAUSE:-1}
TARGET=${TARGET:-1.03}

bench_preflight
bench_results sandbox-tax

read -r -d '' WRAP <<'EOF' || true
import time, runpy, sys
t = time.perf_counter()
c = time.process_time()
sys.argv = ['train.py']
code = 0
try:
    runpy.run_path('/opt/cloister/example/train.py', run_name='__main__')
except SystemExit as e:
    code = e.code
print('TRAIN_SECONDS %.4f' % (time.perf_counter() - t), flush=True)
print('CPU_SECONDS %.4f' % (time.process_time() - c), flush=True)
try:
    with open('/sys/fs/cgroup/cpu/cpu.stat') as f:
        st = dict(line.split() for line in f if line.strip())
    print('CPU_THROTTLED %s periods %s ns' % (st.get('nr_throttled', '?'), st.get('throttled_time', '?')), flush=True)
except OSError:
    pass
sys.exit(code)
EOF
# log_every = epochs: one progress line, so that log volume is not what is measured.
hps=$(jq -cnS --argjson e "$EPOCHS" '{epochs: $e, log_every: $e}')

spec() { # $1: policy
    jq -n --arg policy "$1" --arg image "$cloister_image" --arg wrap "$WRAP" --argjson hps "$hps" '{
        name: "bench-sandbox-tax", team: "examples", policy: $policy, image: $image,
        command: ["python3", "-c", $wrap], dataset: "breast-cancer", hyperparameters: $hps}'
}
spec restricted >"$RESULTS/job-restricted.json"
spec strict >"$RESULTS/job-strict.json"

work=$(mktemp -d /tmp/bench-tax.XXXXXX)
mkdir -p "$work/config"
printf '%s' "$hps" >"$work/config/hyperparameters.json"
chmod 755 "$work/config"
chmod 644 "$work/config/hyperparameters.json"
trap 'rm -rf "$work"' EXIT
env_flags=(
    -e SM_MODEL_DIR=/out -e SM_OUTPUT_DATA_DIR=/out -e SM_INPUT_CONFIG_DIR=/opt/ml/input/config -e "SM_HPS=$hps"
    -e SM_NUM_CPUS=1 -e SM_NUM_GPUS=0 -e 'SM_CHANNELS=["training"]' -e SM_CHANNEL_TRAINING=/data
    -e HOME=/tmp -e PYTHONDONTWRITEBYTECODE=1 -e OMP_NUM_THREADS=1 -e OPENBLAS_NUM_THREADS=1 -e MKL_NUM_THREADS=1
)

csv="$RESULTS/train.csv"
echo "iter,arm,value,load1,busy,wall,throttled_ms" >"$csv"
cpu_csv="$RESULTS/cpu.csv"
echo "iter,arm,value" >"$cpu_csv"
busy=""

throttled_ms() { # $1: log file; the container's CFS throttled time in ms, "" where the cgroup was not visible
    sed -n 's/^CPU_THROTTLED [0-9?]* periods \([0-9]*\) ns$/\1/p' "$1" | awk '{ printf "%.1f", $1 / 1e6 }'
}

train_seconds() { # $1: log file, $2: TRAIN or CPU; checks that the hyperparameters arrived, prints the seconds
    grep -q "\"epochs\": $EPOCHS" "$1" || die "the run did not get epochs=$EPOCHS: $(head -3 "$1")"
    sed -n "s/^$2_SECONDS \([0-9.]*\)\$/\1/p" "$1" | tail -1
}

run_cloister() { # $1: iteration, $2: policy
    local it=$1 policy=$2 resp id state log="$RESULTS/log-$2-$1.txt" secs cpu wall
    resp=$(curl -K "$auth" -sS -H 'Content-Type: application/json' --data-binary @"$RESULTS/job-$policy.json" "$api/jobs")
    id=$(jq -r '.id // empty' <<<"$resp")
    [ -n "$id" ] || die "submission refused: $resp"
    state=$(await_job "$id" 1800) || die "job $id did not finish (state $state)"
    curl -K "$auth" -sS "$api/jobs/$id/logs" >"$log"
    [ "$(job_exit "$id")" = 0 ] || die "job $id ($policy): the run did not exit 0 (state $state); log $log"
    secs=$(train_seconds "$log" TRAIN)
    cpu=$(train_seconds "$log" CPU)
    [ -n "$secs" ] && [ -n "$cpu" ] || die "no TRAIN_SECONDS or CPU_SECONDS in $log"
    wall=$(curl -K "$auth" -sS "$api/jobs/$id" | jq -r '[.startedAt, .finishedAt] | map(sub("\\.[0-9]+Z$"; "Z") | fromdate) | .[1] - .[0]' 2>/dev/null) || wall=""
    [ "$it" = warm ] || echo "$it,$policy,$secs,$(load1),$busy,$wall,$(throttled_ms "$log")" >>"$csv"
    [ "$it" = warm ] || echo "$it,$policy,$cpu" >>"$cpu_csv"
    note "$policy $it: $secs s (cpu $cpu s)"
}

run_plain() { # $1: iteration, $2: arm (plain | plain-noenv)
    local it=$1 arm=$2 log="$RESULTS/log-$2-$1.txt" out secs cpu t0 t1 envs=()
    [ "$arm" = plain ] && envs=("${env_flags[@]}")
    out=$(mktemp -d "$work/out.XXXXXX")
    t0=$EPOCHSECONDS
    "$docker" run --rm --network none \
        --mount "type=bind,source=$dataset_dir,target=/data,readonly" \
        --mount "type=bind,source=$work/config,target=/opt/ml/input/config,readonly" \
        --mount "type=bind,source=$out,target=/out" \
        "${envs[@]}" "$image_id" python3 -c "$WRAP" >"$log" 2>&1 || die "plain run failed: $(tail -3 "$log")"
    t1=$EPOCHSECONDS
    rm -rf "$out"
    secs=$(train_seconds "$log" TRAIN)
    cpu=$(train_seconds "$log" CPU)
    [ -n "$secs" ] && [ -n "$cpu" ] || die "no TRAIN_SECONDS or CPU_SECONDS in $log"
    [ "$it" = warm ] || echo "$it,$arm,$secs,$(load1),$busy,$((t1 - t0)),$(throttled_ms "$log")" >>"$csv"
    [ "$it" = warm ] || echo "$it,$arm,$cpu" >>"$cpu_csv"
    note "$arm $it: $secs s (cpu $cpu s)"
}

note "warm-up: one run of each arm (EPOCHS=$EPOCHS)"
run_cloister warm restricted; sleep "$PAUSE"
run_plain warm plain; sleep "$PAUSE"
[ "$N_STRICT" -gt 0 ] && { run_cloister warm strict; sleep "$PAUSE"; }
for i in $(seq 1 "$N"); do
    wait_quiet; run_cloister "$i" restricted; sleep "$PAUSE"
    wait_quiet; run_plain "$i" plain; sleep "$PAUSE"
    if [ "$i" -le "$N_STRICT" ]; then wait_quiet; run_cloister "$i" strict; sleep "$PAUSE"; fi
    if [ "$i" -le "$NOENV" ]; then wait_quiet; run_plain "$i" plain-noenv; sleep "$PAUSE"; fi
done

echo
echo "== training time inside the container (TRAIN_SECONDS), EPOCHS=$EPOCHS; N=$N interleaved iterations"
"$python" "$bench_dir/stats.py" "$csv" --unit s --compare restricted plain "$TARGET" --compare strict plain - \
    --compare plain-noenv plain - --json "$RESULTS/train-summary.json" | tee "$RESULTS/train-summary.txt"
echo
echo "== for information: CPU time of the training process over the same span (CPU_SECONDS; under strict this is"
echo "   gVisor's own accounting of the sandboxed process, not the host's)"
"$python" "$bench_dir/stats.py" "$cpu_csv" --unit s --compare restricted plain "$TARGET" --compare strict plain - \
    --compare plain-noenv plain - --json "$RESULTS/cpu-summary.json" | tee "$RESULTS/cpu-summary.txt"
echo
echo "raw data: $RESULTS"
