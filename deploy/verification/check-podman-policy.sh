#!/usr/bin/env bash
# Exercises the rendered containers-policy.json + registries.d with skopeo (containers/image, the library podman
# and CRI-O use) against a scratch registry, never the host's:
#
#   1. an image outside the scope         -> rejected by the default "reject"
#   2. an unsigned image in the scope     -> "A signature was required, but no signature exists"
#   3. an image in the scope with a signature in cosign's tag layout (sha256-<hex>.sig), made with a throwaway key:
#        sigstore-capable containers/image -> accepted
#        Debian bookworm's build           -> "Debian-local change: sigstore disabled" (it parses the policy and
#                                             finds the signature, but its verification code is stubbed out)
#   4. the same, signed by another key    -> rejected
#   5. the policy with a misspelled field -> refused at parse time (so 1-4 ran on a policy that parsed)
#
# Needs skopeo, docker-registry (Debian packages), openssl, curl. Starts docker-registry on 127.0.0.1:$PORT
# (default 5099) with its storage in a temporary directory, and removes it all on exit.
# Exit status 0 when every outcome is one of the expected ones above, 1 otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${PORT:-5099}"
reg="127.0.0.1:$port"

for tool in skopeo docker-registry openssl curl sha256sum; do
  command -v "$tool" >/dev/null || { echo "check-podman-policy.sh: $tool is needed (apt-get install skopeo docker-registry)" >&2; exit 2; }
done
if curl -fsS -o /dev/null "http://$reg/v2/" 2>/dev/null; then
  echo "check-podman-policy.sh: something already answers on $reg; set PORT" >&2
  exit 2
fi

work="$(mktemp -d /tmp/cloister-podman-check.XXXXXX)"
registry_pid=""
cleanup() {
  if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/registry.yml" <<EOF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $work/storage}}
http: {addr: $reg}
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do curl -fsS -o /dev/null "http://$reg/v2/" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "http://$reg/v2/" || { cat "$work/registry.log" >&2; exit 2; }

# Two throwaway keys (deleted with $work): the "host" key and a stranger's.
openssl ecparam -name prime256v1 -genkey -noout -out "$work/host.key"
openssl pkey -in "$work/host.key" -pubout -out "$work/host.pub.pem"
openssl ecparam -name prime256v1 -genkey -noout -out "$work/other.key"

sha() { sha256sum "$1" | cut -d' ' -f1; }

# put_blob FILE: uploads FILE to $repo (monolithic upload).
put_blob() {
  local d location
  d="sha256:$(sha "$1")"
  location="$(curl -fsS -D - -o /dev/null -X POST "http://$reg/v2/$repo/blobs/uploads/" | tr -d '\r' \
    | sed -n 's/^[Ll]ocation: //p')"
  case $location in http*) ;; *) location="http://$reg$location" ;; esac
  case $location in *\?*) location="$location&digest=$d" ;; *) location="$location?digest=$d" ;; esac
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$1" "$location"
}

# put_manifest FILE TAG
put_manifest() {
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$1" "http://$reg/v2/$repo/manifests/$2"
}

# push_probe REPO: a one-layer image (one small file); prints its manifest digest.
push_probe() {
  repo=$1
  local dir="$work/probe-${repo//\//_}"
  mkdir -p "$dir/root"
  echo "cloister policy probe $repo" >"$dir/root/probe.txt"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir/root" -cf "$dir/layer.tar" probe.txt
  gzip -n -c "$dir/layer.tar" >"$dir/layer.tar.gz"
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"config":{}}' \
    "$(sha "$dir/layer.tar")" >"$dir/config.json"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":"sha256:%s"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":%d,"digest":"sha256:%s"}]}' \
    "$(stat -c %s "$dir/config.json")" "$(sha "$dir/config.json")" \
    "$(stat -c %s "$dir/layer.tar.gz")" "$(sha "$dir/layer.tar.gz")" >"$dir/manifest.json"
  put_blob "$dir/config.json"
  put_blob "$dir/layer.tar.gz"
  put_manifest "$dir/manifest.json" v1
  echo "sha256:$(sha "$dir/manifest.json")"
}

