#!/usr/bin/env bash
# Seal / verify throughput against `openssl dgst -sha256` run two at a time, and the sealer's heap at 2 GiB and a
# 20 GiB sparse model. Method and results: deploy/bench/seal/RESULTS.md.
#
#   deploy/bench/seal/run.sh [ROUNDS]          (default 7 rounds; run from anywhere, as any user)
#
# Environment:
#   WORK=DIR          scratch directory on the disk under test (default: a new /var/tmp/cloister-seal-bench.XXXX,
#                     removed at the end unless KEEP=1); an existing WORK/model of 8 x 256 MiB is reused
#   RESULTS=DIR       raw CSV, logs and summary (default /tmp/cloister-bench/seal-<UTC time>)
#   SKIP_BUILD=1      use target/ as it is (otherwise: mvn -q -B package -DskipTests)
#   SPARSE_GIB=20     size of the sparse model for the heap comparison (0 skips it)
#   HEAP_XMX=256m     fixed heap of the heap-measurement JVMs; SMALL_XMX=48m the tight-heap check
#   VARIANTS=1        also time alternative hashing loops (SealBenchmark --variants) and the seal / hash-only /
#                     verify breakdown (SealBenchmark --breakdown); 0 skips both
#   CLI_STARTUP=1     also run cli-startup.sh (the verify CLI's fixed cost, with and without AppCDS); 0 skips
#   QUIET_CORES=0.5   before each timed run wait until other processes use fewer cores than this (2 s sample),
#   QUIET_WAIT=60     but at most this many seconds; a run during which others used >= QUIET_CORES cores is
#   ATTEMPTS=3        repeated, up to ATTEMPTS times; every attempt is in runs.csv, the last one is "kept"
#
# Arms, interleaved in every round (order rotated round by round), all over the same 8 files in the page cache:
#   openssl     cd MODEL && ls *.safetensors | xargs -P2 -n1 openssl dgst -sha256   (whole processes)
#   seal_warm   ModelSigner.sign in one long-lived JVM after a warm-up (what the service pays per job)
#   verify_warm ModelVerifier.verify in that same JVM
#   seal_fresh  a fresh JVM that opens the host key (PBKDF2, 600k iterations) and seals: whole-process wall time
#   verify_cli  the real CLI, fresh JVM: Cloister verify model MODEL --key PUB --no-provenance (what a user pays)
set -euo pipefail

rounds=${1:-7}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
RESULTS=${RESULTS:-/tmp/cloister-bench/seal-$(date -u +%Y%m%dT%H%M%SZ)}
SPARSE_GIB=${SPARSE_GIB:-20}
HEAP_XMX=${HEAP_XMX:-256m}
SMALL_XMX=${SMALL_XMX:-48m}
VARIANTS=${VARIANTS:-1}
QUIET_CORES=${QUIET_CORES:-0.5}
QUIET_WAIT=${QUIET_WAIT:-60}
ATTEMPTS=${ATTEMPTS:-3}
export LC_ALL=C.UTF-8
hz=$(getconf CLK_TCK)

note() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }
for tool in java openssl python3 /usr/bin/time xargs; do command -v "$tool" >/dev/null || die "needs $tool"; done

