#!/usr/bin/env bash
# Serving-image benchmark (issue's performance requirements; a benchmark, not a test):
#   1. build + push of the serving image with ServingImageBuilder (Jib, in process, after warm-up) vs
#      `docker build` (classic builder) + `docker push` of the same content, interleaved, for a new model each
#      iteration and for the same content again; plus a cache-friendly reordering of the Dockerfile (informative),
#      whole-process timings (a fresh JVM per build, default flags and AppCDS + C1) and Jib's own timer events;
#   2. ImageVerifier.verify of a signed image against the local registry (in process, after warm-up),
#      plus whole-process `deploy/cloister verify image`.
# Method and results: deploy/bench/image/RESULTS.md. Main class:
# src/test/java/dev/cloister/bench/ImageBenchmark.java.
#
# Needs: the registry on 127.0.0.1:5000 and /var/lib/cloister/images/serving-base.ref (deploy/host-setup.sh),
# a sealed example job under /var/lib/cloister/artifacts/job-*/ (model.npz + model.sig +
# provenance.sigstore.json), docker, maven, python3. Run as root from anywhere:
#   deploy/bench/image/run.sh                 # everything (5-15 minutes on 2 cores, depending on waits for quiet)
#   N=9 FRESH_N=7 VERIFY_N=100 deploy/bench/image/run.sh
#   SKIP_BUILD=1 ...                           # reuse target/ as it is
#   ONLY="build fresh profile verify cli"      # a subset of the phases
# Results (small TSV/MD files) go to deploy/bench/image/results/ (OUT=...), scratch to /tmp (WORK=...).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cd "$repo"

N=${N:-9}                        # timed iterations per case (in-process builds)
WARMUP=${WARMUP:-3}              # warm-up iterations (in-process builds)
FRESH_N=${FRESH_N:-7}            # whole-process (fresh JVM) builds per case, each paired with a docker build+push
PROFILE_N=${PROFILE_N:-7}        # builds with Jib's timer events
VERIFY_WARMUP=${VERIFY_WARMUP:-10}
VERIFY_N=${VERIFY_N:-100}        # timed verifications per series
CLI_N=${CLI_N:-7}                # whole-process `cloister verify image` runs
MAX_LOAD=${MAX_LOAD:-1.0}        # before each phase, wait (up to QUIET_WAIT s) for the 1-minute load to drop below this
QUIET_WAIT=${QUIET_WAIT:-300}
ONLY=${ONLY:-"build fresh profile verify cli"}
OUT=${OUT:-$here/results}
WORK=${WORK:-/tmp/cloister-image-bench}
REGISTRY=127.0.0.1:5000
BASE_REF=/var/lib/cloister/images/serving-base.ref
export LC_ALL=${LC_ALL:-C.UTF-8}
export DOCKER_BUILDKIT=0         # the classic builder, as docker 20.10 does without BuildKit

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

wait_quiet() {
    local waited=0
    while awk -v l="$(load1)" -v m="$MAX_LOAD" 'BEGIN { exit !(l >= m) }'; do
        if [ "$waited" -ge "$QUIET_WAIT" ]; then
            log "load is still $(load1) after ${QUIET_WAIT}s; going on (the load is recorded with the results)"
            return
        fi
        [ "$waited" -eq 0 ] && log "waiting for the 1-minute load ($(load1)) to drop below $MAX_LOAD"
        sleep 10
        waited=$((waited + 10))
    done
}

phase() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

bench() { java -cp "$CP" dev.cloister.bench.ImageBenchmark "$@" artifact="$artifact"; }

# --- preconditions -------------------------------------------------------------------------------------------------
curl -fsS -o /dev/null "http://$REGISTRY/v2/" || { echo "no registry at $REGISTRY: run deploy/host-setup.sh" >&2; exit 2; }
[ -s "$BASE_REF" ] || { echo "no $BASE_REF: run deploy/host-setup.sh" >&2; exit 2; }
base=$(tr -d '[:space:]' < "$BASE_REF")
# The sealed example model: ARTIFACT, or the first job directory (by name) with a sealed model in it.
artifact=${ARTIFACT:-}
if [ -z "$artifact" ]; then
    for d in /var/lib/cloister/artifacts/job-*/; do
        if [ -f "$d/model.npz" ] && [ -f "$d/model.sig" ] && [ -f "$d/provenance.sigstore.json" ]; then
            artifact=${d%/}
            break
        fi
    done
fi
[ -n "$artifact" ] || { echo "no sealed example model under /var/lib/cloister/artifacts: run an example job" >&2; exit 2; }
case "$base" in *@sha256:*) ;; *) echo "$BASE_REF does not pin the base by digest: $base" >&2; exit 2 ;; esac
# Both sides start with the base in place: docker has it locally, the registry has it (Jib reads it from there).
docker pull -q "$base" >/dev/null

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    for attempt in 1 2 3; do
        log "building (attempt $attempt)"
        if mvn -q -B package -DskipTests && mvn -q -B test-compile; then
            break
        fi
        [ "$attempt" = 3 ] && { echo "the build keeps failing" >&2; exit 1; }
        log "build failed (someone's half-written file?); retrying in 60 s"
        sleep 60
    done
