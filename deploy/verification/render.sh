#!/usr/bin/env bash
# Renders Cloister's image-verification configs for one host key.
#
#   deploy/verification/render.sh PUB.pem [REGISTRY_REPO_PREFIX] OUT_DIR
#
# PUB.pem               the Cloister host's ECDSA P-256 public key (PEM, SubjectPublicKeyInfo). A file holding a
#                       private key is refused.
# REGISTRY_REPO_PREFIX  where the serving images live, default 127.0.0.1:5000/cloister/models/* ; a trailing /* or
#                       /** is optional, every repository under the prefix is covered.
# OUT_DIR               created if needed; existing files of the same names are replaced.
#
# Environment (all optional):
#   CLOISTER_KEY_PATH   where the deployer installs host.pub.pem for podman/CRI-O (containers-policy.json's
#                       keyPath); absolute; default /etc/containers/cloister/host.pub.pem
#   CLOISTER_IMAGE      the serving image for serving-deployment.yaml, REPO@sha256:<64 hex>, under the prefix;
#                       default a placeholder with an all-zero digest (a warning is printed)
#   CLOISTER_NAMESPACE  Kubernetes namespace for the serving Deployment, default cloister-serving
#
# Writes: OUT_DIR/host.pub.pem, containers-policy.json, registries.d/cloister.yaml,
#         kubernetes/{cluster-image-policy,kyverno-verify-images,serving-deployment}.yaml
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
k8s_templates="$(cd "$here/../kubernetes" && pwd)"

die() { echo "render.sh: $*" >&2; exit 2; }

case $# in
  2) pub=$1; prefix='127.0.0.1:5000/cloister/models/*'; out=$2 ;;
  3) pub=$1; prefix=$2; out=$3 ;;
  *) echo "usage: $0 PUB.pem [REGISTRY_REPO_PREFIX] OUT_DIR" >&2; exit 2 ;;
esac

command -v openssl >/dev/null || die "openssl is needed"
[ -f "$pub" ] || die "$pub: no such file"
if grep -q 'PRIVATE KEY' "$pub"; then
  die "$pub holds a private key; give the public key (openssl pkey -in KEY -pubout)"
fi

[ "$(grep -c -- '-----BEGIN' "$pub")" = 1 ] || die "$pub: expected exactly one PEM block (one key per rendering)"

# The key, normalised: SubjectPublicKeyInfo PEM, 64-column base64, LF line ends, trailing LF.
pem="$(openssl pkey -pubin -in "$pub" -outform PEM 2>/dev/null)" || die "$pub: not a PEM public key"
details="$(printf '%s\n' "$pem" | openssl pkey -pubin -noout -text 2>/dev/null)" || die "$pub: unreadable key"
grep -qE 'ASN1 OID: prime256v1|NIST CURVE: P-256' <<<"$details" \
  || die "$pub: not an ECDSA P-256 key (Cloister signs with P-256 / SHA-256)"

# The repository scope.
base="${prefix%/\*\*}"
base="${base%/\*}"
scope_re='^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$'
[[ $base =~ $scope_re ]] || die "REGISTRY_REPO_PREFIX '$prefix': expected host[:port][/path...][/*], lowercase"

key_path="${CLOISTER_KEY_PATH:-/etc/containers/cloister/host.pub.pem}"
[[ $key_path == /* && $key_path != *'"'* && $key_path != *'\'* ]] || die "CLOISTER_KEY_PATH must be an absolute path without quotes or backslashes"

namespace="${CLOISTER_NAMESPACE:-cloister-serving}"
[[ $namespace =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] || die "CLOISTER_NAMESPACE '$namespace' is not a DNS label"

if [ -n "${CLOISTER_IMAGE:-}" ]; then
  image=$CLOISTER_IMAGE
  [[ $image =~ ^([^@]+)@sha256:[0-9a-f]{64}$ ]] || die "CLOISTER_IMAGE must be REPO@sha256:<64 hex>, got '$image'"
  repo="${BASH_REMATCH[1]}"
  [[ $repo == "$base"/* ]] || die "CLOISTER_IMAGE '$image' is outside '$base/': no policy here would verify it"
  [[ ${repo#"$base"/} =~ ^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$ ]] \
    || die "CLOISTER_IMAGE '$image': malformed repository name"
else
  image="$base/example-model@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  echo "render.sh: warning: CLOISTER_IMAGE not set; serving-deployment.yaml names the placeholder $image" >&2
fi

mkdir -p "$out/registries.d" "$out/kubernetes"

# render TEMPLATE DEST: fills the placeholders; a line holding only @PUBLIC_KEY_PEM@ becomes the PEM, each line
# indented like the placeholder. Written to a temporary name, then renamed into place.
render() {
  local tmp
  tmp="$(mktemp "$2.XXXXXX")"
  PEM="$pem" SCOPE="$base" KEY_PATH="$key_path" IMAGE="$image" NAMESPACE="$namespace" \
  GLOB_PC="$base/**" GLOB_KY="$base/*" awk '
    function subst(s, name, value,    i, out) {
      out = ""
      while ((i = index(s, name)) > 0) { out = out substr(s, 1, i - 1) value; s = substr(s, i + length(name)) }
      return out s
    }
    BEGIN { n = split(ENVIRON["PEM"], pem, "\n") }
    /^[ ]*@PUBLIC_KEY_PEM@$/ {
      indent = substr($0, 1, index($0, "@") - 1)
      for (j = 1; j <= n; j++) if (pem[j] != "") print indent pem[j]
      next
    }
    {
      line = $0
      line = subst(line, "@POLICY_SCOPE@", ENVIRON["SCOPE"])
      line = subst(line, "@KEY_PATH@", ENVIRON["KEY_PATH"])
      line = subst(line, "@IMAGE@", ENVIRON["IMAGE"])
      line = subst(line, "@NAMESPACE@", ENVIRON["NAMESPACE"])
      line = subst(line, "@GLOB_POLICY_CONTROLLER@", ENVIRON["GLOB_PC"])
      line = subst(line, "@GLOB_KYVERNO@", ENVIRON["GLOB_KY"])
      if (line ~ /@[A-Z_]+@/) { print "unfilled placeholder in " FILENAME ": " line > "/dev/stderr"; exit 3 }
      print line
    }' "$1" >"$tmp" || { rm -f "$tmp"; die "rendering $1 failed"; }
  chmod 0644 "$tmp"
  mv -f "$tmp" "$2"
}

tmp="$(mktemp "$out/host.pub.pem.XXXXXX")"
printf '%s\n' "$pem" >"$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$out/host.pub.pem"

render "$here/templates/containers-policy.json.in" "$out/containers-policy.json"
render "$here/templates/registries.d/cloister.yaml.in" "$out/registries.d/cloister.yaml"
for f in cluster-image-policy kyverno-verify-images serving-deployment; do
  render "$k8s_templates/$f.yaml.in" "$out/kubernetes/$f.yaml"
done

echo "render.sh: wrote $out (scope $base, key sha256 $(printf '%s\n' "$pem" | openssl dgst -sha256 -r | cut -d' ' -f1) of the PEM text)"