if [ -z "${WORK:-}" ]; then
    WORK=$(mktemp -d /var/tmp/cloister-seal-bench.XXXX)
    [ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK" "$RESULTS"
note "scratch $WORK, results $RESULTS"

# ---- machine ------------------------------------------------------------------------------------------------------
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(LC_ALL=C lscpu | sed -n 's/^Model name: *//p' | head -1)"
    echo "sha_ni: $(grep -o -m1 sha_ni /proc/cpuinfo || echo absent)"
    echo "memory: $(free -g | awk '/^Mem:/{print $2 " GiB"}')"
    echo "kernel: $(uname -r)"
    echo "scratch fs: $(df -T "$WORK" | awk 'NR==2{print $1, $2}')"
    echo "java: $(java -version 2>&1 | sed -n 2p)"
    echo "java sha flags: $(java -XX:+UnlockDiagnosticVMOptions -XX:+PrintFlagsFinal -version 2>/dev/null \
        | awk '/ UseSHA/{printf "%s=%s ", $2, $4}')"
    echo "openssl: $(openssl version)"
    echo "commit: $(git -C "$repo" rev-parse HEAD 2>/dev/null) (working tree $(git -C "$repo" status --porcelain 2>/dev/null | wc -l) changed paths)"
    echo "load before openssl speed: $(cut -d' ' -f1-3 /proc/loadavg)"
    openssl speed -evp sha256 -seconds 2 2>/dev/null | tail -2
    echo "load after openssl speed: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$RESULTS/machine.txt"
cat "$RESULTS/machine.txt" >&2

# ---- build and snapshot the classpath (others may rebuild target/ meanwhile) ----------------------------------------
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    note "building (mvn -q -B package -DskipTests)"
    (cd "$repo" && mvn -q -B package -DskipTests) >"$RESULTS/build.log" 2>&1 || die "build failed, see $RESULTS/build.log"
fi
[ -f "$repo/target/test-classes/dev/cloister/bench/SealBenchmark.class" ] || die "SealBenchmark not compiled (mvn -q -B test-compile)"
rm -rf "$WORK/cp"
mkdir -p "$WORK/cp/bench/dev/cloister/bench"
cp -a "$repo/target/quarkus-app" "$WORK/cp/app"
cp "$repo/target/test-classes/dev/cloister/bench/"*.class "$WORK/cp/bench/dev/cloister/bench/"
app_cp="$WORK/cp/app/app/*:$WORK/cp/app/lib/main/*"
bench_cp="$app_cp:$WORK/cp/bench"
bench() { java "$@"; }
B=dev.cloister.bench.SealBenchmark

# ---- the model: 8 x 256 MiB of random bytes ------------------------------------------------------------------------
model=$WORK/model
mkdir -p "$model"
for i in 1 2 3 4 5 6 7 8; do
    f=$model/model-0000$i-of-00008.safetensors
    if [ "$(stat -c %s "$f" 2>/dev/null || echo 0)" != 268435456 ]; then
        head -c 268435456 /dev/urandom >"$f"
    fi
done
bytes=$(cat "$model"/*.safetensors | wc -c)
[ "$bytes" = 2147483648 ] || die "model is $bytes bytes, expected 2 GiB"
note "model $model: 8 files, $bytes bytes"

keys=$WORK/keys
rm -rf "$keys"
pub=$(java -cp "$bench_cp" $B --init-keys "$keys")
note "throwaway key $pub"

# ---- measurement helpers -------------------------------------------------------------------------------------------
# busy CPU seconds of the whole machine so far (user nice system irq softirq), and steal
busy() { awk -v hz="$hz" '/^cpu /{printf "%.2f %.2f\n", ($2+$3+$4+$7+$8)/hz, $9/hz}' /proc/stat; }
proc_cpu() { awk -v hz="$hz" '{printf "%.2f\n", ($14+$15)/hz}' "/proc/$1/stat"; }

wait_quiet() {
    local start=$SECONDS b0 b1 others
    while :; do
        read -r b0 _ < <(busy); sleep 2; read -r b1 _ < <(busy)
        others=$(echo "$b0 $b1" | awk '{printf "%.2f", ($2-$1)/2}')
        if awk -v o="$others" -v q="$QUIET_CORES" 'BEGIN{exit !(o < q)}'; then
            echo "$others"; return
        fi
        if [ $((SECONDS - start)) -ge "$QUIET_WAIT" ]; then
            note "still busy (others use $others cores) after ${QUIET_WAIT}s; measuring anyway"
            echo "$others"; return
        fi
        sleep 3
    done
}

coproc WARM { exec java -cp "$bench_cp" $B --serve "$model" "$keys" 2>"$RESULTS/warm-jvm.err"; }
# shellcheck disable=SC2153 # WARM_PID is set by coproc
warm_pid=$WARM_PID
read -r -t 600 -u "${WARM[0]}" ready _ || die "warm JVM did not start (see $RESULTS/warm-jvm.err)"
[ "$ready" = ready ] || die "warm JVM said '$ready'"

csv=$RESULTS/runs.csv
echo "round,arm,attempt,kept,wall_s,cpu_s,others_cpu_s,others_cores,steal_s,load1,pre_other_cores,detail" >"$csv"

# run_arm ARM: times one arm; sets row (wall_s,cpu_s,others_cpu_s,others_cores,steal_s,load1) and others_cores
run_arm() {
    local arm=$1 t0 t1 b0 s0 b1 s1 c0 c1 cpu wall detail="" out
    out=$RESULTS/last-$arm.out
    read -r b0 s0 < <(busy)
    case $arm in
        openssl)
            t0=$EPOCHREALTIME
            (cd "$model" && /usr/bin/time -f '%U %S' -o "$out.time" bash -c \
                'ls *.safetensors | xargs -P2 -n1 openssl dgst -sha256' >"$out")
            t1=$EPOCHREALTIME
            cpu=$(awk '{printf "%.2f", $1+$2}' "$out.time")
            [ "$(wc -l <"$out")" = 8 ] || die "openssl printed $(wc -l <"$out") digests"
            ;;
        seal_warm|verify_warm)
            c0=$(proc_cpu "$warm_pid")
            t0=$EPOCHREALTIME
            echo "${arm%_warm}" >&"${WARM[1]}"
            read -r -t 600 -u "${WARM[0]}" op secs _ _ || die "warm JVM stopped answering"
            t1=$EPOCHREALTIME
            c1=$(proc_cpu "$warm_pid")
            [ "$op" = "${arm%_warm}" ] || die "warm JVM answered '$op $secs'"
            cpu=$(echo "$c0 $c1" | awk '{printf "%.2f", $2-$1}')
            detail="in_jvm_s=$secs"
            ;;
        seal_fresh)
            t0=$EPOCHREALTIME
            /usr/bin/time -f '%U %S' -o "$out.time" java -cp "$bench_cp" $B --seal-once "$model" "$keys" >"$out"
            t1=$EPOCHREALTIME
            cpu=$(awk '{printf "%.2f", $1+$2}' "$out.time")
            detail=$(sed -n 's/^seal-once //p' "$out" | tr ' ' ';')
            ;;
        verify_cli)
            t0=$EPOCHREALTIME
            /usr/bin/time -f '%U %S' -o "$out.time" java -cp "$app_cp" dev.cloister.cli.Cloister \
                verify model "$model" --key "$pub" --no-provenance >"$out" || die "verify failed: $(cat "$out")"
            t1=$EPOCHREALTIME
            grep -q '^VERIFIED' "$out" || die "verify did not say VERIFIED"
            cpu=$(awk '{printf "%.2f", $1+$2}' "$out.time")
            ;;
    esac
    read -r b1 s1 < <(busy)
    if [ "$arm" = seal_warm ] || [ "$arm" = verify_warm ]; then
        wall=$secs # the JVM's own nanoTime around the call: excludes the pipe round trip (~ms)
    else
        wall=$(echo "$t0 $t1" | awk '{printf "%.4f", $2-$1}')
    fi
    local others steal
    others=$(echo "$b0 $b1 $cpu" | awk '{o=$2-$1-$3; if (o<0) o=0; printf "%.2f", o}')
    steal=$(echo "$s0 $s1" | awk '{printf "%.2f", $2-$1}')
    others_cores=$(echo "$others $wall" | awk '{printf "%.2f", $1/$2}')
    row="$wall,$cpu,$others,$others_cores,$steal,$(cut -d' ' -f1 /proc/loadavg)"
    last_detail=$detail
}

# measure ROUND ARM: waits for a quiet machine, runs ARM, repeats it while others used >= QUIET_CORES
measure() {
    local round=$1 arm=$2 attempt pre kept
    for ((attempt = 1; attempt <= ATTEMPTS; attempt++)); do
        pre=-
        [ "$round" = 0 ] || pre=$(wait_quiet)
        run_arm "$arm"
        kept=0
        if [ "$round" = 0 ] || [ "$attempt" = "$ATTEMPTS" ] \
            || awk -v o="$others_cores" -v q="$QUIET_CORES" 'BEGIN{exit !(o < q)}'; then
            kept=1
        fi
        echo "$round,$arm,$attempt,$kept,$row,$pre,$last_detail" >>"$csv"
        note "round $round $arm #$attempt: ${row%%,*}s, others $others_cores cores$([ $kept = 1 ] || echo ', contended: again')"
        [ "$kept" = 0 ] || return 0
    done
}

arms=(openssl seal_warm verify_warm seal_fresh verify_cli)
note "warm-up: one run of each arm (page cache, JIT), recorded as round 0"
for arm in "${arms[@]}"; do measure 0 "$arm"; done
for ((r = 1; r <= rounds; r++)); do
    for ((k = 0; k < ${#arms[@]}; k++)); do
        measure "$r" "${arms[$(((k + r - 1) % ${#arms[@]}))]}"
    done
done
echo quit >&"${WARM[1]}"
wait "$warm_pid" 2>/dev/null || true

# The digests openssl printed must be the ones Cloister signed (sanity: both hashed the same bytes).
python3 - "$model/model.sig" "$RESULTS/last-openssl.out" >"$RESULTS/digest-check.txt" <<'EOF'
import base64, json, re, sys
bundle = json.load(open(sys.argv[1]))
env = bundle.get("dsseEnvelope") or bundle.get("dsse_envelope")
statement = json.loads(base64.b64decode(env["payload"]))
signed = {r["name"]: r["digest"] for r in statement["predicate"]["resources"]}
seen = {}
for line in open(sys.argv[2]):
    m = re.match(r"SHA2-256\((.+)\)= ([0-9a-f]{64})", line.strip())
    seen[m.group(1)] = m.group(2)
ok = seen == signed
print("openssl digests == signed manifest digests:", ok, "(%d files)" % len(seen))
sys.exit(0 if ok else 1)
EOF
cat "$RESULTS/digest-check.txt" >&2

# ---- heap: the 2 GiB model with a fixed -Xmx, then a tight -Xmx (the sparse model comes last) -------------------
heap_run() { # NAME XMX DIR REPS
    note "heap run $1 (-Xmx$2, $3)"
    local pre
    pre=$(wait_quiet)
    { echo "pre_run_other_cores: $pre"; java -Xmx"$2" -cp "$bench_cp" $B "$3" "$4"; } >"$RESULTS/heap-$1.log" 2>&1 \
        || { note "heap run $1 failed: $(tail -3 "$RESULTS/heap-$1.log")"; echo "FAILED" >>"$RESULTS/heap-$1.log"; }
}
heap_run 2g-"$HEAP_XMX" "$HEAP_XMX" "$model" 3
heap_run 2g-"$SMALL_XMX" "$SMALL_XMX" "$model" 1
# ---- hashing-loop variants (explains a miss, if any) ---------------------------------------------------------------
if [ "$VARIANTS" = 1 ]; then
    note "hashing-loop variants"
    pre=$(wait_quiet)
    # Every timed run inside these JVMs waits for a quiet machine itself (< 0.3 cores used by others, 1 s sample).
    { echo "pre_run_other_cores: $pre"
      java -cp "$bench_cp" $B --variants "$model" 3 2 cloister,channel-64k,channel-1m,direct-64k,fis-1m,mmap-64m,mem-only
      java -cp "$bench_cp" $B --variants "$model" 3 1 cloister,mmap-64m,mem-only
      java -cp "$bench_cp" $B --variants "$model" 1 2 bc-channel-64k
    } >"$RESULTS/variants.log" 2>&1 || note "variants failed"
    note "seal / hash-only / verify breakdown"
    java -cp "$bench_cp" $B --breakdown "$model" 7 >"$RESULTS/breakdown.log" 2>&1 || note "breakdown failed"
    pre=$(wait_quiet)
    { echo "pre_run_other_cores: $pre"; echo "# with the SHA-256 intrinsic switched off:"
      java -XX:+UnlockDiagnosticVMOptions -XX:-UseSHA256Intrinsics -cp "$bench_cp" $B --variants "$model" 1 2 cloister,mem-only
    } >"$RESULTS/variants-nointrinsic.log" 2>&1 || note "variants (no intrinsic) failed"
fi

# ---- the sparse model (after everything else: its zero pages can evict the model from the page cache) ----------
if [ "$SPARSE_GIB" -gt 0 ]; then
    sparse=$WORK/sparse
    rm -rf "$sparse"; mkdir -p "$sparse"
    # Sparse files read as zeros: the kernel fills page-cache pages with zeros for the holes, without disk I/O,
    # so this measures hashing and memory, not the disk. Deleting them afterwards frees that page cache again.
    for i in 1 2 3 4 5 6 7 8; do truncate -s $((SPARSE_GIB * 1024 / 8))M "$sparse/model-0000$i-of-00008.safetensors"; done
    heap_run "${SPARSE_GIB}g-sparse-$HEAP_XMX" "$HEAP_XMX" "$sparse" 1
    heap_run "${SPARSE_GIB}g-sparse-$SMALL_XMX" "$SMALL_XMX" "$sparse" 1
    rm -rf "$sparse"
fi

# ---- the CLI's fixed cost (JVM start, class loading, cold JIT), with and without AppCDS -----------------------------
if [ "${CLI_STARTUP:-1}" = 1 ]; then
    note "CLI start-up cost (cli-startup.sh)"
    WORK=$WORK RESULTS=$RESULTS/cli QUIET_CORES=$QUIET_CORES QUIET_WAIT=$QUIET_WAIT ATTEMPTS=$ATTEMPTS \
        "$here/cli-startup.sh" "$rounds" >"$RESULTS/cli-startup.log" 2>&1 || note "cli-startup.sh failed"
fi

python3 "$here/summarize.py" "$RESULTS" "$bytes" | tee "$RESULTS/summary.txt"
note "done: $RESULTS"
