# The two launches that launch-latency.sh times and profile-launch.sh profiles (sourced after common.sh, with
# $RESULTS set and bench_preflight done). Defines run_cloister ITER and run_docker ITER, which append one row each to
# $RESULTS/raw.csv (iter,arm,t0_us,t_return_us,started_at,load1,busy,container), and fingerprint CONTAINER.
# The baseline's docker client honours DOCKER_HOST, so profile-launch.sh can route it through its proxy.

# The policy and profile the service under test was started with (service.sh copies them next to the jar).
policy_dir="${APP_DIR:-/tmp/bench-app}/policies"
profile_dir="${APP_DIR:-/tmp/bench-app}/seccomp-profiles"
[ -d "$policy_dir" ] || policy_dir="$repo/policies"
[ -d "$profile_dir" ] || profile_dir="$repo/seccomp-profiles"
policy_file="$policy_dir/restricted.yaml"
POLL=${POLL:-0.1}

# The policy's numbers, as Cloister reads them (k/m/g are binary multiples).
policy_value() { sed -n "s/^ *$1: *\([^ #]*\).*/\1/p" "$policy_file" | head -1 | tr -d '"'; }
bytes() {
    local v=$1 n=${1%[kmgKMG]}
    case $v in
    *[kK]) echo $((n * 1024)) ;; *[mM]) echo $((n * 1024 * 1024)) ;; *[gG]) echo $((n * 1024 * 1024 * 1024)) ;;
    *) echo "$v" ;;
    esac
}
tmp_bytes=$(bytes "$(policy_value tmp)")
shm_bytes=$(bytes "$(policy_value shm)")
mem_bytes=$(bytes "$(policy_value memory)")
log_bytes=$(bytes "$(policy_value logSize)")
cpus=$(policy_value cpus)
pids=$(policy_value pids)
user=$(policy_value user)
seccomp="$profile_dir/$(policy_value seccompProfile)"
stop_grace=$(policy_value stopGrace)
stop_grace=${stop_grace%s}
policy_digest="sha256:$(sha256sum "$policy_file" | cut -d' ' -f1)"
seccomp_digest="sha256:$(sha256sum "$seccomp" | cut -d' ' -f1)"
cmd=(python3 -c "import time; time.sleep(3)")

# The job, as submitted to Cloister.
spec="$RESULTS/job.json"
jq -n --arg image "$cloister_image" --arg c "${cmd[2]}" '{
    name: "bench-launch", team: "examples", policy: "restricted", image: $image,
    command: ["python3", "-c", $c], dataset: "breast-cancer"}' >"$spec"

# The baseline's host side, made once and outside the timed window: a config dir with the same (empty)
# hyperparameters and a fresh out dir per run owned by the job's user (Cloister mounts a tmpfs there per job).
base_dir=$(mktemp -d /tmp/bench-launch-base.XXXXXX)
mkdir -p "$base_dir/config"
printf '{}' >"$base_dir/config/hyperparameters.json"
chmod 755 "$base_dir/config"
chmod 644 "$base_dir/config/hyperparameters.json"
cleanup() {
    "$docker" ps -aq --filter label=bench.cloister=launch-latency | xargs -r "$docker" rm -f >/dev/null 2>&1 || true
    rm -rf "$base_dir"
}
trap cleanup EXIT

baseline_flags() { # $1: container name, $2: out dir
    local name=$1 out=$2
    flags=(
        --name "$name" --runtime runc --user "$user" --entrypoint ''
        --network none --cap-drop ALL
        --security-opt no-new-privileges --security-opt "seccomp=$seccomp"
        --read-only --tmpfs "/tmp:rw,nosuid,nodev,noexec,size=$tmp_bytes" --shm-size "$shm_bytes"
        --pids-limit "$pids" --memory "$mem_bytes" --memory-swap "$mem_bytes" --cpus "$cpus"
        --init --stop-timeout "$stop_grace"
        --log-driver json-file --log-opt "max-size=$log_bytes" --log-opt max-file=1
        --mount "type=bind,source=$dataset_dir,target=/data,readonly,bind-propagation=rprivate"
        --mount "type=bind,source=$base_dir/config,target=/opt/ml/input/config,readonly,bind-propagation=rprivate"
        --mount "type=bind,source=$out,target=/out,bind-propagation=rprivate"
        # The environment Cloister's admission gives this job (SageMaker contract, thread caps, HOME).
        -e SM_MODEL_DIR=/out -e SM_OUTPUT_DATA_DIR=/out -e SM_INPUT_CONFIG_DIR=/opt/ml/input/config -e 'SM_HPS={}'
        -e SM_NUM_CPUS=1 -e SM_NUM_GPUS=0 -e 'SM_CHANNELS=["training"]' -e SM_CHANNEL_TRAINING=/data
        -e HOME=/tmp -e PYTHONDONTWRITEBYTECODE=1
        -e OMP_NUM_THREADS=1 -e OPENBLAS_NUM_THREADS=1 -e MKL_NUM_THREADS=1
        # Cloister's label keys, with values that mark the container as the benchmark's own.
        --label dev.cloister.managed=false --label "dev.cloister.job-id=$name" --label dev.cloister.team=bench
        --label dev.cloister.policy=restricted --label "dev.cloister.policy-digest=$policy_digest"
        --label "dev.cloister.seccomp-digest=$seccomp_digest" --label bench.cloister=launch-latency
    )
}

