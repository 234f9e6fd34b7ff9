#!/usr/bin/env bash
# The test command: set up the host (engine, gVisor, images, dataset), then run every test: unit tests that need
# no Docker and integration tests against the real engine, against H2 and PostgreSQL.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# Host setup also pushes the trainer base to the registry and records its digest (images/trainer-base.ref): the
# base of training image builds (ImageBuildApiTest, ReproduceApiTest).
"$here/host-setup.sh"
"$here/examples/breast-cancer/build.sh" >/dev/null
"$here/probes/build.sh" >/dev/null
# The federated example: three site datasets and a held-out set split from the breast-cancer CSV, and the site
# trainer image (FederationTest fails, naming what is missing, without them).
"$here/examples/federated/setup.sh" >/dev/null
# The PyTorch trainer variant (debootstrap, several minutes and ~220 MB of .debs on a fresh host; about a second once
# built) and its example, which PyTorchJobTest runs under the restricted policy.
"$here/examples/pytorch/build.sh" >/dev/null
# PostgreSQL for the persistence and recovery tests (they also run against the default, H2).
eval "$("$here/postgres-setup.sh")"
cd "$here/.."
# verify: the unit and integration tests (surefire), the package, then the tests that start and kill the packaged
# service (failsafe, *IT).
exec mvn -B verify "$@"
