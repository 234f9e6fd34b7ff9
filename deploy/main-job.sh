#!/usr/bin/env bash
# The main job: set up the host, build Cloister, start it, register the example dataset, submit the example
# training job under the `restricted` policy, follow its logs, and print the final state, metrics and artifacts.
#
# Usage: deploy/main-job.sh            (as root, from anywhere)
#   CLOISTER_PORT      port for the service (default 8080)
#   CLOISTER_DATA_DIR  Cloister's state directory (default /var/lib/cloister)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
port=${CLOISTER_PORT:-8080}
data=${CLOISTER_DATA_DIR:-/var/lib/cloister}
api="http://127.0.0.1:$port/api/v1"
docker=${DOCKER:-/usr/bin/docker}
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "1/7 host setup (Docker engine, gVisor, trainer image, dataset)"
"$here/host-setup.sh"

step "2/7 build Cloister"
(cd "$repo" && mvn -B -q package -DskipTests)

step "3/7 build the example training image (no network)"
image_id=$("$here/examples/breast-cancer/build.sh")
image="cloister/example-breast-cancer@$image_id"
echo "image: $image"

step "4/7 start the service on 127.0.0.1:$port"
log=$(mktemp /tmp/cloister-service.XXXXXX.log)
(cd "$repo" && exec java -Dquarkus.http.port="$port" -Dcloister.data-dir="$data" \
    -jar target/quarkus-app/quarkus-run.jar >"$log" 2>&1) &
service=$!
trap 'kill $service 2>/dev/null; wait $service 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
    curl -sf "http://127.0.0.1:$port/q/health/ready" >/dev/null && break
    kill -0 "$service" 2>/dev/null || { echo "service exited; its log:"; cat "$log"; exit 1; }
    sleep 0.5
done
curl -sf "http://127.0.0.1:$port/q/health/ready" >/dev/null || { echo "service not ready; log: $log"; exit 1; }
echo "service up (log: $log)"

step "5/7 register the breast-cancer dataset"
curl -sS -f -H 'Content-Type: application/json' -d '{"name":"breast-cancer"}' "$api/datasets" | jq .

step "6/7 submit the example job under policy 'restricted'"
spec=$(sed "s|^image: IMAGE$|image: $image|" "$here/examples/breast-cancer/job.yaml")
response=$(curl -sS -H 'Content-Type: application/yaml' --data-binary "$spec" "$api/jobs")
job=$(jq -r '.id // empty' <<<"$response")
[ -n "$job" ] || { echo "submission refused:"; jq . <<<"$response"; exit 1; }
jq '{id, state, policy, policyDigest, runtime, image, dataset, datasetDigest}' <<<"$response"

step "7/7 follow the job's logs"
curl -sS -N "$api/jobs/$job/logs?follow=true"

final=$(curl -sS "$api/jobs/$job")
step "result"
jq '{id, state, reason, exitCode, startedAt, finishedAt, outputs, artifactDir}' <<<"$final"
state=$(jq -r .state <<<"$final")
artifacts=$(jq -r '.artifactDir // empty' <<<"$final")
if [ -n "$artifacts" ] && [ -f "$artifacts/metrics.json" ]; then
    echo "metrics ($artifacts/metrics.json):"
    jq . "$artifacts/metrics.json"
fi
echo "artifacts: ${artifacts:-none}"
[ "$state" = SUCCEEDED ]
