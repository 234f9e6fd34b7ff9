#!/usr/bin/env bash
# PostgreSQL for the persistence and recovery tests: installs Debian's postgresql package if missing, starts its
# cluster without systemd (pg_ctlcluster, as the postgres user), creates the test role and database, and prints
# the settings the tests read, for eval:
#     eval "$(deploy/postgres-setup.sh)"
# Idempotent, and quick when everything is already there. The password is for this test database only: generated
# once into a root-only file, never printed to the log (only the export line on stdout carries it).
set -euo pipefail
log() { echo "postgres-setup: $*" >&2; }

db=cloister_test
role=cloister_test
secret_dir=/var/lib/cloister/secrets
secret_file=$secret_dir/postgres-test-password

if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing Debian's postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi

# The first cluster Debian made (or one we make), whatever its version.
read -r version cluster port status < <(pg_lsclusters -h | awk 'NR==1 {print $1, $2, $3, $4}') || true
if [ -z "${version:-}" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -1)
    cluster=main
    log "creating cluster $version/$cluster"
    pg_createcluster "$version" "$cluster" >&2
    read -r version cluster port status < <(pg_lsclusters -h | awk 'NR==1 {print $1, $2, $3, $4}')
fi
if [ "$status" != online ]; then
    log "starting cluster $version/$cluster on port $port"
    pg_ctlcluster "$version" "$cluster" start >&2
fi
for _ in $(seq 1 50); do
    if su postgres -c "psql -p $port -qAtc 'select 1'" >/dev/null 2>&1; then
        break
    fi
    sleep 0.2
done

install -d -m 0700 "$secret_dir"
if [ ! -s "$secret_file" ]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$secret_file")
fi
password=$(cat "$secret_file")

psql_admin() { su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -qAt $*"; }
if [ "$(psql_admin "-c \"select 1 from pg_roles where rolname = '$role'\"")" != 1 ]; then
    log "creating role $role"
    psql_admin "-c \"create role $role login\"" >&2
fi
# The password is passed on stdin, so it never shows in a process list.
printf "alter role %s password '%s';\n" "$role" "$password" | su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -qAt" >/dev/null
if [ "$(psql_admin "-c \"select 1 from pg_database where datname = '$db'\"")" != 1 ]; then
    log "creating database $db"
    psql_admin "-c \"create database $db owner $role\"" >&2
fi
log "PostgreSQL $version ready on 127.0.0.1:$port, database $db"

echo "export CLOISTER_TEST_POSTGRES_URL=jdbc:postgresql://127.0.0.1:$port/$db"
echo "export CLOISTER_TEST_POSTGRES_USER=$role"
echo "export CLOISTER_TEST_POSTGRES_PASSWORD=$password"