# What "same flags" means, as the engine stores it. Mount RW differs by design: Cloister binds staged host mounts
# that are already ro,nosuid,nodev,noexec (see JobWorkspace), the baseline asks the engine for readonly binds.
# Equivalent spellings are normalised: no entrypoint ([] from the API, null from the CLI), no devices (null / []),
# no restart policy ("" / "no").
fingerprint() {
    curl -s --unix-socket "$DOCKER_SOCK" "http://v1.41/containers/$1/json" | jq -S '{
        image: .Image, user: .Config.User, entrypoint: (.Config.Entrypoint // []), cmd: .Config.Cmd,
        env: (.Config.Env | sort), stopTimeout: .Config.StopTimeout,
        labelKeys: (.Config.Labels | keys - ["bench.cloister"]),
        host: (.HostConfig | {Runtime, NetworkMode, CapAdd, CapDrop, ReadonlyRootfs, Init, PidsLimit, Memory,
            MemorySwap, NanoCpus, ShmSize, Tmpfs, LogConfig, Privileged, PublishAllPorts, IpcMode, PidMode,
            CgroupnsMode, AutoRemove, Binds, Ulimits, Devices: (.Devices // []),
            RestartPolicy: (.RestartPolicy | .Name |= if . == "" then "no" else . end),
            SecurityOpt: [.SecurityOpt[] | if startswith("seccomp=") then {seccomp: (.[8:] | fromjson)} else . end]}),
        mounts: [.HostConfig.Mounts[] | {Type, Target, BindOptions}]}'
}

raw="$RESULTS/raw.csv"
busy=""
echo "iter,arm,t0_us,t_return_us,started_at,load1,busy,container" >"$raw"

# One Cloister run: prints nothing, appends a row. $1: iteration label.
run_cloister() {
    local it=$1 t0 t1 resp id s="" deadline
    t0=$EPOCHREALTIME
    resp=$(curl -K "$auth" -sS -H 'Content-Type: application/json' --data-binary @"$spec" "$api/jobs")
    t1=$EPOCHREALTIME
    id=$(jq -r '.id // empty' <<<"$resp")
    [ -n "$id" ] || die "submission refused: $resp"
    deadline=$((SECONDS + 30))
    until s=$(started_at "cloister-$id") && [ -n "$s" ]; do
        [ $SECONDS -lt $deadline ] || die "job $id: no started container within 30 s (state $(job_state "$id"))"
        sleep "$POLL"
    done
    [ "$it" = check ] && fingerprint "cloister-$id" >"$RESULTS/flags-cloister.json"
    echo "$it,cloister,${t0/./},${t1/./},$s,$(load1),$busy,cloister-$id" >>"$raw"
    local state
    state=$(await_job "$id" 60) || die "job $id did not finish (state $state)"
    [ "$(job_exit "$id")" = 0 ] || die "job $id: the run did not exit 0 (state $state): $(curl -K "$auth" -s "$api/jobs/$id" | jq -c '{reason}')"
}

# One baseline run: docker run -d, polled like Cloister's run while it is in flight.
run_docker() {
    local it=$1 name out t0 t1 pid s="" deadline
    name="bench-base-$it-$$"
    out=$(mktemp -d "$base_dir/out.XXXXXX")
    chown "$user" "$out"
    chmod 700 "$out"
    baseline_flags "$name" "$out"
    t0=$EPOCHREALTIME
    "$docker" run -d "${flags[@]}" "$image_id" "${cmd[@]}" >"$base_dir/cid" 2>"$base_dir/err" &
    pid=$!
    deadline=$((SECONDS + 30))
    until s=$(started_at "$name") && [ -n "$s" ]; do
        [ $SECONDS -lt $deadline ] || die "docker run: no started container within 30 s: $(cat "$base_dir/err")"
        sleep "$POLL"
    done
    wait "$pid" || die "docker run failed: $(cat "$base_dir/err")"
    t1=$EPOCHREALTIME
    [ "$it" = check ] && fingerprint "$name" >"$RESULTS/flags-docker.json"
    echo "$it,docker,${t0/./},${t1/./},$s,$(load1),$busy,$name" >>"$raw"
    "$docker" wait "$name" >/dev/null
    "$docker" rm -f "$name" >/dev/null
    rm -rf "$out"
}
