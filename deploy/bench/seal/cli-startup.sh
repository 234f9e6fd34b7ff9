#!/usr/bin/env bash
# What the `verify model` CLI pays besides hashing: JVM start, class loading and JIT, measured as the CLI's time on
# a 1-file model (1 KiB) next to the 2 GiB model, with and without an AppCDS archive of the CLI's classes, and
# `cloister --version` (JVM start plus picocli only).
# Run after deploy/bench/seal/run.sh with KEEP=1 (it reuses that scratch directory: classpath snapshot, key, model).
#
#   WORK=/var/tmp/cloister-seal-bench.XXXX deploy/bench/seal/cli-startup.sh [ROUNDS]    (default 7)
#
# Environment: RESULTS (default /tmp/cloister-bench/seal-cli-<UTC time>), QUIET_CORES=0.5, QUIET_WAIT=60,
# ATTEMPTS=3 (as in run.sh: a run during which other processes used >= QUIET_CORES cores is repeated).
set -euo pipefail
rounds=${1:-7}
if [ -z "${WORK:-}" ] || [ ! -d "$WORK/cp" ] || [ ! -d "$WORK/model" ] || [ ! -d "$WORK/keys" ]; then
    echo "cli-startup.sh: set WORK to a scratch directory kept by run.sh (KEEP=1)" >&2
    exit 1
fi
RESULTS=${RESULTS:-/tmp/cloister-bench/seal-cli-$(date -u +%Y%m%dT%H%M%SZ)}
QUIET_CORES=${QUIET_CORES:-0.5}
QUIET_WAIT=${QUIET_WAIT:-60}
ATTEMPTS=${ATTEMPTS:-3}
export LC_ALL=C.UTF-8
hz=$(getconf CLK_TCK)
mkdir -p "$RESULTS"
note() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

app_cp="$WORK/cp/app/app/*:$WORK/cp/app/lib/main/*"
bench_cp="$app_cp:$WORK/cp/bench"
pub=$(find "$WORK/keys" -name '*.pub.pem' | head -1)
model=$WORK/model
tiny=$WORK/tiny
rm -rf "$tiny"; mkdir -p "$tiny"
head -c 1024 /dev/urandom >"$tiny/weights.bin"
java -cp "$bench_cp" dev.cloister.bench.SealBenchmark --seal-once "$tiny" "$WORK/keys" >/dev/null
# The 2 GiB model must carry a seal of this key (run.sh left one); reseal if not.
java -cp "$app_cp" dev.cloister.cli.Cloister verify model "$model" --key "$pub" --no-provenance >/dev/null \
    || java -cp "$bench_cp" dev.cloister.bench.SealBenchmark --seal-once "$model" "$WORK/keys" >/dev/null

jsa=$WORK/cloister-cli.jsa
rm -f "$jsa"
java -XX:ArchiveClassesAtExit="$jsa" -cp "$app_cp" dev.cloister.cli.Cloister verify model "$tiny" --key "$pub" \
    --no-provenance >/dev/null 2>"$RESULTS/cds-dump.log"
note "AppCDS archive $(du -h "$jsa" | cut -f1) at $jsa"

busy() { awk -v hz="$hz" '/^cpu /{printf "%.2f\n", ($2+$3+$4+$7+$8)/hz}' /proc/stat; }
wait_quiet() {
    local start=$SECONDS b0 b1 o
    while :; do
        b0=$(busy); sleep 2; b1=$(busy)
        o=$(echo "$b0 $b1" | awk '{printf "%.2f", ($2-$1)/2}')
        if awk -v o="$o" -v q="$QUIET_CORES" 'BEGIN{exit !(o < q)}' || [ $((SECONDS - start)) -ge "$QUIET_WAIT" ]; then
            echo "$o"; return
        fi
        sleep 3
    done
}

csv=$RESULTS/cli.csv
echo "round,arm,attempt,kept,wall_s,cpu_s,others_cores,pre_other_cores" >"$csv"
arms=(version tiny tiny_cds model model_cds)
measure() {
    local round=$1 arm=$2 attempt pre t0 t1 b0 b1 cpu wall others kept dir flags
    case $arm in tiny*) dir=$tiny ;; *) dir=$model ;; esac
    flags=()
    case $arm in *_cds) flags=(-XX:SharedArchiveFile="$jsa") ;; esac
    for ((attempt = 1; attempt <= ATTEMPTS; attempt++)); do
        pre=-
        [ "$round" = 0 ] || pre=$(wait_quiet)
        b0=$(busy); t0=$EPOCHREALTIME
        if [ "$arm" = version ]; then
            /usr/bin/time -f '%U %S' -o "$RESULTS/time.tmp" java -cp "$app_cp" dev.cloister.cli.Cloister --version \
                >"$RESULTS/out.tmp"
        else
            /usr/bin/time -f '%U %S' -o "$RESULTS/time.tmp" java "${flags[@]}" -cp "$app_cp" dev.cloister.cli.Cloister \
                verify model "$dir" --key "$pub" --no-provenance >"$RESULTS/out.tmp"
            grep -q '^VERIFIED' "$RESULTS/out.tmp"
        fi
        t1=$EPOCHREALTIME; b1=$(busy)
        cpu=$(awk '{printf "%.2f", $1+$2}' "$RESULTS/time.tmp")
        wall=$(echo "$t0 $t1" | awk '{printf "%.4f", $2-$1}')
        others=$(echo "$b0 $b1 $cpu $wall" | awk '{o=$2-$1-$3; if (o<0) o=0; printf "%.2f", o/$4}')
        kept=0
        if [ "$round" = 0 ] || [ "$attempt" = "$ATTEMPTS" ] || awk -v o="$others" -v q="$QUIET_CORES" 'BEGIN{exit !(o < q)}'; then
            kept=1
        fi
        echo "$round,$arm,$attempt,$kept,$wall,$cpu,$others,$pre" >>"$csv"
        note "round $round $arm #$attempt ${wall}s cpu ${cpu}s others $others"
        [ "$kept" = 0 ] || return 0
    done
}
for arm in "${arms[@]}"; do measure 0 "$arm"; done
for ((r = 1; r <= rounds; r++)); do
    for ((k = 0; k < ${#arms[@]}; k++)); do measure "$r" "${arms[$(((k + r - 1) % ${#arms[@]}))]}"; done
done

python3 - "$csv" <<'EOF' | tee "$RESULTS/summary.txt"
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["round"] != "0" and r["kept"] == "1"]
arms = {}
for r in rows:
    arms.setdefault(r["arm"], []).append(r)
print("%-10s %3s %9s %9s %9s %8s %8s" % ("arm", "n", "median s", "min s", "max s", "cpu s", "others"))
for arm, rs in arms.items():
    w = [float(r["wall_s"]) for r in rs]
    print("%-10s %3d %9.3f %9.3f %9.3f %8.2f %8.2f" % (arm, len(w), statistics.median(w), min(w), max(w),
          statistics.median(float(r["cpu_s"]) for r in rs), statistics.median(float(r["others_cores"]) for r in rs)))
EOF
note "done: $RESULTS"
