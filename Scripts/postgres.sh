#!/usr/bin/env bash
# Starts PostgreSQL from Debian's packages on loopback for the case-store tests (and for trying
# `--case postgres://…` by hand), installing it when missing. Prints the URL the tests use
# (EXHUNT_TEST_POSTGRES). Idempotent: a running server is reused.
set -euo pipefail
# Only the URL goes to stdout (callers capture it); everything the tools print goes to stderr.
exec 3>&1 1>&2
# Servers started here must not inherit fd 3: a daemon holding the caller's $(...) pipe open keeps
# the caller waiting for ever (how CI hung for 90 minutes after "Removed stale pid file.").
detached() { "$@" 3>&- </dev/null; }
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then echo "postgresql is not installed; run as root or: apt-get install postgresql" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive detached apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  detached pg_createcluster "$version" main >/dev/null
fi
# Loopback only, whatever the cluster's configuration says.
pg_conftool "$version" main set listen_addresses 'localhost' >/dev/null 2>&1 || true
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
  detached pg_ctlcluster "$version" main start
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
for _ in $(seq 1 30); do
  su postgres -c "psql -p $port -qtAc 'SELECT 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='exhunt'\"" | grep -q 1 \
  || su postgres -c "psql -p $port -qc \"CREATE ROLE exhunt LOGIN PASSWORD 'exhunt'\""
su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_database WHERE datname='exhunt_test'\"" | grep -q 1 \
  || su postgres -c "createdb -p $port -O exhunt exhunt_test"
echo "postgres://exhunt:exhunt@127.0.0.1:$port/exhunt_test?sslmode=disable" >&3