fi
[ -f "$repo/target/test-classes/dev/cloister/bench/ImageBenchmark.class" ] || { echo "not built" >&2; exit 2; }

mkdir -p "$OUT"
rm -rf "$WORK"
mkdir -p "$WORK"
# A snapshot of the application and the bench class (jars only, as AppCDS wants), so that someone else's
# `mvn package` during the run cannot change what is measured.
cp -r "$repo/target/quarkus-app" "$WORK/app"
jar cf "$WORK/bench.jar" -C "$repo/target/test-classes" dev/cloister/bench
CP="$WORK/app/app/*:$WORK/app/lib/boot/*:$WORK/app/lib/main/*:$WORK/bench.jar"
# env.txt and load.txt are appended to, so that a rerun of some phases (ONLY=...) into the same OUT keeps the
# record of the phases it does not rerun.
{
    echo "run: $(date -u +%Y-%m-%dT%H:%M:%SZ), phases: $ONLY"
    echo "host: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "java: $(java -version 2>&1 | head -1)"
    echo "docker: server $(docker version --format '{{.Server.Version}}'), client $(docker version --format '{{.Client.Version}}'), storage $(docker info --format '{{.Driver}}')"
    echo "registry: $(docker-registry --version 2>/dev/null || echo unknown)"
    echo "jib-core: $(ls "$WORK"/app/lib/main | grep -o 'jib-core-[0-9.]*[0-9]')"
    echo "base: $base"
    echo "model: $artifact ($(du -sb "$artifact" | cut -f1) bytes: $(cd "$artifact" && ls | tr '\n' ' '))"
    echo "params: N=$N WARMUP=$WARMUP FRESH_N=$FRESH_N PROFILE_N=$PROFILE_N VERIFY_WARMUP=$VERIFY_WARMUP VERIFY_N=$VERIFY_N CLI_N=$CLI_N"
} | tee -a "$OUT/env.txt" >&2
echo "== run $(date -u +%Y-%m-%dT%H:%M:%SZ), phases: $ONLY" >> "$OUT/load.txt"
note_load() { echo "$1: $(uptime)" | tee -a "$OUT/load.txt" >&2; }

# --- 1. in process: Jib vs docker build + push, interleaved ------------------------------------------------------
if phase build; then
    wait_quiet
    note_load "build start"
    bench build out="$OUT" work="$WORK/build" n="$N" warmup="$WARMUP" 2> "$WORK/build.err" | tee "$WORK/build.out"
    note_load "build end"
    mv "$OUT/docker.log" "$WORK/docker-build.log"
    mv "$OUT/docker-images.txt" "$WORK/docker-images.txt"
fi

# --- 1b. whole process: a fresh JVM per Jib build vs docker build + push of the same context ---------------------
# Each iteration runs, in rotating order: Jib in a fresh JVM with default flags; Jib in a fresh JVM with an AppCDS
# archive and C1 only (-XX:TieredStopAtLevel=1), on its own new context so that it does not find the other Jib
# run's layers; docker build + push of the first context.
if phase fresh; then
    wait_quiet
    note_load "fresh start"
    bench prepare kind=new dir="$WORK/fresh-new" count="$FRESH_N" > /dev/null 2> "$WORK/prepare.err"
    bench prepare kind=new dir="$WORK/fresh-new-cds" count="$FRESH_N" > /dev/null 2>> "$WORK/prepare.err"
    bench prepare kind=same dir="$WORK/fresh-same" count=1 > /dev/null 2>> "$WORK/prepare.err"
    run=$(date +%s)
    # Jib's layer cache persists on disk (as in the service, under the data dir); warm it and the bench repos once,
    # dumping the AppCDS archive of the classes a build loads on the way.
    java -XX:ArchiveClassesAtExit="$WORK/jib.jsa" -cp "$CP" dev.cloister.bench.ImageBenchmark once \
        ctx="$WORK/fresh-same/ctx-0" tag="fresh-$run-warm" cache="$WORK/fresh-cache" > "$WORK/cds-dump.log" 2>&1
    docker build --network none -q -t "$REGISTRY/cloister/bench/docker:fresh-$run-warm" "$WORK/fresh-same/ctx-0" \
        > /dev/null 2>&1
    docker push -q "$REGISTRY/cloister/bench/docker:fresh-$run-warm" > /dev/null
    echo "fresh-$run-warm" > "$WORK/fresh-tags.txt"
    fresh_jib() { # $1: extra JVM flags, $2: context, $3: tag; sets jms, jout
        local s; s=$(date +%s%N)
        # shellcheck disable=SC2086
        jout=$(java $1 -cp "$CP" dev.cloister.bench.ImageBenchmark once ctx="$2" tag="$3" \
            cache="$WORK/fresh-cache" 2>> "$WORK/fresh.err")
        jms=$(ms_since "$s")
    }
    plain() { fresh_jib "" "$ctx" "$tag"; pms=$jms; pout=$jout; }
    tuned() { fresh_jib "-XX:SharedArchiveFile=$WORK/jib.jsa -XX:TieredStopAtLevel=1" "$cctx" "$tag-cds"; tms=$jms; }
    dock() {
        local s; s=$(date +%s%N)
        docker build --network none -q -t "$REGISTRY/cloister/bench/docker:$tag" "$ctx" >> "$WORK/fresh-docker.log" 2>&1
        dbuild=$(ms_since "$s"); s=$(date +%s%N)
        docker push -q "$REGISTRY/cloister/bench/docker:$tag" >> "$WORK/fresh-docker.log" 2>&1
        dpush=$(ms_since "$s")
    }
    printf 'case\titer\torder\tjib_process_ms\tjib_jvm_to_main_ms\tjib_build_in_jvm_ms\tjib_cds_c1_process_ms\tdocker_build_ms\tdocker_push_ms\tdocker_total_ms\tload1\n' \
        > "$OUT/fresh.tsv"
    for k in $(seq 0 $((FRESH_N - 1))); do
        for kase in same new; do
            if [ "$kase" = new ]; then
                ctx="$WORK/fresh-new/ctx-$k"; cctx="$WORK/fresh-new-cds/ctx-$k"
            else
                ctx="$WORK/fresh-same/ctx-0"; cctx=$ctx
            fi
            tag="fresh-$run-$kase-$k"
            echo "$tag" >> "$WORK/fresh-tags.txt"
            l=$(load1)
            case $((k % 3)) in
                0) order="jib,cds,docker"; plain; tuned; dock ;;
                1) order="cds,docker,jib"; tuned; dock; plain ;;
                2) order="docker,jib,cds"; dock; plain; tuned ;;
            esac
            tomain=$(sed -n 's/.*jvm_to_main_ms=\([0-9]*\).*/\1/p' <<< "$pout")
            injvm=$(sed -n 's/.*build_ms=\([0-9.]*\).*/\1/p' <<< "$pout")
            printf '%s\t%d\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n' "$kase" "$k" "$order" "$pms" "$tomain" "$injvm" \
                "$tms" "$dbuild" "$dpush" $((dbuild + dpush)) "$l" | tee -a "$OUT/fresh.tsv" >&2
        done
    done
    note_load "fresh end"
