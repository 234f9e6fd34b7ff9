#!/usr/bin/env bash
# The test command: set up the host (engine, gVisor, images, dataset), then run every test: unit tests that need
# no Docker and integration tests against the real engine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/host-setup.sh"
"$here/examples/breast-cancer/build.sh" >/dev/null
"$here/probes/build.sh" >/dev/null
cd "$here/.."
exec mvn -B test "$@"