# sign REPO DIGEST KEY: writes cosign's tag layout, sha256-<hex>.sig, as Cloister does (DESIGN.md,
# "Image signature: cosign's tag layout").
sign() {
  repo=$1
  local digest=$2 key=$3 dir="$work/sig-${1//\//_}"
  mkdir -p "$dir"
  printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
    "$reg/$repo" "$digest" >"$dir/payload.json"
  local sig
  sig="$(openssl dgst -sha256 -sign "$key" "$dir/payload.json" | base64 -w0)"
  printf '{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"config":{}}' \
    "$(sha "$dir/payload.json")" >"$dir/config.json"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":"sha256:%s"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":%d,"digest":"sha256:%s","annotations":{"dev.cosignproject.cosign/signature":"%s"}}]}' \
    "$(stat -c %s "$dir/config.json")" "$(sha "$dir/config.json")" \
    "$(stat -c %s "$dir/payload.json")" "$(sha "$dir/payload.json")" "$sig" >"$dir/manifest.json"
  put_blob "$dir/config.json"
  put_blob "$dir/payload.json"
  put_manifest "$dir/manifest.json" "sha256-${digest#sha256:}.sig"
}

outside="$(push_probe cloister/other/probe)"
unsigned="$(push_probe cloister/models/unsigned)"
signed="$(push_probe cloister/models/signed)"
sign cloister/models/signed "$signed" "$work/host.key"
stranger="$(push_probe cloister/models/stranger)"
sign cloister/models/stranger "$stranger" "$work/other.key"
rm -f "$work/host.key" "$work/other.key"

CLOISTER_KEY_PATH="$work/host.pub.pem" "$here/render.sh" "$work/host.pub.pem" "$reg/cloister/models/*" "$work/out" >/dev/null 2>&1

skopeo --version
failures=0
# attempt NAME POLICY REF EXPECTED...: copies REF to a dir: with POLICY; the outcome ("accepted" or skopeo's
# last message) must contain one of EXPECTED.
attempt() {
  local name=$1 policy=$2 ref=$3; shift 3
  local outcome
  rm -rf "$work/copy"
  if outcome="$(skopeo --policy "$policy" --registries.d "$work/out/registries.d" \
      copy --src-tls-verify=false "docker://$ref" "dir:$work/copy" 2>&1)"; then
    outcome="accepted"
  else
    outcome="$(printf '%s\n' "$outcome" | tail -n 1)"
  fi
  local want ok=0
  for want in "$@"; do [[ $outcome == *"$want"* ]] && ok=1; done
  if [ $ok = 1 ]; then echo "ok    $name: $outcome"; else echo "FAIL  $name: $outcome (expected: $*)"; failures=$((failures + 1)); fi
}

policy="$work/out/containers-policy.json"
attempt "outside the scope" "$policy" "$reg/cloister/other/probe@$outside" "is rejected by policy"
attempt "unsigned, in scope" "$policy" "$reg/cloister/models/unsigned@$unsigned" \
  "A signature was required, but no signature exists"
attempt "signed with the host key" "$policy" "$reg/cloister/models/signed@$signed" \
  "accepted" "Debian-local change: sigstore disabled"
attempt "signed with another key" "$policy" "$reg/cloister/models/stranger@$stranger" \
  "signature verification failed" "Debian-local change: sigstore disabled"
sed 's/"keyPath"/"keyPth"/' "$policy" >"$work/typo-policy.json"
attempt "misspelled policy field" "$work/typo-policy.json" "$reg/cloister/models/signed@$signed" "keyPth"

echo "$((5 - failures)) passed, $failures failed"
[ "$failures" = 0 ]
