#!/bin/sh
# Set up the federated example on this host: the three site datasets and the held-out set (split from the
# breast-cancer CSV that host setup placed), then the trainer image. Prints the image ID on stdout.
#
# Usage: deploy/examples/federated/setup.sh [DATASETS_ROOT]   (default: /var/lib/cloister/datasets)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=${1:-/var/lib/cloister/datasets}
/usr/bin/python3 "$here/split.py" "$root" >&2
"$here/build.sh"
