# Shared settings and helpers for deploy/bench/*.sh (sourced, not run).
#
#   CLOISTER_URL  the service under test (default http://127.0.0.1:18080, as started by deploy/bench/service.sh)
#   DOCKER        docker client (default /usr/bin/docker, Debian's 20.10)
#   DOCKER_SOCK   the engine's socket, polled directly with curl (default /var/run/docker.sock)
#   DATASETS      datasets root that the service was started with (default /var/lib/cloister/datasets)
#   IMAGE_TAG     the example image (default cloister/example-breast-cancer:latest; its ID is what jobs pin)
#   RESULTS       directory for raw CSVs and logs (default /tmp/cloister-bench/<script>-<UTC time>)
#   CLOISTER_TOKEN  token for the API (default: one issued for team examples, every role, from the issuer key in
#                 $DATA_DIR/auth, as deploy/bench/service.sh started it)

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$bench_dir/../.." && pwd)
CLOISTER_URL=${CLOISTER_URL:-http://127.0.0.1:18080}
api="$CLOISTER_URL/api/v1"
docker=${DOCKER:-/usr/bin/docker}
DOCKER_SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
DATASETS=${DATASETS:-/var/lib/cloister/datasets}
dataset_dir="$DATASETS/breast-cancer"
IMAGE_TAG=${IMAGE_TAG:-cloister/example-breast-cancer:latest}
# Statistics with the stdlib only; Debian's interpreter, not whatever is first on PATH.
python=${PYTHON:-/usr/bin/python3}

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# The API needs a token: curl reads it from a 0600 config file (-K "$auth"), never from its command line. Issued from
# the running bench service's issuer key; scripts that start the service themselves call bench_login after it.
auth="${DATA_DIR:-/tmp/bench-data}/auth/bench.curl"
bench_login() {
    local app=${APP_DIR:-/tmp/bench-app}
    CLOISTER_TOKEN=$(java -cp "$app/app/*:$app/lib/boot/*:$app/lib/main/*" dev.cloister.cli.Cloister token issue \
        --data-dir "${DATA_DIR:-/tmp/bench-data}" --team examples --role submitter,reviewer,deployer,admin --ttl 12h \
        --subject bench 2>/dev/null) || die "cannot issue a token (is the bench service started? deploy/bench/service.sh start)"
    export CLOISTER_TOKEN
    # Beside the issuer key, in the service's 0700 auth dir (wiped with the data dir at the next start).
    (umask 077 && printf 'header = "Authorization: Bearer %s"\n' "$CLOISTER_TOKEN" >"$auth")
}
if [ -n "${CLOISTER_TOKEN:-}" ]; then
    (umask 077 && mkdir -p "$(dirname "$auth")" && printf 'header = "Authorization: Bearer %s"\n' "$CLOISTER_TOKEN" >"$auth")
elif [ -f "${DATA_DIR:-/tmp/bench-data}/auth/issuer-key.pem" ]; then
    bench_login
fi
note() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

bench_preflight() {
    for tool in jq curl "$docker" "$python"; do
        command -v "$tool" >/dev/null || die "needs $tool"
    done
    [ "$(id -u)" = 0 ] || die "run as root (Cloister and the baseline both need the engine and host mounts)"
    [ -d "$dataset_dir" ] || die "no dataset at $dataset_dir"
    image_id=$("$docker" image inspect --format '{{.Id}}' "$IMAGE_TAG") || die "image $IMAGE_TAG not found"
    cloister_image="cloister/example-breast-cancer@$image_id"
    curl -sf "$CLOISTER_URL/q/health/ready" >/dev/null || die "Cloister is not ready at $CLOISTER_URL (start it with deploy/bench/service.sh start)"
    # Registering twice is refused with 409; either way the dataset must be there afterwards.
    curl -K "$auth" -sS -o /dev/null -H 'Content-Type: application/json' -d '{"name":"breast-cancer"}' "$api/datasets" || true
    curl -K "$auth" -sf "$api/datasets" | jq -e 'any(.[]; .name == "breast-cancer")' >/dev/null \
        || die "dataset breast-cancer is not registered with Cloister"
}

# Creates the results directory and records the machine and the versions under test.
bench_results() {
    local name=$1
    RESULTS=${RESULTS:-/tmp/cloister-bench/$name-$(date -u +%Y%m%dT%H%M%SZ)}
    mkdir -p "$RESULTS"
    {
        echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "nproc: $(nproc)"
        echo "cpu: $(LC_ALL=C lscpu | sed -n 's/^Model name: *//p' | head -1)"
        echo "kernel: $(uname -r)"
        echo "docker: $("$docker" version --format '{{.Server.Version}}')"
        echo "runc: $(runc --version 2>/dev/null | head -1)"
        echo "runsc: $(runsc --version 2>/dev/null | head -1)"
        echo "repo HEAD now: $(git -C "$repo" rev-parse HEAD 2>/dev/null)"
        echo "service build (${APP_DIR:-/tmp/bench-app}/BUILD-INFO):"
        sed 's/^/  /' "${APP_DIR:-/tmp/bench-app}/BUILD-INFO" 2>/dev/null || echo "  unknown"
        echo "image: $image_id"
        echo "cloister: $CLOISTER_URL"
    } >"$RESULTS/machine.txt"
    note "results in $RESULTS"
}

# StartedAt of a container (by name or ID) straight from the engine's socket; empty while it has not started or does
# not exist. Polled while launches are in flight, so it is kept cheap: one curl and bash's own regex matching (jq
# costs ~40 ms of CPU per call, which on two cores would disturb what is measured).
started_at() {
    local json
    json=$(curl -s --unix-socket "$DOCKER_SOCK" "http://v1.41/containers/$1/json") || return 0
    if [[ $json =~ \"StartedAt\":\"([^\"]+)\" ]] && [[ ${BASH_REMATCH[1]} != 0001-* ]]; then
        echo "${BASH_REMATCH[1]}"
    fi
}

container_exists() {
    curl -s -o /dev/null -w '%{http_code}' --unix-socket "$DOCKER_SOCK" "http://v1.41/containers/$1/json" | grep -q '^200$'
}

job_state() {
    local json
    json=$(curl -K "$auth" -s "$api/jobs/$1") || return 0
    [[ $json =~ \"state\":\"([A-Z_]+)\" ]] && echo "${BASH_REMATCH[1]}"
    return 0
}

# Final states: PUBLISHED and the failures. Older builds ended a good run at SUCCEEDED (later: SEALED); a job that
# rests in one of those for 10 s is taken as done too, so these scripts also run against such builds.
final_state() {
    case $1 in PUBLISHED|FAILED|CANCELLED|TIMED_OUT|OOM_KILLED) return 0 ;; *) return 1 ;; esac
}

# Waits (up to $2 s) until job $1 is done and Cloister has removed its container; prints the state. Whatever
# Cloister does after the run (sealing, packaging) happens before the next measured run, never during it.
await_job() {
    local id=$1 limit=${2:-600} state="" last="" since=$SECONDS deadline
    deadline=$((SECONDS + limit))
    while [ $SECONDS -lt $deadline ]; do
        state=$(job_state "$id")
        [ "$state" = "$last" ] || { last=$state; since=$SECONDS; }
        if ! container_exists "cloister-$id"; then
            if final_state "$state"; then
                echo "$state"
                return 0
            fi
            case $state in SUCCEEDED|SEALED) [ $((SECONDS - since)) -ge 10 ] && { echo "$state"; return 0; } ;; esac
        fi
        sleep 0.2
    done
    echo "${state:-UNKNOWN}"
    return 1
}

# The job's container exit code ("" while it has none). A benchmark run counts when its container exited 0; what
# Cloister did afterwards (sealing, packaging, publishing) is not what these scripts measure.
job_exit() {
    local json
    json=$(curl -K "$auth" -s "$api/jobs/$1") || return 0
    [[ $json =~ \"exitCode\":(-?[0-9]+) ]] && echo "${BASH_REMATCH[1]}"
    return 0
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# Share of all CPUs busy (user+nice+system+irq+softirq+steal) over the last second, from /proc/stat, e.g. 0.37.
cpu_busy() {
    local a b
    read -r -a a < <(grep '^cpu ' /proc/stat)
    sleep 1
    read -r -a b < <(grep '^cpu ' /proc/stat)
    awk -v u="$((b[1] - a[1] + b[2] - a[2] + b[3] - a[3] + b[6] - a[6] + b[7] - a[7] + b[8] - a[8]))" \
        -v t="$((b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + b[7] + b[8] - a[1] - a[2] - a[3] - a[4] - a[5] - a[6] - a[7] - a[8]))" \
        'BEGIN { printf "%.2f", (t > 0) ? u / t : 0 }'
}

# Before a run: waits (up to QUIET_WAIT s, default 120) until the machine's CPUs were at most QUIET_MAX
# busy (default 0.25 = a quarter of all cores) over one second, so that other work on a shared host disturbs the
# runs less; QUIET_MAX=1 disables the wait. Sets $busy to the last reading, which the scripts record per run.
wait_quiet() {
    local limit=${QUIET_WAIT:-120} max=${QUIET_MAX:-0.25} deadline
    deadline=$((SECONDS + limit))
    while :; do
        busy=$(cpu_busy)
        awk -v b="$busy" -v m="$max" 'BEGIN { exit !(b <= m) }' && return 0
        if [ $SECONDS -ge $deadline ]; then
            note "machine still ${busy} busy after ${limit} s of waiting; running anyway"
            return 0
        fi
    done
}
