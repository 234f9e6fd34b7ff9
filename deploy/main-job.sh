#!/usr/bin/env bash
# The main job: set up the host, build Cloister, start it, register the example dataset, build the example's
# training image through Cloister (under policy, no network, signed provenance), submit the example training job
# on that image under the `restricted` policy, follow its logs, print the final state and metrics, re-run the job
# to prove it reproduces bit for bit, then download the sealed model and verify its signature, provenance and
# reproducibility offline with the CLI, as a deployer would; then verify the signed serving image Cloister
# published, deploy it hardened and ask it for a prediction. Each step runs with a token of the role it needs,
# issued with `cloister token issue` from the host's issuer key and saved with `cloister login`: admin registers the
# dataset, submitter builds, submits and reproduces, reviewer reads the report, deployer verifies and deploys.
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

step "1/14 host setup (Docker engine, gVisor, trainer image, dataset, registry)"
"$here/host-setup.sh"

step "2/14 build Cloister"
(cd "$repo" && mvn -B -q package -DskipTests)

step "3/14 start the service on 127.0.0.1:$port"
# Another process on the port would answer the readiness check below in this run's place.
if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
    echo "something already listens on 127.0.0.1:$port (another Cloister?): stop it, or set CLOISTER_PORT" >&2
    exit 1
fi
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
curl -sf "http://127.0.0.1:$port/q/health/ready" >/dev/null && kill -0 "$service" 2>/dev/null \
    || { echo "service not ready; log: $log"; exit 1; }
echo "service up (log: $log)"

cli() { "$here/cloister" "$@"; }
# This run's login lives in its own 0600 file, not in the user's ~/.config/cloister.
login_dir=$(mktemp -d /tmp/cloister-login.XXXXXX)
export CLOISTER_CONFIG="$login_dir/config.json"
trap 'kill $service 2>/dev/null; wait $service 2>/dev/null || true; rm -rf "$login_dir"' EXIT
# login ROLE: issue a 1-hour token for team examples with that role (needs the issuer key: root on this host) and
# save it with the server URL for the following commands.
login() {
    cli token issue --data-dir "$data" --team examples --role "$1" --ttl 1h --subject "main-job-$1" \
        | cli login --server "http://127.0.0.1:$port" --token-stdin | sed -n 1p
}
# curl with the saved token (read from the 0600 file, never put on a command line).
api_get() { curl -sS -f -H @<(printf 'Authorization: Bearer %s\n' "$(jq -r .token "$CLOISTER_CONFIG")") "$api/$1"; }

step "4/14 register the breast-cancer dataset (as an admin), owned by team examples; pin the host's public key"
echo "without a token: $(curl -s -o /dev/null -w '%{http_code}' "$api/jobs")"
login admin
cli dataset register breast-cancer --team examples
login deployer
work=$(mktemp -d /tmp/cloister-verify.XXXXXX)
cli keys export >"$work/host.pub.pem"
echo "pinned key: $work/host.pub.pem ($(sha256sum "$work/host.pub.pem" | cut -c1-16)...)"

step "5/14 build the example training image through Cloister (as a submitter; policy 'restricted': pinned base, no network, no cache)"
login submitter
base=$(cat "$data/images/trainer-base.ref")
echo "base (pushed by host setup, pinned by registry digest): $base"
image=$(cli image build "$here/examples/breast-cancer" --policy restricted \
    --repository cloister/example-breast-cancer --tag main-job --build-arg "BASE=$base" --key "$work/host.pub.pem")
echo "image: $image"

step "6/14 submit the example job under policy 'restricted' on that image and follow it"
job=$(cli submit "$here/examples/breast-cancer/job.yaml" --image "$image")
cli status "$job"
echo "--- job log (cloister logs --follow $job) ---"
cli logs --follow "$job"
echo "--- end of log ---"

step "7/14 result"
final=$(api_get "jobs/$job")
jq '{id, state, policy, policyDigest, runtime, image, seed, datasetDigest, modelDigest, keyId, servingImage, outputs, artifactDir, history: [.history[] | "\(.to) \(.at) \(.reason)"]}' <<<"$final"
state=$(jq -r .state <<<"$final")
[ "$state" = PUBLISHED ] || { echo "job ended $state"; exit 1; }
artifacts=$(jq -r '.artifactDir' <<<"$final")
echo "metrics ($artifacts/metrics.json):"
jq -c . "$artifacts/metrics.json"
echo "the job's provenance names how its image was made:"
api_get "jobs/$job/provenance" | jq -c '.predicate.buildDefinition.resolvedDependencies[] | select(.name == "image-provenance")'

step "8/14 a reviewer's view: the policy report (CIS results of this job's container, seccomp summary)"
login reviewer
echo "a reviewer reading the job's log: $(api_get "jobs/$job/logs" 2>&1 >/dev/null | sed 's/^curl: //' || true)"
report=$(cli policy report restricted)
sed -n '/^## Seccomp profile/,/^- Compared/p; /^## CIS/,/^| id /p' <<<"$report" | grep -v '^| id ' | grep -v '^$'
echo "(full report: cloister policy report restricted; JSON with --json)"

step "9/14 reproduce: re-run the sealed job with exactly what its provenance records, compare file by file"
login submitter
cli reproduce "$job" --quiet --key "$work/host.pub.pem"

step "10/14 verify the sealed model offline, as a deployer would (signature, provenance, reproducibility)"
login deployer
api_get "jobs/$job/artifacts" | tar -x -C "$work"
echo "downloaded: $work/$job ($(ls "$work/$job" | tr '\n' ' '))"
cli verify model "$work/$job" --key "$work/host.pub.pem" --policy restricted \
    --dataset-digest "$(jq -r .datasetDigest <<<"$final")" --image-digest "${image#*@}" --require-reproduced
echo "artifacts: $artifacts"

serving=$(jq -r .servingImage <<<"$final")
step "11/14 verify the signed serving image against the pinned key and a release policy"
printf 'allowedPolicies: [restricted]\nallowedDatasetDigests: [%s]\nmaxAge: 30d\n' \
    "$(jq -r .datasetDigest <<<"$final")" >"$work/release.yaml"
cat "$work/release.yaml"
cli verify image "$serving" --key "$work/host.pub.pem" --release-policy "$work/release.yaml"

step "12/14 deploy: verify again, then run it hardened on 127.0.0.1:${SERVING_PORT:-8480}"
cli deploy "$serving" --key "$work/host.pub.pem" --release-policy "$work/release.yaml" --port "${SERVING_PORT:-8480}"

step "13/14 a prediction from the production container"
row=$(sed -n 2p "$data/datasets/breast-cancer/breast_cancer.csv")
echo "input: first row of the dataset (label ${row##*,})"
curl -sS -H 'Content-Type: application/json' -d "{\"rows\": [[${row%,*}]]}" "http://127.0.0.1:${SERVING_PORT:-8480}/predict"
echo
curl -sS "http://127.0.0.1:${SERVING_PORT:-8480}/healthz"
echo

step "14/14 summary"
echo "training image : $image (built by Cloister under 'restricted'; provenance: $api/images/${image#*@}/provenance)"
echo "job            : $job $(jq -r .modelDigest <<<"$final")"
echo "reproduced     : $(api_get "jobs/$job/reproduction" | jq -r '.dsseEnvelope.payload' | base64 -d | jq -r '"\(.predicate.verdict) by re-run \(.predicate.rerun.jobId) (\(.predicate.files | map(select(.match)) | length)/\(.predicate.files | length) files identical)"')"
echo "the serving container keeps running: docker rm -f cloister-serving stops it"