fi

# --- 1c. where Jib's time goes ----------------------------------------------------------------------------------
if phase profile; then
    wait_quiet
    note_load "profile start"
    bench profile out="$OUT" work="$WORK/profile" n="$PROFILE_N" 2> "$WORK/profile.err" > "$WORK/profile.out"
    note_load "profile end"
fi

# --- 2. verify image, in process --------------------------------------------------------------------------------
if phase verify; then
    wait_quiet
    note_load "verify start"
    bench verify out="$OUT" work="$WORK/verify" warmup="$VERIFY_WARMUP" n="$VERIFY_N" 2> "$WORK/verify.err" \
        | tee "$WORK/verify.out"
    note_load "verify end"
fi

# --- 2b. verify image, whole process (the CLI) -----------------------------------------------------------------
if phase cli && [ -s "$OUT/verify-ref.txt" ]; then
    note_load "cli start"
    printf 'iter\tprocess_ms\tload1\n' > "$OUT/cli-verify.tsv"
    ref=$(cat "$OUT/verify-ref.txt")
    for i in $(seq 0 $((CLI_N - 1))); do
        l=$(load1); s=$(date +%s%N)
        # What deploy/cloister runs (java -cp <the app> dev.cloister.cli.Cloister), from the snapshot.
        java -cp "$CP" dev.cloister.cli.Cloister verify image "$ref" --key "$OUT/verify-key.pem" > "$WORK/cli.out" 2>&1 \
            || { cat "$WORK/cli.out" >&2; exit 1; }
        printf '%d\t%d\t%s\n' "$i" "$(ms_since "$s")" "$l" >> "$OUT/cli-verify.tsv"
    done
    # The JVM and CLI start alone, for comparison: the same classpath printing its help.
    printf 'iter\thelp_process_ms\n' > "$OUT/cli-help.tsv"
    for i in $(seq 0 $((CLI_N - 1))); do
        s=$(date +%s%N)
        java -cp "$CP" dev.cloister.cli.Cloister --help > /dev/null 2>&1 || true
        printf '%d\t%d\n' "$i" "$(ms_since "$s")" >> "$OUT/cli-help.tsv"
    done
    note_load "cli end"
fi

python3 "$here/summarize.py" "$OUT" | tee "$OUT/summary.md"

# --- cleanup: the docker images this run made (the registry keeps the bench tags; their blobs are a few KB) -----
{
    cat "$WORK/docker-images.txt" 2>/dev/null || true
    sed "s#^#$REGISTRY/cloister/bench/docker:#" "$WORK/fresh-tags.txt" 2>/dev/null || true
} | xargs -r docker rmi > /dev/null 2>&1 || true
# The signed image's reference and public key are scratch, not results.
mv -f "$OUT/verify-ref.txt" "$OUT/verify-key.pem" "$WORK/" 2>/dev/null || true
log "done: $OUT/summary.md"
