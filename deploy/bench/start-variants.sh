#!/usr/bin/env bash
# Diagnostic for launch-latency.sh: does anything about the container Cloister creates make the engine's start
# slower than for the baseline? Times the engine's part alone (create, and start -> State.StartedAt) for four
# variants of the baseline container of launch-lib.sh, created and started with the docker CLI through the
# timestamping proxy (engine-proxy.py), interleaved, one container at a time, each after wait_quiet:
#
#   plain          the baseline: plain host directories bound with the engine's readonly option
#   attach         plain + a client attached before the start (docker start -a), as Cloister's JobLog does
#   staged         Cloister's host side: /data and /opt/ml/input/config bound from staged mounts that carry
#                  ro,nosuid,nodev,noexec, /out from a size-capped tmpfs (uid 1000, mode 0700), no engine readonly
#   staged-attach  both, i.e. what Cloister hands the engine
#
# Usage: deploy/bench/start-variants.sh     (as root, with Cloister up, as for launch-latency.sh)
#   N=15 PAUSE=1 QUIET_MAX=0.25 QUIET_WAIT=60, plus common.sh's settings
set -euo pipefail
export LC_ALL=C
source "$(dirname "$0")/common.sh"

N=${N:-15}
PAUSE=${PAUSE:-1}
proxy_sock=${PROXY_SOCK:-/tmp/bench-variants-proxy.sock}

bench_preflight
bench_results start-variants
source "$bench_dir/launch-lib.sh"

"$python" "$bench_dir/engine-proxy.py" "$proxy_sock" "$DOCKER_SOCK" "$RESULTS/engine-calls.jsonl" &
proxy_pid=$!
stage=$(mktemp -d /tmp/bench-variants-stage.XXXXXX)
mkdir -p "$stage/data" "$stage/config" "$stage/out"
finish() {
    kill "$proxy_pid" 2>/dev/null || true
    for m in out config data; do mountpoint -q "$stage/$m" && umount "$stage/$m"; done
    rm -rf "$stage" "$proxy_sock"
    cleanup
}
trap finish EXIT
for _ in $(seq 1 50); do [ -S "$proxy_sock" ] && break; sleep 0.1; done

# The same host mounts JobWorkspace makes (HostMounts: bind, then remount with the plan's flags; tmpfs for /out).
mount --bind "$dataset_dir" "$stage/data"
mount -o remount,bind,ro,nosuid,nodev,noexec "$stage/data"
mount --bind "$base_dir/config" "$stage/config"
mount -o remount,bind,ro,nosuid,nodev,noexec "$stage/config"
mount -t tmpfs -o "rw,size=268435456,mode=0700,uid=1000,gid=1000,nosuid,nodev,noexec" tmpfs "$stage/out"

echo "iter,variant,name,started_at" >"$RESULTS/runs.csv"
run_variant() { # $1: iteration, $2: variant
    local it=$1 v=$2 name out s="" attach_pid="" a
    name="bench-var-$v-$it-$$"
    out=$(mktemp -d "$base_dir/out.XXXXXX")
    chown "$user" "$out"
    chmod 700 "$out"
    baseline_flags "$name" "$out"
    if [[ $v == staged* ]]; then
        local staged=()
        for a in "${flags[@]}"; do
            case $a in
            "type=bind,source=$dataset_dir,"*) a="type=bind,source=$stage/data,target=/data,bind-propagation=rprivate" ;;
            "type=bind,source=$base_dir/config,"*) a="type=bind,source=$stage/config,target=/opt/ml/input/config,bind-propagation=rprivate" ;;
            "type=bind,source=$out,"*) a="type=bind,source=$stage/out,target=/out,bind-propagation=rprivate" ;;
            esac
            staged+=("$a")
        done
        flags=("${staged[@]}")
    fi
    DOCKER_HOST="unix://$proxy_sock" "$docker" create "${flags[@]}" "$image_id" "${cmd[@]}" >/dev/null
    sleep 0.3
    if [[ $v == *attach ]]; then
        DOCKER_HOST="unix://$proxy_sock" "$docker" start -a "$name" >/dev/null 2>&1 &
        attach_pid=$!
    else
        DOCKER_HOST="unix://$proxy_sock" "$docker" start "$name" >/dev/null
    fi
    until s=$(started_at "$name") && [ -n "$s" ]; do sleep "$POLL"; done
    echo "$it,$v,$name,$s" >>"$RESULTS/runs.csv"
    "$docker" wait "$name" >/dev/null
    [ -z "$attach_pid" ] || wait "$attach_pid" || true
    "$docker" rm -f "$name" >/dev/null
    rm -rf "$out"
}

variants=(plain attach staged staged-attach)
for v in "${variants[@]}"; do run_variant w "$v"; done
for i in $(seq 1 "$N"); do
    for v in "${variants[@]}"; do wait_quiet; run_variant "$i" "$v"; sleep "$PAUSE"; done
    note "round $i/$N done"
done

# Per variant: the create call, and start request -> State.StartedAt (proxy log + the engine's StartedAt).
"$python" - "$RESULTS/runs.csv" "$RESULTS/engine-calls.jsonl" <<'EOF' | tee "$RESULTS/variants.txt"
import csv, datetime, json, statistics, sys
def ns(iso):
    base, _, frac = iso.rstrip("Z").partition(".")
    t = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 10**9 + int((frac + "000000000")[:9])
pending, calls = {}, []
for line in open(sys.argv[2]):
    e = json.loads(line)
    if e["ev"] == "req":
        c = dict(e, t_resp=None)
        calls.append(c)
        pending.setdefault(e["conn"], []).append(c)
    elif pending.get(e["conn"]):
        pending[e["conn"]].pop(0)["t_resp"] = e["t"]
create, start, by_variant = {}, {}, {}
for r in csv.DictReader(open(sys.argv[1])):
    if r["iter"] == "w":
        continue
    name = r["name"]
    cr = next(c for c in calls if c["method"] == "POST" and "/containers/create" in c["path"] and "name=" + name in c["path"])
    # docker start -a addresses the container by ID, plain docker start by name: take the first start after create.
    st = next(c for c in calls if c["t"] > cr["t"] and c["method"] == "POST" and c["path"].split("?")[0].endswith("/start"))
    d = by_variant.setdefault(r["variant"], {"create": [], "start": []})
    d["create"].append((cr["t_resp"] - cr["t"]) / 1e6)
    d["start"].append((ns(r["started_at"]) - st["t"]) / 1e6)
p90 = lambda v: statistics.quantiles(v, n=10, method="inclusive")[8]
base = by_variant.get("plain")
print("%-14s %3s %12s %12s %14s %14s %10s" % ("variant", "n", "create med", "create p90", "start->Started", "p90", "vs plain"))
for v, d in by_variant.items():
    m = statistics.median(d["start"])
    print("%-14s %3d %10.1fms %10.1fms %12.1fms %12.1fms %9.3fx" % (v, len(d["start"]), statistics.median(d["create"]),
          p90(d["create"]), m, p90(d["start"]), m / statistics.median(base["start"]) if base else float("nan")))
EOF
echo "raw data: $RESULTS"
